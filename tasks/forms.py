"""Forms of the task pages. They parse and check input; the services apply the rules and save.

The task form speaks in the user's terms (a due date and an optional due time,
"1:30" for a duration, a parent task's number) and turns them into the values
`services.task_create` / `services.task_update` take (`due_at` + `all_day`,
a timedelta, a Task). Errors the services raise are put back on the form fields
with `apply_service_errors`, so the user sees them next to what they typed.
"""

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Div, Field, Layout, Row, Submit
from django import forms
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone
from taggit.forms import TagField
from taggit.utils import edit_string_for_tags

from crm.choices import Priority, TaskType
from crm.fields import EntityLinkField
from crm.models import Team

from . import access, services
from .dates import date_as_utc_midnight
from .forms_recurrence import RecurrenceFields
from .models import Participant

User = get_user_model()

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def user_label(user):
    return user.get_full_name() or user.username


def active_users():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return user_label(obj)


class DateTimeLocalField(forms.DateTimeField):
    """A date and time typed in the user's own time zone (the browser's datetime-local input)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)


_DURATION_HM = re.compile(r"^(\d+):([0-5]?\d)$")
_DURATION_WORDS = re.compile(r"^(?:(\d+)\s*h(?:ours?|rs?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?)?)?)?$", re.IGNORECASE)


def format_duration(value):
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}"


class DurationInputField(forms.CharField):
    """Minutes ("90"), hours and minutes ("1:30") or words ("1h 30m")."""

    default_error_messages = {
        "invalid": "Enter minutes (90), hours and minutes (1:30) or e.g. 1h 30m.",
        "too_long": "A task cannot be expected to take more than 1000 hours.",
    }

    def prepare_value(self, value):
        if isinstance(value, timedelta):
            return format_duration(value)
        return value

    def to_python(self, value):
        value = (super().to_python(value) or "").strip()
        if not value:
            return None
        if value.isdigit():
            minutes = int(value)
        elif match := _DURATION_HM.match(value):
            minutes = int(match.group(1)) * 60 + int(match.group(2))
        elif (match := _DURATION_WORDS.match(value)) and (match.group(1) or match.group(2)):
            minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
        else:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if minutes > 1000 * 60:
            raise ValidationError(self.error_messages["too_long"], code="too_long")
        return timedelta(minutes=minutes)


def initial_entity(params):
    """The entity a "new task" link asks for: ?entity_type=organization&entity=5 (or the field's own
    entity_0/entity_1 names). Returns a value for EntityLinkField's initial, or None."""
    from crm import links

    key = params.get("entity_type") or params.get("entity_0") or ""
    ref = params.get("entity") or params.get("entity_1") or ""
    if not key:
        return None
    entry = links.get(key)
    if entry is None:
        return [key, ref]
    ref = ref.strip().lstrip("#")
    if ref.isdigit() and len(ref) < 19:
        obj = entry.model.objects.filter(pk=int(ref)).first()
        if obj is not None:
            return obj
        return [key, f"#{ref}"]
    return [key, ref]


# Model field names (as the services report errors) -> the form field showing them.
_ERROR_FIELDS = {
    "due_at": "due_date", "all_day": "due_date", "content_type": "entity", "object_id": "entity",
}


