"""Project pages: the list, a project's page (stages, timeline, members, files, discussion), its
task list, create/edit/delete, stages, adding tasks, and the task page's Project panel actions.

Every view fetches its project through `access.get_project_for_user` (404 for a user who may not
see it, 403 for a reader who tries to change it) and changes things only through the services.
Bad input shows the page again with the reason (400); nothing is half-saved.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from crm import attachments, discussion
from tasks import access as task_access
from tasks import selectors as task_selectors
from tasks.models import Task

from . import access, dependencies, selectors, services
from .forms import (
    DependencyForm, ProjectForm, ProjectTaskForm, StageForm, TaskProjectForm, apply_errors, project_choices,
)
from .models import Project, Stage, TaskDependency


def _error_text(exc):
    return " ".join(exc.messages)


def _query(params, **changes):
    query = params.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return query.urlencode()


# ---- list ------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def project_list_view(request):
    filterset, qs = selectors.project_list(user=request.user, params=request.GET)
    invalid = filterset.is_bound and not filterset.is_valid()
    page = Paginator(qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.decorate(list(page.object_list), request.user)
    return render(request, "projects/project_list.html", {
        "filter": filterset, "page": page, "filter_invalid": invalid,
        "selected_status": request.GET.getlist("status"),
        "qs_no_page": _query(request.GET, page=None),
        "current_order": request.GET.get("o", ""),
    }, status=400 if invalid else 200)


# ---- a project's page ------------------------------------------------------------------------


def _panel_context(request, project):
    user = request.user
    return {
        "discussion": discussion.card_context(obj=project, user=user),
        "files": attachments.card_context(obj=project, user=user, may_moderate=access.can_edit(user, project)),
    }


def _detail_context(request, project, **extra):
    user = request.user
    plan = selectors.project_plan(project, user)
    can_edit = access.can_edit(user, project)
    members = list(project.memberships.select_related("user").order_by("user__first_name", "user__username"))
    source_memo = None
    from memos import access as memo_access
    from memos.models import Memo

    memo = Memo.objects.select_related("author").filter(converted_project=project).first()
    if memo is not None:
        source_memo = {"memo": memo, "visible": memo_access.can_view(user, memo)}
    context = {
        "project": project, "plan": plan, "can_edit": can_edit, "members": members,
        "timeline": selectors.timeline(project, plan),
        "entity": project.entity if project.content_type_id else None,
        "stage_form": StageForm(auto_id="stage_%s") if can_edit else None,
        "source_memo": source_memo,
        **_panel_context(request, project),
    }
    context.update(extra)
    return context


def _get(request, pk, *, edit=False):
    return access.get_project_for_user(
        request.user, pk, Project.objects.select_related("owner", "team", "team__manager", "content_type",
                                                         "created_by", "template"), edit=edit)


@require_http_methods(["GET", "HEAD"])
def project_detail_view(request, pk):
    project = _get(request, pk)
    return render(request, "projects/project_detail.html", _detail_context(request, project))


def _refuse(request, project, status, message):
    messages.error(request, message)
    return render(request, "projects/project_detail.html", _detail_context(request, project), status=status)


@require_http_methods(["GET", "HEAD"])
def project_tasks_view(request, pk):
    """The project's tasks in the shared task table (filters, sorting, bulk actions)."""
    from tasks.views import task_table_context

    project = _get(request, pk)
    context, status = task_table_context(request, base=Task.objects.filter(project=project))
    context.update({"project": project, "can_edit": access.can_edit(request.user, project)})
    return render(request, "projects/project_tasks.html", context, status=status)


