"""Celery jobs of the tasks app. Thin: primitive keyword arguments, an explicit name, a service call."""

import logging

from celery import shared_task

from . import automation

logger = logging.getLogger(__name__)


@shared_task(name="tasks.automation_event")
def automation_event(*, trigger, object_id, event_key, values=None, depth=None):
    """Let the automation rules listening for `trigger` act on one event (queued after commit).

    Idempotent: each rule acts at most once per `event_key` (a unique run row), so a
    redelivered or duplicated job does nothing the second time. Returns the new run ids.
    """
    runs = automation.handle_event(trigger=trigger, object_id=object_id, event_key=event_key, values=values,
                                   depth=depth)
    logger.info("Automation event %s: %d rule run(s)", event_key, len(runs))
    return [run.pk for run in runs]


@shared_task(name="tasks.automation_overdue")
def automation_overdue():
    """Fire "task becomes overdue" rules for tasks that became overdue (beat, every 5 minutes).

    Once per task and due date, safe to run twice at once (the unique run row
    decides which run acts). Returns how many rule runs it wrote.
    """
    written = automation.scan_overdue()
    logger.info("Overdue automation: %d rule run(s)", written)
    return written


# Import previews nobody confirmed are dropped after this long (they hold the parsed rows).
IMPORT_PREVIEW_KEEP_DAYS = 2


@shared_task(name="tasks.purge_stale_imports")
def purge_stale_imports():
    """Delete CSV import previews that were never confirmed (beat, hourly).

    Safe twice: a plain delete of old unconfirmed rows; imported and discarded
    imports stay as a record of who imported what.
    """
    from datetime import timedelta

    from django.utils import timezone

    from .models import TaskImport

    cutoff = timezone.now() - timedelta(days=IMPORT_PREVIEW_KEEP_DAYS)
    deleted, _ = TaskImport.objects.filter(status=TaskImport.Status.PREVIEW, created_at__lt=cutoff).delete()
    logger.info("Purged %d stale import preview(s)", deleted)
    return deleted
