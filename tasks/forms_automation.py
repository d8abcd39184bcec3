"""The automation rule form: trigger, conditions as tick boxes, one action and its parameters."""

from crispy_forms.helper import FormHelper
from crispy_forms.bootstrap import InlineCheckboxes
from crispy_forms.layout import HTML, Column, Layout, Row
from django import forms
from django.contrib.auth import get_user_model

from crm.models import Team

from . import access, task_templates
from .models_automation import CONDITION_FIELDS, TRIGGER_CONDITIONS, Action, Trigger

User = get_user_model()


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


def _condition_help(name):
    triggers = [Trigger(t).label for t, fields in TRIGGER_CONDITIONS.items() if name in fields]
    return "For: " + "; ".join(t[0].lower() + t[1:] for t in triggers) + "."


class RuleForm(forms.Form):
    name = forms.CharField(max_length=120)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False,
        help_text="Its manager looks after the rule; task triggers hear only this team's tasks.")
    trigger = forms.ChoiceField(label="When this happens", choices=[("", "— choose —")] + Trigger.choices)
    action = forms.ChoiceField(label="Then do this", choices=[("", "— choose —")] + Action.choices, required=False)
    template = forms.ModelChoiceField(
        queryset=None, required=False, label="Template",
        help_text="The new task is made from it and linked to the record the event is about.")
    assign_to = UserChoiceField(queryset=None, required=False, label="Assign to")
    distribute_to = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, label="Give to team",
                                           help_text="Its distribution strategy picks the assignee.")
    notify_users = UsersChoiceField(queryset=None, required=False, label="People to notify",
                                    widget=forms.SelectMultiple(attrs={"size": 6}))
    message = forms.CharField(max_length=300, required=False,
                              help_text="Empty: a sentence saying what happened.")
    raise_priority = forms.BooleanField(required=False, label="Raise the priority one step")
    notify_manager = forms.BooleanField(required=False, label="Notify the team manager")
    reassign_to = UserChoiceField(queryset=None, required=False, label="Reassign to")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, user, rule=None, **kwargs):
        if rule is not None:
            kwargs.setdefault("initial", self.initial_from(rule))
        super().__init__(*args, **kwargs)
        self.user = user
        staff = user.is_staff or user.is_superuser
        self.fields["team"].queryset = Team.objects.all() if staff else Team.objects.filter(
            pk__in=access.managed_team_ids(user))
        self.fields["team"].required = not staff
        self.fields["team"].empty_label = "— all teams (global) —" if staff else "— choose —"
        author = rule.created_by if rule is not None and rule.created_by else user
        self.fields["template"].queryset = task_templates.visible_templates(author).order_by("name")
        active = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
        for name in ("assign_to", "reassign_to", "notify_users"):
            self.fields[name].queryset = active
        for name, (label, choices) in CONDITION_FIELDS.items():
            self.fields[f"if_{name}"] = forms.MultipleChoiceField(
                label=label, choices=choices, required=False, help_text=_condition_help(name),
                widget=forms.CheckboxSelectMultiple,
            )
        for name in ("template", "assign_to", "distribute_to", "reassign_to"):
            self.fields[name].empty_label = "— none —"
        self.helper = FormHelper()
        self.helper.form_tag = False

        def heading(text, hint=""):
            hint = f' <span class="fw-normal text-body-secondary">{hint}</span>' if hint else ""
            return HTML(f'<h2 class="h6 border-bottom pb-1 mt-4 mb-2">{text}{hint}</h2>')

        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-6"), Column("team", css_class="col-md-4"),
                Column("is_active", css_class="col-md-2 pt-md-4")),
            Row(Column("trigger", css_class="col-md-6"), Column("action", css_class="col-md-6")),
            heading("Only if", "— all ticked conditions must hold; nothing ticked: always"),
            InlineCheckboxes("if_task_type"), InlineCheckboxes("if_priority"),
            Row(Column(InlineCheckboxes("if_status"), css_class="col-lg-6"),
                Column(InlineCheckboxes("if_previous_status"), css_class="col-lg-6")),
            Row(Column(InlineCheckboxes("if_stage"), css_class="col-lg-6"),
                Column(InlineCheckboxes("if_previous_stage"), css_class="col-lg-6")),
            heading("Create a task", "— with “Create a task from a template”"),
            Row(Column("template", css_class="col-md-6"), Column("assign_to", css_class="col-md-3"),
                Column("distribute_to", css_class="col-md-3")),
            heading("Notify people", "— with “Notify people”"),
            Row(Column("notify_users", css_class="col-md-6"), Column("message", css_class="col-md-6")),
            heading("Escalate", "— with “Escalate the task” (overdue tasks only)"),
            Row(Column("raise_priority", css_class="col-md-4 pt-md-4"),
                Column("notify_manager", css_class="col-md-4 pt-md-4"),
                Column("reassign_to", css_class="col-md-4")),
        )

    @staticmethod
    def initial_from(rule):
        initial = {name: getattr(rule, name) for name in (
            "name", "team", "trigger", "action", "template", "assign_to", "distribute_to", "message",
            "raise_priority", "notify_manager", "reassign_to", "is_active")}
        initial["notify_users"] = list(rule.notify_users.all())
        for name, values in (rule.conditions or {}).items():
            initial[f"if_{name}"] = values
        return initial

    def clean(self):
        data = super().clean()
        trigger = data.get("trigger")
        allowed = TRIGGER_CONDITIONS.get(trigger, ()) if trigger else ()
        conditions = {}
        for name in CONDITION_FIELDS:
            values = data.get(f"if_{name}") or []
            if not values:
                continue
            if trigger and name not in allowed:
                self.add_error(f"if_{name}", f"This condition does not apply to “{Trigger(trigger).label}”.")
                continue
            conditions[name] = values
        data["conditions"] = conditions
        return data

    def service_data(self):
        d = self.cleaned_data
        return {
            "name": d["name"], "team": d.get("team"), "trigger": d["trigger"], "conditions": d["conditions"],
            "action": d.get("action") or "", "template": d.get("template"), "assign_to": d.get("assign_to"),
            "distribute_to": d.get("distribute_to"), "message": d.get("message", ""),
            "raise_priority": d.get("raise_priority", False), "notify_manager": d.get("notify_manager", False),
            "reassign_to": d.get("reassign_to"), "is_active": d.get("is_active", False),
        }
