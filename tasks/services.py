"""State changes of tasks. Views, forms, admin actions, jobs and commands all call these.

Each service runs in one transaction, validates with full_clean() before
saving, checks the acting user's rights, and raises:
- django.core.exceptions.ValidationError for input the rules refuse,
- django.core.exceptions.PermissionDenied when the user may not do it,
- StaleEdit / AlreadyClaimed for lost races, carrying what the user needs to know.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from crm import history
from crm.choices import PRIORITY_RANK, Priority
from crm.notifications import notify

from . import access, distribution, events
from .models import CLOSED_STATUSES, OPEN_STATUSES, ChecklistItem, Participant, Task, TaskStatus, subtree_q
from .signals import task_completed

S = TaskStatus

# Allowed status moves. Completing and cancelling have their own services
# (outcome, subtasks); reopening goes back to pending.
TRANSITIONS = {
    S.PENDING: {S.IN_PROGRESS, S.WAITING, S.BLOCKED, S.CANCELLED},
    S.IN_PROGRESS: {S.COMPLETED, S.WAITING, S.BLOCKED, S.CANCELLED},
    S.WAITING: {S.PENDING, S.IN_PROGRESS, S.BLOCKED, S.CANCELLED},
    S.BLOCKED: {S.PENDING, S.IN_PROGRESS, S.WAITING, S.CANCELLED},
    S.COMPLETED: {S.PENDING},
    S.CANCELLED: {S.PENDING},
}

# Rules other apps add to status changes and deletions (projects: stage gates and task
# dependencies), registered from their AppConfig.ready(). All run inside the service's
# transaction. A check refuses with ValidationError before anything is saved; STATUS_CHANGED
# hooks run once the new statuses are saved; DELETING hooks run just before the rows go.
STATUS_CHECKS = []   # fn(*, task, status, children, children_status, user)
STATUS_CHANGED = []  # fn(*, tasks, user): `tasks` (saved objects) changed status together
DELETING = []        # fn(*, task_ids, user)

# Fields a user edits through the task form (and the CSV import).
EDITABLE_FIELDS = (
    "title", "description", "task_type", "priority", "begin_at", "due_at", "all_day", "scheduled_at",
    "expected_duration", "location", "outcome", "assignee", "team", "parent", "content_type", "object_id",
)


class StaleEdit(Exception):
    """Someone else saved the task after this user loaded it."""

    def __init__(self, task, changes):
        self.task = task
        self.changes = changes  # [(field label, value the user saw, value now)]
        super().__init__("The task was changed by someone else meanwhile.")


class AlreadyClaimed(Exception):
    def __init__(self, task, by):
        self.task = task
        self.by = by
        who = (by.get_full_name() or by.username) if by else "someone else"
        super().__init__(f"{who} already took this task.")


@dataclass
class BulkResult:
    changed: int
    messages: list = field(default_factory=list)


def _require_edit(user, task):
    if not access.can_edit(user, task):
        raise PermissionDenied("You may not change this task.")


def _name(user):
    return (user.get_full_name() or user.username) if user else "nobody"


def _validate_parent(task, parent):
    if parent is None:
        return
    if task.pk and (parent.pk == task.pk or f"/{task.pk}/" in f"{parent.tree_path}{parent.pk}/"):
        raise ValidationError({"parent": "A task cannot be moved under itself or one of its own subtasks."})


def _tree_path_for(parent):
    return "/" if parent is None else f"{parent.tree_path}{parent.pk}/"


@history.records_as("created_by")
def task_create(*, created_by, title, entity=None, participants=(), checklist=(), tags=(), distribute=True,
                notify_assignee=True, **fields):
    """Create a task (and its participants, checklist and tags) in one transaction.

    `entity` is a registered CRM record or None (a global task). Notifies the
    assignee when someone else assigned them. A task given to a team without an
    assignee goes through the team's distribution strategy (tasks.distribution)
    in the same transaction, unless `distribute` is false (subtasks made with
    their parent's assignee). `series` and `occurrence` are set only by
    tasks.recurrence for the instances of a repeating task (with notify_assignee
    false: the assignee asked for the series, or gets a reminder).
    """
    # `project` and `stage` are set by projects.services only (stage gates, distribution when a stage opens).
    unknown = set(fields) - set(EDITABLE_FIELDS) - {"status", "series", "occurrence", "project", "stage"}
    if unknown:
        raise ValidationError(f"Unknown task fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        task = Task(title=title, created_by=created_by, **fields)
        if entity is not None:
            task.set_entity(entity)
        parent = fields.get("parent")
        task.tree_path = _tree_path_for(parent)
        if task.status in CLOSED_STATUSES:
            task.completed_at = timezone.now() if task.status == S.COMPLETED else None
        task.status_changed_at = timezone.now()
        task.full_clean()
        task.save()
        for user, role in participants:
            participant_add(task=task, by=created_by, user=user, role=role, check=False)
        for position, text in enumerate(checklist):
            ChecklistItem.objects.create(task=task, text=text, position=position)
        if tags:
            task.tags.set(list(tags))
        distributed = None
        if distribute and task.team_id and task.assignee_id is None:
            distributed = distribution.task_distribute(task=task, actor=created_by)  # tells whom it picked
    if distributed is None and notify_assignee and task.assignee_id and created_by \
            and task.assignee_id != created_by.pk:
        notify(recipient=task.assignee, actor=created_by, verb="assigned",
               text=f"{_name(created_by)} assigned you “{task.title}”.", target=task)
    return task


def task_snapshot(task):
    """The editable values of a task as plain strings, to detect what changed meanwhile."""
    data = {}
    for name in EDITABLE_FIELDS:
        f = Task._meta.get_field(name)
        value = getattr(task, f.attname)
        data[name] = "" if value is None else str(value)
    data["status"] = task.status
    data["tags"] = ",".join(sorted(t.name for t in task.tags.all())) if task.pk else ""
    return data


def _describe_changes(before, current_task):
    now = task_snapshot(current_task)
    changes = []
    for name, old in before.items():
        new = now.get(name, "")
        if old != new:
            label = Task._meta.get_field(name).verbose_name if name != "tags" else "tags"
            changes.append((str(label), _pretty(name, old, all_day=before.get("all_day") == "True"),
                            _pretty(name, new, all_day=now.get("all_day") == "True")))
    return changes


def _pretty(name, raw, all_day=False):
    if raw in ("", None):
        return "—"
    choices = dict(Task._meta.get_field(name).flatchoices) if name != "tags" else {}
    if raw in choices:  # show "In progress", as the form did, not "in_progress"
        return str(choices[raw])
    if name in ("assignee",):
        user = get_user_model().objects.filter(pk=raw).first()
        return _name(user) if user else raw
    if name in ("begin_at", "due_at", "scheduled_at"):
        from datetime import datetime

        try:
            moment = datetime.fromisoformat(raw)
            if name == "due_at" and all_day:  # a calendar date stored at 00:00 UTC: never shift it
                return moment.strftime("%d %b %Y")
            return timezone.localtime(moment).strftime("%d %b %Y %H:%M")
        except ValueError:
            return raw
    if name == "team":
        from crm.models import Team

        team = Team.objects.filter(pk=raw).first()
        return team.name if team else raw
    if name == "parent":
        parent = Task.objects.filter(pk=raw).first()
        return parent.title if parent else raw
    return raw


@history.records_as("user")
def task_update(*, task, user, data, version, snapshot=None, tags=None, entity=..., notify_assignee=True):
    """Apply an edit if nobody saved the task since the user loaded `version`.

    Refuses a stale edit with StaleEdit listing what changed meanwhile (from
    `snapshot`, the values the user's form was built from). Moving under a
    descendant is refused. One transaction; the row is locked while checked.
    """
    _require_edit(user, task)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown task fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        current = Task.objects.select_for_update().get(pk=task.pk)
        if current.version != version:
            raise StaleEdit(current, _describe_changes(snapshot or {}, current))
        before = events.snapshot(current)
        old_times = (current.due_at, current.all_day, current.scheduled_at)
        old_assignee_id = current.assignee_id
        old_team_id = current.team_id
        old_parent_id = current.parent_id
        for name, value in data.items():
            setattr(current, name, value)
        if entity is not ...:
            current.set_entity(entity)
        if current.parent_id != old_parent_id:
            _lock_tree()
            if current.parent_id is not None:
                # Read the new parent's path after taking the lock: a concurrent move may have changed it.
                current.parent = Task.objects.get(pk=current.parent_id)
            _validate_parent(current, current.parent)
        current.full_clean()
        current.version = version + 1
        if current.parent_id != old_parent_id:
            _move_subtree(current, current.parent)
        current.save()
        if tags is not None:
            current.tags.set(list(tags))
        events.task_saved(task=current, user=user, before=before)  # due date moved: its people are told
        if (current.due_at, current.all_day, current.scheduled_at) != old_times:
            from .reminders import reminders_rearm

            reminders_rearm(task=current)  # relative reminders follow the due/scheduled time
        distributed = None
        if current.team_id and current.assignee_id is None and (
                current.team_id != old_team_id or old_assignee_id is not None):
            # Given to a team (or released back to it) by this edit: the team's strategy picks.
            given = current.team_id != old_team_id
            distributed = distribution.task_distribute(
                task=current, actor=user, reason="given" if given else "released",
                exclude=() if given else (old_assignee_id,))
    if distributed is None and notify_assignee and current.assignee_id and current.assignee_id != old_assignee_id \
            and current.assignee_id != user.pk:
        notify(recipient=current.assignee, actor=user, verb="assigned",
               text=f"{_name(user)} assigned you “{current.title}”.", target=current)
    return current


def _lock_tree():
    """Serialise moves in the task tree, so two concurrent moves can never build a loop.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: write transactions
    already run one at a time (the settings open them IMMEDIATE).
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TREE_LOCK_KEY])


