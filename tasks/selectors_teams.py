"""Queries behind the team pages (queue, workload): a fixed number of SQL queries whatever the rows."""

from datetime import timedelta

from django.db.models import Count, F, Q, Sum

from crm.models import TeamMembership

from .dates import due_between_q, local_today, overdue_q
from .models import OPEN_STATUSES, Task


def team_queue(team):
    """Open tasks of the team nobody has taken, most urgent deadline first."""
    return (
        Task.objects.filter(team=team, assignee__isnull=True, status__in=OPEN_STATUSES)
        .select_related("content_type", "parent", "created_by")
        .prefetch_related("entity")
        .order_by(F("due_at").asc(nulls_last=True), "-priority_rank", "pk")
    )


def _prefixed(q, prefix):
    """The same Q with every lookup moved under `prefix` (to filter a related model's rows in an aggregate)."""
    copy = Q()
    copy.connector, copy.negated = q.connector, q.negated
    copy.children = [_prefixed(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1])
                     for child in q.children]
    return copy


def week_bounds(now=None):
    """Monday and Sunday of the current week, in the reader's time zone (as the task list's "This week")."""
    today = local_today(now)
    start = today - timedelta(days=today.weekday())
    return start, start + timedelta(days=6)


def team_workload(team, now=None):
    """Each member (active or not) with their load, in one query.

    open_count: open tasks assigned to them in any team; team_open: of those, this team's;
    overdue_count: open and past due; week_count: open and due this week (Monday to
    Sunday); week_duration: the sum of the expected durations of those (None if none).
    """
    start, end = week_bounds(now)
    p = "user__assigned_tasks__"
    is_open = Q(status__in=OPEN_STATUSES)
    this_week = is_open & due_between_q(start, end)
    return list(
        TeamMembership.objects.filter(team=team).select_related("user")
        .annotate(
            open_count=Count(p + "pk", filter=_prefixed(is_open, p)),
            team_open=Count(p + "pk", filter=_prefixed(is_open & Q(team=team), p)),
            overdue_count=Count(p + "pk", filter=_prefixed(overdue_q(now), p)),
            week_count=Count(p + "pk", filter=_prefixed(this_week, p)),
            week_duration=Sum(p + "expected_duration", filter=_prefixed(this_week, p)),
        )
        .order_by("-is_active", "user__first_name", "user__last_name", "user__username")
    )
