"""Automation rules ("when this happens, do that") and the log of what they did.

A rule has one trigger, optional conditions on the triggering record's fields
(`conditions`: field -> list of accepted values, all must hold) and one action
with its parameters. Every time a rule acts on an event an AutomationRun row is
written first; its (rule, event_key) is unique, so a rule acts at most once per
event however often the event's job runs. See tasks/automation.py for the flow.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from crm.choices import Priority, TaskType
from crm.models import Opportunity, Ticket


class Trigger(models.TextChoices):
    INDIVIDUAL_CREATED = "individual_created", "An individual is created"
    ORGANIZATION_CREATED = "organization_created", "An organization is created"
    TICKET_CREATED = "ticket_created", "A ticket is created"
    OPPORTUNITY_CREATED = "opportunity_created", "An opportunity is created"
    OPPORTUNITY_STAGE_CHANGED = "opportunity_stage_changed", "An opportunity changes stage"
    TICKET_STATUS_CHANGED = "ticket_status_changed", "A ticket changes status"
    TASK_COMPLETED = "task_completed", "A task is completed"
    TASK_OVERDUE = "task_overdue", "A task becomes overdue"


TASK_TRIGGERS = (Trigger.TASK_COMPLETED, Trigger.TASK_OVERDUE)

# The record each trigger is about (app_label.model).
TRIGGER_MODELS = {
    Trigger.INDIVIDUAL_CREATED: "crm.individual",
    Trigger.ORGANIZATION_CREATED: "crm.organization",
    Trigger.TICKET_CREATED: "crm.ticket",
    Trigger.OPPORTUNITY_CREATED: "crm.opportunity",
    Trigger.OPPORTUNITY_STAGE_CHANGED: "crm.opportunity",
    Trigger.TICKET_STATUS_CHANGED: "crm.ticket",
    Trigger.TASK_COMPLETED: "tasks.task",
    Trigger.TASK_OVERDUE: "tasks.task",
}

# Condition fields: name -> (label, choices).
CONDITION_FIELDS = {
    "task_type": ("Task type", TaskType.choices),
    "priority": ("Priority", Priority.choices),
    "status": ("Ticket status", Ticket.Status.choices),
    "previous_status": ("Previous ticket status", Ticket.Status.choices),
    "stage": ("Opportunity stage", Opportunity.Stage.choices),
    "previous_stage": ("Previous opportunity stage", Opportunity.Stage.choices),
}

# Which condition fields apply to each trigger.
TRIGGER_CONDITIONS = {
    Trigger.INDIVIDUAL_CREATED: (),
    Trigger.ORGANIZATION_CREATED: (),
    Trigger.TICKET_CREATED: ("status", "priority"),
    Trigger.TICKET_STATUS_CHANGED: ("status", "previous_status", "priority"),
    Trigger.OPPORTUNITY_CREATED: ("stage",),
    Trigger.OPPORTUNITY_STAGE_CHANGED: ("stage", "previous_stage"),
    Trigger.TASK_COMPLETED: ("task_type", "priority"),
    Trigger.TASK_OVERDUE: ("task_type", "priority"),
}


class Action(models.TextChoices):
    CREATE_TASK = "create_task", "Create a task from a template"
    NOTIFY = "notify", "Notify people"
    ESCALATE = "escalate", "Escalate the task"


class AutomationRule(models.Model):
    name = models.CharField(max_length=120)
    is_active = models.BooleanField("active", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="automation_rules",
        help_text="The rule acts with this person's rights.",
    )
    team = models.ForeignKey(
        "crm.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="automation_rules",
        help_text="The team whose manager looks after the rule; task triggers then only hear this team's tasks.",
    )
    trigger = models.CharField("when", max_length=40, choices=Trigger.choices)
    conditions = models.JSONField(
        default=dict, blank=True,
        help_text='Field -> accepted values, all must hold, e.g. {"stage": ["won"]}.',
    )
    action = models.CharField("then", max_length=20, choices=Action.choices, blank=True)

    # create_task
    template = models.ForeignKey(
        "tasks.TaskTemplate", on_delete=models.PROTECT, null=True, blank=True, related_name="automation_rules",
    )
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="Assign the new task to this person.",
    )
    distribute_to = models.ForeignKey(
        "crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="give to team", help_text="Give the new task to this team: its strategy picks the assignee.",
    )
    # notify
    notify_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                          verbose_name="people to notify")
    message = models.CharField(max_length=300, blank=True, help_text="Empty: a sentence saying what happened.")
    # escalate
    raise_priority = models.BooleanField(default=False, help_text="One step up: low → medium → high → urgent.")
    notify_manager = models.BooleanField("notify the team manager", default=False)
    reassign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["trigger", "is_active"], name="automationrule_trigger")]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        errors = {}
        if self.trigger not in Trigger.values:
            errors["trigger"] = "Choose when the rule acts."
        else:
            try:
                self.conditions = normalize_conditions(self.trigger, self.conditions)
            except ValidationError as exc:
                errors["conditions"] = exc.messages
        if not self.action:
            errors["action"] = "Choose what the rule does: create a task, notify people or escalate."
        elif self.action not in Action.values:
            errors["action"] = f"“{self.action}” is not an action."
        elif self.action == Action.CREATE_TASK and self.template_id is None:
            errors["template"] = "Choose the template the new task is made from."
        elif self.action == Action.ESCALATE:
            if self.trigger != Trigger.TASK_OVERDUE:
                errors["action"] = "Only an overdue task can be escalated: use it with “A task becomes overdue”."
            elif not (self.raise_priority or self.notify_manager or self.reassign_to_id):
                errors["raise_priority"] = ("Choose how to escalate: raise the priority, notify the team manager "
                                            "or reassign.")
        if errors:
            raise ValidationError(errors)

    @property
    def condition_fields(self):
        return TRIGGER_CONDITIONS.get(self.trigger, ())

    def describe_conditions(self):
        parts = []
        for name, values in (self.conditions or {}).items():
            label, choices = CONDITION_FIELDS[name]
            names = dict(choices)
            parts.append(f"{label} is {' or '.join(str(names.get(v, v)) for v in values)}")
        return "; ".join(parts)

    def matches(self, values):
        """True when every condition accepts the event's value of its field."""
        return all(values.get(name) in accepted for name, accepted in (self.conditions or {}).items())


