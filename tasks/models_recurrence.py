"""Repeating tasks: a series holds the rule and the template; its instances are ordinary tasks.

A TaskSeries keeps the fields every instance gets (title, type, assignee or team,
linked entity, checklist, participants, reminders...) and the schedule: an RFC 5545
pattern (tasks.rrules), the first occurrence as a local date or naive local date and
time, the IANA time zone it is kept in, its end (a date or a number of occurrences),
dates to skip and the month-end policy. Instances are tasks.Task rows with `series`
and `occurrence` set; (series, occurrence) is unique in the database, which is what
makes generation safe to run twice at once (tasks.recurrence).
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from crm.choices import Priority, TaskType
from crm.links import EntityLinkMixin

from . import rrules


def default_horizon_days():
    return settings.RECURRENCE_HORIZON_DAYS


class SeriesStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"  # the rule has no further occurrence (count or end date reached)
    CANCELLED = "cancelled", "Stopped"


class MonthEnd(models.TextChoices):
    SKIP = rrules.MONTH_END_SKIP, "Skip months without that day (RFC 5545)"
    LAST_DAY = rrules.MONTH_END_LAST_DAY, "Use the last day of shorter months"


class TaskSeries(EntityLinkMixin, models.Model):
    Status = SeriesStatus

    # ---- template: what every instance gets ----
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    task_type = models.CharField("type", max_length=16, choices=TaskType.choices, default=TaskType.OTHER)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    expected_duration = models.DurationField(null=True, blank=True)
    location = models.CharField(max_length=255, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    team = models.ForeignKey("crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    parent = models.ForeignKey("tasks.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                               verbose_name="parent task")
    # When the instance begins / is scheduled, relative to its occurrence, in local wall time.
    begin_offset = models.DurationField(null=True, blank=True)
    scheduled_offset = models.DurationField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    checklist = models.JSONField(default=list, blank=True)  # ["item text", ...]
    participants = models.JSONField(default=list, blank=True)  # [[user id, role], ...]
    # [{"kind": "relative_due", "offset_minutes": 60, "for_all": true, "user_id": null}, ...]
    reminders = models.JSONField(default=list, blank=True)

    # ---- schedule ----
    rrule = models.CharField("rule", max_length=rrules.MAX_RULE_LENGTH,
                             help_text="RFC 5545 RRULE without DTSTART, UNTIL and COUNT.")
    start_date = models.DateField(help_text="The first occurrence's local date.")
    start_time = models.TimeField(null=True, blank=True, help_text="Local time of day; empty for all-day tasks.")
    all_day = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64, validators=[rrules.validate_time_zone_name])
    until = models.DateField(null=True, blank=True, help_text="Last local date an occurrence may fall on.")
    count = models.PositiveIntegerField(null=True, blank=True, help_text="Number of occurrences in all.")
    exdates = models.JSONField("skipped dates", default=list, blank=True)  # ["2025-12-25", ...] local dates
    month_end_policy = models.CharField(max_length=10, choices=MonthEnd.choices, default=MonthEnd.SKIP)
    horizon_days = models.PositiveSmallIntegerField(default=default_horizon_days)

    # ---- state ----
    status = models.CharField(max_length=10, choices=SeriesStatus.choices, default=SeriesStatus.ACTIVE)
    # Every occurrence with a key up to this moment has been considered (created, or
    # deliberately not). UTC; all-day keys are dates at 00:00 UTC.
    generated_until = models.DateTimeField(null=True, blank=True)
    previous = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 help_text="The series this one was split from.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")

    class Meta:
        verbose_name = "task series"
        verbose_name_plural = "task series"
        ordering = ["pk"]
        indexes = [models.Index(fields=["status", "generated_until"], name="series_status_generated")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=[s.value for s in SeriesStatus]),
                                   name="series_status_valid"),
            models.CheckConstraint(condition=models.Q(until__isnull=True) | models.Q(count__isnull=True),
                                   name="series_until_or_count"),
            models.CheckConstraint(
                condition=models.Q(all_day=True, start_time__isnull=True)
                | models.Q(all_day=False, start_time__isnull=False),
                name="series_start_time_iff_timed"),
        ]

    def __str__(self):
        return f"{self.title} ({self.describe()})"

    @property
    def is_active(self):
        return self.status == SeriesStatus.ACTIVE

    def schedule(self):
        start = self.start_date if self.all_day else datetime.combine(self.start_date, self.start_time)
        return rrules.Schedule(
            pattern=self.rrule, start=start, time_zone=self.time_zone, until=self.until, count=self.count,
            exdates=tuple(sorted(date.fromisoformat(d) for d in self.exdates)), month_end=self.month_end_policy,
        )

    def set_schedule(self, schedule):
        self.rrule = schedule.pattern
        self.all_day = schedule.all_day
        self.start_date = schedule.start if schedule.all_day else schedule.start.date()
        self.start_time = None if schedule.all_day else schedule.start.time()
        self.time_zone = schedule.time_zone
        self.until = schedule.until
        self.count = schedule.count
        self.exdates = [d.isoformat() for d in sorted(set(schedule.exdates))]
        self.month_end_policy = schedule.month_end

    def describe(self):
        try:
            return rrules.describe(self.schedule())
        except (ValueError, KeyError, ValidationError):
            return self.rrule

    def clean(self):
        super().clean()
        if self.horizon_days is not None and not 1 <= self.horizon_days <= 366:
            raise ValidationError({"horizon_days": "The horizon must be from 1 to 366 days."})
        if not isinstance(self.exdates, list) or not all(isinstance(d, str) for d in self.exdates):
            raise ValidationError({"exdates": "Skipped dates must be a list of dates."})
        try:
            for d in self.exdates:
                date.fromisoformat(d)
        except ValueError:
            raise ValidationError({"exdates": "Skipped dates must be written YYYY-MM-DD."}) from None
        if not self.start_date or (not self.all_day and self.start_time is None):
            raise ValidationError({"start_date": "A series needs its first occurrence's date (and time)."})
        self.schedule().validate()


class DetachedInstance(models.Model):
    """An instance edited on its own ("this occurrence only"): series-wide edits leave it alone."""

    task = models.OneToOneField("tasks.Task", on_delete=models.CASCADE, primary_key=True, related_name="detached")
    series = models.ForeignKey(TaskSeries, on_delete=models.CASCADE, related_name="detached_instances")
    detached_at = models.DateTimeField(auto_now_add=True)
    detached_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")

    def __str__(self):
        return f"Task #{self.task_id} detached from series #{self.series_id}"


def minutes(delta):
    return None if delta is None else int(delta / timedelta(minutes=1))
