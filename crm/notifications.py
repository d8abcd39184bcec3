"""Notifications: in the app (the bell) and by email.

`notify()` is the one entry point. It guarantees:
- nobody is notified of their own action (recipient == actor records nothing);
- one event gives one notification, and at most one email, per recipient even when
  the same thing happens twice in one request or transaction (a task saved twice):
  the second call for the same (recipient, verb, target) updates the first
  notification, merging what changed (first "before", last "after");
- an email is only queued when the event is one users can get by email (EMAIL_EVENTS)
  and the recipient's preference says so (default: yes) and they have an address;
- the email job is queued with transaction.on_commit: a rolled-back change sends
  nothing, and the notification row is rolled back with it. The job
  (crm.jobs.send_notification_email) claims `NotificationEmail.sent_at` with a
  conditional update, so a retried or duplicated job never sends twice.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

log = logging.getLogger(__name__)

# Events a user may get by email (their preference key -> what the settings page says).
EMAIL_EVENTS = {
    "assigned": "a task is assigned to me",
    "task_changed": "a task I take part in changes status or due date, or is completed",
    "mentioned": "someone mentions me in a comment",
    "commented": "someone comments on a task I created or am assigned to",
}
# Notification verbs -> the email event (and templates/emails/<verb>*.txt|.html) they belong to.
VERB_EVENTS = {
    "assigned": "assigned",
    "task_changed": "task_changed",
    "completed": "task_changed",
    "mentioned": "mentioned",
    "commented": "commented",
}

# Verbs whose text is rebuilt from merged details when the same event happens twice:
# verb -> callable(actor, target, details) -> text. Registered by the apps (tasks.events).
_TEXT_BUILDERS = {}


def register_text_builder(verb, builder):
    _TEXT_BUILDERS[verb] = builder


# Extra template context for a verb's email: verb -> callable(email, context) -> dict, run in the
# recipient's time zone (e.g. the changes of a task in words). Registered by the apps (tasks.events).
_EMAIL_CONTEXT = {}


def register_email_context(verb, builder):
    _EMAIL_CONTEXT[verb] = builder


# ---- preferences ------------------------------------------------------------------------------

def email_preferences(user):
    """{event: True/False} for every email event (no stored row means yes)."""
    from .models import NotificationPreference

    prefs = {event: True for event in EMAIL_EVENTS}
    prefs.update(dict(NotificationPreference.objects.filter(user=user, event__in=list(EMAIL_EVENTS))
                      .values_list("event", "email")))
    return prefs


def wants_email(user, event):
    from .models import NotificationPreference

    if event not in EMAIL_EVENTS or not user.is_active or not user.email:
        return False
    stored = NotificationPreference.objects.filter(user=user, event=event).values_list("email", flat=True).first()
    return True if stored is None else stored


def notification_preferences_set(*, user, email_events):
    """Store which events come to `user` by email (the others do not). One transaction; unknown events refused."""
    from django.core.exceptions import ValidationError

    from .models import NotificationPreference

    unknown = set(email_events) - set(EMAIL_EVENTS)
    if unknown:
        raise ValidationError(f"Unknown notification events: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        for event in EMAIL_EVENTS:
            NotificationPreference.objects.update_or_create(
                user=user, event=event, defaults={"email": event in email_events})


# ---- one event, one notification --------------------------------------------------------------

@dataclass
class _Sent:
    notification_id: int
    details: dict
    email_id: int = None


@dataclass
class _Batch:
    """Notifications recorded in one transaction (or request), by (recipient, verb, target)."""

    items: dict = field(default_factory=dict)
    done: bool = False

    def __call__(self):  # run by on_commit: later calls start a new batch
        self.done = True


def _scope():
    """Where this notify() call's siblings are remembered: the request, else the open transaction."""
    from simple_history.models import HistoricalRecords

    request = getattr(HistoricalRecords.context, "request", None)
    if request is not None:
        batch = getattr(request, "_crm_notifications", None)
        if batch is None:
            batch = request._crm_notifications = _Batch()
        return batch
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    # The batch is itself the transaction's on_commit callback: a rollback discards it with the
    # other callbacks, so a new transaction never sees an old batch.
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _Batch) and not entry[1].done:
            return entry[1]
    batch = _Batch()
    transaction.on_commit(batch)
    return batch


def _merge(old, new):
    """Details of the same event twice: each change keeps its first "old" and takes the last "new"."""
    merged = {**old, **new}
    if "changes" in old or "changes" in new:
        changes = {c["field"]: dict(c) for c in old.get("changes", [])}
        for change in new.get("changes", []):
            if change["field"] in changes:
                changes[change["field"]]["new"] = change["new"]
            else:
                changes[change["field"]] = dict(change)
        merged["changes"] = [c for c in changes.values() if c.get("old") != c.get("new")]
    return merged


def _recipient_time_zone(user):
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(user.profile.time_zone)
    except Exception:  # no profile, or a zone no longer known
        return ZoneInfo(settings.TIME_ZONE)


def build_text(verb, *, recipient, actor, target, details, default):
    """The notification's text in the recipient's own time zone (registered builders), else `default`."""
    builder = _TEXT_BUILDERS.get(verb)
    if builder is None or target is None:
        return default
    with timezone.override(_recipient_time_zone(recipient)):
        return builder(actor=actor, target=target, details=details or {})


