"""Celery jobs of repeating tasks, reminders and digests. Thin: they call a service and log.

Scheduled by beat in crm/celery.py (the one place for schedules); each is safe to run
twice at the same moment, as its docstring says.
"""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="tasks.generate_recurring_instances")
def generate_recurring_instances():
    """Make the instances of every active series up to its horizon (and always the next one).

    Safe twice at once: (series, occurrence) is unique in the database and each run
    locks the series it works on; an occurrence is never made twice.
    """
    from .recurrence import series_generate_due

    report = series_generate_due()
    logger.info("Recurring tasks: %s series looked at, %s instance(s) made, %s failed.",
                report.series, report.created, report.failed)
    return {"series": report.series, "created": report.created, "failed": report.failed}


@shared_task(name="tasks.send_due_reminders")
def send_due_reminders():
    """Send the reminders that are due, by email and in the app, each exactly once.

    Safe twice at once: a reminder is claimed with a conditional update before it is
    sent and marked sent right after its email, so a second run finds nothing to take.
    """
    from .reminders import reminders_send_due

    report = reminders_send_due()
    logger.info("Reminders: %s sent (%s late), %s failed, %s dropped, %s reclaimed.",
                report.sent, report.late, report.failed, report.dropped, report.reclaimed)
    return {"sent": report.sent, "late": report.late, "failed": report.failed, "dropped": report.dropped}


@shared_task(name="tasks.send_daily_digests")
def send_daily_digests():
    """Send the 08:00 digest (overdue and due today) to users whose morning has come, once a day.

    Safe twice at once: DigestLog(user, local date) is unique and claimed by inserting it.
    """
    from .digest import digests_send_due

    report = digests_send_due()
    logger.info("Digests: %s sent, %s with nothing to say, %s failed.", report.sent, report.empty, report.failed)
    return {"sent": report.sent, "empty": report.empty, "failed": report.failed}