def apply_service_errors(form, exc):
    """Put a ValidationError from a service onto the form's fields (or its top when it names none)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = _ERROR_FIELDS.get(name, name)
            if target not in form.fields:
                target = None
            for error in errors:
                form.add_error(target, error.messages)
    else:
        form.add_error(None, exc.messages)


class TaskForm(RecurrenceFields):
    """Create or edit a task. Status is not here: it changes through the actions on the task's page.

    The recurrence builder's fields (repeat_*) come from forms_recurrence.RecurrenceFields;
    `self.schedule` is the repeat rule after validation (None: does not repeat).
    """

    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4}))
    task_type = forms.ChoiceField(label="Type", choices=TaskType.choices, initial=TaskType.OTHER)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    due_date = forms.DateField(label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.TimeField(label="Due time", required=False,
                               widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                               help_text="Leave empty for an all-day deadline.")
    begin_at = DateTimeLocalField(label="Begins", required=False)
    scheduled_at = DateTimeLocalField(label="Scheduled", required=False, help_text="When it happens.")
    expected_duration = DurationInputField(label="Expected duration", required=False,
                                           help_text="Minutes (90) or hours:minutes (1:30).")
    location = forms.CharField(required=False, max_length=255)
    entity = EntityLinkField(label="Linked to")
    assignee = UserChoiceField(queryset=User.objects.none(), required=False, empty_label="— unassigned —",
                               error_messages={"invalid_choice": "Choose an active user."})
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="— no team —")
    parent = forms.CharField(label="Parent task", required=False, max_length=20,
                             widget=forms.TextInput(attrs={"placeholder": "#id", "inputmode": "numeric"}),
                             help_text="The number of the task this one is part of.")
    tags = TagField(required=False, help_text="Separate tags with commas.")
    outcome = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    snapshot = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user, task=None, **kwargs):
        self.user = user
        self.task = task
        if task is not None and not kwargs.get("initial"):
            kwargs["initial"] = self.initial_from_task(task)
        super().__init__(*args, **kwargs)
        users = active_users()
        if task is not None and task.assignee_id:
            # Keep a since-deactivated assignee selectable so an unrelated edit still saves.
            users = User.objects.filter(pk=task.assignee_id) | users
        self.fields["assignee"].queryset = users.order_by("first_name", "last_name", "username")
        if task is None:
            del self.fields["outcome"]
            del self.fields["version"]
            del self.fields["snapshot"]
        else:
            self.fields["version"].required = True
        self.setup_recurrence(task=task)
        self.helper = self._helper()

    @staticmethod
    def due_initial(task):
        """(date, time) the form shows for the deadline: an all-day one as its date alone, never shifted."""
        if task.due_at is None:
            return None, None
        if task.all_day:
            return task.due_at.astimezone(dt_timezone.utc).date(), None
        local = timezone.localtime(task.due_at)
        return local.date(), local.time().replace(second=0, microsecond=0)

    @classmethod
    def initial_from_task(cls, task):
        due_date, due_time = cls.due_initial(task)
        return {
            "title": task.title, "description": task.description, "task_type": task.task_type,
            "priority": task.priority, "due_date": due_date, "due_time": due_time,
            "begin_at": task.begin_at, "scheduled_at": task.scheduled_at,
            "expected_duration": task.expected_duration, "location": task.location,
            "entity": task.entity if task.content_type_id else None,
            "assignee": task.assignee_id, "team": task.team_id,
            "parent": str(task.parent_id) if task.parent_id else "",
            "tags": edit_string_for_tags(list(task.tags.all())),
            "outcome": task.outcome, "version": task.version,
            "snapshot": signing.dumps(services.task_snapshot(task)),
        }

    def _helper(self):
        helper = FormHelper()
        helper.form_tag = True
        helper.form_id = "task-form"  # the recurrence preview listens to its changes
        rows = [
            Field("title", autofocus=True) if self.task is None else "title",
            "description",
            Row(Column("task_type", css_class="col-md-6"), Column("priority", css_class="col-md-6")),
            Row(Column("due_date", css_class="col-md-4"), Column("due_time", css_class="col-md-3"),
                Column("begin_at", css_class="col-md-5")),
            Row(Column("scheduled_at", css_class="col-md-5"), Column("expected_duration", css_class="col-md-3"),
                Column("location", css_class="col-md-4")),
            "entity",
            Row(Column("assignee", css_class="col-md-5"), Column("team", css_class="col-md-4"),
                Column("parent", css_class="col-md-3")),
            "tags",
        ]
        if self.task is not None:
            rows += ["outcome", "version", "snapshot"]
        rows.append(HTML('{% include "tasks/recurrence/builder.html" %}'))
        # The preview button comes after the save button: Enter in a field still saves.
        rows.append(Div(Submit("submit", "Save changes" if self.task else "Create task"),
                        HTML('<button type="submit" name="preview" value="1" formnovalidate class="btn btn-outline-secondary ms-2 '
                             'repeat-preview-button">Preview dates</button>'), css_class="mt-2"))
        helper.layout = Layout(*rows)
        return helper

    # ---- field checks -------------------------------------------------------------------

    def clean_assignee(self):
        assignee = self.cleaned_data.get("assignee")
        unchanged = self.task is not None and assignee is not None and assignee.pk == self.task.assignee_id
        if assignee is not None and not assignee.is_active and not unchanged:
            raise ValidationError(f"{user_label(assignee)} is not an active user.")
        return assignee

    def clean_parent(self):
        raw = (self.cleaned_data.get("parent") or "").strip().lstrip("#").strip()
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 18:
            raise ValidationError("Enter the number of the parent task, e.g. 42.")
        if self.task is not None and self.task.parent_id == int(raw):
            return self.task.parent  # unchanged: keep it even if this editor cannot open it
        parent = access.visible_tasks(self.user).filter(pk=int(raw)).first()
        if parent is None:
            raise ValidationError(f"There is no task #{raw} you can see.")
        return parent

    def _clean_text(self, name):
        # Browsers send textarea line breaks as CRLF: store them as the "\n" they were loaded with,
        # so an untouched description does not count as a change.
        return (self.cleaned_data.get(name) or "").replace("\r\n", "\n")

    def clean_description(self):
        return self._clean_text("description")

    def clean_outcome(self):
        return self._clean_text("outcome")

    def _kept(self, name, value):
        """The saved value when the form shows it unchanged (the inputs drop seconds)."""
        original = getattr(self.task, name, None) if self.task is not None else None
        if value is not None and original is not None and value == original.replace(second=0, microsecond=0):
            return original
        return value

    def clean_snapshot(self):
        raw = self.cleaned_data.get("snapshot") or ""
        if not raw:
            return {}
        try:
            value = signing.loads(raw)
        except signing.BadSignature:
            return {}
        return value if isinstance(value, dict) else {}

    def clean(self):
        data = super().clean()
        due_date, due_time = data.get("due_date"), data.get("due_time")
        if due_time and not due_date and "due_date" not in self.errors:
            self.add_error("due_date", "Give the date of the deadline too (or clear the time).")
        return data

    # ---- output for the services ----------------------------------------------------------

    def due_values(self):
        due_date, due_time = self.cleaned_data.get("due_date"), self.cleaned_data.get("due_time")
        task = self.task
        if task is not None and task.due_at is not None and (due_date, due_time) == self.due_initial(task):
            return task.due_at, task.all_day  # untouched: keep it to the second
        if not due_date:
            return None, False
        if not due_time:
            return date_as_utc_midnight(due_date), True
        local = timezone.make_aware(datetime.combine(due_date, due_time), timezone.get_current_timezone())
        return local, False

    def service_fields(self):
        """The editable task fields as the services take them (without the entity and tags)."""
        d = self.cleaned_data
        due_at, all_day = self.due_values()
        fields = {
            "title": d["title"], "description": d.get("description", ""), "task_type": d["task_type"],
            "priority": d["priority"], "begin_at": self._kept("begin_at", d.get("begin_at")), "due_at": due_at,
            "all_day": all_day, "scheduled_at": self._kept("scheduled_at", d.get("scheduled_at")),
            "expected_duration": d.get("expected_duration"),
            "location": d.get("location", ""), "assignee": d.get("assignee"), "team": d.get("team"),
            "parent": d.get("parent"),
        }
        if "outcome" in self.fields:
            fields["outcome"] = d.get("outcome", "")
        return fields


class CompleteForm(forms.Form):
    outcome = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="What came of it (optional).")
    subtasks = forms.ChoiceField(
        required=False, widget=forms.RadioSelect,
        choices=[("complete", "Complete the open subtasks too"), ("cancel", "Cancel the open subtasks")],
        label="Open subtasks",
    )

    def __init__(self, *args, open_subtasks=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_subtasks = open_subtasks
        if not open_subtasks:
            del self.fields["subtasks"]
        else:
            self.fields["subtasks"].label = f"{open_subtasks} open subtask{'s' if open_subtasks > 1 else ''}"
            self.fields["subtasks"].help_text = "Choose what happens to them."


class AssignForm(forms.Form):
    assignee = UserChoiceField(queryset=User.objects.none(), required=False, empty_label="— nobody —",
                               error_messages={"invalid_choice": "Choose an active user."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = active_users()


class ParticipantForm(forms.Form):
    user = UserChoiceField(queryset=User.objects.none(), error_messages={"invalid_choice": "Choose an active user."})
    role = forms.ChoiceField(choices=Participant.Role.choices, initial=Participant.Role.SUBSCRIBER,
                             error_messages={"invalid_choice": "“%(value)s” is not a participant role."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = active_users()


class ChecklistItemForm(forms.Form):
    text = forms.CharField(max_length=300, label="New item")

