"""Project template pages: list, view, create/edit (stages + task lines), delete, and "Use template"
(one POST makes the whole project).

A template is seen by its owner and, when shared, by the team's members and manager (and
staff); anyone else gets 404. Only the owner, the manager of the team it is shared with, or
staff change or delete it (403 for other readers).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tasks import access as task_access

from . import project_templates
from .forms import FromTemplateForm, ProjectTemplateForm, TemplateLineFormSet, apply_errors, line_initial


def get_template_for_user(user, pk, *, edit=False):
    template = project_templates.visible_templates(user).select_related("owner", "shared_with_team", "team") \
        .filter(pk=pk).first()
    if template is None:
        raise Http404("No such project template.")
    if edit and not project_templates.can_edit(user, template):
        raise PermissionDenied("Only the template's owner or the manager of the team it is shared with can change it.")
    return template


def _rows(user):
    rows = list(project_templates.visible_templates(user).select_related("owner", "shared_with_team", "team")
                .annotate(n_stages=Count("stages", distinct=True), n_lines=Count("stages__lines", distinct=True))
                .order_by("name", "pk"))
    managed = task_access.managed_team_ids(user)
    staff = user.is_staff or user.is_superuser
    for row in rows:
        row.user_can_edit = staff or row.owner_id == user.pk or row.shared_with_team_id in managed
    return rows


def _list_page(request, status=200):
    return render(request, "projects/template_list.html", {"templates": _rows(request.user)}, status=status)


@require_http_methods(["GET", "HEAD"])
def template_list_view(request):
    return _list_page(request)


@require_http_methods(["GET", "HEAD"])
def template_detail_view(request, pk):
    template = get_template_for_user(request.user, pk)
    return render(request, "projects/template_detail.html", _detail_context(request, template))


def _detail_context(request, template, form=None):
    lines = project_templates.template_lines(template)
    stages = list(template.stages.order_by("position"))
    for stage in stages:
        stage.template_lines = [line for line in lines if line.stage_id == stage.pk]
    return {"template": template, "stages": stages, "line_count": len(lines),
            "can_edit": project_templates.can_edit(request.user, template),
            "use_form": form or FromTemplateForm(auto_id="use_%s")}


def _edit(request, template):
    user = request.user
    form = ProjectTemplateForm(request.POST or None, user=user, template=template)
    formset = TemplateLineFormSet(request.POST or None, prefix="lines", initial=line_initial(template), user=user)
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            try:
                saved = project_templates.template_save(
                    user=user, template=template, data=form.service_data(), stages=form.stage_names(),
                    lines=formset.lines())
            except ValidationError as exc:
                apply_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Project template “{saved.name}” is saved.")
                return redirect("projects:template_detail", saved.pk)
        messages.error(request, "The template was not saved: please correct the errors below.")
        return render(request, "projects/template_form.html",
                      {"form": form, "formset": formset, "template": template}, status=400)
    return render(request, "projects/template_form.html", {"form": form, "formset": formset, "template": template})


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
        project_templates.template_delete(template=template, user=request.user)
        messages.success(request, f"Project template “{template.name}” is deleted.")
        return redirect("projects:templates")
    return render(request, "projects/template_confirm_delete.html", {"template": template})


@require_POST
def template_use_chosen_view(request):
    """"New from template" with the template chosen in a select (an entity's Projects tab)."""
    ref = (request.POST.get("template") or "").strip()
    if not ref.isdigit() or len(ref) > 18:
        messages.error(request, "Choose a project template.")
        return _list_page(request, status=400)
    return _use(request, int(ref))


@require_POST
def template_use_view(request, pk):
    """New project from template, in one click: the project, its stages, tasks and dependencies."""
    return _use(request, pk)


def _use(request, pk):
    template = get_template_for_user(request.user, pk)
    form = FromTemplateForm(request.POST, auto_id="use_%s")
    if form.is_valid():
        try:
            project = project_templates.project_from_template(
                template=template, user=request.user, name=form.cleaned_data["name"] or None,
                start_date=form.cleaned_data["start_date"], entity=form.cleaned_data["entity"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            count = project.tasks.count()
            messages.success(request, f"Project “{project.name}” was created from “{template.name}” with "
                                      f"{count} task{'s' if count != 1 else ''}.")
            return redirect(project)
    messages.error(request, f"No project was created from “{template.name}”: see below.")
    return render(request, "projects/template_detail.html", _detail_context(request, template, form), status=400)
