"""Stage gates: the tasks of stage N wait until every task of the stages before it is closed.

The rule, computed afresh from the tasks every time (never from a stored flag):
stage N is open when every task of every stage with a lower position is completed or
cancelled (cancelling counts as done; an empty stage does not hold anything up).

`stages_sync(project)` makes the tasks follow the rule, in the caller's transaction, with the
project row locked so two tasks closing at once cannot both miss the opening:

- a stage that is open releases the tasks the gate holds (StageHold): back to the status they
  had (pending), given to their team's distribution strategy when they have a team and no
  assignee, and their assignees are told ("stage 2 is open: you can start X");
- a stage that is closed holds its tasks that have not started (pending, waiting): status
  blocked + a StageHold. That happens when a task is added to an earlier stage, or a task of an
  earlier stage is reopened. Tasks already in progress are left as they are and their assignees
  are warned: they cannot complete until the stage opens again. A task someone blocked by hand
  has no StageHold and is never released by the gate.

It runs after every status change of a project task (tasks.services.STATUS_CHANGED), before
a task is deleted (DELETING, without the rows about to go), and after the projects services
add, move or remove tasks and stages.

`check_status_change` (tasks.services.STATUS_CHECKS) refuses, before anything is saved, to
start or complete a task whose stage is not open ("Waits for stage 2 …") or whose
predecessors are open ("Blocked by “X” (open)."), and any move of a held task except
cancelling it.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.notifications import notify
from tasks import distribution
from tasks.models import CLOSED_STATUSES, OPEN_STATUSES, Task, TaskStatus

from .models import Project, Stage, StageHold, TaskDependency

S = TaskStatus
HOLDABLE = (S.PENDING, S.WAITING)  # not started: the gate may hold these


@dataclass
class SyncResult:
    opened: list = field(default_factory=list)     # stages that opened now
    closed: list = field(default_factory=list)     # stages that had been open and wait again
    released: list = field(default_factory=list)   # tasks the gate let go
    held: list = field(default_factory=list)       # tasks the gate put on hold
    started_elsewhere: list = field(default_factory=list)  # in progress in a stage that closed again

    def describe(self):
        """A sentence for the person whose action changed the gates (or "")."""
        parts = []
        for stage in self.opened:
            n = sum(1 for t in self.released if t.stage_id == stage.pk)
            if n:
                parts.append(f"Stage {stage.position} “{stage.name}” is open: {n} task{'s' if n != 1 else ''} "
                             f"can start.")
        for stage in self.closed:
            parts.append(f"Stage {stage.position} “{stage.name}” waits again.")
        if self.held and not self.closed:
            n = len(self.held)
            parts.append(f"{n} task{'s' if n != 1 else ''} wait{'s' if n == 1 else ''} for an earlier stage.")
        if self.started_elsewhere:
            names = ", ".join(f"“{t.title}”" for t in self.started_elsewhere)
            parts.append(f"Already started, left in progress: {names}.")
        return " ".join(parts)


# ---- reading the gates ---------------------------------------------------------------------


def open_tasks_before(stage, *, ignore_ids=()):
    """The open tasks of the stages before `stage` (what it waits for)."""
    return (Task.objects.filter(project_id=stage.project_id, stage__position__lt=stage.position,
                                status__in=OPEN_STATUSES)
            .exclude(pk__in=list(ignore_ids)).select_related("stage"))


def stage_is_open(stage):
    return not open_tasks_before(stage).exists()


def first_waiting_stage(stage):
    """The earliest stage before `stage` that still has open tasks, or None (then `stage` is open)."""
    task = open_tasks_before(stage).order_by("stage__position").first()
    return task.stage if task is not None else None


def waits_message(stage, blocking=None):
    blocking = blocking if blocking is not None else first_waiting_stage(stage)
    if blocking is None:
        return ""
    open_count = Task.objects.filter(stage=blocking, status__in=OPEN_STATUSES).count()
    return (f"Waits for stage {stage.position} “{stage.name}” to open: stage {blocking.position} "
            f"“{blocking.name}” still has {open_count} open task{'s' if open_count != 1 else ''}.")


def open_predecessors(task, *, ignore_ids=()):
    return list(Task.objects.filter(dependant_links__successor=task, status__in=OPEN_STATUSES)
                .exclude(pk__in=list(ignore_ids)).order_by("due_at", "pk"))


def blocked_by_message(predecessors):
    names = ", ".join(f"“{p.title}” ({'open' if p.status == S.PENDING else p.get_status_display().lower()})"
                      for p in predecessors)
    return f"Blocked by {names}."


# ---- hooks in tasks.services ----------------------------------------------------------------


def check_status_change(*, task, status, children, children_status, user):
    """Refuse a move the gates or dependencies forbid (ValidationError on "status"), before anything is saved."""
    moving = [(task, status)] + [(child, children_status) for child in children]
    closing_ids = {t.pk for t, s in moving if s in CLOSED_STATUSES}
    staged = [t for t, _ in moving if t.stage_id]
    held = set(StageHold.objects.filter(task__in=staged).values_list("task_id", flat=True)) if staged else set()
    for t, target in moving:
        if t.pk in held and target != S.CANCELLED:
            stage = Stage.objects.get(pk=t.stage_id)
            message = waits_message(stage) or f"Waits for stage {stage.position} “{stage.name}” to open."
            raise ValidationError({"status": f"“{t.title}”: {message} Until then it can only be cancelled."
                                   if t is not task else f"{message} Until then it can only be cancelled."})
        if target not in (S.IN_PROGRESS, S.COMPLETED):
            continue
        if t.stage_id:
            stage = Stage.objects.get(pk=t.stage_id)
            blocking = first_waiting_stage(stage)
            if blocking is not None:
                message = waits_message(stage, blocking)
                raise ValidationError({"status": message if t is task else f"“{t.title}”: {message}"})
        waiting_for = open_predecessors(t, ignore_ids=closing_ids)
        if waiting_for:
            message = blocked_by_message(waiting_for)
            raise ValidationError({"status": message if t is task else f"“{t.title}”: {message}"})


def after_status_change(*, tasks, user):
    """Open or close the stages of the tasks' projects; tell successors whose last predecessor closed."""
    known = {t.pk: t for t in tasks}
    for project_id in sorted({t.project_id for t in tasks if t.project_id}):
        stages_sync(project_id=project_id, user=user, known=known)
    closed = [t for t in tasks if t.status in CLOSED_STATUSES]
    if closed:
        _tell_unblocked(closed, user)


