"""Reminders: who gets them, when, exactly once, late ones, failures, re-arming, dropping, snoozing."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from crm.models import Notification
from crm.testing.concurrency import run_at_once
from crm.tests import html
from crm.tests.factories import IndividualFactory, UserFactory, set_time_zone
from tasks import reminders, services
from tasks.models_reminders import Reminder
from tasks.tests.factories import ParticipantFactory, TaskFactory

UTC = dt_timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
DUE = datetime(2025, 5, 5, 14, 30, tzinfo=BERLIN)


def at(*parts, zone=BERLIN):
    return datetime(*parts, tzinfo=zone)


@pytest.fixture
def call(owner, teammate, manager):
    """"Call Acme", due Mon 5 May 14:30 Berlin, assigned to the teammate; the manager follows it; linked to a
    contact with an email address (who must never get a reminder)."""
    for user in (owner, teammate, manager):
        set_time_zone(user, "Europe/Berlin")
    contact = IndividualFactory(first_name="Carl", last_name="Contact", email="carl@customer.example")
    task = TaskFactory(title="Call Acme", created_by=owner, assignee=teammate, due_at=DUE, location="Phone")
    task.set_entity(contact)
    task.save()
    ParticipantFactory(task=task, user=manager, role="subscriber")
    return task


def add(task, by, *, minutes=60, kind="relative_due", for_all=False, now=at(2025, 5, 1, 9), at_time=None):
    with time_machine.travel(now, tick=False):
        return reminders.reminder_add(task=task, by=by, kind=kind, offset=None if at_time else timedelta(minutes=minutes),
                                      at=at_time, for_all=for_all, now=now)


def send(now):
    with time_machine.travel(now, tick=False):
        return reminders.reminders_send_due(now=now)


def state():
    return sorted((r.user.username, r.status, r.remind_at, r.late) for r in Reminder.objects.select_related("user"))


# ---- adding -------------------------------------------------------------------------------------


def test_a_reminder_for_everyone_goes_to_the_assignee_and_participants_never_a_contact(call, owner):
    made = add(call, owner, for_all=True)

    assert sorted((r.user.username, r.kind, r.offset, r.remind_at, r.for_all) for r in made) == [
        ("manager", "relative_due", timedelta(hours=1), at(2025, 5, 5, 13, 30), True),
        ("teammate", "relative_due", timedelta(hours=1), at(2025, 5, 5, 13, 30), True)]
    assert sorted(Reminder.objects.values_list("user__email", flat=True)) == [
        "manager@example.com", "teammate@example.com"]


def test_several_reminders_per_task_and_user_and_the_same_one_is_not_added_twice(call, teammate):
    add(call, teammate, minutes=15)
    add(call, teammate, minutes=1440)
    add(call, teammate, kind="absolute", at_time=at(2025, 5, 2, 8))
    again = add(call, teammate, minutes=15)

    assert again == []
    assert state() == [("teammate", "pending", at(2025, 5, 2, 8), False),
                       ("teammate", "pending", at(2025, 5, 4, 14, 30), False),
                       ("teammate", "pending", at(2025, 5, 5, 14, 15), False)]


def test_before_an_all_day_deadline_counts_from_9_in_each_recipients_zone(owner, teammate):
    set_time_zone(teammate, "America/New_York")
    set_time_zone(owner, "Asia/Tokyo")
    task = TaskFactory(title="Renew licence", created_by=owner, assignee=teammate,
                       due_at=datetime(2025, 5, 5, tzinfo=UTC), all_day=True)
    ParticipantFactory(task=task, user=owner, role="co_worker")

    made = add(task, owner, minutes=1440, for_all=True)

    assert sorted((r.user.username, r.remind_at) for r in made) == [
        ("owner", at(2025, 5, 4, 9, zone=ZoneInfo("Asia/Tokyo"))),
        ("teammate", at(2025, 5, 4, 9, zone=ZoneInfo("America/New_York")))]


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "absolute", "at_time": at(2025, 4, 30, 9)}, "Choose a time in the future."),
    ({"kind": "relative_scheduled"}, "This task has no scheduled time: give it one, or remind at a set time."),
    ({"minutes": -5}, "Choose how long before: from 0 minutes to 365 days."),
])
def test_a_reminder_that_cannot_be_is_refused(call, teammate, kwargs, message):
    with pytest.raises(reminders.ValidationError) as caught:
        add(call, teammate, **kwargs)

    assert caught.value.messages == [message]
    assert Reminder.objects.count() == 0


# ---- sending --------------------------------------------------------------------------------------


def test_a_due_reminder_goes_out_once_by_email_and_in_the_app(call, owner, settings):
    settings.SITE_URL = "https://crm.example.com"
    add(call, owner, for_all=True)

    early = send(at(2025, 5, 5, 13, 29))
    first = send(at(2025, 5, 5, 13, 30))
    second = send(at(2025, 5, 5, 13, 31))

    assert (early.sent, first.sent, second.sent) == (0, 2, 0)
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("manager@example.com", "Reminder: Call Acme — due Mon 5 May 2025, 14:30"),
        ("teammate@example.com", "Reminder: Call Acme — due Mon 5 May 2025, 14:30")]
    message = next(m for m in mail.outbox if m.to == ["teammate@example.com"])
    reminder = Reminder.objects.get(user__username="teammate")
    token_url = f"https://crm.example.com/tasks/reminders/{reminder.pk}/snooze/"
    assert message.body.startswith(
        "Hello Tom Mate,\n\nReminder: “Call Acme” is due Mon 5 May 2025, 14:30.\n\n"
        "Task:      Call Acme\nDue:       Mon 5 May 2025, 14:30\nAssignee:  Tom Mate\nLocation:  Phone\n\n"
        f"Open the task: https://crm.example.com/tasks/{call.pk}/\n\nRemind me again in:\n  15 minutes: {token_url}")
    assert message.body.endswith("Times are in Europe/Berlin. You get this because a reminder was set for you on "
                                 "this task.\n")
    assert message.alternatives[0][1] == "text/html" and f'href="https://crm.example.com/tasks/{call.pk}/"' in \
        message.alternatives[0][0]
    assert sorted((n.recipient.username, n.verb, n.text, n.url, n.actor) for n in Notification.objects.all()) == [
        ("manager", "reminder", "Reminder: “Call Acme” is due Mon 5 May 2025, 14:30.", f"/tasks/{call.pk}/", None),
        ("teammate", "reminder", "Reminder: “Call Acme” is due Mon 5 May 2025, 14:30.", f"/tasks/{call.pk}/", None)]
    assert state() == [("manager", "sent", at(2025, 5, 5, 13, 30), False),
                       ("teammate", "sent", at(2025, 5, 5, 13, 30), False)]


def test_a_reminder_whose_time_passed_while_nothing_ran_goes_out_late_once_and_says_so(call, teammate):
    add(call, teammate)

    report = send(at(2025, 5, 5, 14, 10))
    send(at(2025, 5, 5, 14, 11))

    assert (report.sent, report.late, len(mail.outbox)) == (1, 1, 1)
    assert mail.outbox[0].subject == "[late] Reminder: Call Acme — due Mon 5 May 2025, 14:30"
    assert "Reminder: “Call Acme” is due Mon 5 May 2025, 14:30.\n(late: this reminder was due at 13:30)\n" in \
        mail.outbox[0].body
    assert list(Notification.objects.values_list("text", flat=True)) == [
        "Reminder: “Call Acme” is due Mon 5 May 2025, 14:30. (late: this reminder was due at 13:30)"]
    assert state() == [("teammate", "sent", at(2025, 5, 5, 13, 30), True)]


def test_one_failing_recipient_does_not_stop_the_batch_and_is_retried_later(call, owner, monkeypatch):
    add(call, owner, for_all=True)
    original = EmailMultiAlternatives.send

    def flaky(self, *args, **kwargs):
        if self.to == ["manager@example.com"]:
            raise ConnectionRefusedError("mailbox unavailable")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    report = send(at(2025, 5, 5, 13, 30))
    assert (report.sent, report.failed) == (1, 1)
    assert [m.to for m in mail.outbox] == [["teammate@example.com"]]
    failed = Reminder.objects.get(user__username="manager")
    assert (failed.status, failed.attempts, failed.last_error) == (
        "failed", 1, "ConnectionRefusedError: mailbox unavailable")

    monkeypatch.setattr(EmailMultiAlternatives, "send", original)
    assert send(at(2025, 5, 5, 13, 32)).sent == 0  # retried after 5 minutes, not at once
    assert send(at(2025, 5, 5, 13, 36)).sent == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["manager@example.com", "teammate@example.com"]
    assert Notification.objects.filter(recipient__username="manager").count() == 1  # in the app once
    assert state() == [("manager", "sent", at(2025, 5, 5, 13, 30), True),
                       ("teammate", "sent", at(2025, 5, 5, 13, 30), False)]


def test_a_worker_that_died_mid_batch_neither_resends_nor_loses_any(call, owner):
    people = [UserFactory(username=f"p{i}") for i in range(4)]
    for person in people:
        ParticipantFactory(task=call, user=person)
    add(call, owner, for_all=True)
    # A run at 13:30 claimed all six and had sent two when its worker died.
    Reminder.objects.update(status="sending", claimed_at=at(2025, 5, 5, 13, 30), claim_token="dead", attempts=1)
    Reminder.objects.filter(user__username__in=["p0", "p1"]).update(status="sent", sent_at=at(2025, 5, 5, 13, 30))

    soon = send(at(2025, 5, 5, 13, 35))  # the dead run's claims are not taken over yet
    later = send(at(2025, 5, 5, 13, 41))  # after REMINDER_RECLAIM_AFTER_MINUTES (10)

    assert (soon.sent, later.reclaimed, later.sent) == (0, 4, 4)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "manager@example.com", "p2@example.com", "p3@example.com", "teammate@example.com"]
    assert set(Reminder.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_reminder_exactly_once():
    owner = UserFactory(username="boss")
    tasks = [TaskFactory(title=f"Call {i}", created_by=owner, assignee=owner, due_at=DUE) for i in range(3)]
    people = [UserFactory(username=f"u{i}") for i in range(8)]
    for task in tasks:
        for person in people:
            ParticipantFactory(task=task, user=person)
        add(task, owner, for_all=True)
    now = at(2025, 5, 5, 13, 30)

    results = run_at_once(lambda: reminders.reminders_send_due(now=now, batch_size=5),
                          lambda: reminders.reminders_send_due(now=now, batch_size=5))

    assert [kind for kind, _ in results] == ["ok", "ok"], results
    reports = [report for _, report in results]
    assert sum(r.sent for r in reports) == 27
    assert len(mail.outbox) == 27
    assert len({(m.to[0], m.subject) for m in mail.outbox}) == 27
    assert Notification.objects.filter(verb="reminder").count() == 27
    assert set(Reminder.objects.values_list("status", flat=True)) == {"sent"}


# ---- following the task ---------------------------------------------------------------------------


def test_moving_the_due_date_rearms_the_relative_reminders(call, owner, teammate):
    add(call, owner, for_all=True)
    add(call, teammate, kind="absolute", at_time=at(2025, 5, 5, 8))
    send(at(2025, 5, 5, 13, 30))  # both relative ones sent, the absolute one too
    call.refresh_from_db()

    with time_machine.travel(at(2025, 5, 5, 13, 45), tick=False):
        services.task_update(task=call, user=owner, data={"due_at": at(2025, 5, 7, 10)}, version=call.version)

    assert state() == [("manager", "pending", at(2025, 5, 7, 9), False),
                       ("teammate", "pending", at(2025, 5, 7, 9), False),
                       ("teammate", "sent", at(2025, 5, 5, 8), True)]
    assert send(at(2025, 5, 7, 9)).sent == 2


def test_completing_drops_the_pending_reminders_and_reopening_brings_back_those_ahead(call, owner, teammate):
    add(call, owner, for_all=True)
    add(call, teammate, kind="absolute", at_time=at(2025, 5, 2, 8))

    with time_machine.travel(at(2025, 5, 3, 9), tick=False):
        services.task_complete(task=services.task_start(task=call, user=owner), user=owner)
        dropped = state()
        services.task_change_status(task=call, user=owner, status="pending")

    assert dropped == [("manager", "dropped", at(2025, 5, 5, 13, 30), False),
                       ("teammate", "dropped", at(2025, 5, 2, 8), False),
                       ("teammate", "dropped", at(2025, 5, 5, 13, 30), False)]
    assert state() == [("manager", "pending", at(2025, 5, 5, 13, 30), False),
                       ("teammate", "dropped", at(2025, 5, 2, 8), False),
                       ("teammate", "pending", at(2025, 5, 5, 13, 30), False)]


def test_cancelling_drops_them_and_a_reminder_of_a_task_closed_another_way_is_not_sent(call, owner):
    add(call, owner, for_all=True)
    services.task_cancel(task=call, user=owner)
    assert {s for _, s, _, _ in state()} == {"dropped"}

    other = TaskFactory(title="Quote", created_by=owner, assignee=owner, due_at=DUE)
    add(other, owner)
    type(other).objects.filter(pk=other.pk).update(status="completed")  # e.g. a bulk import

    assert send(at(2025, 5, 5, 13, 30)).dropped == 1
    assert mail.outbox == []


# ---- snoozing ---------------------------------------------------------------------------------------


def test_snooze_from_the_task_page(client, call, teammate):
    add(call, teammate)
    send(at(2025, 5, 5, 13, 30))
    reminder = Reminder.objects.get()
    client.force_login(teammate)

    with time_machine.travel(at(2025, 5, 5, 13, 40), tick=False):
        response = client.post(f"/tasks/{call.pk}/reminders/{reminder.pk}/snooze/", {"minutes": "15"}, follow=True)

    assert html.messages(response) == ["Snoozed: you will be reminded again at 13:55 on Mon 5 May."]
    assert state() == [("teammate", "pending", at(2025, 5, 5, 13, 55), False)]
    assert send(at(2025, 5, 5, 13, 55)).sent == 1
    assert len(mail.outbox) == 2


def test_snooze_from_the_email_link_works_signed_out_and_only_on_the_button(client, call, teammate):
    add(call, teammate)
    send(at(2025, 5, 5, 13, 30))
    reminder = Reminder.objects.get()
    url = reminders.snooze_url(reminder, 60).replace("http://127.0.0.1:8000", "")

    with time_machine.travel(at(2025, 5, 5, 13, 40), tick=False):
        shown = client.get(url)  # a mail scanner following the link changes nothing
        unchanged = state()
        done = client.post(url.split("?")[0], {"minutes": "60"})

    assert shown.status_code == 200 and "Remind me again in" in html.main(shown).text()
    assert unchanged == [("teammate", "sent", at(2025, 5, 5, 13, 30), False)]
    assert done.status_code == 200
    assert html.main(done).find("p").text() == (
        "We will remind you of “Call Acme” again at 14:40 on Monday 5 May (Europe/Berlin).")
    assert state() == [("teammate", "pending", at(2025, 5, 5, 14, 40), False)]


@pytest.mark.parametrize("tamper", ["forged", "other reminder", "expired"])
def test_a_bad_snooze_link_changes_nothing(client, call, teammate, owner, tamper):
    mine = add(call, teammate)[0]
    other = add(call, owner, minutes=15)[0]
    with time_machine.travel(at(2025, 5, 1, 9), tick=False):
        token = reminders.snooze_token(mine)  # links work for 7 days
    url = {"forged": f"/tasks/reminders/{mine.pk}/snooze/{token[:-3]}abc/",
           "other reminder": f"/tasks/reminders/{other.pk}/snooze/{token}/",
           "expired": f"/tasks/reminders/{mine.pk}/snooze/{token}/"}[tamper]
    later = at(2025, 5, 20) if tamper == "expired" else at(2025, 5, 1, 9)

    with time_machine.travel(later, tick=False):
        response = client.post(url, {"minutes": "60"})

    assert response.status_code == 404
    assert "This snooze link does not work" in html.main(response).text()
    assert Reminder.objects.filter(snoozed_until__isnull=False).count() == 0


# ---- the panel and its actions --------------------------------------------------------------------


def test_the_panel_lists_reminders_and_adds_one_for_everyone(client, call, owner):
    client.force_login(owner)

    with time_machine.travel(at(2025, 5, 1, 9), tick=False):
        response = client.post(f"/tasks/{call.pk}/reminders/", {"when": "due:60", "audience": "all"}, follow=True)

    assert html.messages(response) == ["Reminder set for Mona Ger, Tom Mate: 1 hour before due."]
    panel = html.main(response).find("section", id="reminders")
    assert [li.find("div", cls="reminder-when").text() for li in panel.find_all("li")] == [
        "1 hour before due · Mon 5 May, 13:30", "1 hour before due · Mon 5 May, 13:30"]
    assert [o.attrs["value"] for o in panel.find("select", name="when").find_all("option")] == [
        "due:15", "due:60", "due:1440", "at"]


def test_a_subscriber_sees_only_their_own_reminders_and_can_only_remind_themselves(client, call, owner, manager):
    add(call, owner, for_all=True)
    client.force_login(manager)

    panel = html.main(client.get(f"/tasks/{call.pk}/")).find("section", id="reminders")
    with time_machine.travel(at(2025, 5, 1, 9), tick=False):
        response = client.post(f"/tasks/{call.pk}/reminders/", {"when": "due:15", "audience": "all"})

    assert [li.find("div", cls="text-body-secondary").text() for li in panel.find_all("li")] == ["For you · pending"]
    assert panel.find("select", name="audience") is None
    assert response.status_code == 302  # "audience" is not theirs to choose: the reminder is theirs alone
    assert sorted(Reminder.objects.filter(offset=timedelta(minutes=15)).values_list("user__username", flat=True)) == [
        "manager"]


def test_outsiders_get_404_and_bad_input_400(client, call, outsider, teammate):
    client.force_login(outsider)
    assert client.post(f"/tasks/{call.pk}/reminders/", {"when": "due:60"}).status_code == 404

    client.force_login(teammate)
    with time_machine.travel(at(2025, 5, 1, 9), tick=False):
        bad_when = client.post(f"/tasks/{call.pk}/reminders/", {"when": "due:7"})
        no_time = client.post(f"/tasks/{call.pk}/reminders/", {"when": "at", "at": ""})
        past = client.post(f"/tasks/{call.pk}/reminders/", {"when": "at", "at": "2025-04-01T09:00"})

    assert [r.status_code for r in (bad_when, no_time, past)] == [400, 400, 400]
    assert html.messages(bad_when)[0] == (
        "The reminder was not added: Choose when to be reminded (a time before the due or scheduled time the task "
        "has, or a set time).")
    assert html.messages(no_time)[0] == "The reminder was not added: Choose the date and time of the reminder."
    assert html.messages(past)[0] == "The reminder was not added: Choose a time in the future."
    assert Reminder.objects.count() == 0
