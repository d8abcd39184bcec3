"""The daily digest: 08:00 in each user's own zone, overdue and due today, once, only with something to say."""

from datetime import datetime
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from crm.testing.concurrency import run_at_once
from crm.tests.factories import UserFactory, set_time_zone
from tasks import digest
from tasks.models import Task
from tasks.models_reminders import DigestLog
from tasks.tests.factories import TaskFactory

UTC = dt_timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def run(now):
    with time_machine.travel(now, tick=False):
        return digest.digests_send_due(now=now)


@pytest.fixture
def people(db, settings):
    settings.SITE_URL = "https://crm.example.com"
    ana = set_time_zone(UserFactory(username="ana", first_name="Ana", last_name="Fischer"), "Europe/Berlin")
    ben = set_time_zone(UserFactory(username="ben", first_name="Ben", last_name="Carter"), "America/New_York")
    TaskFactory(title="Send the offer", assignee=ana, due_at=datetime(2025, 5, 2, 17, tzinfo=BERLIN))  # overdue
    TaskFactory(title="Call Acme", assignee=ana, due_at=datetime(2025, 5, 5, 14, 30, tzinfo=BERLIN))
    TaskFactory(title="Renew licence", assignee=ana, due_at=datetime(2025, 5, 5, tzinfo=UTC), all_day=True)
    TaskFactory(title="Next week", assignee=ana, due_at=datetime(2025, 5, 12, 9, tzinfo=BERLIN))
    TaskFactory(title="Done already", assignee=ana, status="completed", due_at=datetime(2025, 5, 5, 9, tzinfo=BERLIN))
    TaskFactory(title="Someone else's", due_at=datetime(2025, 5, 5, 9, tzinfo=BERLIN))
    TaskFactory(title="Support call", assignee=ben, due_at=datetime(2025, 5, 5, 10, tzinfo=NEW_YORK))
    return ana, ben


def test_the_digest_goes_out_at_8_in_each_users_own_zone_once(people):
    ana, ben = people

    before = run(datetime(2025, 5, 5, 7, 55, tzinfo=BERLIN))
    berlin_morning = run(datetime(2025, 5, 5, 8, 0, tzinfo=BERLIN))
    again = run(datetime(2025, 5, 5, 8, 5, tzinfo=BERLIN))
    new_york_morning = run(datetime(2025, 5, 5, 8, 0, tzinfo=NEW_YORK))

    assert (before.sent, berlin_morning.sent, again.sent, new_york_morning.sent) == (0, 1, 0, 1)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["ana@example.com"], "Your tasks for Monday 5 May: 1 overdue, 2 due today"),
        (["ben@example.com"], "Your tasks for Monday 5 May: 1 due today")]
    url = {t.title: f"https://crm.example.com/tasks/{t.pk}/" for t in Task.objects.all()}
    assert mail.outbox[0].body == (
        "Good morning Ana Fischer,\n\nHere is your day, Monday 5 May.\n\n"
        f"Overdue (1):\n  - Send the offer (due Fri 2 May, 17:00)\n    {url['Send the offer']}\n\n"
        f"Due today (2):\n  - Renew licence (all day)\n    {url['Renew licence']}\n"
        f"  - Call Acme (Mon 5 May, 14:30)\n    {url['Call Acme']}\n\n"
        "My day: https://crm.example.com/\n\n"
        "Times are in Europe/Berlin. You get this digest on mornings when you have overdue tasks or tasks due "
        "that day.\n")
    assert sorted(DigestLog.objects.exclude(status="empty")  # the tasks' creators have nothing due
                  .values_list("user__username", "local_date", "status", "task_count")) == [
        ("ana", datetime(2025, 5, 5).date(), "sent", 3), ("ben", datetime(2025, 5, 5).date(), "sent", 1)]


def test_nothing_to_say_means_no_email(db):
    set_time_zone(UserFactory(username="cara"), "Europe/London")

    report = run(datetime(2025, 5, 5, 8, 30, tzinfo=ZoneInfo("Europe/London")))
    later = run(datetime(2025, 5, 5, 12, 0, tzinfo=ZoneInfo("Europe/London")))

    assert (report.empty, later.empty, mail.outbox) == (1, 0, [])
    assert list(DigestLog.objects.values_list("status", flat=True)) == ["empty"]


def test_a_morning_missed_while_nothing_ran_is_sent_later_that_day_not_the_next(people):
    ana, _ = people

    run(datetime(2025, 5, 5, 11, 0, tzinfo=BERLIN))

    assert [m.to for m in mail.outbox] == [["ana@example.com"]]
    assert DigestLog.objects.get(user=ana).local_date == datetime(2025, 5, 5).date()


def test_a_failing_recipient_is_retried_and_the_others_still_get_theirs(people, monkeypatch):
    original = EmailMultiAlternatives.send

    def flaky(self, *args, **kwargs):
        if self.to == ["ana@example.com"]:
            raise TimeoutError("smtp timeout")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    first = run(datetime(2025, 5, 5, 14, 0, tzinfo=BERLIN))  # 08:00 in New York: both are due
    monkeypatch.setattr(EmailMultiAlternatives, "send", original)
    second = run(datetime(2025, 5, 5, 14, 10, tzinfo=BERLIN))

    assert (first.sent, first.failed, second.sent) == (1, 1, 1)
    assert [m.to for m in mail.outbox] == [["ben@example.com"], ["ana@example.com"]]
    assert sorted(DigestLog.objects.filter(user__username__in=["ana", "ben"])
                  .values_list("user__username", "status", "attempts")) == [("ana", "sent", 2), ("ben", "sent", 1)]


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_digest_once():
    users = [set_time_zone(UserFactory(username=f"u{i}"), "Europe/Berlin") for i in range(6)]
    for user in users:
        TaskFactory(title=f"Task of {user.username}", assignee=user, due_at=datetime(2025, 5, 5, 15, tzinfo=BERLIN))
    now = datetime(2025, 5, 5, 8, 1, tzinfo=BERLIN)

    results = run_at_once(lambda: digest.digests_send_due(now=now), lambda: digest.digests_send_due(now=now))

    assert [kind for kind, _ in results] == ["ok", "ok"], results
    reports = [report for _, report in results]
    assert sum(r.sent for r in reports) == 6
    assert sorted(m.to[0] for m in mail.outbox) == [f"u{i}@example.com" for i in range(6)]
