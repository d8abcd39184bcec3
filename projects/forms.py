"""Forms of the project pages. They parse and check input; projects.services applies the rules and saves."""

import re
from datetime import datetime

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.choices import Priority, TaskType
from crm.fields import EntityLinkField
from crm.models import Team
from tasks.dates import date_as_utc_midnight

from . import project_templates, services
from .models import Project, ProjectStatus, Stage

User = get_user_model()


def user_label(user):
    return user.get_full_name() or user.username


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return user_label(obj)


class UsersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return user_label(obj)


def apply_errors(form, exc):
    """Put a service's ValidationError on the form's fields (or its top when it names none)."""
    aliases = {"content_type": "entity", "object_id": "entity", "due_at": "due_date", "all_day": "due_date"}
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = aliases.get(name, name)
            for error in errors:
                form.add_error(target if target in form.fields else None, error.messages)
    else:
        form.add_error(None, exc.messages)


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4}))
    status = forms.ChoiceField(choices=ProjectStatus.choices, initial=ProjectStatus.PLANNED)
    start_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    owner = UserChoiceField(queryset=User.objects.none())
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="— no team —",
                                  help_text="Its members see the project; its manager may change it.")
    members = UsersField(queryset=User.objects.none(), required=False,
                         widget=forms.SelectMultiple(attrs={"size": 6}),
                         help_text="They see the project, its files and discussion.")
    entity = EntityLinkField(label="Linked to")
    stages = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Preparation\nConnection\nHandover"}),
        help_text="One stage per line, in order. Each stage's tasks wait until the stage before is done.",
    )

    def __init__(self, *args, user, project=None, **kwargs):
        self.user = user
        self.project = project
        if project is not None and (args[0] if args else kwargs.get("data")) is None:
            kwargs["initial"] = {
                "name": project.name, "description": project.description, "status": project.status,
                "start_date": project.start_date, "due_date": project.due_date, "owner": project.owner_id,
                "team": project.team_id, "members": list(project.members.values_list("pk", flat=True)),
                "entity": project.entity if project.content_type_id else None,
            }
        kwargs.setdefault("initial", {}).setdefault("owner", user.pk)
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = services.active_users()
        self.fields["members"].queryset = services.active_users()
        teams = services.choosable_teams(user)
        if project is not None and project.team_id:
            teams = teams | Team.objects.filter(pk=project.team_id)
        self.fields["team"].queryset = teams.distinct().order_by("name")
        if project is not None:
            del self.fields["stages"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        layout = [
            Field("name"), Field("description"),
            Row(Column("status", css_class="col-md-4"), Column("start_date", css_class="col-md-4"),
                Column("due_date", css_class="col-md-4")),
            Row(Column("owner", css_class="col-md-6"), Column("team", css_class="col-md-6")),
            Field("members"), Field("entity"),
        ]
        if project is None:
            layout.append(Field("stages"))
        self.helper.layout = Layout(*layout)

    def clean(self):
        data = super().clean()
        start, due = data.get("start_date"), data.get("due_date")
        if start and due and due < start:
            self.add_error("due_date", "The due date cannot be before the start date.")
        return data

    def stage_names(self):
        return [line.strip() for line in (self.cleaned_data.get("stages") or "").splitlines() if line.strip()]

    def service_data(self):
        return {name: self.cleaned_data.get(name) for name in services.PROJECT_FIELDS}


class DueFields(forms.Form):
    """A due date with an optional time (typed in the user's zone): all day without a time."""

    due_date = forms.DateField(label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.TimeField(label="Due time", required=False,
                               widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                               help_text="Leave empty for an all-day deadline.")

    def clean(self):
        data = super().clean()
        if data.get("due_time") and not data.get("due_date"):
            self.add_error("due_date", "Give the date of the due time.")
        return data

    def due_values(self):
        day, at = self.cleaned_data.get("due_date"), self.cleaned_data.get("due_time")
        if day is None:
            return {"due_at": None, "all_day": False}
        if at is None:
            return {"due_at": date_as_utc_midnight(day), "all_day": True}
        return {"due_at": timezone.make_aware(datetime.combine(day, at)), "all_day": False}


class ProjectTaskForm(DueFields):
    """"Add a task to stage N" on the project page."""

    title = forms.CharField(max_length=200)
    stage = forms.IntegerField(required=False, widget=forms.Select)
    task_type = forms.ChoiceField(label="Type", choices=TaskType.choices, initial=TaskType.OTHER)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    assignee = UserChoiceField(queryset=User.objects.none(), required=False, empty_label="— unassigned —")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="— no team —",
                                  help_text="Unassigned, it goes to the team's queue (and its distribution) "
                                            "when its stage opens.")
    description = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3}))

    field_order = ["title", "stage", "task_type", "priority", "due_date", "due_time", "assignee", "team",
                   "description"]

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.stages = list(project.stages.order_by("position"))
        self.fields["stage"].widget.choices = [("", "— outside the stages —")] + [
            (s.pk, f"{s.position}. {s.name}") for s in self.stages]
        self.fields["assignee"].queryset = services.active_users()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Field("title"),
            Row(Column("stage", css_class="col-md-6"), Column("task_type", css_class="col-md-3"),
                Column("priority", css_class="col-md-3")),
            Row(Column("due_date", css_class="col-md-6"), Column("due_time", css_class="col-md-6")),
            Row(Column("assignee", css_class="col-md-6"), Column("team", css_class="col-md-6")),
            Field("description"),
        )

    def clean_stage(self):
        value = self.cleaned_data.get("stage")
        if value is None:
            return None
        stage = next((s for s in self.stages if s.pk == value), None)
        if stage is None:
            raise ValidationError("That stage is not part of this project.")
        return stage

    def service_fields(self):
        data = self.cleaned_data
        return {"title": data["title"], "task_type": data["task_type"], "priority": data["priority"],
                "assignee": data.get("assignee"), "team": data.get("team"),
                "description": data.get("description") or "", **self.due_values()}


