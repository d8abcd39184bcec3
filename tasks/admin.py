"""Back-office admin for tasks, built to stay fast at 100k tasks.

Foreign keys use raw-id or autocomplete widgets (no select with every task or
user), the change list joins its related rows in one query and skips the full
count. Saving goes through tasks.services like every other write, so the
derived columns (tree path, version, completed_at) and the rules stay right;
status moves are admin actions that call the same service as the pages.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from . import services
from .history_admin import TaskHistoryAdmin
from .models import ChecklistItem, Participant, Task, TaskStatus


class SubtaskInline(admin.TabularInline):
    model = Task
    fk_name = "parent"
    fields = ["title", "task_type", "priority", "status", "assignee", "due_at"]
    readonly_fields = ["status"]
    raw_id_fields = ["assignee"]
    extra = 0
    show_change_link = True
    verbose_name = "subtask"
    verbose_name_plural = "subtasks"


class ChecklistInline(admin.TabularInline):
    model = ChecklistItem
    fields = ["position", "text", "is_done", "done_at", "done_by"]
    readonly_fields = ["done_at", "done_by"]
    extra = 0


class ParticipantInline(admin.TabularInline):
    model = Participant
    fields = ["user", "role", "added_at"]
    readonly_fields = ["added_at"]
    autocomplete_fields = ["user"]
    extra = 0


class TaskAdminForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = "__all__"

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        task = self.instance
        if parent is not None and task.pk and (
                parent.pk == task.pk or f"/{task.pk}/" in f"{parent.tree_path}{parent.pk}/"):
            raise ValidationError("A task cannot be moved under itself or one of its own subtasks.")
        return parent


def _set_status(modeladmin, request, queryset, status, label):
    try:
        result = services.tasks_bulk(user=request.user, task_ids=list(queryset.values_list("pk", flat=True)),
                                     action="status", value=status)
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        modeladmin.message_user(request, text, level=messages.ERROR)
        return
    modeladmin.message_user(request, f"{result.changed} task(s) {label}.", level=messages.SUCCESS)


@admin.action(description="Mark selected tasks in progress")
def mark_in_progress(modeladmin, request, queryset):
    _set_status(modeladmin, request, queryset, TaskStatus.IN_PROGRESS, "started")


@admin.action(description="Mark selected tasks completed")
def mark_completed(modeladmin, request, queryset):
    _set_status(modeladmin, request, queryset, TaskStatus.COMPLETED, "completed")


@admin.action(description="Cancel selected tasks")
def mark_cancelled(modeladmin, request, queryset):
    _set_status(modeladmin, request, queryset, TaskStatus.CANCELLED, "cancelled")


@admin.action(description="Reopen selected tasks")
def reopen(modeladmin, request, queryset):
    _set_status(modeladmin, request, queryset, TaskStatus.PENDING, "reopened")


@admin.register(Task)
class TaskAdmin(TaskHistoryAdmin):  # History pages; revert/restore through tasks.restore
    form = TaskAdminForm
    list_display = ["title", "status", "priority", "task_type", "due_at", "assignee", "team", "linked_to",
                    "created_at"]
    list_filter = ["status", "priority", "task_type", "all_day", "team", "content_type"]
    search_fields = ["title", "description", "outcome", "=id"]
    list_select_related = ["assignee", "team", "content_type"]
    raw_id_fields = ["parent"]
    autocomplete_fields = ["assignee", "team"]
    readonly_fields = ["status", "created_by", "tree_path", "former_link", "completed_at", "status_changed_at",
                       "version", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "description", "task_type", "priority", "status", "outcome", "tags"]}),
        ("Dates", {"fields": ["begin_at", "due_at", "all_day", "scheduled_at", "expected_duration", "location"]}),
        ("People and structure", {"fields": ["assignee", "team", "created_by", "parent"]}),
        ("Linked entity", {"fields": ["content_type", "object_id", "former_link"]}),
        ("Record", {"classes": ["collapse"], "fields": ["tree_path", "version", "completed_at", "status_changed_at",
                                                         "created_at", "updated_at"]}),
    ]
    inlines = [SubtaskInline, ChecklistInline, ParticipantInline]
    actions = [mark_in_progress, mark_completed, mark_cancelled, reopen]
    ordering = ["-pk"]
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description="Linked to", ordering="content_type")
    def linked_to(self, obj):
        # Type and id only: resolving each entity would cost a query per row.
        if obj.content_type_id is None:
            return "—"
        return f"{obj.content_type.name} #{obj.object_id}"

    def _editable_values(self, obj):
        return {name: getattr(obj, name) for name in services.EDITABLE_FIELDS if name != "title"}

    def save_model(self, request, obj, form, change):
        if not change:
            task = services.task_create(created_by=request.user, title=obj.title, **self._editable_values(obj))
        else:
            current = Task.objects.get(pk=obj.pk)
            task = services.task_update(task=current, user=request.user, version=current.version,
                                        data={"title": obj.title, **self._editable_values(obj)}, notify_assignee=True)
        # The admin saves tags and inlines against `obj`: give it the saved row's identity and derived columns.
        for name in ("pk", "tree_path", "version", "created_by_id", "status", "status_changed_at", "created_at",
                     "updated_at"):
            setattr(obj, name, getattr(task, name))
        obj._state.adding = False
        obj._state.db = task._state.db

    def save_formset(self, request, form, formset, change):
        if formset.model is Task:
            self._save_subtasks(request, form.instance, formset)
            return
        instances = formset.save(commit=False)
        for item in formset.deleted_objects:
            item.delete()
        for item in instances:
            if isinstance(item, ChecklistItem):
                if item.is_done and item.done_at is None:
                    item.done_at, item.done_by = timezone.now(), request.user
                elif not item.is_done:
                    item.done_at, item.done_by = None, None
            item.save()
        formset.save_m2m()

    def _save_subtasks(self, request, parent, formset):
        instances = formset.save(commit=False)
        for child in formset.deleted_objects:
            services.task_delete(task=child, user=request.user)
        for child in instances:
            values = {"task_type": child.task_type, "priority": child.priority, "assignee": child.assignee,
                      "due_at": child.due_at}
            if child.pk is None:
                services.task_create(created_by=request.user, title=child.title, parent=parent, team=parent.team,
                                     **values)
            else:
                current = Task.objects.get(pk=child.pk)
                services.task_update(task=current, user=request.user, version=current.version,
                                     data={"title": child.title, **values})


from . import admin_automation  # noqa: E402,F401  (templates, automation rules and runs)
from . import admin_time  # noqa: E402,F401  (time entries)
from . import admin_feeds  # noqa: E402,F401  (calendar feed tokens, CSV imports)
from . import admin_recurrence  # noqa: E402,F401  (repeating series, reminders)
