"""Which notifications come by email, and the emails waiting to be (or already) sent."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class NotificationPreference(models.Model):
    """One row per user and event they chose for; no row means the default (email on)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    event = models.CharField(max_length=30)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="unique_notification_preference")]
        ordering = ["user", "event"]

    def __str__(self):
        return f"{self.user}: {self.event} by email {'on' if self.email else 'off'}"


class NotificationEmail(models.Model):
    """The email for one notification. `sent_at` is claimed with a conditional update: never sent twice."""

    notification = models.OneToOneField("crm.Notification", on_delete=models.CASCADE, related_name="email")
    event = models.CharField(max_length=30)
    # What the templates need beyond the notification: the changes ({"changes": [...]}), the comment id...
    details = models.JSONField(default=dict, blank=True)
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Email for notification #{self.notification_id}"
