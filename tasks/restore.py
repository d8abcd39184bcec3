"""Deleted tasks and earlier versions: finding them and bringing them back.

Who: "managers" (users who manage at least one team) and staff. A manager sees
the deleted tasks they would have been allowed to see (their teams' tasks, and
tasks they created, were assigned to or took part in); staff see all. A manager
restores a version of a task they may edit.

Restoring is recorded like any other change: the recreated rows get a "+"
record with the reason "Restored after deletion", a restored version a "~" record
with "Restored version from <date> UTC", both by the restoring user.
"""

from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from crm import history

from . import access, events
from .models import ChecklistItem, Participant, Task, TaskStatus
from .services import EDITABLE_FIELDS, S, _lock_tree, _move_subtree, _set_status, _tree_path_for, _validate_parent

HistoricalTask = Task.history.model
HistoricalChecklistItem = ChecklistItem.history.model
HistoricalParticipant = Participant.history.model


def is_manager(user):
    return user.is_authenticated and (user.is_staff or user.is_superuser or bool(access.managed_team_ids(user)))


def can_restore_version(user, task):
    return is_manager(user) and access.can_edit(user, task)


# ---- what a user may see of deleted tasks ---------------------------------------------------

def deleted_visible_q(user):
    """Historical task rows `user` would have been allowed to see (their fields as deleted)."""
    if user.is_staff or user.is_superuser:
        return Q()
    q = Q(created_by_id=user.pk) | Q(assignee_id=user.pk) | Q(
        id__in=HistoricalParticipant.objects.filter(user_id=user.pk).values("task_id"))
    teams = access.member_team_ids(user)
    if teams:
        q |= Q(team_id__in=teams)
    return q


def _latest_deletions():
    """The last record of each task that no longer exists (its deletion)."""
    later = HistoricalTask.objects.filter(id=OuterRef("id"), history_id__gt=OuterRef("history_id"))
    return (HistoricalTask.objects.filter(history_type="-")
            .exclude(Exists(later)).exclude(Exists(Task.objects.filter(pk=OuterRef("id")))))


def visible_task_ids_q(user, ids):
    """Q on historical task rows: among `ids` (a subquery), tasks `user` sees now or saw before their deletion."""
    if user.is_staff or user.is_superuser:
        return Q(id__in=ids)
    existing = access.visible_tasks(user, Task.objects.filter(pk__in=ids)).values("pk")
    deleted = _latest_deletions().filter(id__in=ids).filter(deleted_visible_q(user)).values("id")
    return Q(id__in=existing) | Q(id__in=deleted)


def deleted_tasks(user):
    """Deleted tasks `user` may restore, newest deletion first; subtasks deleted with their parent come with it."""
    if not is_manager(user):
        return HistoricalTask.objects.none()
    deleted_with_parent = HistoricalTask.objects.filter(
        id=OuterRef("parent_id"), history_type="-", history_change_reason=OuterRef("history_change_reason"))
    return (_latest_deletions().filter(deleted_visible_q(user)).exclude(Exists(deleted_with_parent))
            .select_related("history_user", "team", "assignee").order_by("-history_date", "-history_id"))


# ---- restoring a deleted task ---------------------------------------------------------------

