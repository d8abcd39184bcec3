from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth import get_user_model

from .models import (
    Individual, Opportunity, Organization, Profile, Team, TeamMembership, Ticket, time_zone_choices,
)
from .choices import TaskType


class CrispyMixin:
    submit_label = "Save"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", self.submit_label))


def _user_label(user):
    return user.get_full_name() or user.username


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _user_label(obj)


class OrganizationForm(CrispyMixin, forms.ModelForm):
    website = forms.URLField(required=False, max_length=200, assume_scheme="https",
                             help_text="For example https://example.com")

    class Meta:
        model = Organization
        fields = ["name", "website", "email", "phone", "address"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class IndividualForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = Individual
        fields = ["first_name", "last_name", "email", "phone", "organization", "job_title", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}


class TicketForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = Ticket
        fields = ["subject", "description", "status", "priority", "requester", "organization"]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requester"].queryset = Individual.objects.select_related("organization")


class OpportunityForm(CrispyMixin, forms.ModelForm):
    owner = UserChoiceField(queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
                            required=False)

    class Meta:
        model = Opportunity
        fields = ["name", "organization", "contact", "stage", "amount", "currency", "expected_close_date", "owner"]
        widgets = {"expected_close_date": forms.DateInput(attrs={"type": "date"})}

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").upper()


class ProfileForm(CrispyMixin, forms.ModelForm):
    time_zone = forms.ChoiceField(choices=time_zone_choices)

    class Meta:
        model = Profile
        fields = ["time_zone", "default_hourly_rate"]


class ProfileAdminForm(forms.ModelForm):
    """The admin's profile form: a time zone picked from the list rather than typed."""

    time_zone = forms.ChoiceField(choices=time_zone_choices, initial="UTC")

    class Meta:
        model = Profile
        fields = ["time_zone", "default_hourly_rate"]


class TeamMembershipAdminForm(forms.ModelForm):
    task_types = forms.MultipleChoiceField(
        choices=TaskType.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Task types this member handles; none ticked means every type.",
    )

    class Meta:
        model = TeamMembership
        fields = ["team", "user", "task_types", "is_active"]


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "description", "manager"]
