"""Calendar feeds (RFC 5545): a personal feed per user behind a secret URL, and one task as .ics.

The feed holds the user's open tasks that have a time: those assigned to them and
those where they are a co-worker, each as one VEVENT whose UID stays the same
for the task's whole life (task-<id>@<site host>), so calendar apps update the
event in place when the task moves.

- A scheduled task is an event at its scheduled time; otherwise the deadline is.
- Timed events carry the feed owner's time zone (DTSTART;TZID=Europe/Berlin) with
  its VTIMEZONE in the file, so apps show the right hour on either side of a
  daylight-saving change; in UTC they are written as UTC ("Z").
- An all-day deadline is a VALUE=DATE event on that date (the date stored, never
  shifted) ending the next day (DTEND is exclusive).
- A timed event lasts the expected duration (30 minutes when there is none).

The token services are here too (they only touch CalendarFeedToken): each runs
in one transaction and keeps at most one active token per user.
"""

import hmac
from datetime import timedelta
from datetime import timezone as dt_timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from .models import OPEN_STATUSES, CalendarFeedToken, Participant, Task, TaskStatus
from .models_feeds import new_token, token_digest

FEED_LIMIT = 2000  # events per feed: open tasks, soonest first
DEFAULT_EVENT_LENGTH = timedelta(minutes=30)
PRODID = "-//Taskdesk CRM//Tasks//EN"
REFRESH = timedelta(hours=1)

# ---- tokens ------------------------------------------------------------------------------


def active_token(user):
    return CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).first()


def feed_token_regenerate(*, user):
    """Give `user` a new feed token; the previous one (if any) stops working at once.

    One transaction: the old token is revoked before the new one is stored, and the
    partial unique constraint keeps a user at one active token even if two requests race.
    """
    with transaction.atomic():
        CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        return CalendarFeedToken.objects.create(user=user, token=new_token())


def feed_token_revoke(*, user):
    """Revoke the user's active feed token. Returns how many were revoked (0 or 1); safe to repeat."""
    return CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_for_token(token):
    """The active user whose active feed token this is, or None. Looked up by digest, compared in constant time."""
    if not token or len(token) > 100:
        return None
    row = (
        CalendarFeedToken.objects.select_related("user", "user__profile")
        .filter(digest=token_digest(token), revoked_at__isnull=True, user__is_active=True).first()
    )
    if row is None or not hmac.compare_digest(row.token.encode(), token.encode()):
        return None
    return row.user


def feed_url(token_row):
    return f"{settings.SITE_URL}{reverse('calendar_feed', args=[token_row.token])}"


# ---- events ------------------------------------------------------------------------------


def _site_host():
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def user_zone(user):
    name = getattr(getattr(user, "profile", None), "time_zone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def feed_tasks(user):
    """The open tasks with a time that the user's feed holds: assigned to them or where they co-work."""
    co_worker = Participant.objects.filter(task=OuterRef("pk"), user=user, role=Participant.Role.CO_WORKER)
    return (
        Task.objects.filter(Q(assignee=user) | Q(Exists(co_worker)), status__in=OPEN_STATUSES)
        .filter(Q(due_at__isnull=False) | Q(scheduled_at__isnull=False))
        .select_related("content_type")
        .order_by("due_at", "pk")[:FEED_LIMIT]
    )


def _at(moment, zone):
    """A timed DTSTART/DTEND value: in `zone` (written with TZID), or UTC ("Z") when the zone is UTC."""
    if zone.key == "UTC":
        return moment.astimezone(dt_timezone.utc)
    return moment.astimezone(zone)


def task_event(task, *, zone):
    """The VEVENT for one task, or None when it has no date at all."""
    url = f"{settings.SITE_URL}{task.get_absolute_url()}"
    event = Event()
    event.add("uid", f"task-{task.pk}@{_site_host()}")
    # Without a METHOD, DTSTAMP is the time the information last changed (RFC 5545 3.8.7.2).
    changed = task.updated_at or timezone.now()
    event.add("dtstamp", changed.astimezone(dt_timezone.utc))
    event.add("last-modified", changed.astimezone(dt_timezone.utc))
    if task.created_at:
        event.add("created", task.created_at.astimezone(dt_timezone.utc))
    event.add("summary", task.title)
    lines = []
    if task.description:
        lines.append(task.description)
    if task.scheduled_at and task.due_at:
        if task.all_day:
            lines.append(f"Due {task.due_at.astimezone(dt_timezone.utc).date():%d %b %Y}.")
        else:
            lines.append(f"Due {task.due_at.astimezone(zone):%d %b %Y %H:%M} ({zone.key}).")
    lines.append(f"Open in Taskdesk: {url}")
    event.add("description", "\n\n".join(lines))
    event.add("url", url)
    if task.location:
        event.add("location", task.location)
    event.add("status", "CANCELLED" if task.status == TaskStatus.CANCELLED else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if not task.scheduled_at else "OPAQUE")
    length = task.expected_duration if task.expected_duration and task.expected_duration > timedelta(0) \
        else DEFAULT_EVENT_LENGTH
    if task.scheduled_at:
        start = _at(task.scheduled_at, zone)
        event.add("dtstart", start)
        event.add("dtend", start + length)
    elif task.due_at and task.all_day:
        day = task.due_at.astimezone(dt_timezone.utc).date()
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
    elif task.due_at:
        start = _at(task.due_at, zone)
        event.add("dtstart", start)
        event.add("dtend", start + length)
    else:
        return None
    event.add("categories", [task.get_task_type_display()])
    return event


def _calendar(name, zone):
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone.key)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")  # Outlook's older name for REFRESH-INTERVAL
    return cal


def _finish(cal, moments):
    """Add the VTIMEZONE components the events refer to, spanning only the years they use."""
    if moments:
        first = min(moments) - timedelta(days=366)
        last = max(moments) + timedelta(days=366)
        cal.add_missing_timezones(first_date=first, last_date=last)
    return cal.to_ical()


def _moments(tasks):
    out = []
    for task in tasks:
        for value in (task.scheduled_at, task.due_at):
            if value is not None:
                out.append(value.date())
    return out


def user_feed(user):
    """The user's feed as iCalendar bytes."""
    zone = user_zone(user)
    name = f"Taskdesk: {user.get_full_name() or user.username}"
    cal = _calendar(name, zone)
    tasks = list(feed_tasks(user))
    for task in tasks:
        event = task_event(task, zone=zone)
        if event is not None:
            cal.add_component(event)
    return _finish(cal, _moments(tasks))


def task_ics(task, *, zone):
    """One task as a calendar file (for "Download .ics")."""
    cal = _calendar(task.title, zone)
    event = task_event(task, zone=zone)
    if event is not None:
        cal.add_component(event)
    return _finish(cal, _moments([task]))


__all__ = [
    "active_token", "feed_token_regenerate", "feed_token_revoke", "user_for_token", "feed_url", "user_feed",
    "task_ics", "task_event", "feed_tasks",
]
