"""Projects: tasks grouped into stages that run one after another, task dependencies, templates.

- A project has an owner, optional team and members, a status, start and due dates and an
  optional linked entity (crm.links). Its tasks point at it (tasks.Task.project) and at one
  of its stages (tasks.Task.stage), or at no stage ("outside the stages").
- Stages run in sequence (`position` 1, 2, 3 ...): the tasks of a stage run in parallel, and
  the tasks of stage N wait, blocked, until every task of every earlier stage is completed or
  cancelled (projects.gating). A task the gate put on hold has a StageHold row: that is what
  tells it from a task someone blocked by hand.
- TaskDependency: "successor is blocked by predecessor", between any two tasks (also outside
  projects). A successor cannot start or complete while a predecessor is open; loops are refused.
- Project templates: stages with task lines (inline fields or a tasks.TaskTemplate), relative
  due dates counted from the project's start date, and "depends on" links between lines.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from crm.choices import TaskType
from crm.links import EntityLinkMixin
from tasks.models_templates import validate_relative_due


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_PROJECT_STATUSES = (ProjectStatus.PLANNED, ProjectStatus.ACTIVE, ProjectStatus.ON_HOLD)


class Project(EntityLinkMixin, models.Model):
    Status = ProjectStatus

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects")
    team = models.ForeignKey("crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="projects",
                             help_text="Its members see the project; its manager may change it.")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="ProjectMember", related_name="projects",
                                     blank=True)
    status = models.CharField(max_length=16, choices=ProjectStatus.choices, default=ProjectStatus.PLANNED)
    start_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    template = models.ForeignKey("projects.ProjectTemplate", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="projects", editable=False,
                                 help_text="The template it was made from, if any.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "due_date"], name="project_status_due"),
            models.Index(fields=["owner", "status"], name="project_owner_status"),
            models.Index(fields=["content_type", "object_id"], name="project_entity"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True) | models.Q(due_date__isnull=True)
                | models.Q(due_date__gte=models.F("start_date")),
                name="project_due_not_before_start",
            ),
            models.CheckConstraint(condition=models.Q(status__in=[s.value for s in ProjectStatus]),
                                   name="project_status_valid"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("projects:detail", args=[self.pk])

    @property
    def is_open(self):
        return self.status in OPEN_PROJECT_STATUSES

    def clean(self):
        super().clean()
        errors = {}
        if self.status not in ProjectStatus.values:
            errors["status"] = f"“{self.status}” is not a project status."
        if self.start_date and self.due_date and self.due_date < self.start_date:
            errors["due_date"] = "The due date cannot be before the start date."
        if errors:
            raise ValidationError(errors)


class ProjectMember(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="unique_project_member")]
        indexes = [models.Index(fields=["user", "project"], name="projectmember_user")]
        ordering = ["added_at", "pk"]

    def __str__(self):
        return f"{self.user} in {self.project}"


class Stage(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(help_text="1 runs first; stage 2 waits for it, and so on.")
    # When its gate last opened (None: it waits for an earlier stage). Kept by projects.gating so
    # the people of its tasks are told once; whether a stage is open is always computed afresh.
    opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "position"], name="unique_stage_position"),
            models.CheckConstraint(condition=models.Q(position__gte=1), name="stage_position_positive"),
        ]

    def __str__(self):
        return f"Stage {self.position} “{self.name}”"

    def clean(self):
        super().clean()
        if not (self.name or "").strip():
            raise ValidationError({"name": "Give the stage a name."})


class StageHold(models.Model):
    """A task the stage gate put on hold: blocked until its stage opens, then back to `previous_status`."""

    task = models.OneToOneField("tasks.Task", on_delete=models.CASCADE, related_name="stage_hold")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="holds")
    previous_status = models.CharField(max_length=16, default="pending")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.task} waits for {self.stage}"


class TaskDependency(models.Model):
    """`successor` is blocked by `predecessor`: it cannot start or complete while the predecessor is open."""

    predecessor = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="dependant_links")
    successor = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="predecessor_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "task dependencies"
        constraints = [
            models.UniqueConstraint(fields=["predecessor", "successor"], name="unique_task_dependency"),
            models.CheckConstraint(condition=~models.Q(predecessor=models.F("successor")),
                                   name="task_dependency_not_self"),
        ]
        indexes = [models.Index(fields=["successor", "predecessor"], name="taskdep_successor")]

    def __str__(self):
        return f"{self.successor} is blocked by {self.predecessor}"


# ---- templates ------------------------------------------------------------------------------


class ProjectTemplate(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=20000)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_templates")
    shared_with_team = models.ForeignKey(
        "crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="shared_project_templates",
        help_text="Members of this team may use the template; empty keeps it personal.",
    )
    team = models.ForeignKey(
        "crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="project team",
        help_text="The team of the projects made from it (and of their tasks without a team of their own).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


class ProjectTemplateStage(models.Model):
    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["template", "position"]
        constraints = [models.UniqueConstraint(fields=["template", "position"], name="unique_template_stage")]

    def __str__(self):
        return f"Stage {self.position} “{self.name}”"


class ProjectTemplateTask(models.Model):
    """One task a template makes: inline fields, or a task template (its description, checklist, subtasks)."""

    stage = models.ForeignKey(ProjectTemplateStage, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    task_template = models.ForeignKey(
        "tasks.TaskTemplate", on_delete=models.SET_NULL, null=True, blank=True, related_name="project_lines",
        help_text="Description, checklist, tags and subtasks come from this task template.",
    )
    task_type = models.CharField("type", max_length=16, choices=TaskType.choices, default=TaskType.OTHER)
    relative_due = models.CharField(
        "due", max_length=20, blank=True, validators=[validate_relative_due],
        help_text="From the project's start: +2 days, +1w, +0d (the start day), +4h. Empty: no deadline.",
    )
    team = models.ForeignKey("crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    depends_on = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="dependants",
                                        help_text="Lines of the same template this task waits for.")

    class Meta:
        ordering = ["stage__position", "position", "pk"]

    def __str__(self):
        return self.title
