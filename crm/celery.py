"""The Celery application and the one place where periodic schedules live."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="jobs")
app.autodiscover_tasks(related_name="jobs_recurrence")  # tasks/jobs_recurrence.py: repeating tasks, reminders

# Every periodic job is listed here and nowhere else. Each job is safe to run
# twice at the same moment (see the job's docstring for how).
app.conf.beat_schedule = {
    # Lets an admin see that a worker is alive (WorkerHeartbeat.last_seen).
    # Safe twice: it only overwrites one row's timestamp.
    "crm-heartbeat": {"task": "crm.heartbeat", "schedule": 60.0},
    # Notification emails lost on the way (broker down at commit): queued again. Safe twice:
    # sending claims each email's sent_at with a conditional update.
    "crm-requeue-unsent-emails": {"task": "crm.requeue_unsent_notification_emails", "schedule": 600.0},
    # "A task becomes overdue" automation rules (escalation). Safe twice: each rule acts
    # once per task and due date (unique AutomationRun per rule and event).
    "tasks-automation-overdue": {"task": "tasks.automation_overdue", "schedule": 300.0},
    # CSV import previews never confirmed. Safe twice: a plain delete of old previews.
    "tasks-purge-stale-imports": {"task": "tasks.purge_stale_imports", "schedule": 3600.0},
    # Instances of repeating tasks up to each series' horizon (14 days) and always the next
    # one. Safe twice: (series, occurrence) is unique and each run locks the series it works on.
    "tasks-generate-recurring-instances": {"task": "tasks.generate_recurring_instances", "schedule": 900.0},
    # Due reminders, by email and in the app. Safe twice: each is claimed with a conditional
    # update before it is sent, and marked sent right after.
    "tasks-send-due-reminders": {"task": "tasks.send_due_reminders", "schedule": 60.0},
    # The 08:00 digest in each user's own zone. Safe twice: DigestLog(user, local date) is unique.
    "tasks-send-daily-digests": {"task": "tasks.send_daily_digests", "schedule": 300.0},
    # "Remind me about this memo". Safe twice: each reminder is claimed with a conditional
    # update (sent_at set only where empty) before anyone is told.
    "memos-send-due-reminders": {"task": "memos.send_due_reminders", "schedule": 60.0},
}


def _fast_seconds():
    """CELERY_BEAT_FAST_SECONDS (tests only): run every periodic job at least this often."""
    raw = os.environ.get("CELERY_BEAT_FAST_SECONDS", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"CELERY_BEAT_FAST_SECONDS must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"CELERY_BEAT_FAST_SECONDS must be positive, got {raw!r}")
    return value


if _fast_seconds():
    for _entry in app.conf.beat_schedule.values():
        _entry["schedule"] = min(float(_entry["schedule"]), _fast_seconds())
