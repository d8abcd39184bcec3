"""The Tasks tab on the detail page of every linkable entity.

It shows the task list (same table, filters, quick views and bulk actions as
/tasks/) limited to the tasks linked to that entity, and a "New task" button
that fills the entity in. The badge counts the open tasks the user can see
there: one query, whatever the number of tasks.
"""

from django.contrib.contenttypes.models import ContentType

from crm import tabs

from . import access
from .models import OPEN_STATUSES, Task

ENTITY_MODELS = ("crm.Individual", "crm.Organization", "crm.Ticket", "crm.Opportunity")


def _entity_tasks(obj):
    return Task.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)


def render_tasks_tab(request, obj):
    from .views import task_table_context

    context, _status = task_table_context(request, base=_entity_tasks(obj), entity=obj)
    return "tasks/entity_tab.html", context


def count_tasks_tab(request, obj):
    return access.visible_tasks(request.user, _entity_tasks(obj).filter(status__in=OPEN_STATUSES)).count()


tabs.register(tabs.Tab(slug="tasks", label="Tasks", order=20, render=render_tasks_tab, count=count_tasks_tab,
                       models=ENTITY_MODELS))
