"""Notification emails: who gets which, with what content, once, after commit, per preference."""

import re
import time
from datetime import datetime
from datetime import timezone as dt_timezone
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm import discussion
from crm.models import Notification, NotificationEmail, NotificationPreference
from crm.notifications import deliver_email, notification_preferences_set, notify
from crm.testing.jobs import eager_jobs  # noqa: F401  (fixture)
from crm.tests.factories import UserFactory, set_time_zone
from crm.tests.html import main, messages, parse
from tasks import services
from tasks.models import Participant

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=dt_timezone.utc)
FOOTER = ("\n\nOpen it: http://127.0.0.1:8000/tasks/{pk}/\n\n--\n"
          "You get this email because of your notification settings: http://127.0.0.1:8000/settings/notifications/\n")

pytestmark = pytest.mark.django_db


def sent():
    """(recipient, subject) of every email sent, in order."""
    return [(m.to[0], m.subject) for m in mail.outbox]


def html_text(message):
    """The words of the HTML alternative as a reader sees them (each element's text apart)."""
    (content, mimetype), = message.alternatives
    assert mimetype == "text/html"
    words = []

    def walk(node):
        for child in node.children:
            if isinstance(child, str):
                words.append(child)
            else:
                walk(child)

    walk(parse(content).find("body"))
    return re.sub(r" ([.,:;!?])", r"\1", " ".join(" ".join(words).split()))


@pytest.fixture
def people(owner, teammate, manager):
    set_time_zone(owner, "Europe/Berlin")
    set_time_zone(teammate, "America/New_York")
    return owner, teammate, manager


@pytest.fixture
def task(people, team, django_capture_on_commit_callbacks, eager_jobs):
    owner, teammate, manager = people
    subscriber = UserFactory(username="sub", first_name="Sue", last_name="Scriber")
    task = services.task_create(created_by=owner, title="Call Acme", team=team, assignee=teammate, priority="high",
                                due_at=datetime(2026, 3, 3, 17, 0, tzinfo=BERLIN),
                                participants=[(subscriber, Participant.Role.SUBSCRIBER)])
    return task


# ---- content ----------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_the_assignee_gets_an_email_after_commit_in_their_time_zone(people, team, eager_jobs,
                                                                      django_capture_on_commit_callbacks):
    owner, teammate, _ = people

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        task = services.task_create(created_by=owner, title="Call Acme", team=team, assignee=teammate,
                                    priority="high", due_at=datetime(2026, 3, 3, 17, 0, tzinfo=BERLIN))
        assert mail.outbox == []  # nothing is sent inside the transaction

    assert len(callbacks) >= 1
    message, = mail.outbox
    assert (message.to, message.subject, message.from_email) == (
        ["teammate@example.com"], "Olga Owner assigned you “Call Acme”", "crm@localhost")
    assert message.body == (
        "Hello Tom,\n\nOlga Owner assigned you “Call Acme”.\n\n"
        "Task: Call Acme\nStatus: Pending\nPriority: High\nDue: 3 Mar 2026, 11:00" + FOOTER.format(pk=task.pk))
    assert html_text(message) == (
        "Taskdesk Hello Tom, Olga Owner assigned you “Call Acme”. Task Call Acme Status Pending Priority High "
        "Due 3 Mar 2026, 11:00 Open the task You get this email because of your notification settings.")
    assert f'href="http://127.0.0.1:8000/tasks/{task.pk}/"' in message.alternatives[0][0]
    assert NotificationEmail.objects.get().sent_at == NOW


