"""The Projects tab on the detail page of every linkable entity, and what happens to linked projects
when the entity is deleted (kept, unlinked; or deleted, their tasks kept).

The tab lists the projects linked to the entity that the user may see, with progress and the
next deadline, a "New project" button with the entity filled in, and a "New from template"
choice. A fixed number of queries whatever the number of projects.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from crm import links, tabs

from . import access, selectors
from .models import OPEN_PROJECT_STATUSES, Project

ENTITY_MODELS = ("crm.Individual", "crm.Organization", "crm.Ticket", "crm.Opportunity")


def _linked(obj):
    return Project.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)


def render_projects_tab(request, obj):
    from . import project_templates

    entry = links.for_model(type(obj))
    return "projects/entity_tab.html", {
        "projects": selectors.entity_projects(obj, request.user),
        "entity_key": entry.key if entry else "",
        "templates": list(project_templates.visible_templates(request.user).order_by("name", "pk")[:50]),
    }


def count_projects_tab(request, obj):
    return access.visible_projects(request.user, _linked(obj).filter(status__in=OPEN_PROJECT_STATUSES)).count()


def count_linked(entity):
    return _linked(entity).count()


def detach_linked(entity, user):
    with transaction.atomic():
        _linked(entity).update(content_type=None, object_id=None)


def delete_linked(entity, user):
    from . import services

    # Projects the user may not delete are kept, unlinked: deleting a customer never deletes others' work.
    for project in _linked(entity):
        if access.can_edit(user, project):
            services.project_delete(project=project, user=user)
        else:
            Project.objects.filter(pk=project.pk).update(content_type=None, object_id=None)


tabs.register(tabs.Tab(slug="projects", label="Projects", order=25, render=render_projects_tab,
                       count=count_projects_tab, models=ENTITY_MODELS))
