"""Vocabulary shared by several apps (kept in crm so that crm depends on no other app)."""

from django.db import models


class TaskType(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    FOLLOW_UP = "follow_up", "Follow-up"
    DEMO = "demo", "Demo"
    PROPOSAL = "proposal", "Proposal"
    CONTRACT = "contract", "Contract"
    OTHER = "other", "Other"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


# Sort rank for priorities: higher is more pressing.
PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3, "urgent": 4}
