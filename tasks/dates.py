"""Date rules for tasks: overdue, "due today", week ranges, in the reader's time zone.

Timed deadlines are instants (compared in UTC). All-day deadlines are calendar
dates stored as that date at 00:00 UTC; they are compared as dates against the
reader's local "today", so nobody sees them shift by a day.
"""

from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.db.models import Q
from django.utils import timezone

from .models import OPEN_STATUSES


def local_today(now=None):
    now = now or timezone.now()
    return timezone.localtime(now).date()


def day_bounds(day: date):
    """UTC instants of the start and end of `day` in the current time zone."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min).replace(tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min).replace(tzinfo=tz)
    return start.astimezone(dt_timezone.utc), end.astimezone(dt_timezone.utc)


def date_as_utc_midnight(day: date):
    """How an all-day deadline on `day` is stored."""
    return datetime.combine(day, time.min).replace(tzinfo=dt_timezone.utc)


def due_between_q(first_day: date, last_day: date):
    """Tasks due on any day from first_day to last_day (inclusive), local days."""
    start, _ = day_bounds(first_day)
    _, end = day_bounds(last_day)
    timed = Q(all_day=False, due_at__gte=start, due_at__lt=end)
    all_day = Q(all_day=True, due_at__gte=date_as_utc_midnight(first_day),
                due_at__lt=date_as_utc_midnight(last_day + timedelta(days=1)))
    return timed | all_day


def overdue_q(now=None):
    now = now or timezone.now()
    today = local_today(now)
    return Q(status__in=OPEN_STATUSES) & (
        Q(all_day=False, due_at__lt=now) | Q(all_day=True, due_at__lt=date_as_utc_midnight(today))
    )


def is_overdue(task, now=None):
    if task.status not in OPEN_STATUSES or task.due_at is None:
        return False
    now = now or timezone.now()
    if task.all_day:
        return task.due_at.astimezone(dt_timezone.utc).date() < local_today(now)
    return task.due_at < now


def due_date_local(task):
    """The calendar date the task is due on, as the reader sees it."""
    if task.due_at is None:
        return None
    if task.all_day:
        return task.due_at.astimezone(dt_timezone.utc).date()
    return timezone.localtime(task.due_at).date()
