"""Back-office admin for memos: read them, see what they became; reminders."""

from django.contrib import admin

from .models import Memo, MemoReminder


@admin.register(Memo)
class MemoAdmin(admin.ModelAdmin):
    list_display = ["subject", "author", "recipient", "status", "sent_at", "reviewed_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["subject", "body", "=id"]
    list_select_related = ["author", "recipient"]
    readonly_fields = ["author", "recipient", "status", "sent_at", "reviewed_at", "converted_at", "converted_task",
                       "converted_project", "created_at", "updated_at"]
    fields = ["subject", "body", "author", "recipient", "status", "content_type", "object_id", "sent_at",
              "reviewed_at", "review_note", "converted_at", "converted_task", "converted_project", "created_at",
              "updated_at"]


@admin.register(MemoReminder)
class MemoReminderAdmin(admin.ModelAdmin):
    list_display = ["memo", "user", "remind_at", "sent_at"]
    list_filter = ["sent_at"]
    raw_id_fields = ["memo", "user"]