# ---- create / edit / delete ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def project_create_view(request):
    form = ProjectForm(request.POST or None, user=request.user, initial=_entity_initial(request))
    if request.method == "POST":
        if form.is_valid():
            data = form.service_data()
            try:
                project = services.project_create(
                    user=request.user, members=form.cleaned_data["members"], entity=form.cleaned_data["entity"],
                    stages=form.stage_names(), **data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Project “{project.name}” created.")
                return redirect(project)
        messages.error(request, "The project was not saved: please correct the errors below.")
        return render(request, "projects/project_form.html", {"form": form}, status=400)
    return render(request, "projects/project_form.html", {"form": form})


def _entity_initial(request):
    from tasks.forms import initial_entity

    entity = initial_entity(request.GET)
    return {"entity": entity} if entity is not None else {}


@require_http_methods(["GET", "POST"])
def project_edit_view(request, pk):
    project = _get(request, pk, edit=True)
    form = ProjectForm(request.POST or None, user=request.user, project=project)
    if request.method == "POST":
        if form.is_valid():
            try:
                project = services.project_update(project=project, user=request.user, data=form.service_data(),
                                                  members=form.cleaned_data["members"],
                                                  entity=form.cleaned_data["entity"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Project “{project.name}” saved.")
                return redirect(project)
        messages.error(request, "The project was not saved: please correct the errors below.")
        return render(request, "projects/project_form.html", {"form": form, "project": project}, status=400)
    return render(request, "projects/project_form.html", {"form": form, "project": project})


@require_http_methods(["GET", "POST"])
def project_delete_view(request, pk):
    project = _get(request, pk, edit=True)
    task_count = Task.objects.filter(project=project).count()
    context = {"project": project, "task_count": task_count}
    if request.method == "POST":
        choice = request.POST.get("tasks", "keep")
        if choice not in ("keep", "delete"):
            messages.error(request, "Choose whether to keep or delete the project's tasks.")
            return render(request, "projects/project_confirm_delete.html", context, status=400)
        try:
            services.project_delete(project=project, user=request.user, delete_tasks=choice == "delete")
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return render(request, "projects/project_confirm_delete.html", context, status=403)
        kept = " Its tasks were kept." if task_count and choice == "keep" else ""
        messages.success(request, f"Project “{project.name}” deleted.{kept}")
        return redirect("projects:list")
    return render(request, "projects/project_confirm_delete.html", context)


# ---- stages ----------------------------------------------------------------------------------


@require_POST
def stage_add_view(request, pk):
    project = _get(request, pk, edit=True)
    form = StageForm(request.POST)
    if not form.is_valid():
        return _refuse(request, project, 400, "The stage was not added: give it a name (at most 100 characters).")
    try:
        stage = services.stage_add(project=project, user=request.user, name=form.cleaned_data["name"])
    except ValidationError as exc:
        return _refuse(request, project, 400, f"The stage was not added: {_error_text(exc)}")
    messages.success(request, f"Stage {stage.position} “{stage.name}” added.")
    return redirect(project.get_absolute_url() + f"#stage-{stage.pk}")


def _stage(request, pk, stage_pk):
    project = _get(request, pk, edit=True)
    stage = get_object_or_404(Stage, pk=stage_pk, project=project)
    stage.project = project
    return project, stage


@require_POST
def stage_rename_view(request, pk, stage_pk):
    project, stage = _stage(request, pk, stage_pk)
    form = StageForm(request.POST)
    if not form.is_valid():
        return _refuse(request, project, 400, "The stage was not renamed: give it a name (at most 100 characters).")
    services.stage_rename(stage=stage, user=request.user, name=form.cleaned_data["name"])
    messages.success(request, f"Stage {stage.position} is now “{stage.name}”.")
    return redirect(project.get_absolute_url() + f"#stage-{stage.pk}")


@require_POST
def stage_delete_view(request, pk, stage_pk):
    project, stage = _stage(request, pk, stage_pk)
    try:
        services.stage_delete(stage=stage, user=request.user)
    except ValidationError as exc:
        return _refuse(request, project, 400, _error_text(exc))
    messages.success(request, f"Stage “{stage.name}” deleted.")
    return redirect(project)


@require_POST
def stage_move_view(request, pk, stage_pk):
    project, stage = _stage(request, pk, stage_pk)
    try:
        services.stage_move(stage=stage, user=request.user, direction=request.POST.get("direction", ""))
    except ValidationError as exc:
        return _refuse(request, project, 400, _error_text(exc))
    return redirect(project.get_absolute_url() + f"#stage-{stage.pk}")


# ---- tasks in the project ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def project_task_add_view(request, pk):
    """"Add a task to stage N": the task is created in the project, held if its stage waits."""
    project = _get(request, pk, edit=True)
    initial = {}
    if (request.GET.get("stage") or "").isdigit():
        initial["stage"] = request.GET["stage"]
    form = ProjectTaskForm(request.POST or None, project=project, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                task = services.project_task_add(project=project, user=request.user,
                                                 stage=form.cleaned_data["stage"], **form.service_fields())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                stage = form.cleaned_data["stage"]
                where = f"stage {stage.position} “{stage.name}”" if stage else "the project, outside the stages"
                note = " It waits for an earlier stage." if task.status == "blocked" else ""
                messages.success(request, f"Task “{task.title}” added to {where}.{note} {task.gate_note}".strip())
                return redirect(project.get_absolute_url() + (f"#stage-{stage.pk}" if stage else "#outside"))
        messages.error(request, "The task was not added: please correct the errors below.")
        return render(request, "projects/task_form.html", {"form": form, "project": project}, status=400)
    return render(request, "projects/task_form.html", {"form": form, "project": project})


def _task_refuse(request, task_pk, status, message):
    from tasks.views import _refuse as refuse_on_task_page

    return refuse_on_task_page(request, task_pk, status, message)


@require_POST
def task_move_view(request, task_pk):
    """The task page's Project panel: put the task into a project/stage, or take it out."""
    task = task_selectors.task_detail(user=request.user, pk=task_pk)
    if not task_access.can_edit(request.user, task) and not (
            task.project_id and access.can_edit(request.user, task.project)):
        raise PermissionDenied("You can see this task but you may not change it.")
    form = TaskProjectForm(request.POST, projects=project_choices(request.user) + (
        [task.project] if task.project_id else []))
    if not form.is_valid():
        return _task_refuse(request, task_pk, 400, "Project: " + " ".join(
            m for errors in form.errors.values() for m in errors))
    project, stage = form.cleaned_data["project_obj"], form.cleaned_data["stage_obj"]
    try:
        task = services.project_task_move(task=task, user=request.user, project=project, stage=stage)
    except ValidationError as exc:
        return _task_refuse(request, task_pk, 400, _error_text(exc))
    if project is None:
        messages.success(request, f"“{task.title}” is no longer part of a project.")
    else:
        where = f", stage {stage.position} “{stage.name}”" if stage else ""
        messages.success(request, f"“{task.title}” is now in “{project.name}”{where}. {task.gate_note}".strip())
    return redirect(task.get_absolute_url() + "#project")


@require_POST
def dependency_add_view(request, task_pk):
    task = task_selectors.task_detail(user=request.user, pk=task_pk)
    if not task_access.can_edit(request.user, task):
        raise PermissionDenied("You can see this task but you may not change what it waits for.")
    form = DependencyForm(request.POST)
    if not form.is_valid():
        return _task_refuse(request, task_pk, 400, "Give the number of the task it waits for, e.g. #42.")
    try:
        dep = dependencies.dependency_add(successor=task, predecessor=form.cleaned_data["predecessor"],
                                          user=request.user)
    except ValidationError as exc:
        return _task_refuse(request, task_pk, 400, _error_text(exc))
    late = " It is due after this task begins or is due: check the dates." \
        if dependencies.starts_too_early(task, dep.predecessor) else ""
    messages.success(request, f"“{task.title}” now waits for “{dep.predecessor.title}”.{late}")
    return redirect(task.get_absolute_url() + "#project")


@require_POST
def dependency_remove_view(request, pk):
    dep = get_object_or_404(TaskDependency.objects.select_related("predecessor", "successor"), pk=pk)
    successor = task_selectors.task_detail(user=request.user, pk=dep.successor_id)  # 404 for outsiders
    if not task_access.can_edit(request.user, successor):
        raise PermissionDenied("You can see this task but you may not change what it waits for.")
    dependencies.dependency_remove(dependency=dep, user=request.user)
    messages.success(request, f"“{successor.title}” no longer waits for “{dep.predecessor.title}”.")
    return redirect(_back(request, successor.get_absolute_url() + "#project"))


def _back(request, default):
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return default

