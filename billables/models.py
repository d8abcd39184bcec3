"""Billing: hourly rates, billable items and invoices.

- A Rate overrides a user's default hourly rate (Profile.default_hourly_rate) for a
  task type, a customer, or both, from a date on. Rates are never rewritten by
  later changes: each billable item records the price it used.
- A BillableItem is one thing to invoice: the rounded time of one time entry
  (at most one item per entry: `source_entry` is unique) or a fixed price.
  Unbilled while `invoice` is empty.
- An Invoice is for one customer (an organization or an individual). A draft
  can change; issuing gives it the next number of its year (gap-free, see
  services.invoice_issue), freezes its lines and totals, and makes it read-only.
  Voiding keeps the number and releases its items to be invoiced again.

Money is Decimal everywhere; each invoice line is rounded once (ROUND_HALF_UP to
0.01) and the totals are the sums of the rounded lines.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from crm.choices import TaskType
from crm.links import EntityLinkMixin

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CUSTOMER_MODELS = ("crm.Organization", "crm.Individual")

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO currency code, e.g. EUR or USD.")


def money(value):
    """Round to cents the way accountants expect (half up), once."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class CustomerLinkMixin(EntityLinkMixin):
    """An entity link restricted to customers: an organization or an individual."""

    class Meta:
        abstract = True

    customer_required = True

    @property
    def customer(self):
        return self.entity if self.content_type_id else None

    def clean_customer(self):
        if self.content_type_id is None:
            if self.customer_required:
                raise ValidationError({"content_type": "Choose the customer: an organization or an individual."})
            return
        model = self.content_type.model_class()
        if model is None or model._meta.label not in CUSTOMER_MODELS:
            raise ValidationError({"content_type": "The customer must be an organization or an individual."})

    def clean(self):
        super().clean()
        self.clean_customer()


class Rate(CustomerLinkMixin):
    """A user's hourly rate for a task type and/or a customer, valid from a date on.

    The most specific rate valid on the day of the work wins:
    user + type + customer > user + customer > user + type > the user's default.
    """

    customer_required = False

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="billing_rates")
    task_type = models.CharField("task type", max_length=16, choices=TaskType.choices, blank=True, default="",
                                 help_text="Empty: every type.")
    hourly_rate = models.DecimalField(max_digits=10, decimal_places=2,
                                      validators=[MinValueValidator(Decimal("0"), "A rate cannot be below zero.")])
    valid_from = models.DateField(help_text="The rate applies to work on and after this day.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["user__username", "task_type", "content_type", "object_id", "-valid_from"]
        constraints = [
            models.CheckConstraint(condition=models.Q(hourly_rate__gte=0), name="rate_not_negative",
                                   violation_error_message="A rate cannot be below zero."),
            models.UniqueConstraint(
                fields=["user", "task_type", "content_type", "object_id", "valid_from"],
                condition=models.Q(content_type__isnull=False), name="unique_customer_rate_per_day",
                violation_error_message="This person already has a rate for this customer and type from that day.",
            ),
            models.UniqueConstraint(
                fields=["user", "task_type", "valid_from"],
                condition=models.Q(content_type__isnull=True), name="unique_rate_per_day",
                violation_error_message="This person already has a rate for this type from that day.",
            ),
        ]

    def __str__(self):
        scope = []
        if self.task_type:
            scope.append(self.get_task_type_display())
        if self.content_type_id:
            scope.append(str(self.customer))
        return f"{self.user} {self.hourly_rate}/h{' for ' + ', '.join(scope) if scope else ''} from {self.valid_from}"

    @property
    def specificity(self):
        return (2 if self.content_type_id else 0) + (1 if self.task_type else 0)


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class Invoice(CustomerLinkMixin):
    Status = InvoiceStatus

    number = models.CharField(max_length=20, null=True, blank=True, unique=True, editable=False,
                              help_text="Given when the invoice is issued: YEAR-NNNN, without gaps.")
    status = models.CharField(max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT,
                              db_index=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    tax_rate = models.DecimalField(
        "tax rate (%)", max_digits=5, decimal_places=2, default=ZERO,
        validators=[MinValueValidator(Decimal("0"), "The tax rate cannot be below zero."),
                    MaxValueValidator(Decimal("100"), "The tax rate cannot be above 100%.")])
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    notes = models.TextField(blank=True, max_length=5000)
    # Sums of the rounded lines; kept up to date on drafts, frozen at issue.
    net_total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO, editable=False)
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO, editable=False)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    paid_at = models.DateTimeField(null=True, blank=True, editable=False)
    voided_at = models.DateTimeField(null=True, blank=True, editable=False)
    void_reason = models.CharField(max_length=300, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "status"], name="invoice_customer_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(tax_rate__gte=0) & models.Q(tax_rate__lte=100),
                                   name="invoice_tax_rate_0_100",
                                   violation_error_message="The tax rate must be between 0 and 100%."),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False),
                name="invoice_issued_has_number", violation_error_message="An issued invoice needs a number."),
        ]

    def __str__(self):
        return f"Invoice {self.number}" if self.number else f"Draft invoice #{self.pk}"

    def get_absolute_url(self):
        return reverse("billables:invoice_detail", args=[self.pk])

    @property
    def is_draft(self):
        return self.status == InvoiceStatus.DRAFT

    def clean(self):
        super().clean()
        if self.due_date and self.issue_date and self.due_date < self.issue_date:
            raise ValidationError({"due_date": "The due date cannot be before the issue date."})


