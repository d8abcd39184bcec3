"""Admin for repeating-task series and reminders (back-office views; changes go through the pages)."""

from django.contrib import admin

from .models_recurrence import TaskSeries
from .models_reminders import Reminder


@admin.register(TaskSeries)
class TaskSeriesAdmin(admin.ModelAdmin):
    list_display = ["pk", "title", "status", "time_zone", "created_by"]
    list_filter = ["status", "time_zone"]
    search_fields = ["title"]
    raw_id_fields = ["created_by"]
    list_select_related = ["created_by"]

    def get_readonly_fields(self, request, obj=None):
        # The rule, its start and what was generated are changed through the task's edit page,
        # which asks "this occurrence, this and following, or all".
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["pk", "task", "user", "kind", "remind_at", "status", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["task__title", "user__username"]
    raw_id_fields = ["task", "user"]
    list_select_related = ["task", "user"]
    date_hierarchy = "remind_at"
