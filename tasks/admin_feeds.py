"""Admin for calendar feed tokens and CSV import previews."""

from django.contrib import admin

from .models import CalendarFeedToken, TaskImport


@admin.register(CalendarFeedToken)
class CalendarFeedTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
    # The token itself is never shown: only its holder may see the feed address.
    exclude = ["token", "digest"]
    readonly_fields = ["created_at", "revoked_at"]

    def has_add_permission(self, request):
        return False


@admin.register(TaskImport)
class TaskImportAdmin(admin.ModelAdmin):
    list_display = ["pk", "user", "filename", "created_at", "status", "row_count", "invalid_count"]
    list_filter = ["status"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    exclude = ["rows"]

    def has_add_permission(self, request):
        return False
