"""The task list's filters. The URL carries every filter, so a view can be bookmarked."""

from datetime import date, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from crm import links
from crm.models import Team

from . import access
from .dates import date_as_utc_midnight, day_bounds, due_between_q, local_today, overdue_q
from .models import OPEN_STATUSES, Task, TaskStatus

QUICK_VIEWS = [
    ("mine", "My tasks"),
    ("team_queue", "Unassigned in my teams"),
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("week", "This week"),
]

ORDERING = (
    ("due_at", "due"),
    ("priority_rank", "priority"),
    ("title", "title"),
    ("status", "status"),
    ("task_type", "type"),
    ("assignee__username", "assignee"),
    ("created_at", "created"),
    ("scheduled_at", "scheduled"),
)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class TaskFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search",
                                  widget=forms.TextInput(attrs={"placeholder": "Title, description, outcome"}))
    view = django_filters.ChoiceFilter(choices=QUICK_VIEWS, method="filter_view", label="Quick view",
                                       empty_label="All my visible tasks")
    status = django_filters.MultipleChoiceFilter(
        choices=TaskStatus.choices, method="filter_status", label="Status",
        help_text="Open tasks unless you pick statuses.",
    )
    priority = django_filters.MultipleChoiceFilter(choices=Task._meta.get_field("priority").choices)
    task_type = django_filters.MultipleChoiceFilter(choices=Task._meta.get_field("task_type").choices, label="Type")
    assignee = django_filters.CharFilter(method="filter_assignee", label="Assignee")
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    entity_type = django_filters.ChoiceFilter(choices=[], method="filter_entity_type", label="Linked to")
    entity = django_filters.NumberFilter(method="filter_entity", label="Entity id")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    # /tasks/?project=<id>: the tasks of one project (projects app); visibility still applies.
    project = django_filters.NumberFilter(method="filter_project", label="Project #")
    due_after = django_filters.DateFilter(method="filter_due_after", label="Due from",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    due_before = django_filters.DateFilter(method="filter_due_before", label="Due until",
                                           widget=forms.DateInput(attrs={"type": "date"}))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Overdue only",
                                           widget=forms.CheckboxInput)
    o = django_filters.OrderingFilter(fields=ORDERING, label="Sort")

    class Meta:
        model = Task
        fields = []

    def __init__(self, data=None, *args, user=None, **kwargs):
        self.user = user
        super().__init__(data, *args, **kwargs)
        self.filters["entity_type"].extra["choices"] = [(e.key, e.label) for e in links.registry().values()] + [
            ("none", "No entity (global)")
        ]
        self.assignee_choices = [("", "Anyone"), ("me", "Me"), ("unassigned", "Unassigned")]
        self.form.fields["assignee"].widget = forms.Select(choices=self.assignee_choices + [
            (str(u.pk), u.get_full_name() or u.username)
            for u in get_user_model().objects.filter(is_active=True).order_by("first_name", "username")
        ])

    @property
    def qs(self):
        qs = super().qs
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        if not data.get("status") and not data.get("view") == "overdue":
            # Default: open tasks only (completed and cancelled are one click away).
            qs = qs.filter(status__in=OPEN_STATUSES)
        return qs

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value) | Q(description__icontains=value) | Q(outcome__icontains=value)
        )

    def filter_status(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(status__in=value)

    def filter_view(self, queryset, name, value):
        user = self.user
        if value == "mine":
            return queryset.filter(assignee=user)
        if value == "team_queue":
            return queryset.filter(assignee__isnull=True, team_id__in=access.member_team_ids(user))
        if value == "overdue":
            return queryset.filter(overdue_q())
        today = local_today()
        if value == "today":
            return queryset.filter(due_between_q(today, today))
        if value == "week":
            start = today - timedelta(days=today.weekday())
            return queryset.filter(due_between_q(start, start + timedelta(days=6)))
        return queryset

    def filter_assignee(self, queryset, name, value):
        if value in ("", "anyone"):
            return queryset
        if value == "me":
            return queryset.filter(assignee=self.user)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        if value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset.none()

    def filter_entity_type(self, queryset, name, value):
        if value == "none":
            return queryset.filter(content_type__isnull=True)
        entry = links.get(value)
        if entry is None:
            return queryset.none()
        return queryset.filter(content_type=entry.content_type)

    def filter_entity(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(object_id=int(value))

    def filter_project(self, queryset, name, value):
        if value is None:
            return queryset
        if value != int(value) or not 0 < value < 2**31:
            return queryset.none()
        return queryset.filter(project_id=int(value))

    def filter_tag(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(tags__name__iexact=value)

    # Open-ended on the other side (no "100 years" window), and clamped so that a year like
    # 0001 or 9999 typed into the date field cannot overflow when turned into UTC bounds.
    @staticmethod
    def _clamp(value):
        return min(max(value, date(1, 1, 3)), date(9999, 12, 29))

    def filter_due_after(self, queryset, name, value):
        if not value:
            return queryset
        value = self._clamp(value)
        start, _ = day_bounds(value)
        return queryset.filter(
            Q(all_day=False, due_at__gte=start) | Q(all_day=True, due_at__gte=date_as_utc_midnight(value))
        )

    def filter_due_before(self, queryset, name, value):
        if not value:
            return queryset
        value = self._clamp(value)
        _, end = day_bounds(value)
        return queryset.filter(
            Q(all_day=False, due_at__lt=end)
            | Q(all_day=True, due_at__lt=date_as_utc_midnight(value + timedelta(days=1)))
        )

    def filter_overdue(self, queryset, name, value):
        return queryset.filter(overdue_q()) if value else queryset
