"""History, discussion and attachments for tasks: registrations (imported by TasksConfig.ready()).

- crm.history: task tags are kept with each historical record; tasks, their
  checklist items and participants feed their entity's Activity tab.
- crm.history_text: the words for tasks, checklist items and participants.
- crm.object_access: who reads a task's discussion and files (tasks.access), who
  reads internal notes (staff, the task's team members and manager), who is told
  of comments (assignee and creator).
- crm.attachments: deleting a task (alone, with its parent, in bulk or with its
  entity) deletes its attachments' files.
- tasks.panels: the Discussion and History cards in the main column, Attachments
  in the side column.
"""

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from crm import attachments, discussion, history, history_text, object_access
from crm.history_text import Describer, quoted

from . import access, panels, restore
from .models import OPEN_STATUSES, ChecklistItem, Participant, Task, TaskStatus

HistoricalTask = Task.history.model
HistoricalChecklistItem = ChecklistItem.history.model
HistoricalParticipant = Participant.history.model

# ---- words ---------------------------------------------------------------------------------------

TASK_LABELS = {
    "due_at": "due date", "begin_at": "begin date", "scheduled_at": "scheduled time", "task_type": "type",
    "parent": "parent task", "expected_duration": "expected duration",
}


def _due_value(model_field, value, record, names):
    if model_field.name == "due_at" and value is not None and record is not None and record.all_day:
        from datetime import timezone as dt_timezone

        return history_text.format_date(value.astimezone(dt_timezone.utc).date())
    return None


def _task_sentences(ctx):
    record, previous, actor = ctx.record, ctx.record.previous, ctx.actor
    if record.history_type != "~" or previous is None:
        return None
    if previous.all_day != record.all_day and not any(c.name == "due_at" for c in ctx.changes):
        field = Task._meta.get_field("due_at")
        ctx.changes.append(history_text.Change("due_at", TASK_LABELS["due_at"], previous.due_at, record.due_at, field))
    sentences = []
    for change in list(ctx.changes):
        if change.name == "status":
            closed_before = change.old in (TaskStatus.COMPLETED, TaskStatus.CANCELLED)
            if change.new == TaskStatus.COMPLETED:
                sentences.append(f"{actor} completed {ctx.it}")
                continue
            if change.new == TaskStatus.CANCELLED:
                sentences.append(f"{actor} cancelled {ctx.it}")
                continue
            if closed_before and change.new in OPEN_STATUSES:
                sentences.append(f"{actor} reopened {ctx.it}")
                continue
        if change.name == "assignee":
            User = get_user_model()
            old = ctx.names.get(User, change.old) if change.old else None
            new = ctx.names.get(User, change.new) if change.new else None
            if old is None and record.history_user is not None and change.new == record.history_user.pk:
                sentences.append(f"{actor} took {ctx.it}")
            elif old is None:
                sentences.append(f"{actor} assigned {ctx.it} to {new}")
            elif new is None:
                sentences.append(f"{actor} unassigned {ctx.it} (was {old})")
            else:
                sentences.append(f"{actor} reassigned {ctx.it} from {old} to {new}")
            continue
        sentences.extend(ctx.field_sentence(change))
    return ctx.header() + sentences


def _item_sentences(ctx):
    record, actor = ctx.record, ctx.actor
    if record.history_type != "~" or record.previous is None:
        return None
    sentences = []
    for change in ctx.changes:
        if change.name == "is_done":
            verb = "ticked" if change.new else "unticked"
            sentences.append(f"{actor} {verb} {quoted(record.text)}{ctx.on_parent()}")
        elif change.name == "text":
            sentences.append(f"{actor} renamed the checklist item {quoted(change.old)} to {quoted(change.new)}"
                             f"{ctx.on_parent()}")
    return sentences


def _participant_name(record, names):
    return names.get(get_user_model(), record.user_id)


def _participant_sentences(ctx):
    record, actor = ctx.record, ctx.actor
    person = _participant_name(record, ctx.names)
    role = str(Participant.Role(record.role).label).lower() if record.role in Participant.Role.values else record.role
    if record.history_type == "+":
        return [f"{actor} added {person} as {role}{ctx.on_parent('to')}"]
    if record.history_type == "-":
        if record.history_user is not None and record.history_user.pk == record.user_id:
            where = ctx.on_parent("") or ""
            return [f"{person} left {where.strip() or 'the task'}"]
        return [f"{actor} removed {person}{ctx.on_parent('from')}"]
    if record.previous is None or record.previous.role == record.role:
        return []
    old = Participant.Role(record.previous.role).label.lower() if record.previous.role in Participant.Role.values \
        else record.previous.role
    return [f"{actor} changed {person}’s role from {old} to {role}{ctx.on_parent()}"]


