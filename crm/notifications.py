"""In-app notifications (and, later, their email delivery).

`notify()` is the one entry point: it records the notification and never
notifies anyone of their own action.
"""

import logging

log = logging.getLogger(__name__)


def notify(*, recipient, actor, verb, text, target=None):
    if recipient is None or (actor is not None and recipient.pk == actor.pk):
        return None
    from .models import Notification

    return Notification.objects.create(
        recipient=recipient, actor=actor, verb=verb, text=text[:500],
        url=target.get_absolute_url() if target is not None and hasattr(target, "get_absolute_url") else "",
    )
