"""State changes of projects, their stages and the tasks in them. Views, admin and jobs call these.

Each service runs in one transaction, validates with full_clean() before saving, checks the
acting user's rights (projects.access; tasks.access for the tasks themselves) and raises
ValidationError (readable, naming the field) or PermissionDenied. Whatever changes which
tasks are in which stage ends with projects.gating.stages_sync in the same transaction, so
the stage gates always hold.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max

from crm import history
from crm.models import Team
from crm.notifications import notify
from tasks import access as task_access
from tasks import services as task_services
from tasks.models import OPEN_STATUSES, Task, TaskStatus, subtree_q

from . import access, gating
from .models import Project, ProjectMember, ProjectStatus, Stage, StageHold, TaskDependency

PROJECT_FIELDS = ("name", "description", "owner", "team", "status", "start_date", "due_date")
MAX_STAGES = 30
MAX_MEMBERS = 200


def _name(user):
    return (user.get_full_name() or user.username) if user else "nobody"


def choosable_teams(user):
    """Teams a user may give a project to: those they belong to or manage (staff: every team)."""
    if user.is_staff or user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(pk__in=task_access.member_team_ids(user))


def _check_team(user, team, current_team_id=None):
    if team is not None and team.pk != current_team_id and not choosable_teams(user).filter(pk=team.pk).exists():
        raise ValidationError({"team": "You can only give a project to a team you belong to or manage."})


def _check_people(owner, members):
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": f"{_name(owner)} is not an active user."})
    inactive = [m for m in members if not m.is_active]
    if inactive:
        raise ValidationError({"members": f"{', '.join(_name(m) for m in inactive)} "
                                          f"{'is' if len(inactive) == 1 else 'are'} not active."})
    if len(members) > MAX_MEMBERS:
        raise ValidationError({"members": f"A project can have at most {MAX_MEMBERS} members."})


def _set_members(project, members, actor):
    """Make the member list exactly `members`; those added are told (never the one who added them)."""
    wanted = {m.pk: m for m in members if m.pk != project.owner_id}
    current = set(ProjectMember.objects.filter(project=project).values_list("user_id", flat=True))
    ProjectMember.objects.filter(project=project).exclude(user_id__in=list(wanted)).delete()
    for pk, member in wanted.items():
        if pk not in current:
            ProjectMember.objects.create(project=project, user=member)
            notify(recipient=member, actor=actor, verb="project_member", target=project,
                   text=f"{_name(actor)} added you to the project “{project.name}”.")


def _open_task_count(project):
    return Task.objects.filter(project=project, status__in=OPEN_STATUSES).count()


def _check_status(project):
    if project.pk and project.status == ProjectStatus.COMPLETED:
        still_open = _open_task_count(project)
        if still_open:
            raise ValidationError({"status": (
                f"{still_open} task{'s are' if still_open != 1 else ' is'} still open: complete or cancel "
                f"{'them' if still_open != 1 else 'it'} before completing the project."
            )})


@history.records_as("user")
def project_create(*, user, name, owner=None, description="", team=None, status=ProjectStatus.PLANNED,
                   start_date=None, due_date=None, members=(), entity=None, stages=(), template=None):
    """Create a project (with its members and named stages, in order). One transaction.

    The creator is the owner unless `owner` is given; a creator who is not the owner becomes
    a member (so they keep seeing what they made). Members added are told. Refuses a team
    the user does not belong to, inactive people, a due date before the start date.
    """
    owner = owner or user
    members = list(dict.fromkeys([*members, *([user] if owner.pk != user.pk else [])]))
    _check_team(user, team)
    _check_people(owner, members)
    stage_names = [(n or "").strip() for n in stages]
    if any(not n for n in stage_names):
        raise ValidationError({"stages": "Every stage needs a name."})
    if len(stage_names) > MAX_STAGES:
        raise ValidationError({"stages": f"A project can have at most {MAX_STAGES} stages."})
    with transaction.atomic():
        project = Project(name=(name or "").strip(), owner=owner, description=description or "", team=team,
                          status=status, start_date=start_date, due_date=due_date, created_by=user,
                          template=template)
        if entity is not None:
            project.set_entity(entity)
        project.full_clean()
        project.save()
        for position, stage_name in enumerate(stage_names, start=1):
            stage = Stage(project=project, name=stage_name[:100], position=position)
            stage.full_clean()
            stage.save()
        _set_members(project, members, user)
    return project


@history.records_as("user")
def project_update(*, project, user, data, members=None, entity=...):
    """Change the project's fields (PROJECT_FIELDS), members and linked entity. One transaction.

    Only its owner, its team's manager or staff (PermissionDenied otherwise). A completed
    status is refused while tasks are open.
    """
    access.require_edit(user, project)
    unknown = set(data) - set(PROJECT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown project fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        current = Project.objects.select_for_update().get(pk=project.pk)
        if "team" in data:
            _check_team(user, data["team"], current.team_id)
        for name, value in data.items():
            setattr(current, name, value)
        if entity is not ...:
            current.set_entity(entity)
        if isinstance(current.name, str):
            current.name = current.name.strip()
        _check_people(current.owner, list(members or []))
        current.full_clean()
        _check_status(current)
        current.save()
        if members is not None:
            _set_members(current, list(members), user)
    return current


@history.records_as("user")
def project_delete(*, project, user, delete_tasks=False):
    """Delete a project: its stages and dependencies' project context go; its tasks are kept (outside any
    project, the ones the gate held back to their earlier status) unless `delete_tasks`, which deletes
    them too and needs the right to delete each one. One transaction."""
    access.require_edit(user, project)
    with transaction.atomic():
        current = Project.objects.select_for_update().get(pk=project.pk)
        tasks = list(Task.objects.filter(project=current))
        if delete_tasks:
            refused = [t for t in tasks if not task_access.can_edit(user, t)]
            if refused:
                raise PermissionDenied(f"You may not delete {len(refused)} of its tasks: delete the project alone "
                                       "(its tasks are kept) or ask who owns them.")
            with history.deletion_batch(f"project “{current.name}”"):
                # Top-level project tasks first; subtasks go with their parents.
                for task in sorted(tasks, key=lambda t: t.tree_path.count("/")):
                    if Task.objects.filter(pk=task.pk).exists():
                        Task.objects.filter(subtree_q(task.subtree_prefix())).delete()
                        Task.objects.filter(pk=task.pk).delete()
        else:
            for hold in StageHold.objects.filter(stage__project=current).select_related("task"):
                task = hold.task
                task.status = hold.previous_status
                task.version += 1
                task.save()
        current.delete()


# ---- stages ----------------------------------------------------------------------------------


def _stage_name(name):
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the stage a name."})
    if len(name) > 100:
        raise ValidationError({"name": "A stage name can be at most 100 characters."})
    return name


@history.records_as("user")
def stage_add(*, project, user, name):
    """Add a stage after the last one. Its tasks (none yet) will wait for every earlier stage."""
    access.require_edit(user, project)
    name = _stage_name(name)
    with transaction.atomic():
        current = Project.objects.select_for_update().get(pk=project.pk)
        count = Stage.objects.filter(project=current).count()
        if count >= MAX_STAGES:
            raise ValidationError({"name": f"A project can have at most {MAX_STAGES} stages."})
        last = Stage.objects.filter(project=current).aggregate(m=Max("position"))["m"] or 0
        stage = Stage(project=current, name=name, position=last + 1)
        stage.full_clean()
        stage.save()
        gating.stages_sync(project_id=current.pk, user=user)
    return stage


@history.records_as("user")
def stage_rename(*, stage, user, name):
    access.require_edit(user, stage.project)
    stage.name = _stage_name(name)
    stage.full_clean()
    stage.save(update_fields=["name"])
    return stage


@history.records_as("user")
def stage_delete(*, stage, user):
    """Delete an empty stage; the later ones move up one place. A stage with tasks is refused."""
    access.require_edit(user, stage.project)
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=stage.project_id)
        count = Task.objects.filter(stage=stage).count()
        if count:
            raise ValidationError(f"Stage {stage.position} “{stage.name}” still has {count} "
                                  f"task{'s' if count != 1 else ''}: move or delete them first.")
        project_id, position = stage.project_id, stage.position
        stage.delete()
        for later in Stage.objects.filter(project_id=project_id, position__gt=position).order_by("position"):
            later.position -= 1
            later.save(update_fields=["position"])
        gating.stages_sync(project_id=project_id, user=user)


def _check_stage_order(project_id, positions):
    """Refuse stage positions (task id -> position) that put a predecessor after its successor."""
    deps = TaskDependency.objects.filter(successor__project_id=project_id, predecessor__project_id=project_id,
                                         successor__stage__isnull=False, predecessor__stage__isnull=False)
    for predecessor_id, pred_title, successor_id, succ_title in deps.values_list(
            "predecessor_id", "predecessor__title", "successor_id", "successor__title"):
        if positions[predecessor_id] > positions[successor_id]:
            raise ValidationError(
                f"“{succ_title}” waits for “{pred_title}”, which would then run in a later stage: "
                f"“{succ_title}” could never finish. Remove that dependency first.")


@history.records_as("user")
def stage_move(*, stage, user, direction):
    """Swap a stage with the one before ("up") or after ("down"). Refused if a dependency would point backwards."""
    access.require_edit(user, stage.project)
    if direction not in ("up", "down"):
        raise ValidationError("Move a stage up or down.")
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=stage.project_id)
        stage = Stage.objects.get(pk=stage.pk)
        other_position = stage.position - 1 if direction == "up" else stage.position + 1
        other = Stage.objects.filter(project_id=stage.project_id, position=other_position).first()
        if other is None:
            return stage
        positions = {pk: pos for pk, pos in Task.objects.filter(project_id=stage.project_id, stage__isnull=False)
                     .values_list("pk", "stage__position")}
        for pk, pos in positions.items():
            positions[pk] = other.position if pos == stage.position else stage.position if pos == other.position \
                else pos
        _check_stage_order(stage.project_id, positions)
        a, b = stage.position, other.position
        parked = (Stage.objects.filter(project_id=stage.project_id).aggregate(m=Max("position"))["m"] or 0) + 1
        stage.position = parked
        stage.save(update_fields=["position"])
        other.position = a
        other.save(update_fields=["position"])
        stage.position = b
        stage.save(update_fields=["position"])
        gating.stages_sync(project_id=stage.project_id, user=user)
    return stage


# ---- tasks in a project -----------------------------------------------------------------------


@history.records_as("user")
def project_task_add(*, project, user, title, stage=None, entity=..., **fields):
    """Create a task in the project (and stage). One transaction; returns the task.

    The task is linked to the project's entity unless `entity` is given. In a stage that is
    not open yet it is created blocked (held by the gate, not distributed, its assignee not
    told until the stage opens); otherwise it goes through task_create as usual (distribution,
    the assignee is told). A task added to an earlier stage makes later stages wait again
    (projects.gating). `task.gate_note` says what changed in the gates.
    """
    access.require_edit(user, project)
    if stage is not None and stage.project_id != project.pk:
        raise ValidationError({"stage": "That stage belongs to another project."})
    if project.status in (ProjectStatus.COMPLETED, ProjectStatus.CANCELLED):
        raise ValidationError(f"The project is {project.get_status_display().lower()}: reopen it to add tasks.")
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=project.pk)
        held = stage is not None and not gating.stage_is_open(stage)
        if entity is ...:
            entity = project.entity if project.content_type_id else None
        task = task_services.task_create(
            created_by=user, title=title, entity=entity, project=project, stage=stage,
            status=TaskStatus.BLOCKED if held else TaskStatus.PENDING,
            distribute=not held, notify_assignee=not held, **fields,
        )
        if held:
            StageHold.objects.create(task=task, stage=stage, previous_status=TaskStatus.PENDING)
        result = gating.stages_sync(project_id=project.pk, user=user, known={task.pk: task})
    task.gate_note = result.describe()
    return task


def _subtree_in_project(task, project_id):
    return Task.objects.filter(subtree_q(task.subtree_prefix()), project_id=project_id)


@history.records_as("user")
def project_task_move(*, task, user, project, stage=None):
    """Put a task (and its subtasks that were in the same project) into `project` and `stage`, or out of
    any project (project=None). One transaction; the gates of both projects follow.

    Needs the right to change the task, and to change the project it goes into (or, to take it
    out, the task or the project it leaves). Refuses a stage of another project and a move that
    would put the task before one of its predecessors (or after one of its dependants).
    """
    if stage is not None and (project is None or stage.project_id != project.pk):
        raise ValidationError({"stage": "That stage belongs to another project."})
    old_project = task.project
    if project is not None:
        if not task_access.can_edit(user, task):
            raise PermissionDenied("You may not change this task.")
        access.require_edit(user, project)
    elif not (task_access.can_edit(user, task) or (old_project and access.can_edit(user, old_project))):
        raise PermissionDenied("You may not change this task.")
    with transaction.atomic():
        for pid in sorted({p for p in (task.project_id, project.pk if project else None) if p}):
            Project.objects.select_for_update().get(pk=pid)
        current = Task.objects.select_for_update().get(pk=task.pk)
        moving = [current, *(_subtree_in_project(current, current.project_id) if current.project_id else [])]
        if project is not None and stage is not None:
            ids = {t.pk for t in moving}
            positions = dict(Task.objects.filter(project=project, stage__isnull=False).exclude(pk__in=ids)
                             .values_list("pk", "stage__position"))
            positions.update({pk: stage.position for pk in ids})
            links = TaskDependency.objects.filter(successor_id__in=ids) | TaskDependency.objects.filter(
                predecessor_id__in=ids)
            for dep in links.select_related("predecessor", "successor"):
                p, s = positions.get(dep.predecessor_id), positions.get(dep.successor_id)
                if p is not None and s is not None and p > s:
                    raise ValidationError({"stage": (
                        f"“{dep.successor.title}” waits for “{dep.predecessor.title}”: it cannot run in an "
                        "earlier stage than that task."
                    )})
        for row in moving:
            row.project = project
            row.stage = stage
            row.version += 1
            row.save()
        known = {t.pk: t for t in moving}
        if old_project is not None and (project is None or old_project.pk != project.pk):
            gating.stages_sync(project_id=old_project.pk, user=user, known=known)
        result = gating.stages_sync(project_id=project.pk, user=user, known=known) if project else None
    current.gate_note = result.describe() if result else ""
    return current


def active_users():
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
