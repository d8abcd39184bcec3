"""Queries behind the task pages: a fixed number of SQL queries whatever the number of rows."""

from django.db.models import F, Q

from . import access
from .filters import TaskFilter
from .models import OPEN_STATUSES, Participant, Task, TaskStatus, subtree_q




def task_rows(qs):
    """What a task table row needs, fetched with the rows. Call decorate_rows() on the page afterwards."""
    return qs.select_related("assignee", "team", "content_type", "parent").prefetch_related("tags", "entity")


def decorate_rows(rows, user):
    """Per-row facts for one page of the task table, in at most two queries whatever the page size.

    Sets `subtasks_total`, `subtasks_done`, `subtasks_closed` (over the whole
    subtree), `user_can_edit` and `user_can_claim`. Computed after pagination:
    as annotations they would be evaluated for every matching row before the
    sort and the LIMIT, which costs seconds at 100,000 tasks.
    """
    rows = list(rows)
    if not rows:
        return rows
    by_id = {row.pk: row for row in rows}
    for row in rows:
        row.subtasks_total = row.subtasks_done = row.subtasks_closed = 0
    cond = Q()
    for row in rows:
        cond |= subtree_q(row.subtree_prefix())
    for path, status in Task.objects.filter(cond).order_by().values_list("tree_path", "status"):
        for ancestor_id in path.strip("/").split("/"):
            row = by_id.get(int(ancestor_id)) if ancestor_id else None
            if row is None:
                continue
            row.subtasks_total += 1
            if status == TaskStatus.COMPLETED:
                row.subtasks_done += 1
            if status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED):
                row.subtasks_closed += 1

    managed = access.managed_team_ids(user)
    claim_teams = access.active_member_team_ids(user) | set(managed)
    editor_of = set()
    if not (user.is_staff or user.is_superuser):
        editor_of = set(
            Participant.objects.filter(task_id__in=by_id, user=user, role__in=access.EDITING_ROLES)
            .values_list("task_id", flat=True)
        )
    for row in rows:
        row.user_can_edit = (
            user.is_staff or user.is_superuser or row.created_by_id == user.pk or row.assignee_id == user.pk
            or (row.team_id is not None and row.team_id in managed) or row.pk in editor_of
        )
        row.user_can_claim = (
            row.assignee_id is None and row.status in OPEN_STATUSES
            and (row.team_id in claim_teams if row.team_id else True)
        )
    return rows


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
        Task.objects.filter(subtree_q(task.subtree_prefix()))
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

