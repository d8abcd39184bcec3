"""Task dependencies ("blocked by") between any two tasks: add, remove, loops, late dependants.

A successor cannot start or complete while one of its predecessors is open (enforced in
projects.gating.check_status_change, called by tasks.services). Adding a dependency is
refused, with a message, when:
- the user may not change the successor, or cannot see the predecessor (told, as a 404
  would, that there is no such task);
- it is the task itself, or the dependency exists already;
- it would make a loop (the message names it: “A” → “B” → “C” → “A”);
- within one project, the predecessor runs in a later stage than the successor (the
  successor could never finish: its stage closes before the predecessor's opens).
"""

from dataclasses import dataclass
from datetime import datetime, time
from datetime import timezone as dt_timezone

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crm import history
from tasks import access as task_access
from tasks.models import OPEN_STATUSES, Task

from .models import TaskDependency

DEPENDENCY_LOCK_KEY = 7_311_017  # PostgreSQL advisory lock: "task dependency graph changes"
MAX_PREDECESSORS = 50


def _lock_graph():
    """Serialise dependency changes so two concurrent additions can never close a loop together.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: write transactions run one at a time.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DEPENDENCY_LOCK_KEY])


def path_between(start_id, goal_id):
    """Task ids of a path start → … → goal following "is followed by" links (breadth first), or None."""
    if start_id == goal_id:
        return [start_id]
    came_from = {start_id: None}
    frontier = [start_id]
    while frontier:
        links = TaskDependency.objects.filter(predecessor_id__in=frontier).values_list("predecessor_id",
                                                                                      "successor_id")
        next_frontier = []
        for predecessor_id, successor_id in links:
            if successor_id in came_from:
                continue
            came_from[successor_id] = predecessor_id
            if successor_id == goal_id:
                path = [successor_id]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return list(reversed(path))
            next_frontier.append(successor_id)
        frontier = next_frontier
    return None


def _loop_text(ids):
    titles = dict(Task.objects.filter(pk__in=ids).values_list("pk", "title"))
    return " → ".join(f"“{titles.get(pk, f'#{pk}')}”" for pk in ids)


def _parse_task_ref(ref):
    text = str(ref if ref is not None else "").strip().lstrip("#").strip()
    if not text.isdigit() or len(text) > 18:
        raise ValidationError({"predecessor": "Give the number of the task it waits for, e.g. #42."})
    return int(text)


@history.records_as("user")
def dependency_add(*, successor, predecessor, user):
    """Make `successor` wait for `predecessor` (a Task or its number). One transaction; returns the TaskDependency.

    Guarantees: never a dependency on a task the user cannot see, never a loop (checked under
    a lock, so concurrent additions cannot build one), never a predecessor in a later stage
    of the same project. PermissionDenied if the user may not change the successor.
    """
    if not task_access.can_edit(user, successor):
        raise PermissionDenied("You may not change what this task waits for.")
    predecessor_id = predecessor.pk if isinstance(predecessor, Task) else _parse_task_ref(predecessor)
    found = task_access.visible_tasks(user, Task.objects.select_related("stage")).filter(pk=predecessor_id).first()
    if found is None:
        raise ValidationError({"predecessor": f"There is no task #{predecessor_id} you can see."})
    predecessor = found
    if predecessor.pk == successor.pk:
        raise ValidationError({"predecessor": "A task cannot wait for itself."})
    with transaction.atomic():
        _lock_graph()
        successor = Task.objects.select_related("stage").get(pk=successor.pk)
        if TaskDependency.objects.filter(predecessor=predecessor, successor=successor).exists():
            raise ValidationError({"predecessor": f"“{successor.title}” already waits for “{predecessor.title}”."})
        if TaskDependency.objects.filter(successor=successor).count() >= MAX_PREDECESSORS:
            raise ValidationError({"predecessor": f"A task can wait for at most {MAX_PREDECESSORS} others."})
        if (predecessor.project_id and predecessor.project_id == successor.project_id and predecessor.stage_id
                and successor.stage_id and predecessor.stage.position > successor.stage.position):
            raise ValidationError({"predecessor": (
                f"“{predecessor.title}” is in stage {predecessor.stage.position}, after the stage of "
                f"“{successor.title}” (stage {successor.stage.position}): “{successor.title}” could never finish. "
                "Move one of them to another stage first."
            )})
        path = path_between(successor.pk, predecessor.pk)
        if path is not None:
            raise ValidationError({"predecessor": (
                f"That would make a loop: {_loop_text([predecessor.pk, *path])}. No task in it could ever start."
            )})
        dependency = TaskDependency(predecessor=predecessor, successor=successor, created_by=user)
        dependency.full_clean()
        dependency.save()
    return dependency


@history.records_as("user")
def dependency_remove(*, dependency, user):
    """Remove a "blocked by" link. Whoever may change the successor may remove it."""
    if not task_access.can_edit(user, dependency.successor):
        raise PermissionDenied("You may not change what this task waits for.")
    with transaction.atomic():
        TaskDependency.objects.filter(pk=dependency.pk).delete()


# ---- reading ----------------------------------------------------------------------------------


def deadline_key(moment, all_day=False):
    """A sortable deadline: an all-day date counts as the end of that day; a time as itself (reader's zone)."""
    if moment is None:
        return None
    if all_day:
        day = moment.astimezone(dt_timezone.utc).date()
        return datetime.combine(day, time.max)
    local = timezone.localtime(moment)
    return local.replace(tzinfo=None)


def starts_too_early(dependant, predecessor):
    """True when `dependant` begins or is due before `predecessor` is due (it cannot wait for it in time)."""
    limit = deadline_key(predecessor.due_at, predecessor.all_day)
    if limit is None:
        return False
    if dependant.begin_at is not None and deadline_key(dependant.begin_at) < limit:
        return True
    due = deadline_key(dependant.due_at, dependant.all_day)
    return due is not None and due < limit


@dataclass
class Link:
    dependency: TaskDependency
    task: Task           # the other end
    visible: bool        # the reader may open it
    late: bool           # the dependant is due (or begins) before the predecessor is due


def links_of(task, user):
    """(predecessors, dependants) of `task` as Link lists, in a fixed number of queries."""
    deps = list(TaskDependency.objects.filter(successor=task).select_related("predecessor", "predecessor__assignee")
                .order_by("predecessor__due_at", "pk"))
    after = list(TaskDependency.objects.filter(predecessor=task).select_related("successor", "successor__assignee")
                 .order_by("successor__due_at", "pk"))
    ids = {d.predecessor_id for d in deps} | {d.successor_id for d in after}
    visible = set(task_access.visible_tasks(user, Task.objects.filter(pk__in=ids)).values_list("pk", flat=True)) \
        if ids else set()
    predecessors = [Link(d, d.predecessor, d.predecessor_id in visible, starts_too_early(task, d.predecessor))
                    for d in deps]
    dependants = [Link(d, d.successor, d.successor_id in visible,
                       d.successor.status in OPEN_STATUSES and starts_too_early(d.successor, task))
                  for d in after]
    return predecessors, dependants