@time_machine.travel(NOW, tick=False)
def test_status_and_due_date_changes_reach_everyone_taking_part_except_the_actor(
        people, task, django_capture_on_commit_callbacks):
    owner, teammate, _ = people
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.task_update(task=task, user=teammate, version=task.version,
                             data={"due_at": datetime(2026, 3, 5, 9, 0, tzinfo=BERLIN)})
        services.task_start(task=task, user=teammate)

    assert sorted(sent()) == [("owner@example.com", "Tom Mate changed “Call Acme”"),
                              ("sub@example.com", "Tom Mate changed “Call Acme”")]
    to_owner = next(m for m in mail.outbox if m.to == ["owner@example.com"])
    assert to_owner.body == (
        "Hello Olga,\n\nTom Mate changed a task you take part in:\n\n"
        "- Due date: 3 Mar 17:00 → 5 Mar 09:00\n- Status: Pending → In progress\n\n"
        "Task: Call Acme\nStatus: In progress\nPriority: High\nDue: 5 Mar 2026, 09:00" + FOOTER.format(pk=task.pk))
    assert "Due date: 3 Mar 17:00 → 5 Mar 09:00 Status: Pending → In progress" in html_text(to_owner)
    assert set(Notification.objects.filter(verb="task_changed").values_list("recipient__username", "text")) == {
        ("owner", "Tom Mate changed “Call Acme”: due date from 3 Mar 17:00 to 5 Mar 09:00; status from Pending "
                  "to In progress."),
        ("sub", "Tom Mate changed “Call Acme”: due date from 3 Mar 16:00 to 5 Mar 08:00; status from Pending "
                "to In progress."),
    }


@time_machine.travel(NOW, tick=False)
def test_completion_email_carries_the_outcome(people, task, django_capture_on_commit_callbacks):
    owner, teammate, _ = people
    services.task_start(task=task, user=teammate)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.task_complete(task=task, user=teammate, outcome="They signed & paid.")

    assert sorted(sent()) == [("owner@example.com", "Tom Mate completed “Call Acme”"),
                              ("sub@example.com", "Tom Mate completed “Call Acme”")]
    to_owner = next(m for m in mail.outbox if m.to == ["owner@example.com"])
    assert to_owner.body == (
        "Hello Olga,\n\nTom Mate completed “Call Acme”.\n\nOutcome:\nThey signed & paid.\n\n"
        "Task: Call Acme\nStatus: Completed\nPriority: High\nDue: 3 Mar 2026, 17:00" + FOOTER.format(pk=task.pk))
    assert "Outcome They signed & paid." in html_text(to_owner)


@time_machine.travel(NOW, tick=False)
def test_a_mention_and_a_comment_on_my_task_are_emailed_with_the_comment(people, task,
                                                                           django_capture_on_commit_callbacks):
    owner, teammate, manager = people
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        discussion.comment_post(obj=task, author=manager, body="Great <b>job</b> @teammate!\n\nNext: renewal.")

    assert sorted(sent()) == [("owner@example.com", "Mona Ger commented on “Call Acme”"),
                              ("teammate@example.com", "Mona Ger mentioned you on “Call Acme”")]
    mention = next(m for m in mail.outbox if m.to == ["teammate@example.com"])
    assert mention.body == (
        "Hello Tom,\n\nMona Ger mentioned you on the task “Call Acme”.\n\n"
        "Comment by Mona Ger:\nGreat <b>job</b> @teammate!\n\nNext: renewal." + FOOTER.format(pk=task.pk))
    assert "Great &lt;b&gt;job&lt;/b&gt; @teammate!<br><br>Next: renewal." in mention.alternatives[0][0]
    assert "Comment by Mona Ger Great <b>job</b> @teammate! Next: renewal. Reply" in html_text(mention)


# ---- rules ------------------------------------------------------------------------------------


def test_one_event_gives_one_email_even_when_the_task_is_saved_twice(people, task,
                                                                      django_capture_on_commit_callbacks):
    owner, teammate, _ = people
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            task = services.task_update(task=task, user=teammate, version=task.version,
                                        data={"due_at": datetime(2026, 3, 4, 9, 0, tzinfo=BERLIN)})
            task = services.task_update(task=task, user=teammate, version=task.version,
                                        data={"due_at": datetime(2026, 3, 5, 9, 0, tzinfo=BERLIN)})

    assert sorted(sent()) == [("owner@example.com", "Tom Mate changed “Call Acme”"),
                              ("sub@example.com", "Tom Mate changed “Call Acme”")]
    to_owner = next(m for m in mail.outbox if m.to == ["owner@example.com"])
    assert "- Due date: 3 Mar 17:00 → 5 Mar 09:00\n" in to_owner.body
    assert Notification.objects.filter(verb="task_changed", recipient=owner).count() == 1


