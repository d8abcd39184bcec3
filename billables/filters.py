"""Filters of the billable item list (and its CSV export) and of the invoice list."""

import django_filters
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType

from crm.models import Individual, Organization

from .customers import customer_from_ref, customer_q
from .models import BillableItem, Invoice, InvoiceStatus


def customer_choices(model):
    """("organization:5", "Acme · Organization") for the customers that have `model` rows: three queries."""
    pairs = set(model.objects.exclude(content_type=None).order_by().values_list("content_type_id", "object_id")
                .distinct())
    choices = []
    for customer_model, kind in ((Organization, "organization"), (Individual, "individual")):
        ct = ContentType.objects.get_for_model(customer_model)
        ids = [obj_id for ct_id, obj_id in pairs if ct_id == ct.pk]
        if ids:
            choices += [(f"{kind}:{obj.pk}", f"{obj} · {customer_model._meta.verbose_name.capitalize()}")
                        for obj in customer_model.objects.filter(pk__in=ids)]
    return sorted(choices, key=lambda c: c[1].lower())


def _filter_customer(queryset, name, value):
    customer = customer_from_ref(value)
    return queryset.filter(customer_q(customer)) if customer else queryset.none()


class ItemFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=[("unbilled", "Unbilled"), ("billed", "Billed")],
                                         method="filter_status", empty_label="All", label="Status")
    customer = django_filters.ChoiceFilter(method="filter_customer", empty_label="Any customer", label="Customer")
    worker = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.filter(is_active=True)
                                              .order_by("first_name", "last_name", "username"),
                                              empty_label="Anyone", label="Person")
    date_from = django_filters.DateFilter(field_name="work_date", lookup_expr="gte", label="From")
    date_to = django_filters.DateFilter(field_name="work_date", lookup_expr="lte", label="To")
    kind = django_filters.ChoiceFilter(choices=[("time", "Time"), ("fixed", "Fixed price")], method="filter_kind",
                                       empty_label="Time and fixed", label="Kind")

    class Meta:
        model = BillableItem
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["customer"].extra["choices"] = customer_choices(BillableItem)
        self.filters["worker"].field.label_from_instance = lambda u: u.get_full_name() or u.username
        for name in ("date_from", "date_to"):
            self.filters[name].field.widget.input_type = "date"

    def filter_status(self, queryset, name, value):
        return queryset.filter(invoice__isnull=value == "unbilled")

    def filter_customer(self, queryset, name, value):
        return _filter_customer(queryset, name, value)

    def filter_kind(self, queryset, name, value):
        return queryset.filter(is_fixed_price=value == "fixed")


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices, empty_label="Any status", label="Status")
    customer = django_filters.ChoiceFilter(method="filter_customer", empty_label="Any customer", label="Customer")
    number = django_filters.CharFilter(field_name="number", lookup_expr="icontains", label="Number")

    class Meta:
        model = Invoice
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["customer"].extra["choices"] = customer_choices(Invoice)

    def filter_customer(self, queryset, name, value):
        return _filter_customer(queryset, name, value)