def _want_task(record, names):
    names.want(Task, record.task_id)


def _want_participant(record, names):
    names.want(Task, record.task_id)
    names.want(get_user_model(), record.user_id)


history_text.register("tasks.Task", Describer(
    noun="task", labels=TASK_LABELS, value=_due_value, sentences=_task_sentences,
    link=lambda record: (Task, record.id),
    hidden=frozenset({"completed_at", "status_changed_at", "all_day", "created_by"}),
))
history_text.register("tasks.ChecklistItem", Describer(
    noun="checklist item", name=lambda record, names: record.text, parent=("task_id", "tasks.Task"),
    hidden=frozenset({"task", "position", "done_at", "done_by"}), sentences=_item_sentences, wants=_want_task,
    link=lambda record: (Task, record.task_id),
))
history_text.register("tasks.Participant", Describer(
    noun="participant", name=_participant_name, parent=("task_id", "tasks.Task"),
    hidden=frozenset({"task", "user", "added_at"}), sentences=_participant_sentences, wants=_want_participant,
    link=lambda record: (Task, record.task_id),
))
history.track_tags(Task)

# ---- history lists ---------------------------------------------------------------------------


def _children(history_model, task_ids):
    """Records of checklist items or participants of `task_ids`, without those deleted or restored with their task
    (the task's own "deleted"/"restored" says it)."""
    return (history_model.objects.filter(task_id__in=task_ids)
            .exclude(history_type="-", history_change_reason__startswith="Deleted with ")
            .exclude(history_change_reason=history.RESTORED_DELETED))


def task_history_querysets(task):
    """The task's own records and its checklist items' and participants'."""
    return [
        HistoricalTask.objects.filter(id=task.pk),
        _children(HistoricalChecklistItem, [task.pk]),
        _children(HistoricalParticipant, [task.pk]),
    ]


def _linked_ids(entity):
    ct = ContentType.objects.get_for_model(entity)
    return HistoricalTask.objects.filter(content_type_id=ct.pk, object_id=entity.pk).values("id")


def _visible_linked(entity, user):
    return restore.visible_task_ids_q(user, _linked_ids(entity))


def _activity_tasks(entity, user):
    return HistoricalTask.objects.filter(_visible_linked(entity, user))


def _activity_children(history_model):
    def records(entity, user):
        ids = HistoricalTask.objects.filter(_visible_linked(entity, user)).values("id")
        return _children(history_model, ids)
    return records


ENTITY_MODELS = ("crm.Individual", "crm.Organization", "crm.Ticket", "crm.Opportunity")
history.register_activity(history.ActivitySource("tasks", _activity_tasks, ENTITY_MODELS))
history.register_activity(history.ActivitySource(
    "tasks-checklist", _activity_children(HistoricalChecklistItem), ENTITY_MODELS))
history.register_activity(history.ActivitySource(
    "tasks-participants", _activity_children(HistoricalParticipant), ENTITY_MODELS))

# ---- discussion and attachments --------------------------------------------------------------


def can_see_internal(user, task):
    """Internal notes: staff, and the members and manager of the task's team. Nobody else (subscribers neither)."""
    if user.is_staff or user.is_superuser:
        return True
    return bool(task.team_id) and task.team_id in access.member_team_ids(user)


def _owners(task):
    ids = {pk for pk in (task.assignee_id, task.created_by_id) if pk}
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("pk")) if ids else []


object_access.register("tasks.Task", object_access.Hooks(
    can_view=access.can_view, can_moderate=access.can_edit, can_see_internal=can_see_internal,
    owners=_owners, noun="task",
))
attachments.delete_with(Task)

# ---- panels on the task page -----------------------------------------------------------------


def discussion_panel(request, task, can_edit):
    return {"task": task, **discussion.card_context(obj=task, user=request.user)}


def attachments_panel(request, task, can_edit):
    return {"task": task, **attachments.card_context(obj=task, user=request.user, may_moderate=can_edit)}


def history_panel(request, task, can_edit):
    entries = history.latest_entries(task_history_querysets(task), about=("tasks.task", task.pk), limit=5)
    return {"task": task, "entries": entries, "full_url": reverse("activity:task_history", args=[task.pk])}


panels.register(panels.Panel(slug="discussion", label="Discussion", order=50, template="tasks/panels/discussion.html",
                             context=discussion_panel))
panels.register(panels.Panel(slug="attachments", label="Attachments", order=60, column=panels.MAIN,
                             template="tasks/panels/attachments.html", context=attachments_panel))
panels.register(panels.Panel(slug="history", label="History", order=90, template="tasks/panels/history.html",
                             context=history_panel))
