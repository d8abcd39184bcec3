"""Task templates: who may see and change them, saving them, and making tasks from them.

- A personal template is seen and changed by its owner.
- A template shared with a team is used by the team's members and manager;
  its owner and the team's manager change it.
- Staff see and change every template.
"""

import zoneinfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone

from crm.models import Team

from . import access, services
from .dates import date_as_utc_midnight
from .models_templates import TaskTemplate, TaskTemplateChecklistItem, TaskTemplateSubtask, parse_relative_due

TEMPLATE_FIELDS = ("name", "shared_with_team", "title", "description", "task_type", "priority",
                   "expected_duration", "location", "team", "relative_due", "tags")
MAX_CHECKLIST = 50
MAX_SUBTASKS = 30


# ---- access --------------------------------------------------------------------------------


def visible_q(user):
    if user.is_staff or user.is_superuser:
        return Q()
    return Q(owner=user) | Q(shared_with_team_id__in=access.member_team_ids(user))


def visible_templates(user):
    if not user.is_authenticated:
        return TaskTemplate.objects.none()
    return TaskTemplate.objects.filter(visible_q(user))


def can_use(user, template):
    return visible_templates(user).filter(pk=template.pk).exists()


def can_edit(user, template):
    if user.is_staff or user.is_superuser or template.owner_id == user.pk:
        return True
    return template.shared_with_team_id is not None and template.shared_with_team_id in access.managed_team_ids(user)


def shareable_teams(user):
    """Teams the user may share a template with: those they belong to or manage (staff: all)."""
    if user.is_staff or user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(pk__in=access.member_team_ids(user))


def check_sharing(*, user, data, template):
    """Refuse (ValidationError on shared_with_team) sharing a template (task or project) with a team the
    user may not share with (shareable_teams); keeping the team it is already shared with is allowed."""
    team = data.get("shared_with_team", template.shared_with_team if template else None)
    if team is not None and (template is None or team.pk != template.shared_with_team_id):
        if not shareable_teams(user).filter(pk=team.pk).exists():
            raise ValidationError({"shared_with_team": "You can only share a template with a team you belong to."})


# ---- saving --------------------------------------------------------------------------------