class InvoiceSequence(models.Model):
    """The last invoice number given in a year; locked while the next one is taken."""

    year = models.PositiveIntegerField(unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class BillableItem(CustomerLinkMixin):
    """One thing to invoice, with the price it was given when it was made."""

    customer_required = True

    description = models.CharField(max_length=300)
    work_date = models.DateField(help_text="When the work was done.")
    quantity = models.DecimalField(max_digits=10, decimal_places=2,
                                   validators=[MinValueValidator(Decimal("0.01"), "The quantity must be above zero.")],
                                   help_text="Hours for time; units for a fixed price.")
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2,
        validators=[MinValueValidator(Decimal("0"), "The price cannot be below zero.")],
        help_text="For time: the hourly rate used, recorded so later rate changes do not rewrite it.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, editable=False)
    is_fixed_price = models.BooleanField("fixed price", default=False)
    rate_note = models.CharField(max_length=200, blank=True, help_text="Which rate was used.")
    # For time: the entry it bills (at most once: unique), its task and who did the work.
    source_entry = models.OneToOneField("tasks.TimeEntry", on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="billable_item")
    minutes_worked = models.PositiveIntegerField(null=True, blank=True, help_text="Before rounding.")
    task = models.ForeignKey("tasks.Task", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="billable_items")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="billable_items")
    invoice = models.ForeignKey(Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="items")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-work_date", "-pk"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "invoice"], name="item_customer_invoice"),
            models.Index(fields=["invoice", "work_date"], name="item_invoice_date"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="item_price_not_negative",
                                   violation_error_message="The price cannot be below zero."),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="item_quantity_positive",
                                   violation_error_message="The quantity must be above zero."),
        ]

    def __str__(self):
        return self.description

    @property
    def is_billed(self):
        return self.invoice_id is not None

    def compute_amount(self):
        self.amount = money(Decimal(self.quantity) * Decimal(self.unit_price))
        return self.amount


class InvoiceLine(models.Model):
    """A line of an invoice, copied from a billable item and rounded once: net, tax and total."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(BillableItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=300)
    work_date = models.DateField(null=True, blank=True)
    quantity = models.DecimalField(max_digits=10, decimal_places=2)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_net = models.DecimalField(max_digits=14, decimal_places=2)
    line_tax = models.DecimalField(max_digits=14, decimal_places=2)
    line_total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.description

    def compute(self, tax_rate):
        """Round net and tax once each (half up to cents); the total is their sum."""
        self.line_net = money(Decimal(self.quantity) * Decimal(self.unit_price))
        self.line_tax = money(self.line_net * Decimal(tax_rate) / Decimal(100))
        self.line_total = self.line_net + self.line_tax
        return self