def before_delete(*, task_ids, user):
    project_ids = set(Task.objects.filter(pk__in=task_ids, project__isnull=False)
                      .values_list("project_id", flat=True))
    for project_id in sorted(project_ids):
        stages_sync(project_id=project_id, user=user, ignore_ids=task_ids)


def _tell_unblocked(closed, user):
    successor_ids = set(TaskDependency.objects.filter(predecessor__in=closed).values_list("successor_id", flat=True))
    if not successor_ids:
        return
    still_blocked = set(TaskDependency.objects.filter(successor_id__in=successor_ids,
                                                      predecessor__status__in=OPEN_STATUSES)
                        .values_list("successor_id", flat=True))
    held = set(StageHold.objects.filter(task_id__in=successor_ids).values_list("task_id", flat=True))
    names = {t.pk: t.title for t in closed}
    preds = dict(TaskDependency.objects.filter(predecessor__in=closed, successor_id__in=successor_ids)
                 .values_list("successor_id", "predecessor_id"))
    for successor in (Task.objects.filter(pk__in=successor_ids - still_blocked - held, status__in=OPEN_STATUSES,
                                          assignee__isnull=False).select_related("assignee").order_by("pk")):
        done = names.get(preds.get(successor.pk), "its last predecessor")
        notify(recipient=successor.assignee, actor=user, verb="unblocked", target=successor,
               text=f"“{done}” is closed: nothing blocks “{successor.title}” any more.")


# ---- keeping tasks in step with the gates ------------------------------------------------------


def _save_status(task, status, now):
    task.status = status
    task.status_changed_at = now
    task.version += 1
    task.save()


