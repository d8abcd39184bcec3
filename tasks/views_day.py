"""My day (the home page) and the month calendar."""

import calendar as pycalendar
from datetime import date, timedelta

from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from . import access
from .dates import day_bounds, due_between_q, due_date_local, local_today, overdue_q
from .filters import TaskFilter
from .models import OPEN_STATUSES, Task

SECTION_LIMIT = 50
CALENDAR_LIMIT = 1000


def _rows(qs):
    return list(
        qs.select_related("assignee", "team", "content_type").prefetch_related("entity")
        .order_by("due_at", "-priority_rank", "pk")[: SECTION_LIMIT + 1]
    )


def _section(key, title, qs, more_url, empty):
    rows = _rows(qs)
    return {"key": key, "title": title, "tasks": rows[:SECTION_LIMIT], "more": len(rows) > SECTION_LIMIT,
            "more_url": more_url, "empty": empty}


def my_day(request):
    """My overdue tasks, due today, the next 7 days, and the unassigned tasks of my teams."""
    user = request.user
    today = local_today()
    mine = Task.objects.filter(assignee=user, status__in=OPEN_STATUSES)
    list_url = reverse("tasks:list")
    team_ids = access.member_team_ids(user)
    sections = [
        _section("overdue", "Overdue", mine.filter(overdue_q()), f"{list_url}?view=overdue&assignee=me",
                 "Nothing overdue. Well done."),
        _section("today", "Due today", mine.filter(due_between_q(today, today)).exclude(overdue_q()),
                 f"{list_url}?view=today&assignee=me", "Nothing else is due today."),
        _section("week", "Next 7 days", mine.filter(due_between_q(today + timedelta(days=1), today + timedelta(days=7))),
                 f"{list_url}?assignee=me&due_after={today + timedelta(days=1)}&due_before={today + timedelta(days=7)}",
                 "Nothing due in the coming week."),
        _section("queue", "Unassigned in my teams",
                 Task.objects.filter(assignee__isnull=True, status__in=OPEN_STATUSES, team_id__in=team_ids),
                 f"{list_url}?view=team_queue", "Your teams' queues are empty."),
    ]
    return render(request, "tasks/my_day.html", {"sections": sections, "today": today})


def _month_from(param, today):
    try:
        year, month = (int(p) for p in (param or "").split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        return None


def task_calendar(request):
    """A month grid of due and scheduled tasks the user can see, with the task list's filters."""
    today = local_today()
    month_param = request.GET.get("month")
    first = _month_from(month_param, today) if month_param else today.replace(day=1)
    if first is None or not (1900 <= first.year <= 2999):
        first = today.replace(day=1)
        bad_month = True
    else:
        bad_month = False
    last = first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
    params = request.GET.copy()
    params.pop("month", None)
    visible = access.visible_tasks(request.user)
    filterset = TaskFilter(params or None, queryset=visible, user=request.user)
    status = 200
    if (filterset.is_bound and not filterset.is_valid()) or bad_month:
        qs = Task.objects.none()
        status = 400
    else:
        start, _ = day_bounds(first)
        _, end = day_bounds(last)
        qs = filterset.qs.filter(due_between_q(first, last) | Q(scheduled_at__gte=start, scheduled_at__lt=end))
    rows = list(
        qs.select_related("assignee").order_by("due_at", "scheduled_at", "pk")[: CALENDAR_LIMIT + 1]
    )
    truncated = len(rows) > CALENDAR_LIMIT
    rows = rows[:CALENDAR_LIMIT]

    by_day = {}
    for task in rows:
        days = set()
        if task.due_at is not None:
            due_day = due_date_local(task)
            if first <= due_day <= last:
                by_day.setdefault(due_day, []).append(("due", task))
                days.add(due_day)
        if task.scheduled_at is not None:
            sched_day = timezone.localtime(task.scheduled_at).date()
            if first <= sched_day <= last and sched_day not in days:
                by_day.setdefault(sched_day, []).append(("scheduled", task))

    cal = pycalendar.Calendar(firstweekday=0)
    weeks = []
    for week in cal.monthdatescalendar(first.year, first.month):
        weeks.append([{"date": d, "in_month": d.month == first.month, "is_today": d == today,
                       "entries": by_day.get(d, [])} for d in week])
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = last + timedelta(days=1)
    return render(request, "tasks/calendar.html", {
        "filter": filterset, "weeks": weeks, "month": first, "prev_month": prev_month, "next_month": next_month,
        "truncated": truncated, "limit": CALENDAR_LIMIT, "bad_month": bad_month,
        "filter_query": params.urlencode(),
        "weekday_names": [pycalendar.day_abbr[i] for i in range(7)],
    }, status=status)

