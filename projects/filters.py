"""Filters of the project list. The URL carries every filter, so a view can be bookmarked."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q

from crm.models import Team

from .models import OPEN_PROJECT_STATUSES, Project, ProjectMember, ProjectStatus


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class UserFilter(django_filters.ModelChoiceFilter):
    field_class = UserChoiceField


ORDERING = (
    ("name", "name"),
    ("due_date", "due"),
    ("status", "status"),
    ("created_at", "created"),
)


class ProjectFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search",
                                  widget=forms.TextInput(attrs={"placeholder": "Name or description"}))
    status = django_filters.MultipleChoiceFilter(
        choices=ProjectStatus.choices, label="Status", help_text="Open projects unless you pick statuses.")
    owner = UserFilter(queryset=get_user_model().objects.filter(is_active=True).order_by("first_name", "username"),
                       empty_label="Anyone")
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), empty_label="Any team")
    mine = django_filters.BooleanFilter(method="filter_mine", label="Mine only", widget=forms.CheckboxInput)
    o = django_filters.OrderingFilter(fields=ORDERING, label="Sort")

    class Meta:
        model = Project
        fields = []

    def __init__(self, data=None, *args, user=None, **kwargs):
        self.user = user
        super().__init__(data, *args, **kwargs)

    @property
    def qs(self):
        qs = super().qs
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        if not data.get("status"):
            qs = qs.filter(status__in=OPEN_PROJECT_STATUSES)
        return qs

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))

    def filter_mine(self, queryset, name, value):
        if not value:
            return queryset
        user = self.user
        return queryset.filter(Q(owner=user) | Q(Exists(ProjectMember.objects.filter(project=OuterRef("pk"),
                                                                                     user=user))))
