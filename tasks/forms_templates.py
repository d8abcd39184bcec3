"""Forms of the task template pages. They parse input; tasks.task_templates saves it."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Field, Layout, Row
from django import forms

from crm.choices import TaskType
from crm.models import Team

from . import task_templates
from .forms import DurationInputField
from .models_templates import TaskTemplate, parse_relative_due

MAX_SUBTASK_ROWS = task_templates.MAX_SUBTASKS


class TaskTemplateForm(forms.ModelForm):
    expected_duration = DurationInputField(label="Expected duration", required=False,
                                           help_text="Minutes (90), hours and minutes (1:30) or 1h 30m.")
    checklist = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One item per line, in order.",
    )

    class Meta:
        model = TaskTemplate
        fields = ["name", "shared_with_team", "title", "description", "task_type", "priority", "expected_duration",
                  "location", "team", "relative_due", "tags"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "relative_due": forms.TextInput(attrs={"placeholder": "+2 days"}),
            "tags": forms.TextInput(attrs={"placeholder": "renewal, vip"}),
        }
        labels = {"shared_with_team": "Share with team", "relative_due": "Due"}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["shared_with_team"].queryset = task_templates.shareable_teams(user)
        self.fields["shared_with_team"].empty_label = "— personal (only me) —"
        self.fields["team"].queryset = Team.objects.all()
        self.fields["team"].empty_label = "— no team —"
        if self.instance.pk and not self.is_bound:
            self.initial["checklist"] = "\n".join(
                self.instance.checklist_items.order_by("position", "pk").values_list("text", flat=True))
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-7"), Column("shared_with_team", css_class="col-md-5")),
            HTML('<h2 class="h6 border-bottom pb-1 mt-3 mb-2">The task it makes</h2>'),
            Field("title"), Field("description"),
            Row(Column("task_type", css_class="col-md-4"), Column("priority", css_class="col-md-4"),
                Column("relative_due", css_class="col-md-4")),
            Row(Column("expected_duration", css_class="col-md-4"), Column("location", css_class="col-md-8")),
            Row(Column("team", css_class="col-md-6"), Column("tags", css_class="col-md-6")),
            Field("checklist"),
        )

    def checklist_lines(self):
        return [line.strip() for line in (self.cleaned_data.get("checklist") or "").splitlines() if line.strip()]

    def service_data(self):
        return {name: self.cleaned_data.get(name) for name in self._meta.fields}


class SubtaskForm(forms.Form):
    title = forms.CharField(max_length=200, required=False, label="Subtask")
    task_type = forms.ChoiceField(choices=TaskType.choices, initial=TaskType.OTHER, label="Type")
    relative_due = forms.CharField(max_length=20, required=False, label="Due",
                                   widget=forms.TextInput(attrs={"placeholder": "+1d"}))

    def clean_relative_due(self):
        value = self.cleaned_data.get("relative_due", "").strip()
        parse_relative_due(value)  # a readable error on the field
        return value


SubtaskFormSet = forms.formset_factory(SubtaskForm, extra=3, max_num=MAX_SUBTASK_ROWS, validate_max=True)


def subtask_initial(template):
    if template is None:
        return []
    return [{"title": s.title, "task_type": s.task_type, "relative_due": s.relative_due}
            for s in template.subtasks.order_by("position", "pk")]