class StageForm(forms.Form):
    name = forms.CharField(max_length=100, label="Stage name")


class DependencyForm(forms.Form):
    predecessor = forms.CharField(max_length=20, label="Blocked by task",
                                  widget=forms.TextInput(attrs={"placeholder": "#42"}))


class TaskProjectForm(forms.Form):
    """Put a task into a project and stage, or take it out (the Project panel on the task page).

    One select, `target`: "" (no project), "p<id>" (the project, outside its stages) or "s<id>" (a stage).
    """

    target = forms.CharField(required=False, max_length=24)

    def __init__(self, *args, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.projects = {p.pk: p for p in projects}

    def clean(self):
        data = super().clean()
        ref = (data.get("target") or "").strip()
        data["project_obj"] = data["stage_obj"] = None
        if not ref:
            return data
        kind, number = ref[:1], ref[1:]
        if kind not in ("p", "s") or not number.isdigit() or len(number) > 18:
            raise ValidationError("Choose a project or one of its stages.")
        if kind == "p":
            project = self.projects.get(int(number))
            if project is None:
                raise ValidationError("Choose a project you may change.")
            data["project_obj"] = project
            return data
        stage = Stage.objects.filter(pk=int(number), project_id__in=list(self.projects)).first()
        if stage is None:
            raise ValidationError("Choose a stage of a project you may change.")
        data["project_obj"], data["stage_obj"] = self.projects[stage.project_id], stage
        return data


def target_choices(projects):
    """[(group label, [(value, label)])] for the Project panel's select: each project, then its stages."""
    from .models import Stage as StageModel

    stages = {}
    for stage in StageModel.objects.filter(project__in=projects).order_by("project_id", "position"):
        stages.setdefault(stage.project_id, []).append(stage)
    return [(p.name, [(f"p{p.pk}", f"{p.name} (outside the stages)")] + [
        (f"s{s.pk}", f"{p.name} › {s.position}. {s.name}") for s in stages.get(p.pk, [])]) for p in projects]


# ---- templates ----------------------------------------------------------------------------------

class ProjectTemplateForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="Copied to each project made from it.")
    shared_with_team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False,
                                              empty_label="— personal (only me) —", label="Share with team")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="— no team —",
                                  label="Project team",
                                  help_text="The projects' team, and the team of their tasks without one.")
    stages = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}),
                             help_text="One stage per line, in order: stage 1 first.")

    def __init__(self, *args, user, template=None, **kwargs):
        if template is not None and (args[0] if args else kwargs.get("data")) is None:
            kwargs["initial"] = {
                "name": template.name, "description": template.description,
                "shared_with_team": template.shared_with_team_id, "team": template.team_id,
                "stages": "\n".join(template.stages.order_by("position").values_list("name", flat=True)),
            }
        super().__init__(*args, **kwargs)
        from tasks import task_templates

        self.fields["shared_with_team"].queryset = task_templates.shareable_teams(user)

    def stage_names(self):
        return [line.strip() for line in (self.cleaned_data.get("stages") or "").splitlines() if line.strip()]

    def service_data(self):
        return {name: self.cleaned_data.get(name) for name in project_templates.TEMPLATE_FIELDS}


