"""Admin for comments, attachments and notification emails/preferences (imported by crm/admin.py)."""

from django.contrib import admin

from .models import Attachment, Comment, NotificationEmail, NotificationPreference


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "content_type", "object_id", "kind", "created_at", "edited_at"]
    list_filter = ["kind", "content_type"]
    search_fields = ["body", "author__username"]
    raw_id_fields = ["author", "mentions"]
    list_select_related = ["author", "content_type"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Deleting one here also deletes its stored file (crm.attachments). Files are read through the site."""

    list_display = ["original_name", "content_type", "object_id", "size", "mime_type", "uploaded_by", "created_at"]
    list_filter = ["mime_type", "content_type"]
    search_fields = ["original_name", "uploaded_by__username"]
    readonly_fields = ["content_type", "object_id", "file", "original_name", "size", "mime_type", "uploaded_by",
                       "created_at"]
    list_select_related = ["uploaded_by", "content_type"]

    def has_add_permission(self, request):
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "email"]
    list_filter = ["event", "email"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]


@admin.register(NotificationEmail)
class NotificationEmailAdmin(admin.ModelAdmin):
    """Emails of notifications: when sent, how many attempts, the last error."""

    list_display = ["notification", "event", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = ["event", "sent_at"]
    readonly_fields = ["notification", "event", "details", "target_type", "target_id", "created_at", "sent_at",
                       "attempts", "last_error"]
    list_select_related = ["notification"]

    def has_add_permission(self, request):
        return False
