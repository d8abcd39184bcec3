"""The task admin's history: django-simple-history's History pages, restoring through tasks.restore.

`TaskHistoryAdmin` is the base class of tasks.admin.TaskAdmin. It keeps
simple-history's History button and per-version pages, but "Revert" calls the
same services as the site (tasks.restore): a version is restored with the
edit rules and recorded with its reason; a deleted task is recreated with what
was deleted together with it. The change list links to "Deleted tasks", an
admin page listing them with a Restore button. Deleting from the admin marks
the deletion as one batch, so a restore brings back its subtasks too.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from crm import history

from . import restore
from .models import Task


class TaskHistoryAdmin(SimpleHistoryAdmin):
    change_list_template = "crm/history/admin_task_change_list.html"

    def get_urls(self):
        urls = super().get_urls()
        own = [path("deleted/", self.admin_site.admin_view(self.deleted_view), name="tasks_task_deleted")]
        return own + urls

    def _changelist_url(self):
        return reverse(f"{self.admin_site.name}:tasks_task_changelist")

    def deleted_view(self, request):
        """Deleted tasks (all of them: admin users are staff) with Restore buttons; POST restores one."""
        if not self.has_change_permission(request) or not restore.is_manager(request.user):
            raise PermissionDenied
        if request.method == "POST":
            pk = request.POST.get("task", "")
            if not pk.isdigit():
                messages.error(request, "Choose a task to restore.")
            else:
                return self._restore_deleted(request, int(pk))
        rows = list(restore.deleted_tasks(request.user)[:200])
        context = {
            **self.admin_site.each_context(request),
            "title": "Deleted tasks", "opts": self.model._meta, "rows": rows,
            "changelist_url": self._changelist_url(),
        }
        return TemplateResponse(request, "crm/history/admin_deleted_tasks.html", context)

    def _restore_deleted(self, request, pk):
        try:
            task = restore.task_restore_deleted(user=request.user, task_id=pk)
        except Task.DoesNotExist:
            raise Http404("No such deleted task.") from None
        except (ValidationError, PermissionDenied) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, f"Nothing was restored: {text}")
            return HttpResponseRedirect(reverse(f"{self.admin_site.name}:tasks_task_deleted"))
        messages.success(request, f"“{task.title}” is restored.")
        return HttpResponseRedirect(reverse(f"{self.admin_site.name}:tasks_task_change", args=[task.pk]))

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """Show a version (simple-history's page); "Revert" restores it through tasks.restore."""
        if request.method != "POST":
            return super().history_form_view(request, object_id, version_id, extra_context)
        if not (str(object_id).isdigit() and str(version_id).isdigit()):
            raise Http404
        task = Task.objects.filter(pk=int(object_id)).first()
        if task is None:
            return self._restore_deleted(request, int(object_id))
        if not self.has_change_permission(request, task):
            raise PermissionDenied
        try:
            restore.task_restore_version(task=task, user=request.user, history_id=int(version_id))
        except (ValidationError, PermissionDenied) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, f"Nothing was restored: {text}")
        else:
            messages.success(request, f"“{task.title}” is back as it was in that version.")
        return HttpResponseRedirect(reverse(f"{self.admin_site.name}:tasks_task_change", args=[task.pk]))

    def delete_model(self, request, obj):
        with history.deletion_batch(f"task #{obj.pk}"):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with history.deletion_batch("tasks deleted in the admin"):
            super().delete_queryset(request, queryset)