_NUMBERS_RE = re.compile(r"^[\s#\d,;]*$")


class TemplateLineForm(forms.Form):
    stage = forms.IntegerField(min_value=1, max_value=project_templates.MAX_STAGES, required=False, label="Stage",
                               widget=forms.NumberInput(attrs={"class": "line-stage"}))
    title = forms.CharField(max_length=200, required=False, label="Task")
    task_template = forms.ModelChoiceField(queryset=None, required=False, empty_label="—", label="From task template")
    task_type = forms.ChoiceField(choices=TaskType.choices, initial=TaskType.OTHER, label="Type")
    relative_due = forms.CharField(max_length=20, required=False, label="Due",
                                   widget=forms.TextInput(attrs={"placeholder": "+3d"}))
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="—", label="Team")
    depends_on = forms.CharField(max_length=100, required=False, label="Waits for",
                                 widget=forms.TextInput(attrs={"placeholder": "e.g. 2"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task_template"].queryset = project_templates.task_template_choices(user)
        for name, f in self.fields.items():  # rendered as table cells, without crispy-forms
            css = "form-select form-select-sm" if isinstance(f.widget, forms.Select) else "form-control form-control-sm"
            f.widget.attrs["class"] = (f.widget.attrs.get("class", "") + " " + css).strip()

    def clean_relative_due(self):
        value = (self.cleaned_data.get("relative_due") or "").strip()
        from tasks.models_templates import parse_relative_due

        parse_relative_due(value)
        return value

    def clean_depends_on(self):
        value = self.cleaned_data.get("depends_on") or ""
        if not _NUMBERS_RE.match(value):
            raise ValidationError("Write the numbers of the tasks it waits for, e.g. 1, 3.")
        numbers = [int(n) for n in re.findall(r"\d+", value)]
        if any(n < 1 or n > project_templates.MAX_LINES for n in numbers):
            raise ValidationError("Task numbers start at 1.")
        return sorted(set(numbers))

    def clean(self):
        data = super().clean()
        if data.get("task_template") is not None and not (data.get("title") or "").strip():
            data["title"] = data["task_template"].title
        if (data.get("title") or "").strip() and not data.get("stage"):
            self.add_error("stage", "Give the number of the stage this task runs in.")
        return data

    def is_blank(self):
        data = getattr(self, "cleaned_data", {}) or {}
        return not (data.get("title") or "").strip()


class BaseLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"user": self.user}

    def lines(self):
        """The filled lines as project_templates.Line, numbered by their row (rows left empty are skipped)."""
        rows = [(i + 1, f.cleaned_data) for i, f in enumerate(self.forms)
                if f.cleaned_data and (f.cleaned_data.get("title") or "").strip()]
        index_of = {number: index for index, (number, _data) in enumerate(rows)}
        lines = []
        for number, data in rows:
            depends = []
            for n in data.get("depends_on") or []:
                if n not in index_of:
                    raise ValidationError(f"Task {number} “{data['title']}” waits for task {n}, which is empty or "
                                          "does not exist.")
                depends.append(index_of[n])
            lines.append(project_templates.Line(
                stage=data["stage"], title=data["title"].strip(), task_type=data["task_type"],
                relative_due=data.get("relative_due") or "", team=data.get("team"),
                task_template=data.get("task_template"), depends_on=depends))
        return lines


TemplateLineFormSet = forms.formset_factory(TemplateLineForm, formset=BaseLineFormSet, extra=4,
                                            max_num=project_templates.MAX_LINES, validate_max=True)


def line_initial(template):
    if template is None:
        return []
    return [{"stage": line.stage.position, "title": line.title, "task_template": line.task_template_id,
             "task_type": line.task_type, "relative_due": line.relative_due, "team": line.team_id,
             "depends_on": ", ".join(str(n) for n in line.waits_for)}
            for line in project_templates.template_lines(template)]


class FromTemplateForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="Empty: the template's name.")
    start_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Empty: today. Due dates count from it.")
    entity = EntityLinkField(label="Linked to")


def project_choices(user):
    from .access import editable_projects

    return list(editable_projects(user, Project.objects.filter(status__in=("planned", "active", "on_hold")))
                .order_by("name", "pk")[:200])
