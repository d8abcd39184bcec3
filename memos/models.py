"""Office memos: written by one person to a department head or manager (or to themself),
reviewed by the recipient and turned into action (a task or a project).

Status: draft → sent → reviewed / postponed → converted. A converted memo links to
what it became (`converted_task` or `converted_project`); those link back through the
reverse accessor `source_memo` (task.source_memo, project.source_memo).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from crm.links import EntityLinkMixin


class MemoStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    REVIEWED = "reviewed", "Reviewed"
    POSTPONED = "postponed", "Postponed"
    CONVERTED = "converted", "Converted"


# Statuses in which the recipient can still act on a memo (review, postpone, convert).
ACTIONABLE_STATUSES = (MemoStatus.SENT, MemoStatus.REVIEWED, MemoStatus.POSTPONED)


class Memo(EntityLinkMixin, models.Model):
    Status = MemoStatus

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memos_written")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memos_received",
                                  help_text="A department head or manager, or yourself.")
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=20000)
    status = models.CharField(max_length=16, choices=MemoStatus.choices, default=MemoStatus.DRAFT)
    sent_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, max_length=5000)
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_task = models.OneToOneField("tasks.Task", on_delete=models.SET_NULL, null=True, blank=True,
                                          related_name="source_memo", editable=False)
    converted_project = models.OneToOneField("projects.Project", on_delete=models.SET_NULL, null=True, blank=True,
                                             related_name="source_memo", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "status", "created_at"], name="memo_recipient_status"),
            models.Index(fields=["author", "status", "created_at"], name="memo_author_status"),
            models.Index(fields=["content_type", "object_id"], name="memo_entity"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=[s.value for s in MemoStatus]),
                                   name="memo_status_valid"),
            models.CheckConstraint(
                condition=models.Q(converted_task__isnull=True) | models.Q(converted_project__isnull=True),
                name="memo_converted_once",
            ),
        ]

    def __str__(self):
        return self.subject

    def get_absolute_url(self):
        return reverse("memos:detail", args=[self.pk])

    def clean(self):
        super().clean()
        errors = {}
        if self.status not in MemoStatus.values:
            errors["status"] = f"“{self.status}” is not a memo status."
        if not (self.subject or "").strip():
            errors["subject"] = "Give the memo a subject."
        if not (self.body or "").strip():
            errors["body"] = "Write what the memo is about."
        if errors:
            raise ValidationError(errors)


class MemoReminder(models.Model):
    """"Remind me about this memo" at a time: the author or the recipient is told once (memos.jobs)."""

    memo = models.ForeignKey(Memo, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memo_reminders")
    remind_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    # Claimed with a conditional update before the notification is made: sent once, even by two runs.
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["remind_at", "pk"]
        indexes = [models.Index(fields=["sent_at", "remind_at"], name="memoreminder_due")]

    def __str__(self):
        return f"Remind {self.user} about {self.memo} at {self.remind_at:%Y-%m-%d %H:%M}"