TREE_LOCK_KEY = 7_311_001  # any constant unique to "task tree moves"


def _move_subtree(task, new_parent):
    """Point `task` under `new_parent` and rewrite the paths of its whole subtree."""
    old_prefix = task.subtree_prefix()
    task.tree_path = _tree_path_for(new_parent)
    new_prefix = task.subtree_prefix()
    if old_prefix != new_prefix:
        Task.objects.filter(subtree_q(old_prefix)).update(
            tree_path=Concat(Value(new_prefix), Substr("tree_path", len(old_prefix) + 1))
        )


def task_set_parent(*, task, user, parent):
    return task_update(task=task, user=user, data={"parent": parent}, version=task.version,
                       snapshot=task_snapshot(task))


def _open_descendants(task):
    return Task.objects.filter(subtree_q(task.subtree_prefix()), status__in=OPEN_STATUSES)


def _set_status(task, status, *, now=None):
    now = now or timezone.now()
    task.status = status
    task.status_changed_at = now
    if status == S.COMPLETED:
        task.completed_at = now
    elif status in OPEN_STATUSES:
        task.completed_at = None
    task.version += 1


@history.records_as("user")
def task_change_status(*, task, user, status, outcome=None, subtasks=None):
    """Move a task to `status` if the rules allow it.

    Completing records completed_at (and the optional outcome); a parent with
    open subtasks is refused unless `subtasks` is "complete" or "cancel", which
    closes the whole open subtree too. Reopening clears completed_at. When the
    last open subtask of a parent closes, the parent's assignee is told.
    """
    _require_edit(user, task)
    if status not in S.values:
        raise ValidationError({"status": f"“{status}” is not a task status."})
    if subtasks not in (None, "", "complete", "cancel"):
        raise ValidationError({"subtasks": "Choose to complete or cancel the open subtasks."})
    with transaction.atomic():
        current = Task.objects.select_for_update().get(pk=task.pk)
        if status == current.status:
            raise ValidationError({"status": f"The task is already {current.get_status_display().lower()}."})
        if status not in TRANSITIONS[current.status]:
            raise ValidationError({"status": (
                f"A {current.get_status_display().lower()} task cannot become "
                f"{S(status).label.lower()}."
            )})
        now = timezone.now()
        old_status = current.status
        open_children = []
        completed = []  # subtasks completed along with it (automation hears of each)
        if status in CLOSED_STATUSES:
            open_children = list(_open_descendants(current))
            if open_children and status == S.COMPLETED and not subtasks:
                raise ValidationError({"subtasks": (
                    f"{len(open_children)} subtask(s) are still open. Complete or cancel them too, "
                    "or finish them first."
                )}, code="open_subtasks")
        cascade_to = S.CANCELLED if (status == S.CANCELLED or subtasks == "cancel") else S.COMPLETED
        for check in STATUS_CHECKS:  # other apps' rules (projects: stage gates, dependencies)
            check(task=current, status=status, children=open_children, children_status=cascade_to, user=user)
        if status in CLOSED_STATUSES:
            if open_children:
                for child in open_children:
                    child_before = events.snapshot(child)
                    _set_status(child, cascade_to, now=now)
                    child.save()
                    events.task_saved(task=child, user=user, before=child_before)
                    if cascade_to == S.COMPLETED:
                        completed.append(child)
        before = events.snapshot(current)
        _set_status(current, status, now=now)
        if status == S.COMPLETED and outcome is not None:
            current.outcome = outcome
        current.full_clean()
        current.save()
        events.task_saved(task=current, user=user, before=before)  # its people hear of it after commit
        from .reminders import reminders_drop, reminders_restore

        if status in CLOSED_STATUSES:  # reminders not sent yet will not be
            reminders_drop(task_ids=[current.pk, *(child.pk for child in open_children)])
        elif old_status in CLOSED_STATUSES:  # reopened: those still ahead are pending again
            reminders_restore(task=current)
        if status == S.COMPLETED:
            # Receivers (tasks.signals) queue their work with transaction.on_commit.
            for done in [*completed, current]:
                task_completed.send(sender=Task, task=done, user=user)
        for hook in STATUS_CHANGED:  # e.g. the next stage of a project opens
            hook(tasks=[*open_children, current], user=user)
    if status in CLOSED_STATUSES and current.parent_id:
        _tell_parent_if_ready(current, user)
    return current


