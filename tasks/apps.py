from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"

    def ready(self):
        from crm import links

        from . import entity_tab  # noqa: F401  (registers the Tasks tab on entity pages)
        from . import signals  # noqa: F401  (automation listens for entity and task events)
        from . import history_panels  # noqa: F401  (history, discussion, attachments: words, access, panels)
        from . import views_recurrence  # noqa: F401  (registers the Repeats and Reminders panels)
        from . import views_feeds  # noqa: F401  (registers the Calendar panel: download .ics)
        from . import panels_time  # noqa: F401  (registers the Time panel)
        from . import services
        from .models import Task

        def _count(entity):
            from django.contrib.contenttypes.models import ContentType

            ct = ContentType.objects.get_for_model(entity)
            return Task.objects.filter(content_type=ct, object_id=entity.pk).count()

        links.register_dependent(links.Dependent(
            label="tasks",
            count=_count,
            detach=lambda entity, user: services.tasks_detach_from_entity(entity=entity, user=user),
            delete=lambda entity, user: services.tasks_delete_for_entity(entity=entity, user=user),
        ))
