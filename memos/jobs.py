"""Celery jobs of the memos app. Thin: primitive keyword arguments, an explicit name, a service call."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="memos.send_due_reminders")
def send_due_reminders():
    """Tell users whose "remind me about this memo" is due (beat, every minute).

    Safe to run twice at the same moment: each reminder is claimed with a conditional update
    before anyone is told (memos.services.reminders_send_due). Returns how many were sent.
    """
    sent = services.reminders_send_due()
    logger.info("Memo reminders: %d sent", sent)
    return sent