def _tell_parent_if_ready(task, user):
    parent = Task.objects.select_related("assignee").filter(pk=task.parent_id).first()
    if parent is None or parent.status not in OPEN_STATUSES or parent.assignee is None:
        return
    if _open_descendants(parent).exists():
        return
    if parent.assignee_id == user.pk:
        return
    notify(recipient=parent.assignee, actor=user, verb="subtasks_done",
           text=f"All subtasks of “{parent.title}” are done: it is ready to finish.", target=parent)


def task_start(*, task, user):
    return task_change_status(task=task, user=user, status=S.IN_PROGRESS)


def task_complete(*, task, user, outcome=None, subtasks=None):
    # None keeps the outcome already written; "" would erase it.
    return task_change_status(task=task, user=user, status=S.COMPLETED, outcome=outcome, subtasks=subtasks)


def task_cancel(*, task, user):
    return task_change_status(task=task, user=user, status=S.CANCELLED)


def task_reopen(*, task, user):
    return task_change_status(task=task, user=user, status=S.PENDING)


@history.records_as("user")
def task_claim(*, task, user):
    """Take an unassigned task. Atomic: of two people claiming at once exactly one wins;
    the other gets AlreadyClaimed naming who did."""
    if task.status not in OPEN_STATUSES:
        raise ValidationError({"status": "Only open tasks can be claimed."})
    if not access.can_claim(user, task):
        if task.assignee_id is not None:
            current = Task.objects.select_related("assignee").get(pk=task.pk)
            raise AlreadyClaimed(current, current.assignee)
        raise PermissionDenied("Only members of the task's team can claim it.")
    with transaction.atomic():
        won = Task.objects.filter(pk=task.pk, assignee__isnull=True, status__in=OPEN_STATUSES).update(
            assignee=user, version=F("version") + 1, updated_at=timezone.now()
        )
        current = Task.objects.select_related("assignee").get(pk=task.pk)
        if won == 1:  # .update() bypasses simple-history: record the claim with the same transaction
            history.record(current, user=user)
    if won != 1:
        if current.assignee_id is None:  # closed meanwhile, not taken
            raise ValidationError({"status": "Only open tasks can be claimed."})
        raise AlreadyClaimed(current, current.assignee)
    return current


