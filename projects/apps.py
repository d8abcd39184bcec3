from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self):
        from crm import attachments, links, object_access
        from tasks import panels_projects  # noqa: F401  (the Project and From-memo panels on the task page)
        from tasks import services as task_services

        from . import access, entity_tab, gating  # noqa: F401  (entity_tab registers the Projects tab)
        from .models import Project

        # Stage gates and dependencies, enforced in the one place task statuses change.
        for hooks, hook in ((task_services.STATUS_CHECKS, gating.check_status_change),
                            (task_services.STATUS_CHANGED, gating.after_status_change),
                            (task_services.DELETING, gating.before_delete)):
            if hook not in hooks:
                hooks.append(hook)

        def _owners(project):
            return [u for u in (project.owner,) if u is not None and u.is_active]

        # Discussion and files: whoever sees the project reads and writes them; its editors remove
        # others' files; internal notes for staff and the project's team.
        object_access.register("projects.Project", object_access.Hooks(
            can_view=access.can_view, can_moderate=access.can_edit, can_see_internal=_can_see_internal,
            owners=_owners, select_related=("owner",), noun="project",
        ))
        attachments.delete_with(Project)

        links.register_dependent(links.Dependent(
            label="projects", count=entity_tab.count_linked, detach=entity_tab.detach_linked,
            delete=entity_tab.delete_linked,
        ))


def _can_see_internal(user, project):
    from tasks.access import member_team_ids

    if user.is_staff or user.is_superuser:
        return True
    return bool(project.team_id) and project.team_id in member_team_ids(user)
