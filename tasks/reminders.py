"""Reminders of tasks: adding, removing, snoozing, re-arming, and sending each exactly once.

- A reminder is for one user of one task (tasks.models_reminders.Reminder): at an
  absolute time, or some time before the task's due or scheduled time. Added "for
  everyone on the task", it makes one reminder each for the assignee and every
  participant (users of the CRM only: the linked entity's contacts never get one).
- Before an all-day deadline, "1 day before" counts from REMINDER_ALL_DAY_HOUR (09:00)
  of the due date in the recipient's own time zone.
- Moving the due or scheduled time re-arms the relative reminders (services.task_update
  calls `reminders_rearm`); completing or cancelling a task drops its pending ones and
  reopening it restores those still ahead (services.task_change_status).
- `reminders_send_due` (the beat job tasks.send_due_reminders, every minute) claims due
  reminders with a conditional update and a claim token, then delivers them one by one:
  the in-app notification once (crm.notifications.notify, verb "reminder", which that
  module never emails), then the email, and marks each reminder sent right after its
  email. A worker that dies mid-batch leaves its unsent claims in "sending"; they are
  claimed again after REMINDER_RECLAIM_AFTER_MINUTES, while the sent ones stay sent. A
  failing recipient is recorded (failed, retried up to MAX_ATTEMPTS times, 5 minutes
  apart) and the batch goes on. A reminder sent more than REMINDER_LATE_AFTER_MINUTES
  after it was due (nothing ran meanwhile) still goes out, once, and says it is late.
- Snooze: from the task page (POST, signed in) or from the email's link, which carries a
  signed token for that one reminder and its user, valid SNOOZE_LINK_DAYS days. The link
  opens a page with a button (a POST): mail scanners that follow links change nothing.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from crm.notifications import notify

from . import access
from .models import CLOSED_STATUSES, Participant
from .models_reminders import Reminder, ReminderKind, ReminderStatus

log = logging.getLogger(__name__)

K = ReminderKind
RS = ReminderStatus
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)
MAX_OFFSET = timedelta(days=365)
SNOOZE_CHOICES = ((15, "15 minutes"), (60, "1 hour"), (240, "4 hours"), (1440, "1 day"))
MAX_SNOOZE_MINUTES = 7 * 1440
SNOOZE_LINK_DAYS = 7
_SNOOZE_SALT = "tasks.reminder.snooze"


def user_zone(user):
    try:
        return ZoneInfo(user.profile.time_zone)
    except Exception:  # no profile, or a zone no longer known
        return ZoneInfo(settings.TIME_ZONE)


def _name(user):
    return (user.get_full_name() or user.username) if user else "nobody"


# ---- when ---------------------------------------------------------------------------------------


def anchor_time(kind, task, user):
    """The moment a relative reminder counts back from, or None when the task has no such time."""
    if kind == K.RELATIVE_SCHEDULED:
        return task.scheduled_at
    if kind == K.RELATIVE_DUE:
        if task.due_at is None:
            return None
        if task.all_day:
            day = task.due_at.astimezone(dt_timezone.utc).date()
            return datetime.combine(day, time(settings.REMINDER_ALL_DAY_HOUR)).replace(tzinfo=user_zone(user))
        return task.due_at
    return None


def compute_remind_at(reminder, task=None, user=None):
    task = task or reminder.task
    if reminder.kind == K.ABSOLUTE:
        return reminder.at
    anchor = anchor_time(reminder.kind, task, user or reminder.user)
    return None if anchor is None else (anchor - reminder.offset).astimezone(dt_timezone.utc)


def task_people(task):
    """The CRM users a reminder "for everyone on the task" goes to: the assignee and the participants."""
    people = []
    if task.assignee_id and task.assignee.is_active:
        people.append(task.assignee)
    for participant in Participant.objects.filter(task=task, user__is_active=True).select_related("user"):
        if all(p.pk != participant.user_id for p in people):
            people.append(participant.user)
    return people


# ---- adding, removing, snoozing -------------------------------------------------------------


def _check_spec(task, kind, offset, at, now):
    if kind not in K.values:
        raise ValidationError({"kind": f"“{kind}” is not a kind of reminder."})
    if kind == K.ABSOLUTE:
        if at is None:
            raise ValidationError({"at": "Choose the date and time of the reminder."})
        if at <= now:
            raise ValidationError({"at": "Choose a time in the future."})
        return None, at
    if offset is None or offset < timedelta(0) or offset > MAX_OFFSET:
        raise ValidationError({"offset": "Choose how long before: from 0 minutes to 365 days."})
    if kind == K.RELATIVE_DUE and task.due_at is None:
        raise ValidationError({"kind": "This task has no due date: give it one, or remind at a set time."})
    if kind == K.RELATIVE_SCHEDULED and task.scheduled_at is None:
        raise ValidationError({"kind": "This task has no scheduled time: give it one, or remind at a set time."})
    return offset, None


def reminder_add(*, task, by, kind, offset=None, at=None, for_all=False, now=None, check=True):
    """Add a reminder for `by`, or (for_all) one each for the task's assignee and participants.

    Anyone who sees the task may remind themselves; reminding everyone needs the right to
    change the task. A reminder the user already has (same kind and time, not yet sent)
    is not added twice. One transaction. Returns the reminders created. Nobody is
    notified now: the reminders go out when due.
    """
    now = now or timezone.now()
    if check:
        if not access.can_view(by, task):
            raise PermissionDenied("You cannot see this task.")
        if for_all and not access.can_edit(by, task):
            raise PermissionDenied("Only people who may change the task can remind everyone on it.")
    offset, at = _check_spec(task, kind, offset, at, now)
    recipients = task_people(task) if for_all else [by]
    if not recipients:
        raise ValidationError({"for_all": "Nobody is assigned to this task or takes part in it yet."})
    created = []
    with transaction.atomic():
        for user in recipients:
            exists = Reminder.objects.filter(task=task, user=user, kind=kind, offset=offset, at=at,
                                             status__in=(RS.PENDING, RS.SENDING)).exists()
            if exists:
                continue
            reminder = Reminder(task=task, user=user, kind=kind, offset=offset, at=at, for_all=for_all,
                                created_by=by)
            reminder.remind_at = compute_remind_at(reminder, task, user)
            reminder.full_clean()
            reminder.save()
            created.append(reminder)
    return created


def reminders_from_specs(*, task, specs, created_by=None):
    """Give a new instance of a repeating task the series' reminders (relative ones only).

    "for_all" specs go to the instance's assignee and participants; the others to their
    user if that user can see the instance. Runs inside the caller's transaction.
    """
    made = []
    people = None
    for spec in specs:
        kind = spec.get("kind")
        offset = timedelta(minutes=int(spec.get("offset_minutes", 0)))
        if kind not in (K.RELATIVE_DUE, K.RELATIVE_SCHEDULED):
            continue
        if (kind == K.RELATIVE_DUE and task.due_at is None) or (kind == K.RELATIVE_SCHEDULED and not task.scheduled_at):
            continue
        if spec.get("for_all"):
            if people is None:
                people = task_people(task)
            users = people
        else:
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(pk=spec.get("user_id"), is_active=True).first()
            users = [user] if user is not None and access.can_view(user, task) else []
        for user in users:
            reminder = Reminder(task=task, user=user, kind=kind, offset=offset, for_all=bool(spec.get("for_all")),
                                created_by=created_by)
            reminder.remind_at = compute_remind_at(reminder, task, user)
            made.append(reminder)
    Reminder.objects.bulk_create(made)
    return made


def reminder_spec(reminder):
    """The series-template form of a relative reminder (see TaskSeries.reminders)."""
    return {"kind": reminder.kind, "offset_minutes": int(reminder.offset.total_seconds() // 60),
            "for_all": reminder.for_all, "user_id": None if reminder.for_all else reminder.user_id}


def reminder_remove(*, reminder, by):
    """Delete a reminder: its own user may, and anyone who may change the task."""
    if reminder.user_id != by.pk and not access.can_edit(by, reminder.task):
        raise PermissionDenied("You may only remove your own reminders.")
    Reminder.objects.filter(pk=reminder.pk).delete()


def reminder_snooze(*, reminder, minutes, now=None, by=None):
    """Send the reminder again in `minutes` (sent or not yet sent). Only its user may.

    One conditional update: a reminder that is being sent right now, or whose task was
    closed (dropped), is refused with a readable message.
    """
    now = now or timezone.now()
    if by is not None and by.pk != reminder.user_id:
        raise PermissionDenied("You may only snooze your own reminders.")
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        raise ValidationError({"minutes": "Choose for how long to snooze."}) from None
    if not 1 <= minutes <= MAX_SNOOZE_MINUTES:
        raise ValidationError({"minutes": "Snooze for 1 minute to 7 days."})
    until = now + timedelta(minutes=minutes)
    changed = Reminder.objects.filter(pk=reminder.pk, status__in=(RS.PENDING, RS.SENT, RS.FAILED)).update(
        status=RS.PENDING, remind_at=until, snoozed_until=until, sent_at=None, notified_at=None, late=False,
        attempts=0, claim_token="", claimed_at=None, last_error="",
    )
    if changed != 1:
        current = Reminder.objects.filter(pk=reminder.pk).values_list("status", flat=True).first()
        if current == RS.DROPPED:
            raise ValidationError("The task is completed or cancelled, so there is nothing to snooze.")
        raise ValidationError("This reminder is being sent right now; try again in a minute.")
    reminder.refresh_from_db()
    return reminder


def snooze_token(reminder):
    return signing.dumps({"r": reminder.pk, "u": reminder.user_id}, salt=_SNOOZE_SALT, compress=True)


def reminder_from_token(pk, token):
    """The reminder a snooze link is for, or None when the link is forged, expired or for another reminder."""
    try:
        data = signing.loads(token, salt=_SNOOZE_SALT, max_age=timedelta(days=SNOOZE_LINK_DAYS))
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("r") != pk:
        return None
    return Reminder.objects.select_related("task", "user").filter(pk=pk, user_id=data.get("u")).first()


def snooze_url(reminder, minutes=None):
    url = settings.SITE_URL + reverse("tasks:reminder_snooze_link", args=[reminder.pk, snooze_token(reminder)])
    return url + (f"?minutes={minutes}" if minutes else "")


# ---- hooks from the task services -----------------------------------------------------------


def reminders_rearm(*, task, now=None):
    """Recompute the relative reminders of `task` after its due or scheduled time moved.

    A reminder whose new time is ahead becomes pending again, even if it was already sent
    (the deadline moved: remind again). One that now falls in the past is left as it is if
    it was sent; a pending one goes out at the next run. Runs inside the caller's
    transaction (services.task_update). Returns how many changed.
    """
    now = now or timezone.now()
    changed = 0
    rows = Reminder.objects.filter(task=task, kind__in=(K.RELATIVE_DUE, K.RELATIVE_SCHEDULED),
                                   status__in=(RS.PENDING, RS.SENT, RS.FAILED)).select_related("user__profile")
    for reminder in rows:
        new = compute_remind_at(reminder, task, reminder.user)
        if new == reminder.remind_at:
            continue
        if new is not None and new > now:
            fields = dict(status=RS.PENDING, remind_at=new, sent_at=None, notified_at=None, late=False, attempts=0,
                          snoozed_until=None, claim_token="", claimed_at=None, last_error="")
        elif reminder.status == RS.SENT:
            continue
        else:
            fields = dict(remind_at=new)
        changed += Reminder.objects.filter(pk=reminder.pk, status=reminder.status).update(**fields)
    return changed


def reminders_drop(*, task_ids):
    """A task closed: its reminders not yet sent will not be. Returns how many were dropped."""
    return Reminder.objects.filter(task_id__in=list(task_ids), status__in=(RS.PENDING, RS.FAILED)).update(
        status=RS.DROPPED)


def reminders_restore(*, task, now=None):
    """A task reopened: its dropped reminders still ahead are pending again."""
    now = now or timezone.now()
    return Reminder.objects.filter(task=task, status=RS.DROPPED, remind_at__gt=now).update(
        status=RS.PENDING, attempts=0, claim_token="", claimed_at=None)


# ---- sending ------------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    late: int = 0
    reclaimed: int = 0
    errors: list = field(default_factory=list)


def _due_q(now):
    return (Q(status=RS.PENDING, remind_at__lte=now)
            | Q(status=RS.FAILED, attempts__lt=MAX_ATTEMPTS, remind_at__lte=now, claimed_at__lte=now - RETRY_AFTER))


def reminders_send_due(*, now=None, batch_size=200, connection=None):
    """Send every reminder due at `now`, each exactly once. Safe to run twice at the same moment.

    Claims a batch with one conditional UPDATE (rows still due get this run's token;
    rows another run took are not due any more), then delivers the claimed rows one by
    one, marking each sent as soon as its email is out. Returns a SendReport.
    """
    now = now or timezone.now()
    report = SendReport()
    report.reclaimed = Reminder.objects.filter(
        status=RS.SENDING, claimed_at__lt=now - timedelta(minutes=settings.REMINDER_RECLAIM_AFTER_MINUTES),
    ).update(status=RS.PENDING, claim_token="")
    if report.reclaimed:
        log.warning("Reclaimed %s reminders left half-sent by a worker that stopped.", report.reclaimed)
    own_connection = connection is None
    connection = connection or get_connection(fail_silently=False)
    try:
        while True:
            ids = list(Reminder.objects.filter(_due_q(now)).order_by("remind_at", "pk")
                       .values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            token = uuid.uuid4().hex
            claimed = Reminder.objects.filter(_due_q(now), pk__in=ids).update(
                status=RS.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1)
            if not claimed:
                continue  # another run took them: look again
            batch = (Reminder.objects.filter(claim_token=token, status=RS.SENDING)
                     .select_related("task", "task__assignee", "user", "user__profile").order_by("remind_at", "pk"))
            for reminder in batch:
                outcome = _deliver(reminder, now=now, token=token, connection=connection)
                setattr(report, outcome, getattr(report, outcome) + 1)
                if outcome == "sent" and reminder.late:
                    report.late += 1
                if outcome == "failed":
                    report.errors.append((reminder.pk, reminder.last_error))
    finally:
        if own_connection:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing a broken SMTP connection must not hide the report
                pass
    return report


def _mark(reminder, token, **fields):
    return Reminder.objects.filter(pk=reminder.pk, claim_token=token, status=RS.SENDING).update(**fields)


def _deliver(reminder, *, now, token, connection):
    """Deliver one claimed reminder: in-app once, then the email. Returns "sent", "failed" or "dropped"."""
    task, user = reminder.task, reminder.user
    if task.status in CLOSED_STATUSES or not user.is_active or not access.can_view(user, task):
        _mark(reminder, token, status=RS.DROPPED)
        return "dropped"
    reminder.late = now - reminder.remind_at > timedelta(minutes=settings.REMINDER_LATE_AFTER_MINUTES)
    try:
        context = reminder_context(reminder, now=now)
        if reminder.notified_at is None:
            with transaction.atomic():
                notify(recipient=user, actor=None, verb="reminder", text=context["notification_text"], target=task)
                _mark(reminder, token, notified_at=now)
        if user.email:
            subject, text, html = render_reminder_email(context)
            message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email],
                                             connection=connection)
            message.attach_alternative(html, "text/html")
            message.send()
    except Exception as exc:  # noqa: BLE001 - one failing recipient must not stop the batch
        reminder.last_error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("Reminder %s for %s failed: %s", reminder.pk, user, reminder.last_error)
        try:  # an SMTP connection that failed is opened afresh for the next recipient
            connection.close()
        except Exception:  # noqa: BLE001
            pass
        _mark(reminder, token, status=RS.FAILED, last_error=reminder.last_error)
        return "failed"
    _mark(reminder, token, status=RS.SENT, sent_at=now, late=reminder.late, last_error="")
    return "sent"


def _when(task, zone):
    """"Mon 3 Mar 2025, 14:30" (timed) or "Mon 3 Mar 2025" (all day), in `zone`."""
    if task.due_at is None:
        return ""
    if task.all_day:
        return task.due_at.astimezone(dt_timezone.utc).strftime("%a %-d %b %Y")
    return task.due_at.astimezone(zone).strftime("%a %-d %b %Y, %H:%M")


def reminder_context(reminder, *, now):
    """What the reminder's email and in-app text say, in the recipient's time zone."""
    task, user = reminder.task, reminder.user
    zone = user_zone(user)
    due = _when(task, zone)
    scheduled = task.scheduled_at.astimezone(zone).strftime("%a %-d %b %Y, %H:%M") if task.scheduled_at else ""
    was_due = reminder.remind_at.astimezone(zone)
    late_note = ""
    if reminder.late:
        same_day = was_due.date() == now.astimezone(zone).date()
        late_note = f"late: this reminder was due at {was_due:%H:%M}" if same_day else \
            f"late: this reminder was due at {was_due:%H:%M} on {was_due:%a %-d %b}"
    headline = f"Reminder: “{task.title}”"
    if reminder.kind == K.RELATIVE_SCHEDULED and scheduled:
        headline += f" is scheduled for {scheduled}"
    elif due:
        headline += f" is due {due}"
    text = headline + "." + (f" ({late_note})" if late_note else "")
    task_url = settings.SITE_URL + task.get_absolute_url()
    return {
        "reminder": reminder, "task": task, "user": user, "name": _name(user), "due": due, "scheduled": scheduled,
        "late_note": late_note, "notification_text": text, "headline": headline, "task_url": task_url,
        "time_zone": str(zone), "assignee": _name(task.assignee) if task.assignee_id else "",
        "snooze_links": [(label, snooze_url(reminder, minutes)) for minutes, label in SNOOZE_CHOICES],
        "site_url": settings.SITE_URL,
    }


def render_reminder_email(context):
    subject = " ".join(render_to_string("emails/reminder_subject.txt", context).split())
    text = render_to_string("emails/reminder_body.txt", context).rstrip("\n") + "\n"
    return subject, text, render_to_string("emails/reminder_body.html", context)


def task_reminders_for(user, task):
    """The reminders the task page shows `user`: their own, and everyone's if they may change the task."""
    qs = Reminder.objects.filter(task=task).select_related("user").order_by(
        F("remind_at").asc(nulls_last=True), "pk")
    if not access.can_edit(user, task):
        qs = qs.filter(user=user)
    return list(qs)