@history.records_as("user")
def task_assign(*, task, user, assignee):
    """Assign (or reassign) the task. The new assignee is told, unless they did it."""
    _require_edit(user, task)
    if assignee is not None and not assignee.is_active:
        raise ValidationError({"assignee": f"{_name(assignee)} is not an active user."})
    with transaction.atomic():
        current = Task.objects.select_for_update().get(pk=task.pk)
        previous = current.assignee_id
        current.assignee = assignee
        current.version += 1
        current.save()
    if assignee is not None and assignee.pk != previous and assignee.pk != user.pk:
        notify(recipient=assignee, actor=user, verb="assigned",
               text=f"{_name(user)} assigned you “{current.title}”.", target=current)
    return current


@history.records_as("user")
def task_unassign(*, task, user):
    """Release the task (back to its team's queue if it has a team). The assignee may release it too."""
    if task.assignee_id != user.pk:
        _require_edit(user, task)
    with transaction.atomic():
        current = Task.objects.select_for_update().get(pk=task.pk)
        previous_id = current.assignee_id
        current.assignee = None
        current.version += 1
        current.save()
        if current.team_id:
            # Back in the team's queue: its strategy may pick someone else (never the one who let go).
            distribution.task_distribute(task=current, actor=user, reason="released", exclude=(previous_id,))
    return current


