"""Celery jobs of the crm app. Jobs are thin: primitive keyword arguments, an explicit name."""

import logging

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


@shared_task(name="crm.heartbeat")
def heartbeat(*, name="worker"):
    """Record that a worker is alive: set `WorkerHeartbeat(name).last_seen` to now.

    Beat queues it every minute, so a stale `last_seen` in the admin means no
    worker (or no beat) is running. Idempotent: one row per name (unique), and
    running it twice at once just writes the later time.
    """
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"last_seen": now})
    logger.info("Worker heartbeat %r recorded at %s", name, now.isoformat())
    return now.isoformat()


@shared_task(name="crm.send_notification_email", bind=True, max_retries=5, default_retry_delay=60)
def send_notification_email(self, *, email_id):
    """Send the email of one notification (crm.notifications.deliver_email).

    Queued with transaction.on_commit by notify(). Safe twice, at once or later:
    the row's `sent_at` is claimed with a conditional update before sending, so
    only one run sends. A failed send releases the claim and retries later.
    """
    from .notifications import deliver_email

    try:
        sent = deliver_email(email_id=email_id)
    except Exception as exc:  # SMTP down, template error...: try again later
        logger.warning("Notification email %s failed: %s", email_id, exc)
        raise self.retry(exc=exc)
    return sent


# Emails still unsent this long after their notification was made were probably lost
# (broker down at commit, worker killed mid-retry): queue them again.
REQUEUE_AFTER_MINUTES = 10
REQUEUE_MAX_ATTEMPTS = 5


@shared_task(name="crm.requeue_unsent_notification_emails")
def requeue_unsent_notification_emails(*, limit=500):
    """Queue again the notification emails that were never sent.

    Safe twice, at once or later: sending claims each row's `sent_at` with a
    conditional update, so a row queued twice is still sent once. Gives up on a
    row after REQUEUE_MAX_ATTEMPTS failed attempts (its last_error stays visible
    in the admin).
    """
    from datetime import timedelta

    from .models import NotificationEmail

    cutoff = timezone.now() - timedelta(minutes=REQUEUE_AFTER_MINUTES)
    ids = list(
        NotificationEmail.objects.filter(sent_at__isnull=True, created_at__lt=cutoff,
                                         attempts__lt=REQUEUE_MAX_ATTEMPTS)
        .order_by("created_at").values_list("pk", flat=True)[:limit]
    )
    for email_id in ids:
        send_notification_email.delay(email_id=email_id)
    if ids:
        logger.info("Queued %d unsent notification email(s) again", len(ids))
    return len(ids)
