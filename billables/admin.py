"""Billing in the admin: rates, billable items and invoices with their history.

Invoices are read-only here (issued ones are read-only everywhere); they change
through the invoice pages, or the admin actions, which call the same services.
TimeEntry's admin lives in tasks/admin_time.py and is registered from here.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from simple_history.admin import SimpleHistoryAdmin


from . import services
from .models import BillableItem, Invoice, InvoiceLine, InvoiceSequence, Rate


@admin.register(Rate)
class RateAdmin(SimpleHistoryAdmin):
    list_display = ("user", "task_type", "content_type", "object_id", "hourly_rate", "valid_from")
    list_filter = ("task_type", "valid_from")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    list_select_related = ("user", "content_type")


@admin.register(BillableItem)
class BillableItemAdmin(SimpleHistoryAdmin):
    list_display = ("work_date", "description", "content_type", "object_id", "worker", "quantity", "unit_price",
                    "amount", "is_fixed_price", "invoice")
    list_filter = ("is_fixed_price", "work_date")
    search_fields = ("description",)
    list_select_related = ("worker", "invoice", "content_type")
    raw_id_fields = ("source_entry", "task", "worker", "invoice", "created_by")
    readonly_fields = ("amount", "invoice", "source_entry", "created_by", "created_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.invoice_id:
            return [f.name for f in self.model._meta.fields]
        return super().get_readonly_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.invoice_id is None)

    def save_model(self, request, obj, form, change):
        obj.compute_amount()
        super().save_model(request, obj, form, change)


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("position", "description", "work_date", "quantity", "unit_price", "line_net", "line_tax", "line_total")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _run(modeladmin, request, queryset, service, done):
    changed = 0
    for invoice in queryset:
        try:
            service(by=request.user, invoice=invoice)
            changed += 1
        except (ValidationError, PermissionDenied) as exc:
            modeladmin.message_user(request, f"{invoice}: {' '.join(getattr(exc, 'messages', [str(exc)]))}",
                                    messages.ERROR)
    if changed:
        modeladmin.message_user(request, f"{changed} invoice(s) {done}.", messages.SUCCESS)


@admin.action(description="Issue the selected drafts")
def issue_invoices(modeladmin, request, queryset):
    _run(modeladmin, request, queryset.order_by("created_at", "pk"), services.invoice_issue, "issued")


@admin.action(description="Mark the selected invoices paid")
def mark_paid(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.invoice_mark_paid, "marked paid")


@admin.register(Invoice)
class InvoiceAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "status", "content_type", "object_id", "issue_date", "due_date", "net_total",
                    "tax_total", "total", "currency")
    list_filter = ("status", "issue_date")
    search_fields = ("number", "notes")
    list_select_related = ("content_type",)
    inlines = [InvoiceLineInline]
    actions = [issue_invoices, mark_paid]

    def get_readonly_fields(self, request, obj=None):
        # Every change goes through the invoice pages (services): the admin shows, it does not edit.
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InvoiceSequence)
class InvoiceSequenceAdmin(admin.ModelAdmin):
    list_display = ("year", "last_number")

    def get_readonly_fields(self, request, obj=None):
        return ["year", "last_number"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