def _existing(model, ids):
    ids = {pk for pk in ids if pk}
    return set(model.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()


def _latest_deleted_children(history_model, task_ids, reason):
    later = history_model.objects.filter(id=OuterRef("id"), history_id__gt=OuterRef("history_id"))
    qs = history_model.objects.filter(task_id__in=task_ids, history_type="-").exclude(Exists(later))
    return [r for r in qs.order_by("history_id") if r.history_change_reason == reason]


def _recreate_task(record, *, user, users, teams):
    task = record.instance
    task._state.adding = True
    task.assignee_id = record.assignee_id if record.assignee_id in users else None
    task.created_by_id = record.created_by_id if record.created_by_id in users else None
    task.team_id = record.team_id if record.team_id in teams else None
    if task.content_type_id is not None:
        model = ContentType.objects.get_for_id(task.content_type_id).model_class()
        if model is None or not model._default_manager.filter(pk=task.object_id).exists():
            from crm.history_text import Names

            names = Names()
            names.want(model, task.object_id)
            names.resolve()
            kind = str(model._meta.verbose_name).capitalize() if model else "Record"
            task.former_link = f"{kind} “{names.get(model, task.object_id)}” (deleted)"[:300]
            task.content_type_id = task.object_id = None
    # A project or stage deleted meanwhile: the task comes back outside it.
    if task.project_id is not None or task.stage_id is not None:
        from projects.models import Project, Stage

        if task.stage_id is not None and task.status == TaskStatus.BLOCKED:
            # Its stage gate's hold went with it: let the gate decide again (it holds the task
            # again if its stage is still closed). A manual block on a staged task is lost here.
            task.status = TaskStatus.PENDING
        if task.project_id is not None and not Project.objects.filter(pk=task.project_id).exists():
            task.project_id = None
        if task.stage_id is not None and not Stage.objects.filter(pk=task.stage_id, project_id=task.project_id).exists():
            task.stage_id = None
    parent = Task.objects.filter(pk=task.parent_id).first() if task.parent_id else None
    task.tree_path = _tree_path_for(parent)
    task.version = record.version + 1
    task.full_clean(validate_unique=False)
    task._history_user = user
    task._change_reason = history.RESTORED_DELETED
    task.save(force_insert=True)
    if record.history_tags:
        task.tags.set([t.strip() for t in record.history_tags.split(",") if t.strip()])
    return task


def task_restore_deleted(*, user, task_id):
    """Bring back a deleted task as it was when deleted, with what was deleted together with it.

    Together means in the same deletion (same batch reason): its subtasks, and the
    checklist items and participants of all of them. Links to things that are
    gone meanwhile are dropped (a deleted entity is noted in "was linked to", a
    deleted user or team left empty). Refuses a subtask whose parent is still
    deleted. One transaction; raises Task.DoesNotExist when `user` may not see
    such a deleted task, PermissionDenied when they are not a manager.
    """
    if not is_manager(user):
        raise PermissionDenied("Only team managers and staff can restore deleted tasks.")
    with transaction.atomic():
        record = _latest_deletions().filter(deleted_visible_q(user)).filter(id=task_id).first()
        if record is None:
            raise Task.DoesNotExist("No such deleted task.")
        if record.parent_id and not Task.objects.filter(pk=record.parent_id).exists():
            parent = _latest_deletions().filter(id=record.parent_id).first()
            name = f"“{parent.title}”" if parent else f"#{record.parent_id}"
            raise ValidationError(f"Its parent task {name} is deleted too: restore that first "
                                  "(its subtasks deleted with it come back with it).")
        batch = [record]
        if record.history_change_reason and history.deletion_token(record.history_change_reason):
            batch += list(_latest_deletions().filter(
                history_change_reason=record.history_change_reason,
                tree_path__startswith=f"{record.tree_path}{record.id}/",
            ))
        batch.sort(key=lambda r: (r.tree_path.count("/"), r.history_id))
        users = _existing(get_user_model(), {pk for r in batch for pk in (r.assignee_id, r.created_by_id)})
        from crm.models import Team

        teams = _existing(Team, {r.team_id for r in batch})
        restored = [_recreate_task(r, user=user, users=users, teams=teams) for r in batch]
        ids = [t.pk for t in restored]
        reason = record.history_change_reason
        if reason:
            items = _latest_deleted_children(HistoricalChecklistItem, ids, reason)
            done_by = _existing(get_user_model(), {r.done_by_id for r in items})
            for item_record in items:
                item = item_record.instance
                item._state.adding = True
                item.done_by_id = item_record.done_by_id if item_record.done_by_id in done_by else None
                item._history_user, item._change_reason = user, history.RESTORED_DELETED
                item.save(force_insert=True)
            people = _latest_deleted_children(HistoricalParticipant, ids, reason)
            alive = _existing(get_user_model(), {r.user_id for r in people})
            for person_record in people:
                if person_record.user_id not in alive:
                    continue
                participant = person_record.instance
                participant._state.adding = True
                participant._history_user, participant._change_reason = user, history.RESTORED_DELETED
                participant.save(force_insert=True)
        from .services import STATUS_CHANGED

        for hook in STATUS_CHANGED:  # projects: stage gates take the restored tasks into account
            hook(tasks=restored, user=user)
    return restored[0]


# ---- restoring an earlier version -------------------------------------------------------------

def task_restore_version(*, task, user, history_id):
    """Put the task back as it was in version `history_id` (its fields, status and tags).

    Goes through the same rules as an edit: the row is locked, the values are
    validated (full_clean), moving under a parent is checked for loops and the
    subtree's paths follow, the version is bumped (a form opened before is then
    stale). A user or team that no longer exists is left empty; a parent task or
    linked entity that no longer exists refuses the restore (ValidationError).
    Recorded with the reason "Restored version from <date> UTC"; the task's people
    hear of a status or due date change. One transaction.
    """
    if not can_restore_version(user, task):
        raise PermissionDenied("Only team managers and staff can restore an earlier version.")
    with transaction.atomic():
        current = Task.objects.select_for_update().get(pk=task.pk)
        record = HistoricalTask.objects.filter(id=task.pk, history_id=history_id).exclude(history_type="-").first()
        if record is None:
            raise ValidationError("That version of the task does not exist.")
        before = events.snapshot(current)
        old_parent_id = current.parent_id
        for name in EDITABLE_FIELDS:
            attname = Task._meta.get_field(name).attname
            setattr(current, attname, getattr(record, attname))
        users = _existing(get_user_model(), {current.assignee_id})
        if current.assignee_id not in users:
            current.assignee_id = None
        from crm.models import Team

        if current.team_id and not Team.objects.filter(pk=current.team_id).exists():
            current.team_id = None
        if current.parent_id and not Task.objects.filter(pk=current.parent_id).exists():
            raise ValidationError({"parent": "The parent task of that version no longer exists."})
        if current.parent_id != old_parent_id:
            _lock_tree()
            current.parent = Task.objects.get(pk=current.parent_id) if current.parent_id else None
            _validate_parent(current, current.parent)
        if record.status != current.status:
            _set_status(current, record.status)
            if record.status == TaskStatus.COMPLETED and record.completed_at:
                current.completed_at = record.completed_at
        else:
            current.version += 1
        current.full_clean()
        if current.parent_id != old_parent_id:
            _move_subtree(current, current.parent)
        moment = record.history_date.astimezone(dt_timezone.utc)
        with history.change_reason(f"Restored version from {moment:%Y-%m-%d %H:%M} UTC"):
            current._history_user = user
            current.save()
            current.tags.set([t.strip() for t in (record.history_tags or "").split(",") if t.strip()])
        events.task_saved(task=current, user=user, before=before)
    return current


__all__ = ["S", "deleted_tasks", "task_restore_deleted", "task_restore_version", "can_restore_version", "is_manager"]