@history.records_as("user")
def task_delete(*, task, user):
    """Delete the task and its subtasks (their history says so; a manager can restore them together)."""
    _require_edit(user, task)
    with transaction.atomic(), history.deletion_batch(f"task #{task.pk}"):
        if DELETING:  # e.g. the next stage of its project opens once it is gone
            ids = [task.pk, *Task.objects.filter(subtree_q(task.subtree_prefix())).values_list("pk", flat=True)]
            for hook in DELETING:
                hook(task_ids=ids, user=user)
        Task.objects.filter(subtree_q(task.subtree_prefix())).delete()
        Task.objects.filter(pk=task.pk).delete()


# ---- bulk actions -------------------------------------------------------------------------

BULK_ACTIONS = ("assign", "status", "priority", "delete")


@history.records_as("user")
def tasks_bulk(*, user, task_ids, action, value=None):
    """Apply one action to several tasks: all of them or none.

    Refused as a whole (PermissionDenied) if the user may not change any one
    of them, and rolled back if the rules refuse it for any one.
    """
    if action not in BULK_ACTIONS:
        raise ValidationError(f"“{action}” is not a bulk action.")
    ids = sorted({int(i) for i in task_ids})
    if not ids:
        raise ValidationError("Select at least one task.")
    tasks = list(access.visible_tasks(user, Task.objects.filter(pk__in=ids)))
    if len(tasks) != len(ids) or not all(access.can_edit(user, t) for t in tasks):
        raise PermissionDenied("You may not change some of the selected tasks; nothing was changed.")
    with transaction.atomic():
        if action == "assign":
            assignee = None
            if value not in (None, ""):
                assignee = get_user_model().objects.filter(pk=value, is_active=True).first()
                if assignee is None:
                    raise ValidationError("Choose an active user to assign the tasks to.")
            for task in tasks:
                task_assign(task=task, user=user, assignee=assignee)
        elif action == "status":
            if value not in S.values:
                raise ValidationError(f"“{value}” is not a task status.")
            for task in tasks:
                try:
                    task_change_status(task=task, user=user, status=value)
                except ValidationError as exc:
                    raise ValidationError(f"“{task.title}”: {' '.join(exc.messages)} Nothing was changed.")
        elif action == "priority":
            if value not in Priority.values:
                raise ValidationError(f"“{value}” is not a priority.")
            for task in tasks:
                current = Task.objects.select_for_update().get(pk=task.pk)
                current.priority = value
                current.priority_rank = PRIORITY_RANK[value]
                current.version += 1
                current.save()
        elif action == "delete":
            for task in tasks:
                if Task.objects.filter(pk=task.pk).exists():
                    task_delete(task=task, user=user)
    return BulkResult(changed=len(tasks))