def normalize_conditions(trigger, conditions):
    """{field: [values]} with only the fields the trigger allows and known values; a single value becomes a list."""
    if conditions in (None, ""):
        return {}
    if not isinstance(conditions, dict):
        raise ValidationError('Conditions are a mapping of field to values, e.g. {"stage": ["won"]}.')
    allowed = TRIGGER_CONDITIONS.get(trigger, ())
    label = Trigger(trigger).label if trigger in Trigger.values else trigger
    normalized = {}
    for name, values in conditions.items():
        if name not in allowed:
            if allowed:
                fields = ", ".join(CONDITION_FIELDS[f][0].lower() for f in allowed)
                raise ValidationError(f"“{name}” is not a condition for “{label}”: use {fields}.")
            raise ValidationError(f"“{label}” takes no conditions.")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            raise ValidationError(f"The values of “{name}” must be a list.")
        known = dict(CONDITION_FIELDS[name][1])
        for value in values:
            if value not in known:
                raise ValidationError(
                    f"“{value}” is not a value of {CONDITION_FIELDS[name][0].lower()}: use {', '.join(known)}."
                )
        if values:
            normalized[name] = list(dict.fromkeys(values))
    return normalized


class RunStatus(models.TextChoices):
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    STOPPED = "stopped", "Stopped (depth limit)"


class AutomationRun(models.Model):
    """One rule acting on one event: what triggered it and what it did."""

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=40, choices=Trigger.choices)
    # Identifies the event: "opportunity:5:stage:lead->won:2026-...", "task:9:overdue:2026-...".
    event_key = models.CharField(max_length=255)
    content_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    object_label = models.CharField("record", max_length=300, blank=True)
    # The moment the event is about (the due date for "task becomes overdue").
    event_at = models.DateTimeField(null=True, blank=True)
    # How many automated steps led to this event (0: a person did it).
    depth = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.DONE)
    result = models.TextField(blank=True)
    tasks = models.ManyToManyField("tasks.Task", blank=True, related_name="automation_runs",
                                   help_text="Tasks this run created.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["rule", "event_key"], name="automationrun_once_per_event")]
        indexes = [models.Index(fields=["rule", "content_type", "object_id", "event_at"], name="automationrun_object")]

    def __str__(self):
        return f"{self.rule} on {self.object_label or self.event_key}: {self.get_status_display()}"