@pytest.mark.django_db(transaction=True)
@time_machine.travel(NOW, tick=False)
def test_one_email_per_event_also_across_two_transactions_of_one_request(eager_jobs, rf):
    """In a request each service commits on its own: the second save joins the first notification."""
    from django.http import HttpResponse
    from simple_history.middleware import HistoryRequestMiddleware

    from crm.models import Team, TeamMembership

    owner = UserFactory(username="owner", first_name="Olga", last_name="Owner")
    teammate = UserFactory(username="teammate", first_name="Tom", last_name="Mate")
    team = Team.objects.create(name="Sales")
    TeamMembership.objects.create(team=team, user=owner)
    task = services.task_create(created_by=owner, title="Call Acme", team=team, assignee=teammate,
                                due_at=datetime(2026, 3, 3, 17, 0, tzinfo=dt_timezone.utc))
    mail.outbox.clear()

    def view(request):
        current = services.task_update(task=task, user=teammate, version=task.version,
                                       data={"due_at": datetime(2026, 3, 4, 9, 0, tzinfo=dt_timezone.utc)})
        services.task_update(task=current, user=teammate, version=current.version,
                             data={"due_at": datetime(2026, 3, 5, 9, 0, tzinfo=dt_timezone.utc)})
        return HttpResponse("ok")

    request = rf.post("/")
    request.user = teammate
    HistoryRequestMiddleware(view)(request)

    assert sent() == [("owner@example.com", "Tom Mate changed “Call Acme”")]
    assert list(Notification.objects.filter(verb="task_changed").values_list("text", flat=True)) == [
        "Tom Mate changed “Call Acme”: due date from 3 Mar 17:00 to 5 Mar 09:00."]


def test_a_rolled_back_change_sends_and_records_nothing(people, task, django_capture_on_commit_callbacks):
    owner, teammate, _ = people
    mail.outbox.clear()
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.task_start(task=task, user=teammate)
            raise RuntimeError("a later step failed")

    assert (callbacks, mail.outbox, Notification.objects.count(), NotificationEmail.objects.count()) == (
        [], [], 0, 0)


def test_nobody_is_notified_of_their_own_action(people, team, eager_jobs, django_capture_on_commit_callbacks):
    owner, _, _ = people

    with django_capture_on_commit_callbacks(execute=True):
        task = services.task_create(created_by=owner, title="Mine", team=team, assignee=owner)
        services.task_start(task=task, user=owner)
        discussion.comment_post(obj=task, author=owner, body="Note to self @owner")
        notify(recipient=owner, actor=owner, verb="assigned", text="x", target=task)

    assert (mail.outbox, Notification.objects.count()) == ([], 0)


def test_preferences_choose_what_comes_by_email_and_the_bell_keeps_everything(
        client, people, task, django_capture_on_commit_callbacks):
    owner, teammate, manager = people
    client.force_login(owner)
    page = parse(client.get("/settings/notifications/"))
    checked = {i.attrs["name"]: "checked" in i.attrs for i in page.find_all("input", type="checkbox")}

    response = client.post("/settings/notifications/", {"assigned": "on", "mentioned": "on"}, follow=True)
    mail.outbox.clear()
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        services.task_start(task=task, user=teammate)                                      # task_changed: off
        discussion.comment_post(obj=task, author=manager, body="Well done")               # commented: off
        discussion.comment_post(obj=task, author=manager, body="@owner have a look")      # mentioned: on

    assert checked == {"assigned": True, "task_changed": True, "mentioned": True, "commented": True}
    assert messages(response) == ["Your notification settings are saved."]
    assert dict(NotificationPreference.objects.filter(user=owner).values_list("event", "email")) == {
        "assigned": True, "task_changed": False, "mentioned": True, "commented": False}
    assert [s for s in sent() if s[0] == "owner@example.com"] == [
        ("owner@example.com", "Mona Ger mentioned you on “Call Acme”")]
    assert sorted(Notification.objects.filter(recipient=owner).values_list("verb", flat=True)) == [
        "commented", "mentioned", "task_changed"]


