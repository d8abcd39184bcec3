"""Team pages: the queue of unassigned tasks, the members' workload, and distribution settings.

Who sees what:
- queue and workload: the team's members (active or not), its manager, and staff;
  members see the workload too, so everyone knows who is busy (counts only; the
  links lead to the task list, which shows each reader only the tasks they may see);
- settings: the team's manager and staff (a member gets 403);
- anyone else is told the team does not exist (404).
Claiming posts to the task pages' claim action ("tasks:claim"), which answers a
lost race with 409 and names who took the task.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from crm.choices import TaskType
from crm.models import Team, TeamMembership

from . import access, distribution, selectors_teams
from .forms_teams import TeamDistributionForm

QUEUE_PAGE_SIZE = 50


def _is_staff(user):
    return user.is_staff or user.is_superuser


def get_team_for_user(user, pk, *, manage=False):
    """The team if the user belongs to it, manages it or is staff, else 404.

    With `manage`, a member who is not the manager (nor staff) gets 403.
    """
    team = Team.objects.select_related("manager").filter(pk=pk).first()
    if team is None or not (_is_staff(user) or team.pk in access.member_team_ids(user)):
        raise Http404("No such team.")
    if manage and not (_is_staff(user) or team.manager_id == user.pk):
        raise PermissionDenied("Only the team's manager can change its settings.")
    return team


def _team_nav(request, team, active):
    user = request.user
    return {
        "team": team, "active_tab": active,
        "can_manage": _is_staff(user) or team.manager_id == user.pk,
    }


def team_queue_view(request, pk):
    team = get_team_for_user(request.user, pk)
    page = Paginator(selectors_teams.team_queue(team), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    user = request.user
    can_claim = team.pk in access.active_member_team_ids(user) or team.pk in access.managed_team_ids(user)
    strategy = distribution.strategy_for(team)
    return render(request, "tasks/teams/queue.html", {
        **_team_nav(request, team, "queue"), "page": page, "can_claim": can_claim, "strategy": strategy,
        "next_url": request.get_full_path(),
    })


def team_workload_view(request, pk):
    team = get_team_for_user(request.user, pk)
    rows = selectors_teams.team_workload(team)
    type_labels = dict(TaskType.choices)
    for row in rows:
        row.week_hours = row.week_duration.total_seconds() / 3600 if row.week_duration else 0
        row.handles = ", ".join(str(type_labels.get(t, t)) for t in row.task_types) or "all types"
    start, end = selectors_teams.week_bounds()
    active = [r for r in rows if r.is_active]
    totals = {name: sum(getattr(r, name) for r in rows)
              for name in ("open_count", "team_open", "overdue_count", "week_count", "week_hours")}
    return render(request, "tasks/teams/workload.html", {
        **_team_nav(request, team, "workload"), "rows": rows, "totals": totals, "week_start": start,
        "week_end": end, "busiest": max((r.open_count for r in active), default=0),
        "lightest": min((r.open_count for r in active), default=0),
        "queue_count": selectors_teams.team_queue(team).count(), "task_list_url": reverse("tasks:list"),
    })


@require_http_methods(["GET", "POST"])
def team_settings_view(request, pk):
    team = get_team_for_user(request.user, pk, manage=True)
    memberships = list(TeamMembership.objects.filter(team=team).select_related("user").order_by(
        "user__first_name", "user__last_name", "user__username"))
    form = TeamDistributionForm(request.POST or None, team=team, memberships=memberships)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                distribution.team_set_distribution(team=team, user=request.user, strategy=form.cleaned_data["strategy"],
                                                   memberships=form.membership_values())
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, f"The settings of {team.name} are saved.")
                return redirect("teams:settings", pk=team.pk)
        messages.error(request, "Nothing was saved: please correct the errors below.")
        status = 400
    return render(request, "tasks/teams/settings.html", {**_team_nav(request, team, "settings"), "form": form},
                  status=status)
