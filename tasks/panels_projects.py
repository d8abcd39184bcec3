"""The Project and From-memo panels on the task page (side column); registered when imported
(projects' AppConfig.ready() imports this module).

Project panel: the task's project and stage and whether the stage is open ("waits for
stage 2"), what the task is blocked by and what it blocks, the dependants that now start or
are due before this task is due (after its due date moved), and, for those who may change
the task, forms to add/remove dependencies and to put the task into a project or stage.

From-memo panel: the memo the task was made from (its subject only for those who may read it).

Both run a fixed number of queries, whatever the number of dependencies.
"""

from django.urls import reverse

from . import panels


def project_panel_context(request, task, can_edit):
    from projects import access as project_access
    from projects import dependencies, gating
    from projects.forms import DependencyForm, project_choices, target_choices
    from projects.models import Project, Stage, StageHold

    user = request.user
    predecessors, dependants = dependencies.links_of(task, user)
    project = Project.objects.filter(pk=task.project_id).first() if task.project_id else None
    if project is None and not predecessors and not dependants and not can_edit:
        return None
    stage = Stage.objects.filter(pk=task.stage_id).first() if task.stage_id else None
    held = StageHold.objects.filter(task=task).exists() if stage else False
    waits = gating.waits_message(stage) if stage is not None and task.is_open else ""
    choices = []
    if can_edit:
        projects = project_choices(user)
        if project is not None and all(p.pk != project.pk for p in projects):
            projects = [project, *projects]
        choices = target_choices(projects)
    current_target = f"s{stage.pk}" if stage else f"p{project.pk}" if project else ""
    return {
        "task": task,
        "project": project,
        "project_visible": project is not None and project_access.can_view(user, project),
        "stage": stage,
        "held": held,
        "waits": waits,
        "predecessors": predecessors,
        "open_predecessors": [link for link in predecessors if link.task.is_open],
        "dependants": dependants,
        "late_dependants": [link for link in dependants if link.late],
        "can_edit": can_edit,
        "dependency_form": DependencyForm(auto_id="dep_%s") if can_edit else None,
        "target_choices": choices,
        "current_target": current_target,
        "move_url": reverse("projects:task_move", args=[task.pk]),
        "dependency_url": reverse("projects:dependency_add", args=[task.pk]),
    }


def memo_panel_context(request, task, can_edit):
    from memos import access as memo_access
    from memos.models import Memo

    memo = Memo.objects.select_related("author", "recipient").filter(converted_task=task).first()
    if memo is None:
        return None
    return {"task": task, "memo": memo, "visible": memo_access.can_view(request.user, memo)}


panels.register(panels.Panel(slug="project", label="Project", order=5, column=panels.SIDE,
                             template="tasks/panels/project.html", context=project_panel_context))
panels.register(panels.Panel(slug="memo", label="From memo", order=4, column=panels.SIDE,
                             template="tasks/panels/memo.html", context=memo_panel_context))