def stages_sync(*, project_id, user, ignore_ids=(), known=None):
    """Hold and release the project's staged tasks so they follow the gates. Idempotent; in the caller's transaction.

    `ignore_ids`: tasks about to be deleted (they hold nothing up). `known`: task objects the
    caller holds ({pk: task}); they are updated in place. Returns a SyncResult.
    """
    result = SyncResult()
    project = Project.objects.select_for_update().filter(pk=project_id).first()
    if project is None:
        return result
    stages = list(Stage.objects.filter(project=project).order_by("position"))
    ignore = set(ignore_ids)
    known = known or {}
    rows = [known.get(t.pk, t) for t in Task.objects.filter(project=project, stage__isnull=False)
            .exclude(pk__in=list(ignore)).select_related("assignee").order_by("pk")]
    holds = {h.task_id: h for h in StageHold.objects.filter(stage__project=project)}
    by_stage = {}
    for row in rows:
        by_stage.setdefault(row.stage_id, []).append(row)
    now = timezone.now()
    # A hold whose task was cancelled (or unblocked by other means) is no longer the gate's; one
    # whose task left the project's stages gives the task back its status; a moved one follows it.
    row_by_id = {row.pk: row for row in rows}
    for task_id, hold in list(holds.items()):
        row = row_by_id.get(task_id)
        if row is None and task_id not in ignore:
            gone = known.get(task_id) or Task.objects.filter(pk=task_id).first()
            if gone is not None and gone.status == S.BLOCKED:
                _save_status(gone, hold.previous_status, now)
        if row is None or row.status != S.BLOCKED:
            hold.delete()
            del holds[task_id]
        elif row.stage_id != hold.stage_id:
            hold.stage_id = row.stage_id
            hold.save(update_fields=["stage"])
    open_so_far = True
    for stage in stages:
        stage_tasks = by_stage.get(stage.pk, [])
        if open_so_far:
            if stage.opened_at is None:
                stage.opened_at = now
                stage.save(update_fields=["opened_at"])
                result.opened.append(stage)
            for row in stage_tasks:
                hold = holds.pop(row.pk, None)
                if hold is not None:
                    _release(row, hold, stage, project, user, now)
                    result.released.append(row)
        else:
            was_open = stage.opened_at is not None
            if was_open:
                stage.opened_at = None
                stage.save(update_fields=["opened_at"])
                result.closed.append(stage)
            for row in stage_tasks:
                if row.status in HOLDABLE and row.pk not in holds:
                    holds[row.pk] = StageHold.objects.create(task=row, stage=stage, previous_status=row.status)
                    _save_status(row, S.BLOCKED, now)
                    result.held.append(row)
                    if was_open and row.assignee is not None:
                        notify(recipient=row.assignee, actor=None, verb="stage_closed", target=row,
                               text=f"“{row.title}” waits again: an earlier stage of “{project.name}” has open "
                                    "tasks again.")
                elif row.status == S.IN_PROGRESS and was_open:
                    result.started_elsewhere.append(row)
                    if row.assignee is not None:
                        notify(recipient=row.assignee, actor=None, verb="stage_closed", target=row,
                               text=f"An earlier stage of “{project.name}” has open tasks again: “{row.title}” "
                                    "stays in progress but can only be completed once that stage is done.")
        open_so_far = open_so_far and all(row.status in CLOSED_STATUSES for row in stage_tasks)
    return result


def _release(task, hold, stage, project, user, now):
    previous = hold.previous_status if hold.previous_status in (S.PENDING, S.WAITING) else S.PENDING
    hold.delete()
    _save_status(task, previous, now)
    assigned = []
    if task.team_id and task.assignee_id is None:
        # The team's strategy picks now, as if the task had just been given to the team.
        assigned = distribution.task_distribute(task=task, actor=user, reason="given").assigned
    if task.assignee_id and not assigned:
        notify(recipient=task.assignee, actor=None, verb="stage_opened", target=task,
               text=f"Stage {stage.position} “{stage.name}” of “{project.name}” is open: you can start "
                    f"“{task.title}”.")
