"""Notification emails lost on the way are queued again by a periodic job, and still sent once."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.core import mail

from crm.jobs import requeue_unsent_notification_emails
from crm.models import Notification, NotificationEmail
from crm.testing.jobs import eager_jobs  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=dt_timezone.utc)


def _email(recipient, text, **fields):
    note = Notification.objects.create(recipient=recipient, verb="commented", text=text)
    return NotificationEmail.objects.create(notification=note, event="commented", **fields)


def test_old_unsent_emails_are_sent_once_and_recent_or_sent_ones_are_left(owner, teammate, eager_jobs):
    with time_machine.travel(T0, tick=False):
        lost = _email(owner, "Lost in transit")
        given_up = _email(teammate, "Failed five times", attempts=5)
        already = _email(teammate, "Already sent", sent_at=T0)
    with time_machine.travel(T0 + timedelta(minutes=8), tick=False):
        fresh = _email(owner, "Just made")

    with time_machine.travel(T0 + timedelta(minutes=12), tick=False):
        first = requeue_unsent_notification_emails()
        second = requeue_unsent_notification_emails()

    assert (first, second) == (1, 0)
    assert [(m.to, m.subject) for m in mail.outbox] == [(["owner@example.com"], mail.outbox[0].subject)]
    assert "Lost in transit" in mail.outbox[0].body
    assert set(NotificationEmail.objects.filter(sent_at__isnull=True).values_list("pk", flat=True)) == {
        given_up.pk, fresh.pk}
    assert NotificationEmail.objects.get(pk=lost.pk).sent_at == T0 + timedelta(minutes=12)
    assert NotificationEmail.objects.get(pk=already.pk).sent_at == T0