def template_save(*, user, data, checklist=(), subtasks=(), template=None):
    """Create (template=None) or change a template with its checklist and subtasks, all or nothing.

    `data` holds TEMPLATE_FIELDS; `checklist` is a list of texts; `subtasks` a list of
    dicts with title, task_type and relative_due. The checklist and subtasks replace the
    old ones. Refuses (PermissionDenied) a user who may not change the template, and
    (ValidationError, naming the field) a team the user does not belong to, a malformed
    relative due date and anything else the models refuse.
    """
    if template is not None and not can_edit(user, template):
        raise PermissionDenied("Only the template's owner or the manager of the team it is shared with can change it.")
    unknown = set(data) - set(TEMPLATE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown template fields: {', '.join(sorted(unknown))}.")
    checklist = [text.strip() for text in checklist if text and text.strip()]
    subtasks = [s for s in subtasks if (s.get("title") or "").strip()]
    if len(checklist) > MAX_CHECKLIST:
        raise ValidationError({"checklist": f"A template holds at most {MAX_CHECKLIST} checklist items."})
    if len(subtasks) > MAX_SUBTASKS:
        raise ValidationError({"subtasks": f"A template holds at most {MAX_SUBTASKS} subtasks."})
    check_sharing(user=user, data=data, template=template)
    with transaction.atomic():
        if template is None:
            template = TaskTemplate(owner=user)
        else:
            template = TaskTemplate.objects.select_for_update().get(pk=template.pk)
        for name, value in data.items():
            setattr(template, name, value)
        template.full_clean()
        template.save()
        template.checklist_items.all().delete()
        for position, text in enumerate(checklist):
            item = TaskTemplateChecklistItem(template=template, text=text, position=position)
            item.full_clean()
            item.save()
        template.subtasks.all().delete()
        for position, sub in enumerate(subtasks):
            row = TaskTemplateSubtask(template=template, title=sub["title"].strip(), position=position,
                                      task_type=sub.get("task_type") or template.task_type,
                                      relative_due=(sub.get("relative_due") or "").strip())
            try:
                row.full_clean()
            except ValidationError as exc:
                raise ValidationError({"subtasks": [f"Subtask “{row.title}”: {m}" for m in exc.messages]})
            row.save()
    return template


def template_delete(*, template, user):
    """Delete a template. Refused while an automation rule uses it (the message names the rules)."""
    if not can_edit(user, template):
        raise PermissionDenied("Only the template's owner or the manager of the team it is shared with can delete it.")
    try:
        with transaction.atomic():
            template.delete()
    except ProtectedError:
        names = ", ".join(f"“{r.name}”" for r in template.automation_rules.order_by("name"))
        raise ValidationError(f"Automation rules use this template: {names}. Change or delete them first.")


# ---- making tasks --------------------------------------------------------------------------


def user_zone(user):
    """The user's time zone (profile), else the current one: where a template's days are counted."""
    name = getattr(getattr(user, "profile", None), "time_zone", None)
    try:
        return zoneinfo.ZoneInfo(name) if name else timezone.get_current_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_current_timezone()


def resolve_due(relative_text, *, now, zone):
    """(due_at, all_day) for a relative due text at `now`; (None, False) when it is empty.

    Minutes and hours count from `now`; days and weeks give an all-day deadline on
    that calendar day in `zone` (the user's time zone).
    """
    relative = parse_relative_due(relative_text)
    if relative is None:
        return None, False
    if relative.all_day:
        local_day = now.astimezone(zone).date() + relative.delta
        return date_as_utc_midnight(local_day), True
    return now + relative.delta, False


def template_instantiate(*, template, user, entity=None, overrides=None, now=None):
    """Make a task from the template: its fields, checklist, tags and subtasks, in one transaction.

    The task goes through `services.task_create`, so a task given to a team
    without an assignee is distributed by the team's strategy; subtasks get the
    parent's team and (resolved) assignee. `overrides` may set any field the task
    form edits (assignee, team, title, ...). Refuses (PermissionDenied) a user
    who may not use the template; a malformed relative due date stored by other
    means is refused with ValidationError and nothing is created.
    """
    if not can_use(user, template):
        raise PermissionDenied("You may not use this template.")
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(services.EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown task fields: {', '.join(sorted(unknown))}.")
    now = now or timezone.now()
    zone = user_zone(user)
    try:
        due_at, all_day = resolve_due(template.relative_due, now=now, zone=zone)
        sub_dues = [(sub, *resolve_due(sub.relative_due, now=now, zone=zone))
                    for sub in template.subtasks.order_by("position", "pk")]
    except ValidationError as exc:
        raise ValidationError({"relative_due": exc.messages})
    fields = {
        "description": template.description, "task_type": template.task_type, "priority": template.priority,
        "expected_duration": template.expected_duration, "location": template.location, "team": template.team,
        "due_at": due_at, "all_day": all_day,
    }
    fields.update(overrides)
    title = fields.pop("title", None) or template.title
    with transaction.atomic():
        task = services.task_create(
            created_by=user, title=title, entity=entity, tags=template.tag_list(),
            checklist=list(template.checklist_items.order_by("position", "pk").values_list("text", flat=True)),
            **fields,
        )
        for sub, sub_due, sub_all_day in sub_dues:
            services.task_create(
                created_by=user, title=sub.title, task_type=sub.task_type, priority=task.priority,
                due_at=sub_due, all_day=sub_all_day, parent=task, team=task.team, assignee=task.assignee,
                content_type=task.content_type, object_id=task.object_id, distribute=False,
            )
    return task
