"""Queries behind the billing pages: a fixed number of SQL queries whatever the number of rows."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from tasks.models_time import TimeEntry

from .customers import customer_q, entity_task_q, entity_time_q, is_customer
from .filters import InvoiceFilter, ItemFilter
from .models import BillableItem, Invoice, InvoiceStatus
from .services import unbilled_entries

MONEY = DecimalField(max_digits=14, decimal_places=2)


def item_rows(qs):
    return qs.select_related("worker", "invoice", "task", "content_type").prefetch_related("entity")


def item_list(params):
    """(filterset, queryset) for /billables/ and its CSV export; an invalid filter gives no rows."""
    filterset = ItemFilter(params or None, queryset=BillableItem.objects.all())
    if filterset.is_bound and not filterset.is_valid():
        return filterset, BillableItem.objects.none()
    return filterset, item_rows(filterset.qs.order_by("-work_date", "-pk"))


def item_totals(qs):
    return qs.order_by().aggregate(
        amount=Coalesce(Sum("amount"), Value(Decimal("0.00")), output_field=MONEY),
        hours=Coalesce(Sum("quantity", filter=Q(is_fixed_price=False)), Value(Decimal("0.00")), output_field=MONEY),
        count=Count("pk"),
    )


def invoice_list(params):
    filterset = InvoiceFilter(params or None, queryset=Invoice.objects.all())
    if filterset.is_bound and not filterset.is_valid():
        return filterset, Invoice.objects.none()
    qs = filterset.qs.select_related("content_type").prefetch_related("entity").annotate(
        line_count=Count("lines")).order_by("-created_at", "-pk")
    return filterset, qs


def invoice_detail(pk):
    return (Invoice.objects.select_related("content_type", "created_by").filter(pk=pk).first())


def unbilled_time_summary(entries):
    """Total unbilled time and its split by person, from two aggregate queries."""
    totals = entries.order_by().aggregate(total=Sum("duration"), count=Count("pk"))
    by_user = list(entries.order_by().values("user__username", "user__first_name", "user__last_name")
                   .annotate(total=Sum("duration"), count=Count("pk")).order_by("-total", "user__username"))
    for row in by_user:
        row["label"] = f"{row['user__first_name']} {row['user__last_name']}".strip() or row["user__username"]
    return {"total": totals["total"] or timedelta(0), "count": totals["count"], "by_user": by_user}


def entity_billing(obj, *, user, billing):
    """What the Billing tab shows for an entity (see billables.entity_tab)."""
    unbilled = unbilled_time_summary(unbilled_entries(entity=obj))
    tracked = TimeEntry.objects.filter(entity_time_q(obj), ended_at__isnull=False).order_by().aggregate(
        total=Sum("duration"))["total"] or timedelta(0)
    context = {"billing": billing, "unbilled": unbilled, "tracked": tracked, "is_customer": is_customer(obj),
               "entity_key": obj._meta.model_name}
    if not billing:
        return context
    if is_customer(obj):
        items_qs = BillableItem.objects.filter(customer_q(obj))
        invoices = list(Invoice.objects.filter(customer_q(obj)).annotate(line_count=Count("lines"))
                        .order_by("-created_at", "-pk")[:50])
        from .customers import customer_ref

        context["customer_ref"] = customer_ref(obj)
    else:
        items_qs = BillableItem.objects.filter(entity_task_q(obj, prefix="task__"))
        invoices = []
    items = list(item_rows(items_qs.filter(invoice__isnull=True)).order_by("-work_date", "-pk")[:100])
    context.update({
        "items": items,
        "items_totals": item_totals(items_qs.filter(invoice__isnull=True)),
        "invoices": invoices,
        "open_amount": Invoice.objects.filter(customer_q(obj), status=InvoiceStatus.ISSUED).aggregate(
            s=Sum("total"))["s"] if is_customer(obj) else None,
    })
    return context