def notify(*, recipient, actor, verb, text, target=None, details=None):
    """Tell `recipient` about `verb` on `target`, in the app and (per their preference) by email.

    Returns the Notification, or None when nobody is told (own action). See the
    module docstring for what is guaranteed.
    """
    if recipient is None or (actor is not None and recipient.pk == actor.pk):
        return None
    from .models import Notification, NotificationEmail

    details = details or {}
    url = target.get_absolute_url() if target is not None and hasattr(target, "get_absolute_url") else ""
    key = None
    if target is not None and getattr(target, "pk", None) is not None:
        key = (recipient.pk, verb, ContentType.objects.get_for_model(target).pk, target.pk)
    scope = _scope() if key else None
    previous = scope.items.get(key) if scope else None
    if previous is not None:
        merged = _merge(previous.details, details)
        new_text = build_text(verb, recipient=recipient, actor=actor, target=target, details=merged, default=text)
        if Notification.objects.filter(pk=previous.notification_id, recipient=recipient, verb=verb).update(
                text=new_text[:500], actor=actor) == 1:
            previous.details = merged
            if previous.email_id:
                NotificationEmail.objects.filter(pk=previous.email_id, sent_at__isnull=True).update(details=merged)
            return Notification.objects.get(pk=previous.notification_id)
    text = build_text(verb, recipient=recipient, actor=actor, target=target, details=details, default=text)
    note = Notification.objects.create(recipient=recipient, actor=actor, verb=verb, text=text[:500], url=url)
    sent = _Sent(notification_id=note.pk, details=details)
    event = VERB_EVENTS.get(verb)
    if event and wants_email(recipient, event):
        email = NotificationEmail.objects.create(
            notification=note, event=event, details=details,
            target_type=ContentType.objects.get_for_model(target) if target is not None and key else None,
            target_id=target.pk if target is not None and key else None,
        )
        sent.email_id = email.pk
        _queue_email(email.pk)
    if scope is not None:
        scope.items[key] = sent
    return note


def _queue_email(email_id):
    from .jobs import send_notification_email

    # robust: a broker that is down must not turn a saved change into an error page; the row stays unsent.
    transaction.on_commit(lambda: send_notification_email.delay(email_id=email_id), robust=True)


# ---- sending ------------------------------------------------------------------------------------

def email_context(email):
    """What templates/emails/<verb>* get: the notification, its object (if it still exists), the details."""
    from . import object_access

    note = email.notification
    target = None
    if email.target_type_id and email.target_id:
        model = email.target_type.model_class()
        if model is not None:
            target = model._default_manager.filter(pk=email.target_id).first()
    comment = None
    if email.details.get("comment_id"):
        from .models import Comment

        comment = Comment.objects.select_related("author").filter(pk=email.details["comment_id"]).first()
    noun = object_access.noun(type(target)) if target is not None else "record"
    return {
        "notification": note,
        "recipient": note.recipient,
        "actor": note.actor,
        "actor_name": (note.actor.get_full_name() or note.actor.username) if note.actor else "Taskdesk",
        "target": target,
        "noun": noun,
        "details": email.details,
        "changes": email.details.get("changes", []),
        "comment": comment,
        "url": f"{settings.SITE_URL}{note.url}" if note.url else settings.SITE_URL,
        "settings_url": f"{settings.SITE_URL}/settings/notifications/",
        "site_url": settings.SITE_URL,
    }


def render_email(email):
    """(subject, text, html) for a NotificationEmail, in the recipient's time zone."""
    verb = email.notification.verb
    with timezone.override(_recipient_time_zone(email.notification.recipient)):
        context = email_context(email)
        if verb in _EMAIL_CONTEXT:
            context.update(_EMAIL_CONTEXT[verb](email, context))
        subject = " ".join(render_to_string(f"emails/{verb}_subject.txt", context).split())
        text = render_to_string(f"emails/{verb}.txt", context)
        html = render_to_string(f"emails/{verb}.html", context)
    return subject, text, html


def deliver_email(*, email_id):
    """Send one notification email at most once. Returns True if this call sent it.

    Claims the row (`sent_at` set only where it is still empty); a second run,
    at the same moment or later, finds it claimed and does nothing. If sending
    fails the claim is released and the error raised, so the job retries.
    """
    from .models import NotificationEmail

    email = NotificationEmail.objects.select_related(
        "notification", "notification__recipient", "notification__recipient__profile", "notification__actor",
        "target_type",
    ).filter(pk=email_id).first()
    if email is None:
        log.info("Notification email %s no longer exists; nothing to send.", email_id)
        return False
    recipient = email.notification.recipient
    now = timezone.now()
    claimed = NotificationEmail.objects.filter(pk=email.pk, sent_at__isnull=True).update(
        sent_at=now, attempts=email.attempts + 1)
    if claimed != 1:
        log.info("Notification email %s was already sent.", email_id)
        return False
    try:
        if not recipient.email or not recipient.is_active:
            log.info("Notification email %s skipped: %s has no address or is inactive.", email_id, recipient)
            return False
        subject, text, html = render_email(email)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient.email])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception as exc:
        NotificationEmail.objects.filter(pk=email.pk).update(sent_at=None, last_error=str(exc)[:300])
        raise
    log.info("Notification email %s sent to %s.", email_id, recipient.email)
    return True
