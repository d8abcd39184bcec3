"""Forms of the billing pages: they parse input; billables.services applies the rules and saves."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from crm.choices import TaskType
from crm.fields import EntityLinkField

from .customers import is_customer

User = get_user_model()
CUSTOMER_KEYS = ("organization", "individual")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


def active_users():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class CustomerField(EntityLinkField):
    """The entity picker limited to customers: an organization or an individual."""

    def __init__(self, *, required=True, **kwargs):
        kwargs.setdefault("help_text", "An organization or an individual: type a name or #id.")
        super().__init__(required=required, **kwargs)

    def _set_type_choices(self):
        self.widget.widgets[0].choices = [("", "— customer type —"), ("organization", "Organization"),
                                          ("individual", "Individual")]

    def compress(self, data_list):
        key = (data_list[0] if data_list else "") or ""
        if key and key not in CUSTOMER_KEYS:
            raise ValidationError("The customer must be an organization or an individual.", code="not_customer")
        value = super().compress(data_list)
        if value is not None and not is_customer(value):
            raise ValidationError("The customer must be an organization or an individual.", code="not_customer")
        return value


def _money_field(label, *, minimum, message, **kwargs):
    return forms.DecimalField(label=label, max_digits=12, decimal_places=2, min_value=minimum,
                              error_messages={"min_value": message}, **kwargs)


class RateForm(forms.Form):
    user = UserChoiceField(queryset=active_users(), label="Person")
    task_type = forms.ChoiceField(choices=[("", "Every type")] + list(TaskType.choices), required=False,
                                  label="Task type")
    customer = CustomerField(required=False, help_text="Leave empty for every customer.")
    hourly_rate = _money_field("Hourly rate", minimum=Decimal("0"), message="A rate cannot be below zero.")
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Valid from")


class DefaultRateForm(forms.Form):
    user = UserChoiceField(queryset=active_users(), label="Person")
    hourly_rate = _money_field("Default hourly rate", minimum=Decimal("0"), message="A rate cannot be below zero.")


class ConvertForm(forms.Form):
    """What to convert: a task (with subtasks), a customer or record, and/or a period; optionally one person."""

    task = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    entity = EntityLinkField(required=False, label="Customer or record",
                             help_text="Time on tasks linked to it (for an organization: also its tickets and "
                                       "opportunities).")
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")
    worker = UserChoiceField(queryset=active_users(), required=False, label="Person", empty_label="Everyone")
    bill_to = CustomerField(required=False, label="Bill to",
                            help_text="Optional: bill all of it to this customer (needed for tasks without one).")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "The end of the period cannot be before its start.")
        if not any(data.get(name) for name in ("task", "entity", "date_from", "date_to", "worker")):
            raise ValidationError("Choose what to convert: a customer or record, a period or a person.")
        return data


class FixedItemForm(forms.Form):
    customer = CustomerField()
    description = forms.CharField(max_length=300)
    quantity = forms.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"), initial=Decimal("1"),
                                  error_messages={"min_value": "The quantity must be above zero."})
    unit_price = _money_field("Price", minimum=Decimal("0"), message="The price cannot be below zero.")
    work_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Date")


class InvoiceCustomerForm(forms.Form):
    customer = CustomerField()


class InvoiceHeaderForm(forms.Form):
    tax_rate = forms.DecimalField(label="Tax rate (%)", max_digits=5, decimal_places=2, min_value=Decimal("0"),
                                  max_value=Decimal("100"),
                                  error_messages={"min_value": "The tax rate cannot be below zero.",
                                                  "max_value": "The tax rate cannot be above 100%."})
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", label="Currency", initial=lambda: settings.BILLING_CURRENCY,
                                error_messages={"invalid": "Use a three-letter ISO currency code, e.g. EUR or USD."})
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Due date")
    notes = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class IssueForm(forms.Form):
    issue_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 label="Issue date")
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Due date")


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=300, error_messages={"required": "Say why the invoice is void."})


def item_ids(data):
    """The chosen item ids from a POST ("items"), refusing anything that is not a number."""
    raw = data.getlist("items")
    if not all(value.isdigit() and len(value) < 19 for value in raw):
        raise ValidationError("The selection is not valid.")
    return sorted({int(value) for value in raw})
