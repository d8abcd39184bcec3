"""State changes of time entries: the timer and entries typed in by hand.

Each service runs in one transaction, validates with full_clean() before
saving, checks the acting user's rights and raises:
- django.core.exceptions.ValidationError for input the rules refuse (an end
  before its start, a negative duration, no timer running, ...),
- django.core.exceptions.PermissionDenied when the user may not do it.

Who may do what:
- anyone who can see a task tracks their own time on it (timer or by hand);
- an entry is changed or deleted by its own user, or by someone who may edit
  its task (access.can_edit); views answer 404 to users who cannot see the task;
- an entry that something else has taken over (billed: see `register_lock`)
  cannot be changed or deleted until it is released.

Every save records who did it and why in the entry's history
(`history_change_reason`: started, stopped, created, edited, deleted).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Optional

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import access
from .models_time import TimeEntry

# A single entry longer than this is almost certainly a typing mistake: split it into days.
MAX_ENTRY = timedelta(hours=24)
# Clocks differ a little between browser and server: an end this far ahead is still "now".
FUTURE_TOLERANCE = timedelta(minutes=5)

_LOCKS: list = []


def register_lock(check: Callable[[TimeEntry], Optional[str]]):
    """Let another app freeze entries: `check(entry)` returns why the entry is frozen, or None.

    billables registers one so billed time cannot be edited or deleted.
    """
    if check not in _LOCKS:
        _LOCKS.append(check)


def locked_reason(entry):
    for check in _LOCKS:
        reason = check(entry)
        if reason:
            return reason
    return None


@dataclass
class TimerStarted:
    entry: TimeEntry               # the running timer
    stopped: Optional[TimeEntry]   # the timer this start stopped (on another task), if any
    already_running: bool = False  # the timer already ran on this task: nothing changed


def _save(entry, user, reason):
    entry._history_user = user
    entry._change_reason = reason
    entry.full_clean()
    entry.save()
    return entry


def _stop(entry, ended_at, user):
    entry.ended_at = ended_at
    entry.duration = ended_at - entry.started_at
    return _save(entry, user, "stopped")


def _lock_user(user):
    # Serialises all timer changes of one user (PostgreSQL row lock; SQLite write
    # transactions are serial already). The partial unique index stays the backstop.
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def can_change_entry(user, entry):
    return user.is_authenticated and (entry.user_id == user.pk or access.can_edit(user, entry.task))


def _require_change(user, entry):
    if not can_change_entry(user, entry):
        raise PermissionDenied("Only the person who tracked this time, or someone who may edit the task, "
                               "can change it.")
    reason = locked_reason(entry)
    if reason:
        raise ValidationError(reason, code="locked")


def timer_start(*, user, task, now=None):
    """Start the user's timer on `task`, stopping their running timer (on another task) first.

    One transaction: the previous timer is stopped at the same instant the new
    one starts, so no time is lost or counted twice. Starting the timer that
    already runs on this task changes nothing (`already_running`). Two starts at
    the same moment leave exactly one timer running (user row lock + partial
    unique index).
    """
    if not access.can_view(user, task):
        raise PermissionDenied("You cannot track time on a task you cannot see.")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            _lock_user(user)
            running = (TimeEntry.objects.select_for_update(of=("self",)).select_related("task")
                       .filter(user=user, ended_at__isnull=True).first())
            if running is not None and running.task_id == task.pk:
                return TimerStarted(entry=running, stopped=None, already_running=True)
            stopped = None
            if running is not None:
                stopped = _stop(running, max(now, running.started_at), user)
            entry = _save(TimeEntry(task=task, user=user, started_at=now), user, "started")
    except IntegrityError:
        raise ValidationError("Another timer of yours was started at the same moment. Reload the page and try "
                              "again.", code="race") from None
    return TimerStarted(entry=entry, stopped=stopped)


def timer_stop(*, user, ended_at=None, now=None):
    """Stop the user's running timer, now or at `ended_at` (for a timer left running overnight).

    Raises ValidationError when no timer runs (a second click on "Stop" does no harm)
    or when `ended_at` lies before the start or in the future.
    """
    now = now or timezone.now()
    with transaction.atomic():
        running = (TimeEntry.objects.select_for_update(of=("self",)).select_related("task")
                   .filter(user=user, ended_at__isnull=True).first())
        if running is None:
            raise ValidationError("No timer of yours is running.", code="not_running")
        end = now if ended_at is None else ended_at
        if end > now + FUTURE_TOLERANCE:
            raise ValidationError({"ended_at": "A timer cannot be stopped in the future."})
        if end < running.started_at:
            started = timezone.localtime(running.started_at)
            raise ValidationError({"ended_at": f"The end cannot be before the start ({started:%d %b %Y %H:%M})."})
        return _stop(running, max(end, running.started_at) if ended_at is None else end, user)


def _apply_times(entry, *, started_at, ended_at, duration, now):
    """Set start, end and duration from start + (end or duration); refuse what cannot be right."""
    if started_at is None:
        raise ValidationError({"started_at": "Enter when the work started."})
    if ended_at is None and duration is None:
        raise ValidationError({"ended_at": "Enter an end time or a duration."})
    if duration is not None and duration < timedelta(0):
        raise ValidationError({"duration": "The duration cannot be negative."})
    if ended_at is not None and ended_at < started_at:
        raise ValidationError({"ended_at": "The end cannot be before the start."})
    if ended_at is not None and duration is not None and ended_at - started_at != duration:
        raise ValidationError({"duration": "The duration does not match the start and end: give one or the other."})
    if ended_at is None:
        ended_at = started_at + duration
    duration = ended_at - started_at
    if duration <= timedelta(0):
        raise ValidationError({"duration": "A time entry must last longer than zero minutes."})
    if duration > MAX_ENTRY:
        raise ValidationError({"duration": "A single entry cannot be longer than 24 hours: enter one per day."})
    if ended_at > now + FUTURE_TOLERANCE:
        raise ValidationError({"ended_at": "Time cannot be recorded in the future."})
    entry.started_at, entry.ended_at, entry.duration = started_at, ended_at, duration


def time_entry_create(*, user, task, started_at, ended_at=None, duration=None, has_clock_times=True, note="",
                      billable=True, now=None):
    """Record time the user spent on `task` (by hand): start plus an end or a duration.

    Refuses an end before its start, a negative or zero duration, more than 24
    hours in one entry and time in the future. The entry belongs to `user`.
    """
    if not access.can_view(user, task):
        raise PermissionDenied("You cannot track time on a task you cannot see.")
    now = now or timezone.now()
    entry = TimeEntry(task=task, user=user, note=(note or "").strip(), billable=bool(billable),
                      has_clock_times=bool(has_clock_times))
    _apply_times(entry, started_at=started_at, ended_at=ended_at, duration=duration, now=now)
    with transaction.atomic():
        return _save(entry, user, "created")


def time_entry_update(*, user, entry, started_at, ended_at=None, duration=None, has_clock_times=True, note="",
                      billable=True, now=None):
    """Change an entry's times, note or billable flag; the history keeps what it was.

    A running timer keeps running: only its start, note and billable flag change.
    Refused for billed entries (see `register_lock`) and for users who neither
    tracked it nor may edit its task.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = TimeEntry.objects.select_for_update(of=("self",)).select_related("task").get(pk=entry.pk)
        _require_change(user, current)
        current.note = (note or "").strip()
        current.billable = bool(billable)
        if current.ended_at is None:
            if started_at is None:
                raise ValidationError({"started_at": "Enter when the work started."})
            if started_at > now + FUTURE_TOLERANCE:
                raise ValidationError({"started_at": "A timer cannot start in the future."})
            current.started_at = started_at
        else:
            current.has_clock_times = bool(has_clock_times)
            _apply_times(current, started_at=started_at, ended_at=ended_at, duration=duration, now=now)
        return _save(current, user, "edited")


def time_entry_delete(*, user, entry):
    """Delete an entry (a running timer too). The history keeps the deleted values and who deleted it."""
    with transaction.atomic():
        current = TimeEntry.objects.select_for_update(of=("self",)).select_related("task").filter(pk=entry.pk).first()
        if current is None:
            raise ValidationError("This time entry was already deleted.", code="gone")
        _require_change(user, current)
        current._history_user = user
        current._change_reason = "deleted"
        current.delete()
    return current
