"""Who may see and change a task. Every task view, list and bulk action asks here.

- Staff see and change every task.
- A user sees the tasks they created, are assigned to or take part in
  (any role), and the tasks of the teams they belong to or manage.
- A user changes a task they created or are assigned to, where they are a
  co-worker or reviewer, or that belongs to a team they manage. Subscribers
  and plain team members read (and comment); members may also claim.
- Everyone else is told the task does not exist (404).
"""

from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from crm.models import Team, TeamMembership

from .models import OPEN_STATUSES, Participant, Task

EDITING_ROLES = (Participant.Role.CO_WORKER, Participant.Role.REVIEWER)


def member_team_ids(user):
    """Teams the user belongs to (active or not) or manages; cached on the user object per request."""
    cached = getattr(user, "_task_team_ids", None)
    if cached is None:
        member = set(TeamMembership.objects.filter(user=user).values_list("team_id", flat=True))
        managed = set(Team.objects.filter(manager=user).values_list("pk", flat=True))
        cached = (frozenset(member | managed), frozenset(managed))
        user._task_team_ids = cached
    return cached[0]


def managed_team_ids(user):
    member_team_ids(user)
    return user._task_team_ids[1]


def active_member_team_ids(user):
    return set(TeamMembership.objects.filter(user=user, is_active=True).values_list("team_id", flat=True))


def visible_q(user):
    if user.is_staff or user.is_superuser:
        return Q()
    teams = member_team_ids(user)
    q = Q(created_by=user) | Q(assignee=user) | Q(
        Exists(Participant.objects.filter(task=OuterRef("pk"), user=user))
    )
    if teams:
        q |= Q(team_id__in=teams)
    return q


def visible_tasks(user, queryset=None):
    qs = Task.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(visible_q(user))


def editable_q(user):
    if user.is_staff or user.is_superuser:
        return Q()
    q = Q(created_by=user) | Q(assignee=user) | Q(
        Exists(Participant.objects.filter(task=OuterRef("pk"), user=user, role__in=EDITING_ROLES))
    )
    managed = managed_team_ids(user)
    if managed:
        q |= Q(team_id__in=managed)
    return q


def can_view(user, task):
    return visible_tasks(user, Task.objects.filter(pk=task.pk)).exists()


def can_edit(user, task):
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    if task.created_by_id == user.pk or task.assignee_id == user.pk:
        return True
    if task.team_id and task.team_id in managed_team_ids(user):
        return True
    return Participant.objects.filter(task=task, user=user, role__in=EDITING_ROLES).exists()


def can_claim(user, task):
    """Members of the task's team claim its unassigned tasks; without a team, anyone who can see it."""
    if task.assignee_id is not None or task.status not in OPEN_STATUSES:
        return False
    if task.team_id:
        return task.team_id in active_member_team_ids(user) or task.team_id in managed_team_ids(user)
    return can_view(user, task)


def can_assign(user, task):
    return can_edit(user, task)


def get_task_for_user(user, pk, queryset=None):
    """The task if the user may see it, else 404 (outsiders are not told it exists)."""
    qs = visible_tasks(user, queryset if queryset is not None else Task.objects.all())
    task = qs.filter(pk=pk).first()
    if task is None:
        raise Http404("No such task.")
    return task
