"""Task template pages: the list, create/edit/delete, and "New from template" (one POST).

A template is seen by its owner and, when shared, by the team's members and
manager (and staff); anyone else gets 404. Only the owner, the manager of the
team it is shared with, or staff change or delete it (403 for other viewers).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from crm import links

from . import access, task_templates
from .forms import apply_service_errors
from .forms_templates import SubtaskFormSet, TaskTemplateForm, subtask_initial


def get_template_for_user(user, pk, *, edit=False):
    template = task_templates.visible_templates(user).select_related("owner", "shared_with_team", "team").filter(
        pk=pk).first()
    if template is None:
        raise Http404("No such template.")
    if edit and not task_templates.can_edit(user, template):
        raise PermissionDenied("Only the template's owner or the manager of the team it is shared with can change it.")
    return template


def template_list_view(request):
    user = request.user
    rows = list(
        task_templates.visible_templates(user).select_related("owner", "shared_with_team", "team")
        .annotate(n_subtasks=Count("subtasks", distinct=True), n_checklist=Count("checklist_items", distinct=True))
        .order_by("name", "pk")
    )
    managed = access.managed_team_ids(user)
    staff = user.is_staff or user.is_superuser
    for row in rows:
        row.user_can_edit = staff or row.owner_id == user.pk or (row.shared_with_team_id in managed)
    mine = [r for r in rows if r.owner_id == user.pk]
    shared = [r for r in rows if r.owner_id != user.pk]
    return render(request, "tasks/templates/template_list.html", {"mine": mine, "shared": shared})


def _subtask_rows(formset):
    return [f.cleaned_data for f in formset.forms if f.cleaned_data and (f.cleaned_data.get("title") or "").strip()]


def _edit(request, template):
    user = request.user
    form = TaskTemplateForm(request.POST or None, instance=template, user=user)
    formset = SubtaskFormSet(request.POST or None, prefix="subtasks", initial=subtask_initial(template))
    status = 200
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            try:
                saved = task_templates.template_save(
                    user=user, template=template, data=form.service_data(), checklist=form.checklist_lines(),
                    subtasks=_subtask_rows(formset),
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and "subtasks" in exc.error_dict:
                    form.add_error(None, exc.error_dict.pop("subtasks")[0].messages)
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Template “{saved.name}” is saved.")
                return redirect("task_templates:list")
        messages.error(request, "The template was not saved: please correct the errors below.")
        status = 400
    return render(request, "tasks/templates/template_form.html",
                  {"form": form, "formset": formset, "template": template}, status=status)


@require_http_methods(["GET", "POST"])
def template_create_view(request):
    return _edit(request, None)


@require_http_methods(["GET", "POST"])
def template_edit_view(request, pk):
    return _edit(request, get_template_for_user(request.user, pk, edit=True))


@require_http_methods(["GET", "POST"])
def template_delete_view(request, pk):
    template = get_template_for_user(request.user, pk, edit=True)
    if request.method == "POST":
        try:
            task_templates.template_delete(template=template, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return render(request, "tasks/templates/template_confirm_delete.html", {"template": template}, status=409)
        messages.success(request, f"Template “{template.name}” is deleted.")
        return redirect("task_templates:list")
    return render(request, "tasks/templates/template_confirm_delete.html", {"template": template})


def _entity_from(params):
    """The entity a "New from template" button names (entity_type + entity id), None, or 400 text."""
    key, ref = (params.get("entity_type") or "").strip(), (params.get("entity") or "").strip()
    if not key and not ref:
        return None
    entry = links.get(key)
    if entry is None or not ref.isdigit() or len(ref) > 18:
        raise ValidationError("Choose an individual, organization, ticket or opportunity to link the task to.")
    obj = entry.model.objects.filter(pk=int(ref)).first()
    if obj is None:
        raise ValidationError(f"There is no {entry.label.lower()} #{ref}.")
    return obj


@require_POST
def template_use_view(request, pk):
    """New from template: create the task (with subtasks and checklist) and open it."""
    template = get_template_for_user(request.user, pk)
    try:
        entity = _entity_from(request.POST)
        task = task_templates.template_instantiate(template=template, user=request.user, entity=entity)
    except ValidationError as exc:
        messages.error(request, f"No task was created from “{template.name}”: {' '.join(exc.messages)}")
        response = template_list_view(request)
        response.status_code = 400
        return response
    where = ""
    if task.assignee_id and task.assignee_id != request.user.pk:
        where = f" It went to {task.assignee.get_full_name() or task.assignee.username}."
    elif task.assignee_id is None and task.team_id:
        where = f" It waits in the {task.team.name} queue."
    messages.success(request, f"Task “{task.title}” was created from “{template.name}”.{where}")
    return redirect(task)
