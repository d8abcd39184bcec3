"""Beat and a worker, for real: beat queues the periodic jobs, the worker makes instances and sends reminders.

Starts `celery -A crm beat` (its schedule file in tmp_path, every job every second via
CELERY_BEAT_FAST_SECONDS, read in crm/celery.py) next to the real worker of
crm/testing/celery_worker.py, against the test database and the broker (Redis in CI,
the embedded broker otherwise). Nothing is queued by hand: what happens is beat's doing.
The worker runs with the test settings' locmem email backend, in another process, so
the test reads the outcome in the database: instances made, reminders marked sent with
their in-app notification.
"""

import os
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from crm.models import Notification
from crm.testing.celery_worker import WorkerProcess, database_url_for, require_ci_services, wait_for
from crm.tests.factories import UserFactory, set_time_zone
from tasks import recurrence, reminders
from tasks.models import Task
from tasks.models_reminders import Reminder
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.celery_worker

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def beat_process(celery_worker_process, tmp_path):
    """`celery beat` with every periodic job due each second, on the test database and broker."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings_test",
        "DATABASE_URL": database_url_for(connection.settings_dict),
        "PYTHONUNBUFFERED": "1",
        "CELERY_BEAT_FAST_SECONDS": "1",
    }
    beat = WorkerProcess(
        [sys.executable, "-m", "celery", "-A", "crm", "beat", "--loglevel", "info", "--max-interval", "1",
         "--schedule", str(tmp_path / "celerybeat-schedule")],
        env,
    )
    try:
        yield beat
    finally:
        beat.stop()


def test_beat_and_a_worker_make_instances_and_deliver_reminders(transactional_db, celery_worker_process,
                                                                  beat_process):
    require_ci_services()
    owner = set_time_zone(UserFactory(username="ana", first_name="Ana", last_name="Fischer"), "Europe/Berlin")
    now = timezone.now()
    start_day = (now + timedelta(days=1)).astimezone(BERLIN).date()
    due = datetime.combine(start_day, datetime.min.time()).replace(hour=9, tzinfo=BERLIN)
    schedule = recurrence.schedule_from_due(due_at=due, all_day=False, pattern="FREQ=DAILY",
                                            time_zone="Europe/Berlin")
    # Made as if a month ago: only the first instance exists; the rest is for the beat-driven job.
    first = recurrence.series_create(created_by=owner, schedule=schedule, title="Daily check", due_at=due,
                                     assignee=owner, now=now - timedelta(days=30))
    expected = [o.key for o in schedule.between(None, now + timedelta(days=14))]
    call = TaskFactory(title="Call Acme", created_by=owner, assignee=owner, due_at=now + timedelta(minutes=30))
    reminder = reminders.reminder_add(task=call, by=owner, kind="relative_due", offset=timedelta(hours=1),
                                      now=now - timedelta(hours=2))[0]  # due 30 minutes ago: sent late
    assert Task.objects.filter(series=first.series).count() == 1

    made = wait_for(lambda: Task.objects.filter(series=first.series).count() == len(expected), timeout=60.0,
                    interval=0.3)
    sent = wait_for(lambda: Reminder.objects.filter(pk=reminder.pk, status="sent").exists(), timeout=60.0,
                    interval=0.3)

    output = f"Beat:\n{beat_process.output}\n\nWorker:\n{celery_worker_process.output}"
    assert made, output
    assert sent, output
    assert sorted(Task.objects.filter(series=first.series).values_list("occurrence", flat=True)) == expected
    assert {t.due_at.astimezone(BERLIN).hour for t in Task.objects.filter(series=first.series)} == {9}
    reminder.refresh_from_db()
    assert (reminder.late, reminder.attempts, reminder.notified_at is not None) == (True, 1, True)
    was_due = reminder.remind_at.astimezone(BERLIN)
    sent_at = Notification.objects.get(verb="reminder").created_at.astimezone(BERLIN)
    # Real time here: when the reminder was due on the day before it went out, the note names the day.
    day = "" if was_due.date() == sent_at.date() else f" on {was_due:%a %-d %b}"
    assert list(Notification.objects.filter(verb="reminder").values_list("recipient__username", "text")) == [
        ("ana", f"Reminder: “Call Acme” is due {reminders._when(call, BERLIN)}. "
                f"(late: this reminder was due at {was_due:%H:%M}{day})")]
    assert "Sending due task tasks-generate-recurring-instances" in beat_process.output, output
    assert "Sending due task tasks-send-due-reminders" in beat_process.output, output
    assert "tasks.generate_recurring_instances" in celery_worker_process.output, output