def test_unknown_events_are_refused_by_the_preferences_service(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        notification_preferences_set(user=owner, email_events={"assigned", "everything"})
    assert NotificationPreference.objects.count() == 0


def test_users_without_an_address_get_no_email_row(people, team, django_capture_on_commit_callbacks):
    owner, _, _ = people
    nomail = UserFactory(username="nomail", email="")

    services.task_create(created_by=owner, title="Call", team=team, assignee=nomail)

    assert (Notification.objects.filter(recipient=nomail).count(), NotificationEmail.objects.count()) == (1, 0)


# ---- the job -----------------------------------------------------------------------------------


def test_the_job_sends_once_even_when_run_twice_and_a_failure_can_be_retried(people, team,
                                                                               django_capture_on_commit_callbacks):
    owner, teammate, _ = people
    with django_capture_on_commit_callbacks(execute=False):
        services.task_create(created_by=owner, title="Call Acme", team=team, assignee=teammate)
    email = NotificationEmail.objects.get()

    with mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down")):
        with pytest.raises(OSError):
            deliver_email(email_id=email.pk)
    email.refresh_from_db()
    failed = (email.sent_at, email.attempts, email.last_error)
    results = [deliver_email(email_id=email.pk), deliver_email(email_id=email.pk)]

    assert failed == (None, 1, "SMTP down")
    assert results == [True, False]
    assert sent() == [("teammate@example.com", "Olga Owner assigned you “Call Acme”")]


@pytest.mark.celery_worker
def test_a_real_worker_sends_the_email_for_a_mention(celery_worker_process):
    from crm.models import Team, TeamMembership
    from crm.testing.celery_worker import require_ci_services

    require_ci_services()
    owner = UserFactory(username="owner", first_name="Olga", last_name="Owner")
    teammate = UserFactory(username="teammate", first_name="Tom", last_name="Mate")
    team = Team.objects.create(name="Sales")
    TeamMembership.objects.create(team=team, user=owner)
    TeamMembership.objects.create(team=team, user=teammate)
    task = services.task_create(created_by=owner, title="Call Acme", team=team, assignee=owner)

    discussion.comment_post(obj=task, author=owner, body="@teammate can you call them?")

    email = NotificationEmail.objects.get(notification__recipient=teammate)
    done = f"Notification email {email.pk} sent to teammate@example.com."
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and done not in celery_worker_process.output:
        time.sleep(0.2)
    email.refresh_from_db()
    assert done in celery_worker_process.output, f"No email sent within 30 s:\n{celery_worker_process.output}"
    assert (email.sent_at is not None, email.event, email.attempts, email.last_error) == (True, "mentioned", 1, "")


# ---- the bell's list ------------------------------------------------------------------------------


def test_the_notification_list_runs_the_same_number_of_queries_for_one_and_many(client, people, task):
    owner, teammate, _ = people

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/notifications/")
        return len(queries), len(main(response).find_all("form", cls="list-group-item"))

    notify(recipient=owner, actor=teammate, verb="commented", text="First", target=None)
    client.force_login(owner)
    client.get("/notifications/")
    one = count()
    for n in range(20):
        notify(recipient=owner, actor=UserFactory(), verb="commented", text=f"Note {n}", target=None)
    many = count()

    assert (one[1], many[1]) == (1, 21)
    assert many[0] == one[0]
