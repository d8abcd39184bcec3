"""The Celery application and the one place where periodic schedules live."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="jobs")

# Every periodic job is listed here and nowhere else. Each job is safe to run
# twice at the same moment (see the job's docstring for how).
app.conf.beat_schedule = {
    # Lets an admin see that a worker is alive (WorkerHeartbeat.last_seen).
    # Safe twice: it only overwrites one row's timestamp.
    "crm-heartbeat": {"task": "crm.heartbeat", "schedule": 60.0},
}
