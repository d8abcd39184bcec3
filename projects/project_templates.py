"""Project templates: who may see and change them, saving them, and making a whole project from one.

- A personal template is seen and changed by its owner; one shared with a team is used by the
  team's members and manager, and changed by its owner and the team's manager; staff see and
  change every template (the same rules as task templates).
- A template has stages in order; each stage has task lines (a title, type, relative due date,
  team, optionally a task template whose description, checklist, tags and subtasks the task
  gets) and lines may wait for other lines ("depends on"): the tasks made from them get the
  same dependencies.
- Relative due dates count from the project's start date: days and weeks give an all-day
  deadline on that date ("+0d" is the start day); minutes and hours count from 09:00 on the
  start date in the creating user's time zone (WORKDAY_START).
"""

from dataclasses import dataclass, field
from datetime import datetime, time

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crm import history
from crm.choices import TaskType
from tasks import services as task_services
from tasks import task_templates
from tasks.dates import date_as_utc_midnight
from tasks.models_templates import parse_relative_due

from . import gating, services
from .models import ProjectTemplate, ProjectTemplateStage, ProjectTemplateTask, Stage, StageHold, TaskDependency

WORKDAY_START = time(9, 0)
MAX_STAGES = 20
MAX_LINES = 100
TEMPLATE_FIELDS = ("name", "description", "shared_with_team", "team")

# ---- access ---------------------------------------------------------------------------------


# Who sees and who changes a template: the same rules as for task templates.
visible_q = task_templates.visible_q
can_edit = task_templates.can_edit


def visible_templates(user):
    if not user.is_authenticated:
        return ProjectTemplate.objects.none()
    return ProjectTemplate.objects.filter(visible_q(user))


def can_use(user, template):
    return visible_templates(user).filter(pk=template.pk).exists()


# ---- saving -----------------------------------------------------------------------------------


@dataclass
class Line:
    """One task line as the service takes it. `stage` is the 1-based stage number; `depends_on` holds
    0-based indexes into the list of lines."""

    stage: int
    title: str
    task_type: str = TaskType.OTHER
    relative_due: str = ""
    team: object = None
    task_template: object = None
    depends_on: list = field(default_factory=list)


def _line_loop(lines):
    """A loop among the lines' "depends on" as a list of indexes (first repeated at the end), or None."""
    state = {}

    def visit(i, stack):
        state[i] = "active"
        stack.append(i)
        for j in lines[i].depends_on:
            if state.get(j) == "active":
                return stack[stack.index(j):] + [j]
            if j not in state:
                found = visit(j, stack)
                if found:
                    return found
        stack.pop()
        state[i] = "done"
        return None

    for i in range(len(lines)):
        if i not in state:
            found = visit(i, [])
            if found:
                return found
    return None


def validate_plan(stages, lines):
    """Refuse (ValidationError naming what is wrong) stages without names or tasks, bad lines, loops."""
    errors = []
    if not stages:
        errors.append("Add at least one stage.")
    if len(stages) > MAX_STAGES:
        errors.append(f"A template can have at most {MAX_STAGES} stages.")
    if len(lines) > MAX_LINES:
        errors.append(f"A template can have at most {MAX_LINES} tasks.")
    for number, name in enumerate(stages, start=1):
        if not (name or "").strip():
            errors.append(f"Stage {number} needs a name.")
    for number, line in enumerate(lines, start=1):
        label = f"Task {number} “{line.title}”" if line.title else f"Task {number}"
        if not (line.title or "").strip():
            errors.append(f"{label} needs a title.")
        if not 1 <= line.stage <= len(stages):
            errors.append(f"{label}: there is no stage {line.stage} (stages 1 to {len(stages)}).")
        if line.task_type not in TaskType.values:
            errors.append(f"{label}: “{line.task_type}” is not a task type.")
        try:
            parse_relative_due(line.relative_due)
        except ValidationError as exc:
            errors.append(f"{label}: {' '.join(exc.messages)}")
        for j in line.depends_on:
            if not 0 <= j < len(lines):
                errors.append(f"{label} waits for task {j + 1}, which does not exist.")
            elif j == number - 1:
                errors.append(f"{label} cannot wait for itself.")
            elif 1 <= line.stage <= len(stages) and lines[j].stage > line.stage:
                errors.append(f"{label} (stage {line.stage}) cannot wait for task {j + 1} “{lines[j].title}”, "
                              f"which is in the later stage {lines[j].stage}.")
    for number, name in enumerate(stages, start=1):
        if (name or "").strip() and not any(line.stage == number for line in lines):
            errors.append(f"Stage {number} “{name.strip()}” has no tasks: add a task to it or remove the stage.")
    if errors:
        raise ValidationError(errors)
    loop = _line_loop(lines)
    if loop:
        names = " → ".join(f"“{lines[i].title}”" for i in loop)
        raise ValidationError(f"The tasks wait for each other in a loop: {names}. No task in it could ever start.")


