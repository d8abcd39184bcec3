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
