"""Time entries in the admin, with their history (who changed what). Imported by billables/admin.py;
tasks/admin.py may import it instead."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models_time import TimeEntry


@admin.register(TimeEntry)
class TimeEntryAdmin(SimpleHistoryAdmin):
    list_display = ("started_at", "ended_at", "duration", "user", "task", "billable", "note")
    list_filter = ("billable", "started_at")
    search_fields = ("note", "task__title", "user__username")
    list_select_related = ("user", "task")
    raw_id_fields = ("task", "user")
    date_hierarchy = "started_at"
