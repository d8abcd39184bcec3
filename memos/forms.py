"""Forms of the memo pages. They parse and check input; memos.services applies the rules and saves."""

from datetime import datetime, timedelta

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from crm.choices import Priority, TaskType
from crm.fields import EntityLinkField
from crm.models import Team
from projects.forms import DueFields, UserChoiceField, apply_errors  # noqa: F401  (re-exported for the views)

from . import services

User = get_user_model()


class MemoForm(forms.Form):
    recipient = UserChoiceField(queryset=User.objects.none(), empty_label="— choose —", label="To",
                               help_text="A department head or manager, or yourself.")
    subject = forms.CharField(max_length=200)
    body = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 8}), label="Memo")
    entity = EntityLinkField(label="About", help_text="A deal (opportunity) or another record; may be empty.")

    def __init__(self, *args, author, memo=None, **kwargs):
        if memo is not None and (args[0] if args else kwargs.get("data")) is None:
            kwargs["initial"] = {"recipient": memo.recipient_id, "subject": memo.subject, "body": memo.body,
                                 "entity": memo.entity if memo.content_type_id else None}
        super().__init__(*args, **kwargs)
        choices = services.recipient_choices(author)
        self.fields["recipient"].queryset = choices
        self.fields["recipient"].label_from_instance = lambda u: (
            f"{u.get_full_name() or u.username} (me)" if u.pk == author.pk else (u.get_full_name() or u.username))
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(Field("recipient"), Field("subject"), Field("body"), Field("entity"))


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("reviewed", "Reviewed"), ("postponed", "Postpone")])
    note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class ConvertTaskForm(DueFields):
    title = forms.CharField(max_length=200)
    task_type = forms.ChoiceField(label="Type", choices=TaskType.choices, initial=TaskType.OTHER)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    assignee = UserChoiceField(queryset=User.objects.none(), required=False, empty_label="— unassigned —")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="— no team —")

    field_order = ["title", "task_type", "priority", "due_date", "due_time", "assignee", "team"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(is_active=True).order_by("first_name", "username")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Field("title"),
            Row(Column("task_type", css_class="col-6"), Column("priority", css_class="col-6")),
            Row(Column("due_date", css_class="col-6"), Column("due_time", css_class="col-6")),
            Row(Column("assignee", css_class="col-6"), Column("team", css_class="col-6")),
        )

    def service_fields(self):
        data = self.cleaned_data
        return {"title": data["title"], "task_type": data["task_type"], "priority": data["priority"],
                "assignee": data.get("assignee"), "team": data.get("team"), **self.due_values()}


class ConvertProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    template = forms.ModelChoiceField(queryset=None, required=False, empty_label="— no template (empty project) —",
                                      label="Project template")
    start_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Empty: today.")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="— no team —")

    def __init__(self, *args, user, **kwargs):
        from projects import project_templates
        from projects.services import choosable_teams

        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = project_templates.visible_templates(user).order_by("name", "pk")
        self.fields["team"].queryset = choosable_teams(user).order_by("name")
        self.helper = FormHelper()
        self.helper.form_tag = False


class ReminderForm(forms.Form):
    remind_at = forms.DateTimeField(label="Remind me at", widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"), input_formats=["%Y-%m-%dT%H:%M",
                                                                                   "%Y-%m-%d %H:%M"])
    note = forms.CharField(required=False, max_length=200, widget=forms.TextInput(attrs={"placeholder": "Why?"}))


def tomorrow_morning():
    local = timezone.localtime()
    day = local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 9, 0)
