"""Discussion threads: comments and notes on any record (tasks now, memos and projects later).

A comment hangs on its record through content_type + object_id, not limited to
the linkable-entity registry: which models have a discussion, and who reads it,
is declared in crm.object_access. Internal notes are read only by those the
record's `can_see_internal` hook allows (for a task: staff and its team).
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Comment(models.Model):
    class Kind(models.TextChoices):
        COMMENT = "comment", "Comment"
        NOTE = "note", "Note"
        INTERNAL = "internal", "Internal note"
        OUTCOME = "outcome", "Outcome"

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="comments")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.COMMENT)
    body = models.TextField(max_length=10000)
    # The users the text @mentions who may read it (they were told); unknown names are not kept.
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"], name="comment_thread")]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.author or 'someone'}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.kind not in self.Kind.values:
            raise ValidationError({"kind": f"“{self.kind}” is not a kind of comment."})
        if not (self.body or "").strip():
            raise ValidationError({"body": "Write something first."})
