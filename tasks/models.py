"""Tasks: the record, its participants and checklist.

Dates are stored in UTC. A task is "all day" when its deadline is a date alone:
then `due_at` holds that calendar date at 00:00 UTC and `all_day` is true, so
the date never shifts for readers east or west of UTC (display and filters use
the date part, never a converted time). "Overdue" is computed (open and past
due), never stored.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords
from taggit.managers import TaggableManager

from crm.choices import PRIORITY_RANK, Priority, TaskType
from crm.history import TagsHistoryMixin
from crm.links import EntityLinkMixin


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING = "waiting", "Waiting"
    BLOCKED = "blocked", "Blocked"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


def subtree_q(prefix, field="tree_path"):
    """Rows whose path starts with `prefix` (which ends in "/"), as an index-friendly range.

    "/12/" <= path < "/120": "0" is the character after "/", so the range holds
    exactly the paths that start with "/12/". A LIKE with a computed pattern
    cannot use the index; this range can, on SQLite and PostgreSQL alike.
    """
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix[:-1] + "0"})


OPEN_STATUSES = (TaskStatus.PENDING, TaskStatus.IN_PROGRESS, TaskStatus.WAITING, TaskStatus.BLOCKED)
CLOSED_STATUSES = (TaskStatus.COMPLETED, TaskStatus.CANCELLED)


class Task(EntityLinkMixin, models.Model):
    Status = TaskStatus
    Type = TaskType
    Priority = Priority

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    task_type = models.CharField("type", max_length=16, choices=TaskType.choices, default=TaskType.OTHER)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    # Derived from priority so lists can sort by urgency with an index.
    priority_rank = models.PositiveSmallIntegerField(default=PRIORITY_RANK["medium"], editable=False)

    begin_at = models.DateTimeField("begins", null=True, blank=True)
    due_at = models.DateTimeField("due", null=True, blank=True)
    all_day = models.BooleanField(default=False, help_text="The deadline is a date without a time.")
    scheduled_at = models.DateTimeField("scheduled", null=True, blank=True)
    expected_duration = models.DurationField(null=True, blank=True)
    location = models.CharField(max_length=255, blank=True)
    outcome = models.TextField(blank=True, max_length=10000)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_tasks"
    )
    team = models.ForeignKey("crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="created_tasks"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children", verbose_name="parent task"
    )
    # Materialised path of ancestor ids, e.g. "/12/45/" for a task whose parent is 45 under 12.
    # Lets a whole subtree be read with one indexed prefix query.
    tree_path = models.CharField(max_length=1000, default="/", editable=False, db_index=True)
    # When a linked entity is deleted and the task kept, this says what it was linked to.
    former_link = models.CharField(max_length=300, blank=True, editable=False)
    # The project the task belongs to and the stage it runs in (projects app). Tasks of a
    # stage wait until every task of the earlier stages is closed (projects.gating). Set
    # through projects.services only; deleting a project or stage keeps its tasks.
    project = models.ForeignKey("projects.Project", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="tasks", editable=False)
    stage = models.ForeignKey("projects.Stage", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="tasks", editable=False)

    tags = TaggableManager(blank=True)

    completed_at = models.DateTimeField(null=True, blank=True)
    # Status changes feed "time in status" reports and bottleneck detection.
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Optimistic lock: every save through the services bumps it; a stale edit is refused.
    version = models.PositiveIntegerField(default=1, editable=False)
    # An instance of a repeating task (tasks.models_recurrence): its series and which
    # occurrence it is (UTC instant of the local occurrence, or the date at 00:00 UTC for
    # all-day series). Unique together: generating twice never makes an occurrence twice.
    series = models.ForeignKey("tasks.TaskSeries", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="instances", editable=False)
    occurrence = models.DateTimeField(null=True, blank=True, editable=False)
    # Who changed what and when (crm.history); the tag names are kept with each record.
    history = HistoricalRecords(bases=[TagsHistoryMixin])

    class Meta:
        ordering = [models.F("due_at").asc(nulls_last=True), "-priority_rank", "pk"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="task_status_due"),
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_status_due"),
            models.Index(fields=["team", "status", "due_at"], name="task_team_status_due"),
            models.Index(fields=["content_type", "object_id", "status"], name="task_entity_status"),
            models.Index(fields=["created_by", "status"], name="task_creator_status"),
            models.Index(fields=["status", "priority_rank"], name="task_status_priority"),
            models.Index(fields=["status", "scheduled_at"], name="task_status_scheduled"),
            models.Index(fields=["created_at"], name="task_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(begin_at__isnull=True) | models.Q(due_at__isnull=True)
                | models.Q(due_at__gte=models.F("begin_at")) | models.Q(all_day=True),
                name="task_due_not_before_begin",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in TaskStatus]), name="task_status_valid"
            ),
            models.UniqueConstraint(fields=["series", "occurrence"], name="task_unique_series_occurrence"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("tasks:detail", args=[self.pk])

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    def is_overdue(self, now=None):
        from .dates import is_overdue

        return is_overdue(self, now=now)

    @property
    def depth(self):
        return self.tree_path.count("/") - 1

    def ancestor_ids(self):
        return [int(p) for p in self.tree_path.strip("/").split("/") if p]

    def subtree_prefix(self):
        return f"{self.tree_path}{self.pk}/"

    def clean(self):
        super().clean()
        errors = {}
        if self.task_type not in TaskType.values:
            errors["task_type"] = f"“{self.task_type}” is not a task type."
        if self.status not in TaskStatus.values:
            errors["status"] = f"“{self.status}” is not a task status."
        if self.priority not in Priority.values:
            errors["priority"] = f"“{self.priority}” is not a priority."
        if self.begin_at and self.due_at:
            if self.all_day:
                # An all-day deadline is a calendar date: compare it with the day the task begins,
                # as the person editing it sees that day.
                from datetime import timezone as dt_timezone

                from django.utils import timezone

                refused = self.due_at.astimezone(dt_timezone.utc).date() < timezone.localtime(self.begin_at).date()
            else:
                refused = self.due_at < self.begin_at
            if refused:
                errors["due_at"] = "The due date cannot be before the begin date."
        if self.expected_duration is not None and self.expected_duration.total_seconds() < 0:
            errors["expected_duration"] = "The expected duration cannot be negative."
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        # Keep the sortable rank in step with the priority (a derived column, not a rule).
        self.priority_rank = PRIORITY_RANK.get(self.priority, PRIORITY_RANK["medium"])
        super().save(*args, **kwargs)


class Participant(models.Model):
    class Role(models.TextChoices):
        SUBSCRIBER = "subscriber", "Subscriber (informed)"
        CO_WORKER = "co_worker", "Co-worker"
        REVIEWER = "reviewer", "Reviewer"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_participations")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SUBSCRIBER)
    added_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="unique_task_participant")]
        indexes = [models.Index(fields=["user", "task"], name="participant_user_task")]
        ordering = ["added_at"]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}) on {self.task}"


class ChecklistItem(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="checklist")
    text = models.CharField(max_length=300)
    position = models.PositiveIntegerField(default=0)
    is_done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.text


from .models_feeds import CalendarFeedToken  # noqa: E402,F401
from .models_imports import TaskImport  # noqa: E402,F401
from .models_templates import TaskTemplate, TaskTemplateChecklistItem, TaskTemplateSubtask  # noqa: E402,F401
from .models_automation import AutomationRule, AutomationRun  # noqa: E402,F401
from .models_time import TimeEntry  # noqa: E402,F401
from .models_recurrence import DetachedInstance, TaskSeries  # noqa: E402,F401
from .models_reminders import DigestLog, Reminder  # noqa: E402,F401
