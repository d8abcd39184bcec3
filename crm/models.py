"""CRM core records: user profiles, teams, and the four linkable entities."""

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from .choices import Priority, TaskType

phone_validator = RegexValidator(
    # At least five digits; otherwise digits, spaces and + ( ) . / - only.
    regex=r"^(?=(?:\D*\d){5})\+?[0-9 ()./-]{5,30}$",
    message="Enter a phone number: at least 5 digits; digits, spaces and + ( ) . / - only, up to 30 characters.",
)


def validate_time_zone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone.")


def time_zone_choices():
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone],
        help_text="Every date and time is shown to you in this time zone.",
    )
    default_hourly_rate = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))],
    )

    def __str__(self):
        return f"Profile of {self.user}"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="managed_teams"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", blank=True
    )
    # How a task given to the team (no assignee) finds its assignee. The names are those
    # registered in tasks.distribution; crm stores the name only (it depends on no other app).
    distribution_strategy = models.CharField(
        "distribution", max_length=40, default="claim",
        help_text="How tasks given to the team find an assignee.",
    )
    # Turn counter shared by the strategies that go "in turn" (round robin, ties, by type):
    # the next turn is rr_position modulo the number of members. Only ever advanced while
    # the team row is locked (tasks.distribution), so two tasks never take the same turn.
    rr_position = models.PositiveIntegerField("round-robin position", default=0, editable=False)
    # The same kind of counter per task type, for distribution by type ({"call": 7, ...}).
    type_positions = models.JSONField("turns per task type", default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        from django.apps import apps

        if apps.is_installed("tasks"):
            from tasks.distribution import strategy_names

            names = strategy_names()
            if self.distribution_strategy not in names:
                raise ValidationError({"distribution_strategy": (
                    f"“{self.distribution_strategy}” is not a distribution strategy. "
                    f"Choose one of: {', '.join(names)}."
                )})


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    # Task types this member handles (empty means all types), used by distribution by type.
    task_types = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive members get no new tasks.")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="unique_team_member")]
        ordering = ["team", "user__username"]

    def __str__(self):
        return f"{self.user} in {self.team}"

    def clean(self):
        valid = set(TaskType.values)
        if not isinstance(self.task_types, list) or any(t not in valid for t in self.task_types):
            raise ValidationError({"task_types": f"Task types must be a list of: {', '.join(sorted(valid))}."})

    def handles(self, task_type):
        return not self.task_types or task_type in self.task_types


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Organization(TimeStamped):
    name = models.CharField(max_length=200, db_index=True)
    website = models.URLField(blank=True, max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    address = models.TextField(blank=True, max_length=1000)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("crm:organization_detail", args=[self.pk])


class Individual(TimeStamped):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, db_index=True)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="individuals"
    )
    job_title = models.CharField(max_length=120, blank=True)
    notes = models.TextField(blank=True, max_length=5000)
    history = HistoricalRecords()

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_absolute_url(self):
        return reverse("crm:individual_detail", args=[self.pk])


class Ticket(TimeStamped):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=10000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.MEDIUM)
    requester = models.ForeignKey(
        Individual, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"#{self.pk} {self.subject}" if self.pk else self.subject

    def get_absolute_url(self):
        return reverse("crm:ticket_detail", args=[self.pk])


class Opportunity(TimeStamped):
    class Stage(models.TextChoices):
        LEAD = "lead", "Lead"
        QUALIFIED = "qualified", "Qualified"
        PROPOSAL = "proposal", "Proposal"
        NEGOTIATION = "negotiation", "Negotiation"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    name = models.CharField(max_length=200)
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunities"
    )
    contact = models.ForeignKey(
        Individual, on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunities"
    )
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.LEAD, db_index=True)
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(
        max_length=3, default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO currency code, e.g. EUR or USD.")],
    )
    expected_close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunities"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "opportunities"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("crm:opportunity_detail", args=[self.pk])


class WorkerHeartbeat(models.Model):
    """When a Celery worker last ran the `crm.heartbeat` job: one row per name, shown in the admin."""

    name = models.CharField(max_length=100, unique=True, default="default")
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}: {self.last_seen:%Y-%m-%d %H:%M:%S %Z}"


class Notification(models.Model):
    """Something a user should know about: shown in the app, and later mailed per their preferences."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    verb = models.CharField(max_length=40)
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at", "created_at"], name="notification_inbox")]

    def __str__(self):
        return self.text


from .models_discussion import Comment  # noqa: E402,F401
from .models_attachments import Attachment  # noqa: E402,F401
from .models_prefs import NotificationEmail, NotificationPreference  # noqa: E402,F401
