"""Reminders of tasks (per task and per user) and the log that makes daily digests go out once.

A Reminder is for one user of one task: at an absolute time, or some time before the
task's due or scheduled time (then `remind_at` is recomputed when that time moves).
`remind_at` (UTC) is when it is due to go out; the sender (tasks.reminders) claims a
due reminder with a conditional update before sending it, so it goes out once.

Status: pending → sending (claimed) → sent; failed (will be retried a few times);
dropped (the task was completed or cancelled, or the recipient can no longer see it).
"""

from django.conf import settings
from django.db import models


class ReminderKind(models.TextChoices):
    ABSOLUTE = "absolute", "At a time"
    RELATIVE_DUE = "relative_due", "Before the due time"
    RELATIVE_SCHEDULED = "relative_scheduled", "Before the scheduled time"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    DROPPED = "dropped", "Dropped"


class Reminder(models.Model):
    Kind = ReminderKind
    Status = ReminderStatus

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_reminders")
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    offset = models.DurationField(null=True, blank=True, help_text="How long before the due/scheduled time.")
    at = models.DateTimeField(null=True, blank=True, help_text="The time of an absolute reminder.")
    # Added "for everyone on the task" (assignee and participants) rather than for one person.
    for_all = models.BooleanField(default=False)
    remind_at = models.DateTimeField(null=True, blank=True, help_text="When it is due to go out (UTC).")
    snoozed_until = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the in-app notification was made.")
    sent_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(default=False, help_text="Sent more than a few minutes after it was due.")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [models.F("remind_at").asc(nulls_last=True), "pk"]
        indexes = [
            models.Index(fields=["status", "remind_at"], name="reminder_status_due"),
            models.Index(fields=["task", "status"], name="reminder_task_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=[s.value for s in ReminderStatus]),
                                   name="reminder_status_valid"),
            models.CheckConstraint(
                condition=models.Q(kind="absolute", at__isnull=False)
                | models.Q(kind__in=["relative_due", "relative_scheduled"], offset__isnull=False),
                name="reminder_kind_fields"),
        ]

    def __str__(self):
        return f"Reminder for {self.user} on task #{self.task_id}"

    def describe(self):
        """"1 hour before due", "15 minutes before scheduled", or "at <time>" (the caller formats times)."""
        if self.kind == ReminderKind.ABSOLUTE:
            return "at a set time"
        anchor = "due" if self.kind == ReminderKind.RELATIVE_DUE else "scheduled time"
        return f"{offset_words(self.offset)} before {anchor}"


def offset_words(delta):
    minutes = int(delta.total_seconds() // 60)
    if minutes == 0:
        return "0 minutes"
    for size, unit in ((7 * 1440, "week"), (1440, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0:
            n = minutes // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{minutes} minutes"


class DigestStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    EMPTY = "empty", "Nothing to say"
    FAILED = "failed", "Failed"


class DigestLog(models.Model):
    """One row per user and local date: claimed before the daily digest is sent, so it goes out once."""

    Status = DigestStatus

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    status = models.CharField(max_length=10, choices=DigestStatus.choices, default=DigestStatus.SENDING)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    task_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=1)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-local_date", "user_id"]
        constraints = [models.UniqueConstraint(fields=["user", "local_date"], name="digest_once_per_user_day")]

    def __str__(self):
        return f"Digest for {self.user} on {self.local_date}: {self.status}"
