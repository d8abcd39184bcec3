"""Queries behind the task pages: a fixed number of SQL queries whatever the number of rows."""

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.db.models import CharField

from . import access
from .filters import TaskFilter
from .models import OPEN_STATUSES, Task, TaskStatus




def with_subtask_progress(qs):
    prefix = Concat(OuterRef("tree_path"), OuterRef("pk"), Value("/"), output_field=CharField())
    base = Task.objects.filter(tree_path__startswith=prefix).order_by()
    total = base.annotate(g=Value(1)).values("g").annotate(n=Count("pk")).values("n")
    done = base.filter(status=TaskStatus.COMPLETED).annotate(g=Value(1)).values("g").annotate(n=Count("pk")).values("n")
    closed = base.filter(status__in=[TaskStatus.COMPLETED, TaskStatus.CANCELLED]).annotate(
        g=Value(1)).values("g").annotate(n=Count("pk")).values("n")
    return qs.annotate(
        subtasks_total=Coalesce(Subquery(total, output_field=IntegerField()), 0),
        subtasks_done=Coalesce(Subquery(done, output_field=IntegerField()), 0),
        subtasks_closed=Coalesce(Subquery(closed, output_field=IntegerField()), 0),
    )


def task_rows(qs):
    """What a task table row needs, fetched with the rows."""
    return with_subtask_progress(
        qs.select_related("assignee", "team", "content_type", "parent").prefetch_related("tags", "entity")
    )


# Sort keys that may be empty: tasks without them come last in either direction, on every
# database (SQLite sorts NULL first ascending, PostgreSQL last).
NULLABLE_SORT_KEYS = {"due_at", "scheduled_at", "assignee__username"}


def _nulls_last(key):
    if isinstance(key, str) and key.lstrip("-") in NULLABLE_SORT_KEYS:
        name = key.lstrip("-")
        return F(name).desc(nulls_last=True) if key.startswith("-") else F(name).asc(nulls_last=True)
    return key


def task_list(*, user, params, base=None):
    """The filtered, visible, sorted tasks for a list page. Returns (filterset, queryset)."""
    visible = access.visible_tasks(user, base if base is not None else Task.objects.all())
    filterset = TaskFilter(params or None, queryset=visible, user=user)
    if filterset.is_bound and not filterset.is_valid():
        return filterset, Task.objects.none()
    qs = filterset.qs
    if not (params or {}).get("o"):
        qs = qs.order_by(F("due_at").asc(nulls_last=True), "-priority_rank", "pk")
    else:
        qs = qs.order_by(*[_nulls_last(key) for key in qs.query.order_by], "pk")
    return filterset, task_rows(qs)


def task_detail(*, user, pk):
    qs = Task.objects.select_related("assignee", "team", "team__manager", "created_by", "content_type", "parent")
    task = access.get_task_for_user(user, pk, qs)
    return task


def subtree(task):
    """The task's descendants in tree order with depth, for the subtask tree."""
    rows = list(
        Task.objects.filter(tree_path__startswith=task.subtree_prefix())
        .select_related("assignee").order_by("tree_path", "pk")
    )
    by_parent = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append(row)
    ordered = []

    def walk(parent_id, depth):
        for child in by_parent.get(parent_id, []):
            child.tree_depth = depth
            ordered.append(child)
            walk(child.pk, depth + 1)

    walk(task.pk, 0)
    return ordered


def progress(rows):
    total = len(rows)
    done = sum(1 for r in rows if r.status == TaskStatus.COMPLETED)
    closed = sum(1 for r in rows if r.status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED))
    return {"total": total, "done": done, "closed": closed, "open": total - closed,
            "percent": int(round(100 * done / total)) if total else 0}


__all__ = ["task_list", "task_detail", "task_rows", "subtree", "progress", "OPEN_STATUSES", "Q"]
