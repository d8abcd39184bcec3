"""Automation rule pages: the rules, create/edit, enable/disable, and the log of runs.

Team managers (of at least one team) and staff use these pages; anyone else
gets 404. A manager sees and changes the rules of the teams they manage and the
rules they wrote; staff see all.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import automation
from .forms import apply_service_errors
from .forms_automation import RuleForm
from .models_automation import AutomationRun

RUNS_PAGE_SIZE = 50


def _require_manager(request):
    if not automation.can_manage_rules(request.user):
        raise Http404("No such page.")


def get_rule_for_user(user, pk):
    rule = automation.visible_rules(user).select_related("created_by", "team").filter(pk=pk).first()
    if rule is None:
        raise Http404("No such rule.")
    return rule


def rule_list_view(request):
    _require_manager(request)
    rules = (
        automation.visible_rules(request.user)
        .select_related("team", "template", "created_by", "assign_to", "distribute_to", "reassign_to")
        .prefetch_related("notify_users")
        .annotate(run_count=Count("runs"), last_run=Max("runs__created_at"))
        .order_by("-is_active", "name", "pk")
    )
    return render(request, "automation/rule_list.html", {"rules": rules})


def _edit(request, rule):
    form = RuleForm(request.POST or None, user=request.user, rule=rule)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = automation.rule_save(user=request.user, rule=rule, data=form.service_data(),
                                             notify_users=form.cleaned_data.get("notify_users") or [])
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and "conditions" in exc.error_dict:
                    form.add_error(None, exc.error_dict.pop("conditions")[0].messages)
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Rule “{saved.name}” is saved{'' if saved.is_active else ' (disabled)'}.")
                return redirect("automation:list")
        messages.error(request, "The rule was not saved: please correct the errors below.")
        status = 400
    return render(request, "automation/rule_form.html", {"form": form, "rule": rule}, status=status)


@require_http_methods(["GET", "POST"])
def rule_create_view(request):
    _require_manager(request)
    return _edit(request, None)


@require_http_methods(["GET", "POST"])
def rule_edit_view(request, pk):
    _require_manager(request)
    return _edit(request, get_rule_for_user(request.user, pk))


@require_POST
def rule_toggle_view(request, pk):
    _require_manager(request)
    rule = get_rule_for_user(request.user, pk)
    value = request.POST.get("is_active")
    if value not in ("true", "false"):
        messages.error(request, "Say whether to enable or disable the rule.")
        return _list_with_status(request, 400)
    automation.rule_set_active(rule=rule, user=request.user, is_active=value == "true")
    messages.success(request, f"Rule “{rule.name}” is {'enabled' if rule.is_active else 'disabled'}.")
    return redirect("automation:list")


def _list_with_status(request, status):
    response = rule_list_view(request)
    response.status_code = status
    return response


def run_list_view(request):
    _require_manager(request)
    rules = automation.visible_rules(request.user)
    runs = AutomationRun.objects.filter(rule__in=rules).select_related("rule", "content_type").prefetch_related(
        "tasks").order_by("-created_at", "-pk")
    rule = None
    ref = request.GET.get("rule", "")
    if ref:
        if not ref.isdigit() or len(ref) > 18:
            messages.error(request, "“rule” must be a rule's number.")
            return render(request, "automation/run_list.html", {"page": None, "rule": None}, status=400)
        rule = get_rule_for_user(request.user, int(ref))
        runs = runs.filter(rule=rule)
    page = Paginator(runs, RUNS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "automation/run_list.html", {
        "page": page, "rule": rule, "qs_no_page": f"rule={rule.pk}" if rule else "",
    })
