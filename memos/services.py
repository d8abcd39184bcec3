"""State changes of memos. Views, admin and jobs call these.

Each service runs in one transaction, validates with full_clean() before saving, checks the
acting user's rights (memos.access) and raises ValidationError (readable, naming the field)
or PermissionDenied. Who is told:
- memo_send: the recipient ("memo_sent");
- memo_review: the author ("memo_reviewed"), whether reviewed or postponed, with the note;
- memo_convert_to_task / _to_project: the author ("memo_converted"); the task's assignee as
  tasks.services tells them;
- memo reminders: the user who asked, once, when it is due (memos.jobs).
Nobody is told of their own action (crm.notifications.notify).
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm import history
from crm.models import Team
from crm.notifications import notify
from tasks import services as task_services

from . import access
from .models import ACTIONABLE_STATUSES, Memo, MemoReminder, MemoStatus

S = MemoStatus
REVIEW_DECISIONS = (S.REVIEWED, S.POSTPONED)
MAX_REMINDERS_PER_USER = 10


def _name(user):
    return (user.get_full_name() or user.username) if user else "nobody"


def recipient_choices(author):
    """Who a memo may go to: an active user who heads a department or manages a team, or the author."""
    User = get_user_model()
    heads = Exists(Team.objects.filter(manager=OuterRef("pk")))
    return User.objects.filter(Q(is_active=True) & (Q(heads) | Q(pk=author.pk))) \
        .order_by("first_name", "last_name", "username")


def _check_recipient(author, recipient):
    if recipient is None:
        raise ValidationError({"recipient": "Choose who the memo is for."})
    if not recipient_choices(author).filter(pk=recipient.pk).exists():
        raise ValidationError({"recipient": (
            f"{_name(recipient)} does not head a department or manage a team: send the memo to a manager, "
            "or keep it for yourself."
        )})


@history.records_as("author")
def memo_create(*, author, recipient, subject, body, entity=None, send=False):
    """Write a memo (a draft; sent at once when `send`). One transaction. Refuses a recipient who is not a
    department head or manager (or the author)."""
    _check_recipient(author, recipient)
    with transaction.atomic():
        memo = Memo(author=author, recipient=recipient, subject=(subject or "").strip(), body=(body or "").strip())
        if entity is not None:
            memo.set_entity(entity)
        memo.full_clean()
        memo.save()
        if send:
            memo = memo_send(memo=memo, user=author)
    return memo


@history.records_as("user")
def memo_update(*, memo, user, recipient, subject, body, entity=None):
    """Change a draft (its author only). One transaction."""
    access.require(access.can_edit(user, memo), "Only the author may change a memo, and only before it is sent.")
    _check_recipient(user, recipient)
    with transaction.atomic():
        current = Memo.objects.select_for_update().get(pk=memo.pk)
        access.require(access.can_edit(user, current), "The memo was sent meanwhile: it can no longer be changed.")
        current.recipient = recipient
        current.subject = (subject or "").strip()
        current.body = (body or "").strip()
        current.set_entity(entity)
        current.full_clean()
        current.save()
    return current


@history.records_as("user")
def memo_send(*, memo, user):
    """Send a draft: status sent, sent_at now; the recipient is told. Refused twice (it is no longer a draft)."""
    access.require(memo.author_id == user.pk, "Only the author may send a memo.")
    with transaction.atomic():
        current = Memo.objects.select_for_update().select_related("recipient").get(pk=memo.pk)
        if current.status != S.DRAFT:
            raise ValidationError({"status": "The memo was already sent."})
        current.status = S.SENT
        current.sent_at = timezone.now()
        current.full_clean()
        current.save()
        notify(recipient=current.recipient, actor=user, verb="memo_sent", target=current,
               text=f"{_name(user)} sent you a memo: “{current.subject}”.")
    return current


@history.records_as("user")
def memo_review(*, memo, user, decision, note=""):
    """The recipient reviews a sent memo ("reviewed") or postpones it ("postponed"), with an optional note.

    A postponed memo may be reviewed later. The author is told. One transaction.
    """
    if decision not in REVIEW_DECISIONS:
        raise ValidationError({"status": "Choose to mark the memo reviewed or postpone it."})
    note = (note or "").strip()
    if len(note) > 5000:
        raise ValidationError({"review_note": "The note can be at most 5000 characters."})
    with transaction.atomic():
        current = Memo.objects.select_for_update().select_related("author").get(pk=memo.pk)
        access.require(current.recipient_id == user.pk, "Only the memo's recipient may review it.")
        allowed = {S.SENT: REVIEW_DECISIONS, S.POSTPONED: (S.REVIEWED,)}.get(current.status, ())
        if decision not in allowed:
            raise ValidationError({"status": f"A {current.get_status_display().lower()} memo cannot be "
                                             f"{S(decision).label.lower()}."})
        current.status = decision
        current.reviewed_at = timezone.now()
        current.review_note = note
        current.full_clean()
        current.save()
        verb = "reviewed" if decision == S.REVIEWED else "postponed"
        notify(recipient=current.author, actor=user, verb="memo_reviewed", target=current,
               text=f"{_name(user)} {verb} your memo “{current.subject}”" + (f": {note[:300]}" if note else "."))
    return current


def _require_convertible(memo, user):
    access.require(memo.recipient_id == user.pk, "Only the memo's recipient may turn it into a task or project.")
    if memo.status == S.CONVERTED:
        raise ValidationError({"status": "The memo was already turned into a task or project."})
    if memo.status not in ACTIONABLE_STATUSES:
        raise ValidationError({"status": "Only a sent memo can be turned into a task or project."})


def _description(memo):
    return f"From the memo “{memo.subject}” by {_name(memo.author)}:\n\n{memo.body}"[:20000]


@history.records_as("user")
def memo_convert_to_task(*, memo, user, title=None, **fields):
    """Turn the memo into a task in one step: the task (linked to the memo's entity, its description the
    memo's text) is created through tasks.services.task_create, the memo becomes "converted" and links
    to it. `fields` are task fields (assignee, team, due_at, all_day, priority, task_type ...). The
    author is told. One transaction: if the task is refused, the memo is unchanged.
    """
    with transaction.atomic():
        current = Memo.objects.select_for_update().select_related("author").get(pk=memo.pk)
        _require_convertible(current, user)
        fields.setdefault("description", _description(current))
        task = task_services.task_create(created_by=user, title=(title or current.subject).strip()[:200],
                                         entity=current.entity if current.content_type_id else None, **fields)
        current.status = S.CONVERTED
        current.converted_at = timezone.now()
        current.converted_task = task
        current.full_clean()
        current.save()
        notify(recipient=current.author, actor=user, verb="memo_converted", target=current,
               text=f"{_name(user)} turned your memo “{current.subject}” into the task “{task.title}”.")
    return task


@history.records_as("user")
def memo_convert_to_project(*, memo, user, name=None, template=None, start_date=None, team=None):
    """Turn the memo into a project in one step (from a project template when given), owned by the
    recipient, linked to the memo's entity; the memo becomes "converted" and links to it (the
    project shows "From memo …"). The author is told. One transaction.
    """
    from projects import project_templates
    from projects import services as project_services

    with transaction.atomic():
        current = Memo.objects.select_for_update().select_related("author").get(pk=memo.pk)
        _require_convertible(current, user)
        entity = current.entity if current.content_type_id else None
        name = (name or current.subject).strip()[:200]
        if template is not None:
            project = project_templates.project_from_template(template=template, user=user, name=name,
                                                              start_date=start_date, entity=entity,
                                                              team=team if team is not None else ...)
            project.description = _description(current)
            project.full_clean()
            project.save(update_fields=["description"])
        else:
            project = project_services.project_create(user=user, name=name, description=_description(current),
                                                      team=team, start_date=start_date or timezone.localdate(),
                                                      entity=entity, status="active")
        current.status = S.CONVERTED
        current.converted_at = timezone.now()
        current.converted_project = project
        current.full_clean()
        current.save()
        notify(recipient=current.author, actor=user, verb="memo_converted", target=current,
               text=f"{_name(user)} turned your memo “{current.subject}” into the project “{project.name}”.")
    return project


@history.records_as("user")
def memo_delete(*, memo, user):
    """Delete a draft (its author) or any memo (staff). What it became is kept."""
    access.require(access.can_delete(user, memo), "Only the author may delete a draft; staff may delete any memo.")
    with transaction.atomic():
        Memo.objects.filter(pk=memo.pk).delete()


# ---- reminders ---------------------------------------------------------------------------------


def memo_remind(*, memo, user, remind_at, note=""):
    """"Remind me about this memo" at `remind_at`: the author or recipient (or staff) is told once then."""
    access.require(access.can_view(user, memo) and (user.pk in (memo.author_id, memo.recipient_id)
                                                     or user.is_staff or user.is_superuser),
                   "Only the memo's author and recipient may set reminders on it.")
    if remind_at is None:
        raise ValidationError({"remind_at": "Choose when to be reminded."})
    if remind_at <= timezone.now():
        raise ValidationError({"remind_at": "Choose a time in the future."})
    with transaction.atomic():
        pending = MemoReminder.objects.filter(memo=memo, user=user, sent_at__isnull=True).count()
        if pending >= MAX_REMINDERS_PER_USER:
            raise ValidationError({"remind_at": f"You have {pending} reminders on this memo already."})
        reminder = MemoReminder(memo=memo, user=user, remind_at=remind_at, note=(note or "").strip())
        reminder.full_clean()
        reminder.save()
    return reminder


def memo_reminder_delete(*, reminder, user):
    if reminder.user_id != user.pk:
        raise PermissionDenied("You can only remove your own reminders.")
    reminder.delete()


def reminders_send_due(*, now=None):
    """Tell each user whose memo reminder is due, once. Safe to run twice at the same moment: each reminder
    is claimed with a conditional update (sent_at set only where it is still empty) before anyone is told;
    a run that loses the claim skips it. A reminder of a memo the user can no longer see is dropped.
    Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    due = list(MemoReminder.objects.filter(sent_at__isnull=True, remind_at__lte=now).values_list("pk", flat=True)[:500])
    for pk in due:
        with transaction.atomic():
            if MemoReminder.objects.filter(pk=pk, sent_at__isnull=True).update(sent_at=now) != 1:
                continue
            reminder = MemoReminder.objects.select_related("memo", "user").get(pk=pk)
            memo, user = reminder.memo, reminder.user
            if not user.is_active or not access.can_view(user, memo):
                continue
            text = f"Reminder: memo “{memo.subject}”" + (f" — {reminder.note}" if reminder.note else ".")
            notify(recipient=user, actor=None, verb="memo_reminder", target=memo, text=text[:500])
            sent += 1
    return sent
