"""Who may see and change a project. Every project view, list and service asks here.

- Staff see and change every project.
- A user sees the projects they own, are a member of, or whose team they belong to or manage.
- A user changes (edits, adds stages and tasks, deletes) the projects they own and those of
  the teams they manage. Members and team members read, comment and attach files.
- Everyone else is told the project does not exist (404).

Seeing a project shows its plan (every task's title, status, assignee and due date); each
task's own page still follows tasks.access.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from tasks.access import managed_team_ids, member_team_ids

from .models import Project, ProjectMember


def _staff(user):
    return user.is_staff or user.is_superuser


def visible_q(user):
    if _staff(user):
        return Q()
    q = Q(owner=user) | Q(Exists(ProjectMember.objects.filter(project=OuterRef("pk"), user=user)))
    teams = member_team_ids(user)
    if teams:
        q |= Q(team_id__in=teams)
    return q


def visible_projects(user, queryset=None):
    qs = Project.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(visible_q(user))


def editable_q(user):
    if _staff(user):
        return Q()
    q = Q(owner=user)
    managed = managed_team_ids(user)
    if managed:
        q |= Q(team_id__in=managed)
    return q


def editable_projects(user, queryset=None):
    qs = Project.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(editable_q(user))


def can_view(user, project):
    return user.is_authenticated and visible_projects(user, Project.objects.filter(pk=project.pk)).exists()


def can_edit(user, project):
    if not user.is_authenticated:
        return False
    if _staff(user) or project.owner_id == user.pk:
        return True
    return project.team_id is not None and project.team_id in managed_team_ids(user)


def require_edit(user, project):
    if not can_edit(user, project):
        raise PermissionDenied("Only the project's owner, the manager of its team or staff may change it.")


def get_project_for_user(user, pk, queryset=None, *, edit=False):
    """The project if the user may see it (404 otherwise); with edit=True, 403 if they may only read it."""
    qs = visible_projects(user, queryset if queryset is not None else Project.objects.all())
    project = qs.filter(pk=pk).first()
    if project is None:
        raise Http404("No such project.")
    if edit:
        require_edit(user, project)
    return project