# ---- participants and checklist ----------------------------------------------------------

@history.records_as("by")
def participant_add(*, task, by, user, role=Participant.Role.SUBSCRIBER, check=True):
    if check:
        _require_edit(by, task)
    if role not in Participant.Role.values:
        raise ValidationError({"role": f"“{role}” is not a participant role."})
    participant, created = Participant.objects.get_or_create(task=task, user=user, defaults={"role": role})
    if not created and participant.role != role:
        participant.role = role
        participant.save(update_fields=["role"])
    return participant


@history.records_as("by")
def participant_remove(*, task, by, user):
    if by.pk != user.pk:
        _require_edit(by, task)
    Participant.objects.filter(task=task, user=user).delete()


@history.records_as("user")
def checklist_add(*, task, user, text):
    _require_edit(user, task)
    text = (text or "").strip()
    item = ChecklistItem(task=task, text=text)
    last = task.checklist.order_by("-position").first()
    item.position = (last.position + 1) if last else 0
    item.full_clean()
    item.save()
    return item


@history.records_as("user")
def checklist_toggle(*, item, user, done=None):
    """Tick or untick an item. Assignees, editors and co-workers may tick."""
    _require_edit(user, item.task)
    item.is_done = (not item.is_done) if done is None else bool(done)
    item.done_at = timezone.now() if item.is_done else None
    item.done_by = user if item.is_done else None
    item.save()
    return item


@history.records_as("user")
def checklist_delete(*, item, user):
    _require_edit(user, item.task)
    item.delete()


@history.records_as("user")
def checklist_move(*, item, user, direction):
    """Swap an item with its neighbour above ("up") or below ("down")."""
    _require_edit(user, item.task)
    if direction not in ("up", "down"):
        raise ValidationError("Move an item up or down.")
    with transaction.atomic():
        items = list(item.task.checklist.select_for_update().order_by("position", "pk"))
        index = next(i for i, it in enumerate(items) if it.pk == item.pk)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(items):
            items[index], items[other] = items[other], items[index]
        for position, it in enumerate(items):
            if it.position != position:
                it.position = position
                it.save(update_fields=["position"])


# ---- entity deletion ------------------------------------------------------------------

@history.records_as("user")
def tasks_detach_from_entity(*, entity, user):
    """Keep the entity's tasks as global tasks, noting what they were linked to."""
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(entity)
    note = f"{entity._meta.verbose_name.capitalize()} “{entity}” (deleted {timezone.localdate():%d %b %Y})"[:300]
    with transaction.atomic():
        ids = list(Task.objects.filter(content_type=ct, object_id=entity.pk).values_list("pk", flat=True))
        Task.objects.filter(pk__in=ids).update(
            content_type=None, object_id=None, former_link=note, version=F("version") + 1
        )
        history.record_many(Task.objects.filter(pk__in=ids), user=user)  # .update() writes no history itself


@history.records_as("user")
def tasks_delete_for_entity(*, entity, user):
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(entity)
    with transaction.atomic(), history.deletion_batch(f"{entity._meta.verbose_name} “{entity}”"):
        Task.objects.filter(content_type=ct, object_id=entity.pk).delete()
