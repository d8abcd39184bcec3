"""Task templates: the fields, checklist and subtasks of a task made again and again.

A template is personal (`shared_with_team` empty) or shared with a team, whose
members may use it. Its due date is relative ("+2 days", "+3h", "+1w", "+0d"):
minutes and hours give a deadline at that moment from now, days and weeks an
all-day deadline on that calendar day (in the user's time zone), so "+0d" means
"today" and "+1w" "a week from today".
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from crm.choices import Priority, TaskType

# ---- relative due dates ------------------------------------------------------------------

_RELATIVE_RE = re.compile(r"^\+\s*(\d{1,5})\s*([a-z]+)$")
_UNITS = {
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "wk": "weeks", "wks": "weeks", "week": "weeks", "weeks": "weeks",
}
MAX_RELATIVE = timedelta(days=3660)  # ten years


@dataclass(frozen=True)
class RelativeDue:
    amount: int
    unit: str  # minutes, hours, days or weeks

    @property
    def delta(self):
        return timedelta(**{self.unit: self.amount})

    @property
    def all_day(self):
        return self.unit in ("days", "weeks")

    def __str__(self):
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"+{self.amount} {unit}"


def parse_relative_due(text):
    """"+2 days" -> RelativeDue(2, "days"); "" -> None. Anything else is refused with a readable error."""
    value = (text or "").strip().lower()
    if not value:
        return None
    match = _RELATIVE_RE.match(value)
    unit = _UNITS.get(match.group(2)) if match else None
    if unit is None:
        raise ValidationError(
            f"“{text}” is not a relative due date. Write a plus sign, a number and a unit, "
            "for example +30m, +3h, +2 days, +1w or +0d.", code="invalid_relative_due",
        )
    relative = RelativeDue(int(match.group(1)), unit)
    if relative.delta > MAX_RELATIVE:
        raise ValidationError(f"“{text}” is too far ahead: at most ten years.", code="relative_due_too_far")
    return relative


def validate_relative_due(value):
    parse_relative_due(value)


# ---- models ------------------------------------------------------------------------------


class TaskTemplate(models.Model):
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_templates")
    shared_with_team = models.ForeignKey(
        "crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="shared_task_templates",
        help_text="Members of this team may use the template; empty keeps it personal.",
    )
    title = models.CharField("task title", max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    task_type = models.CharField("type", max_length=16, choices=TaskType.choices, default=TaskType.OTHER)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    expected_duration = models.DurationField(null=True, blank=True)
    location = models.CharField(max_length=255, blank=True)
    team = models.ForeignKey(
        "crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="default team",
        help_text="New tasks go to this team's queue (and its distribution) unless assigned.",
    )
    relative_due = models.CharField(
        "due", max_length=20, blank=True, validators=[validate_relative_due],
        help_text="Relative to when the task is made: +30m, +3h, +2 days, +1w, +0d (today). Empty: no deadline.",
    )
    tags = models.CharField(max_length=300, blank=True, help_text="Comma-separated.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["owner", "name"], name="tasktemplate_owner_name")]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.expected_duration is not None and self.expected_duration.total_seconds() < 0:
            raise ValidationError({"expected_duration": "The expected duration cannot be negative."})

    @property
    def is_shared(self):
        return self.shared_with_team_id is not None

    def tag_list(self):
        from taggit.utils import parse_tags

        return parse_tags(self.tags)


class TaskTemplateChecklistItem(models.Model):
    template = models.ForeignKey(TaskTemplate, on_delete=models.CASCADE, related_name="checklist_items")
    text = models.CharField(max_length=300)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.text


class TaskTemplateSubtask(models.Model):
    template = models.ForeignKey(TaskTemplate, on_delete=models.CASCADE, related_name="subtasks")
    title = models.CharField(max_length=200)
    task_type = models.CharField("type", max_length=16, choices=TaskType.choices, default=TaskType.OTHER)
    relative_due = models.CharField("due", max_length=20, blank=True, validators=[validate_relative_due])
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title