def template_save(*, user, data, stages, lines, template=None):
    """Create (template=None) or change a project template with its stages and task lines, all or nothing.

    `data` holds TEMPLATE_FIELDS; `stages` is a list of names in order; `lines` a list of Line.
    The stages and lines replace the old ones. Refuses (PermissionDenied) a user who may not
    change the template and a task template they may not use; (ValidationError) a stage
    without tasks, a line in a stage that does not exist, a loop of "depends on", a line that
    waits for a later stage, a bad relative due date, sharing with a team one is not in.
    """
    if template is not None and not can_edit(user, template):
        raise PermissionDenied("Only the template's owner or the manager of the team it is shared with can change it.")
    unknown = set(data) - set(TEMPLATE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown template fields: {', '.join(sorted(unknown))}.")
    stages = [(name or "").strip() for name in stages]
    lines = [Line(**{**line.__dict__, "title": (line.title or "").strip()}) for line in lines]
    validate_plan(stages, lines)
    used = {line.task_template.pk for line in lines if line.task_template is not None}
    if used and task_templates.visible_templates(user).filter(pk__in=used).count() != len(used):
        raise ValidationError({"lines": "You may only use task templates you can see."})
    task_templates.check_sharing(user=user, data=data, template=template)
    with transaction.atomic():
        if template is None:
            template = ProjectTemplate(owner=user)
        else:
            template = ProjectTemplate.objects.select_for_update().get(pk=template.pk)
        for name, value in data.items():
            setattr(template, name, value)
        template.full_clean()
        template.save()
        template.stages.all().delete()
        stage_rows = []
        for position, name in enumerate(stages, start=1):
            row = ProjectTemplateStage(template=template, name=name, position=position)
            row.full_clean()
            row.save()
            stage_rows.append(row)
        saved = []
        for position, line in enumerate(lines):
            row = ProjectTemplateTask(stage=stage_rows[line.stage - 1], position=position, title=line.title,
                                      task_template=line.task_template, task_type=line.task_type,
                                      relative_due=(line.relative_due or "").strip(), team=line.team)
            try:
                row.full_clean(exclude=["stage"])
            except ValidationError as exc:
                raise ValidationError([f"Task {position + 1} “{line.title}”: {m}" for m in exc.messages])
            row.save()
            saved.append(row)
        for row, line in zip(saved, lines):
            if line.depends_on:
                row.depends_on.set([saved[j] for j in line.depends_on])
    return template


def template_delete(*, template, user):
    """Delete a template. Projects made from it keep everything (they only forget the template)."""
    if not can_edit(user, template):
        raise PermissionDenied("Only the template's owner or the manager of the team it is shared with can delete it.")
    template.delete()


def template_lines(template):
    """The template's lines in order (stage, position), each with `number` (1-based) and `waits_for` numbers."""
    lines = list(ProjectTemplateTask.objects.filter(stage__template=template)
                 .select_related("stage", "task_template", "team").prefetch_related("depends_on")
                 .order_by("stage__position", "position", "pk"))
    numbers = {line.pk: number for number, line in enumerate(lines, start=1)}
    for line in lines:
        line.number = numbers[line.pk]
        line.waits_for = sorted(numbers[d.pk] for d in line.depends_on.all() if d.pk in numbers)
    return lines


# ---- making a project -----------------------------------------------------------------------


def resolve_due(relative_text, *, start_date, zone):
    """(due_at, all_day) for a line's relative due date in a project starting on `start_date`."""
    relative = parse_relative_due(relative_text)
    if relative is None:
        return None, False
    if relative.all_day:
        return date_as_utc_midnight(start_date + relative.delta), True
    start = datetime.combine(start_date, WORKDAY_START).replace(tzinfo=zone)
    return start + relative.delta, False


@history.records_as("user")
def project_from_template(*, template, user, name=None, start_date=None, entity=None, owner=None, team=...,
                          members=(), now=None):
    """Make the whole project in one transaction: the project, its stages, a task per line (in the
    template's order, with due dates from the start date), the tasks' subtasks and checklists
    from task templates, and the dependencies between them.

    Stage 1's tasks start pending (a team's distribution strategy assigns them now); later
    stages' tasks wait, blocked, for their stage (projects.gating). The start date defaults to
    today in the user's time zone, the name to the template's (with the linked entity).
    Refuses (PermissionDenied) a user who may not use the template; nothing is created when any
    part is refused.
    """
    if not can_use(user, template):
        raise PermissionDenied("You may not use this project template.")
    zone = task_templates.user_zone(user)
    now = now or timezone.now()
    start_date = start_date or now.astimezone(zone).date()
    stages = list(template.stages.order_by("position"))
    lines = template_lines(template)
    if not stages or not lines:
        raise ValidationError("This template has no stages or tasks yet: edit it first.")
    if not name:
        name = f"{template.name}: {entity}" if entity is not None else template.name
    try:
        dues = {line.pk: resolve_due(line.relative_due, start_date=start_date, zone=zone) for line in lines}
    except ValidationError as exc:
        raise ValidationError({"relative_due": exc.messages})
    project_team = template.team if team is ... else team
    # The project is due on the last task's day (as the user counts days), never before it starts.
    due_days = [d.date() if all_day else d.astimezone(zone).date() for d, all_day in dues.values() if d is not None]
    due_date = max([*due_days, start_date]) if due_days else None
    with transaction.atomic():
        project = services.project_create(
            user=user, name=name[:200], owner=owner, description=template.description, team=project_team,
            start_date=start_date, due_date=due_date, members=members, entity=entity,
            stages=[s.name for s in stages], template=template,
        )
        stage_by_position = {s.position: s for s in Stage.objects.filter(project=project)}
        made = {}
        for line in lines:
            stage = stage_by_position[line.stage.position]
            made[line.pk] = _make_task(line, project, stage, user, dues[line.pk], entity)
        for line in lines:
            for predecessor in line.depends_on.all():
                if predecessor.pk in made:
                    dep = TaskDependency(predecessor=made[predecessor.pk], successor=made[line.pk], created_by=user)
                    dep.full_clean()
                    dep.save()
        gating.stages_sync(project_id=project.pk, user=user)
    return project


def _make_task(line, project, stage, user, due, entity):
    source = line.task_template
    due_at, all_day = due
    team = line.team or (source.team if source else None) or project.team
    held = stage.position > 1
    fields = {"task_type": line.task_type, "due_at": due_at, "all_day": all_day, "team": team}
    checklist, tags, subtasks = [], [], []
    if source is not None:
        fields.update(description=source.description, priority=source.priority,
                      expected_duration=source.expected_duration, location=source.location)
        checklist = list(source.checklist_items.order_by("position", "pk").values_list("text", flat=True))
        tags = source.tag_list()
        subtasks = list(source.subtasks.order_by("position", "pk"))
    status = task_services.S.BLOCKED if held else task_services.S.PENDING
    task = task_services.task_create(
        created_by=user, title=line.title, entity=entity, checklist=checklist, tags=tags, project=project,
        stage=stage, status=status, distribute=not held, notify_assignee=not held, **fields,
    )
    if held:
        StageHold.objects.create(task=task, stage=stage, previous_status=task_services.S.PENDING)
    for sub in subtasks:
        # Subtasks take their relative due from the project start too, and run in the parent's stage.
        sub_due, sub_all_day = resolve_due(sub.relative_due, start_date=project.start_date,
                                           zone=task_templates.user_zone(user))
        child = task_services.task_create(
            created_by=user, title=sub.title, task_type=sub.task_type, priority=task.priority, due_at=sub_due,
            all_day=sub_all_day, parent=task, team=task.team, assignee=task.assignee, project=project, stage=stage,
            entity=entity, status=status, distribute=False, notify_assignee=False,
        )
        if held:
            StageHold.objects.create(task=child, stage=stage, previous_status=task_services.S.PENDING)
    return task


def task_template_choices(user):
    """Task templates a user may put in a project template's lines."""
    return task_templates.visible_templates(user).order_by("name", "pk")

