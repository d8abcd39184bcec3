"""The team settings form: the distribution strategy and, per member, task types and active flag."""

from django import forms

from crm.choices import TaskType

from . import distribution


class TeamDistributionForm(forms.Form):
    strategy = forms.ChoiceField(label="Distribution", widget=forms.RadioSelect)

    def __init__(self, *args, team, memberships, **kwargs):
        initial = {"strategy": team.distribution_strategy}
        for m in memberships:
            initial[f"types_{m.pk}"] = list(m.task_types)
            initial[f"active_{m.pk}"] = m.is_active
        super().__init__(*args, initial=initial, **kwargs)
        self.team = team
        self.memberships = list(memberships)
        self.fields["strategy"].choices = distribution.choices()
        self.strategy_descriptions = {name: distribution.get(name).description for name, _ in distribution.choices()}
        for m in self.memberships:
            self.fields[f"types_{m.pk}"] = forms.MultipleChoiceField(
                label="Task types", choices=TaskType.choices, required=False,
                widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
            )
            self.fields[f"active_{m.pk}"] = forms.BooleanField(label="Active", required=False)

    def clean_strategy(self):
        value = self.cleaned_data["strategy"]
        if distribution.get(value) is None:  # unregistered since the page was shown
            raise forms.ValidationError(f"“{value}” is not a distribution strategy.")
        return value

    def strategy_options(self):
        """(name, label, description, checked) for the template's radio list."""
        current = self["strategy"].value()
        return [(name, label, self.strategy_descriptions.get(name, ""), name == current)
                for name, label in self.fields["strategy"].choices]

    def member_rows(self):
        """(membership, task-type bound field, active bound field) per member."""
        return [(m, self[f"types_{m.pk}"], self[f"active_{m.pk}"]) for m in self.memberships]

    def membership_values(self):
        return [(m, self.cleaned_data[f"types_{m.pk}"], self.cleaned_data[f"active_{m.pk}"])
                for m in self.memberships]
