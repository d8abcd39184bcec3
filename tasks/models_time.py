"""Time entries: time spent on a task, from a running timer or typed in by hand.

A running timer is an entry without `ended_at`. The database allows at most
one per user (a partial unique index), so two simultaneous starts can never
leave two timers running. A stopped entry always has `ended_at` and its
`duration` (= ended_at - started_at); sums and reports read `duration`.
Changes are kept by django-simple-history ("edited by X at Y, was ...").
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

# A running timer is flagged (probably forgotten) once it runs past the user's local
# midnight or for longer than this.
FLAG_AFTER = timedelta(hours=10)


class TimeEntry(models.Model):
    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="time_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_entries")
    started_at = models.DateTimeField("start")
    ended_at = models.DateTimeField("end", null=True, blank=True, help_text="Empty while the timer runs.")
    duration = models.DurationField(null=True, blank=True, help_text="Set when the timer stops, or typed in.")
    # False for an entry typed in as a duration alone: it has a date but no clock times
    # (started_at is the local midnight of that date, ended_at = started_at + duration).
    has_clock_times = models.BooleanField(default=True, editable=False)
    note = models.CharField(max_length=500, blank=True)
    billable = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name_plural = "time entries"
        indexes = [
            models.Index(fields=["task", "started_at"], name="time_entry_task_start"),
            models.Index(fields=["user", "started_at"], name="time_entry_user_start"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(ended_at__isnull=True), name="one_running_timer_per_user",
                violation_error_message="You already have a timer running.",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="time_entry_end_not_before_start",
                violation_error_message="The end cannot be before the start.",
            ),
            models.CheckConstraint(
                condition=models.Q(duration__isnull=True) | models.Q(duration__gte=timedelta(0)),
                name="time_entry_duration_not_negative",
                violation_error_message="The duration cannot be negative.",
            ),
        ]

    def __str__(self):
        return f"{self.user} on {self.task_id}: {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_running(self):
        return self.ended_at is None

    def elapsed(self, now=None):
        """The duration so far (running) or the recorded duration (stopped)."""
        if self.ended_at is None:
            return max((now or timezone.now()) - self.started_at, timedelta(0))
        return self.duration if self.duration is not None else self.ended_at - self.started_at

    def is_flagged(self, now=None, tz=None):
        """A running timer that started before the user's local midnight or runs longer than FLAG_AFTER."""
        if self.ended_at is not None:
            return False
        now = now or timezone.now()
        tz = tz or timezone.get_current_timezone()
        local_midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        return self.started_at < local_midnight or now - self.started_at > FLAG_AFTER

    def clean(self):
        super().clean()
        errors = {}
        if self.ended_at is not None and self.started_at is not None and self.ended_at < self.started_at:
            errors["ended_at"] = "The end cannot be before the start."
        if self.duration is not None and self.duration < timedelta(0):
            errors["duration"] = "The duration cannot be negative."
        if errors:
            raise ValidationError(errors)
