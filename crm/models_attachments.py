"""Files attached to any record (tasks now, projects and memos later).

Files live in the default storage under attachments/<yyyy>/<mm>/<random>/<name>
and are never served from a public URL: /attachments/<id>/ checks that the
reader may see the record first (crm.object_access). Deleting an attachment
(or its record) removes the stored file after commit (crm.attachments).
"""

import os
import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import SuspiciousFileOperation
from django.db import models
from django.utils import timezone
from django.utils.text import get_valid_filename


def attachment_upload_to(instance, filename):
    """attachments/2026/03/<16 random hex>/<sanitised name>: unguessable, and never outside the folder."""
    try:
        name = get_valid_filename(os.path.basename(filename.replace("\\", "/")))
    except SuspiciousFileOperation:
        name = "file"
    now = timezone.now()
    return f"attachments/{now:%Y}/{now:%m}/{secrets.token_hex(8)}/{name}"


class Attachment(models.Model):
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    file = models.FileField(upload_to=attachment_upload_to, max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    mime_type = models.CharField("content type", max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="attachments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"], name="attachment_target")]

    def __str__(self):
        return self.original_name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("activity:attachment_download", args=[self.pk])
