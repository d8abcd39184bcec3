"""State changes of billing: rates, billable items, invoices. Views, the admin and commands call these.

Each service runs in one transaction, validates with full_clean() before saving,
checks that the acting user may bill (`can_bill`), and raises:
- django.core.exceptions.ValidationError for what the rules refuse,
- django.core.exceptions.PermissionDenied for users who may not bill.

Guarantees:
- a time entry is billed at most once (BillableItem.source_entry is unique; a
  conversion that loses a race changes nothing);
- an item is on at most one live invoice (claimed with a conditional update);
- invoice numbers are YEAR-NNNN without gaps or duplicates: the year's counter
  row is locked and advanced in the same transaction that issues the invoice;
- issued, paid and void invoices are read-only; voiding keeps the number and
  releases the items to be invoiced again.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from crm.models import Profile
from tasks.models_time import TimeEntry

from .customers import customer_of, entity_prefetch, entity_time_q, is_customer
from .models import BillableItem, Invoice, InvoiceLine, InvoiceSequence, InvoiceStatus, Rate, money

S = InvoiceStatus
HOUR = Decimal(60)


# ---- who may bill -------------------------------------------------------------------------

def can_bill(user):
    """Billing staff: superusers and users with billables.change_invoice (the "Billing" group)."""
    return bool(user and user.is_authenticated and user.is_active
                and (user.is_superuser or user.has_perm("billables.change_invoice")))


def _require_billing(user):
    if not can_bill(user):
        raise PermissionDenied("Only billing staff (the Billing group) may do this.")


def _save(obj, by):
    obj._history_user = by
    obj.full_clean()
    obj.save()
    return obj


# ---- settings ---------------------------------------------------------------------------

def rounding_minutes():
    return int(getattr(settings, "BILLING_ROUNDING_MINUTES", 15) or 0)


def default_tax_rate():
    raw = str(getattr(settings, "BILLING_TAX_RATE", "0") or "0")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"BILLING_TAX_RATE must be a percentage like 19 or 7.5, got {raw!r}") from None
    if not Decimal(0) <= value <= Decimal(100):
        raise ImproperlyConfigured(f"BILLING_TAX_RATE must be between 0 and 100, got {raw!r}")
    return value


# ---- rounding and rates -------------------------------------------------------------------

def billable_minutes(duration, increment=None):
    """Minutes to bill for a duration: rounded UP to the next multiple of `increment` minutes
    (BILLING_ROUNDING_MINUTES; 0 or 1 bills started minutes). A zero duration bills nothing."""
    increment = rounding_minutes() if increment is None else increment
    seconds = max(int(duration.total_seconds()), 0)
    if seconds == 0:
        return 0
    step = max(increment, 1) * 60
    return math.ceil(seconds / step) * step // 60


def hours_quantity(minutes):
    """Minutes as hours with two decimals (half up): 15 -> 0.25, 6 -> 0.10, 10 -> 0.17."""
    return money(Decimal(minutes) / HOUR)


def _name(user):
    return (user.get_full_name() or user.username) if user else "nobody"


def resolve_rate(*, user, task_type, customer, on_date, rates=None, default=None):
    """(hourly rate, note) for work by `user` on a task of `task_type` for `customer` on `on_date`.

    The most specific rate valid that day wins: user + type + customer > user +
    customer > user + type > the user's default (Profile.default_hourly_rate).
    Among rates of the same scope, the one with the latest `valid_from` on or
    before the day. `rates` may be preloaded (all of the user's rates).
    """
    if rates is None:
        rates = list(Rate.objects.filter(user=user, valid_from__lte=on_date))
    ct_id, obj_id = (None, None)
    if customer is not None:
        from django.contrib.contenttypes.models import ContentType

        ct_id, obj_id = ContentType.objects.get_for_model(customer).pk, customer.pk
    best = None
    for rate in rates:
        if rate.user_id != user.pk or rate.valid_from > on_date:
            continue
        if rate.task_type and rate.task_type != task_type:
            continue
        if rate.content_type_id is not None and (rate.content_type_id, rate.object_id) != (ct_id, obj_id):
            continue
        key = (rate.specificity, rate.valid_from)
        if best is None or key > (best.specificity, best.valid_from):
            best = rate
    if best is not None:
        scope = []
        if best.task_type:
            scope.append(best.get_task_type_display().lower())
        if best.content_type_id:
            scope.append(str(customer))
        return best.hourly_rate, f"{_name(user)}'s rate for {' and '.join(scope)} from {best.valid_from:%d %b %Y}"
    if default is None:
        profile = Profile.objects.filter(user=user).first()
        default = profile.default_hourly_rate if profile else Decimal("0.00")
    return default, f"{_name(user)}'s default rate"


def rate_create(*, by, user, hourly_rate, valid_from, task_type="", customer=None):
    """Add a rate for `user` from `valid_from` on. Items already made keep the price they recorded."""
    _require_billing(by)
    rate = Rate(user=user, hourly_rate=hourly_rate, valid_from=valid_from, task_type=task_type or "",
                created_by=by)
    if customer is not None:
        if not is_customer(customer):
            raise ValidationError({"content_type": "The customer must be an organization or an individual."})
        rate.set_entity(customer)
    with transaction.atomic():
        return _save(rate, by)


def rate_delete(*, by, rate):
    """Remove a rate. Items made with it keep their recorded price."""
    _require_billing(by)
    with transaction.atomic():
        rate._history_user = by
        rate.delete()


def default_rate_set(*, by, user, hourly_rate):
    """Set a user's default hourly rate (their profile). Existing items keep their recorded price."""
    _require_billing(by)
    with transaction.atomic():
        profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
        profile.default_hourly_rate = hourly_rate
        profile.full_clean()
        profile.save(update_fields=["default_hourly_rate"])
    return profile


# ---- time to billable items ---------------------------------------------------------------

def unbilled_entries(*, task=None, entity=None, date_from=None, date_to=None, worker=None, tz=None):
    """Stopped, billable time entries that no item bills yet, narrowed to a task (and its
    subtasks), an entity (see billables.customers), a period of local dates and/or a worker."""
    qs = TimeEntry.objects.filter(billable=True, ended_at__isnull=False, billable_item__isnull=True)
    if task is not None:
        qs = qs.filter(Q(task=task) | Q(task__tree_path__startswith=task.subtree_prefix()))
    if entity is not None:
        qs = qs.filter(entity_time_q(entity))
    tz = tz or timezone.get_current_timezone()
    if date_from is not None:
        qs = qs.filter(started_at__gte=datetime.combine(date_from, time(0, 0), tzinfo=tz))
    if date_to is not None:
        qs = qs.filter(started_at__lt=datetime.combine(date_to + timedelta(days=1), time(0, 0), tzinfo=tz))
    if worker is not None:
        qs = qs.filter(user=worker)
    return qs


@dataclass
class ConvertResult:
    created: list = field(default_factory=list)
    no_customer: int = 0      # entries skipped: their task has no customer and no "bill to" was given
    too_short: int = 0        # entries skipped: nothing to bill after rounding (zero length)
    zero_rate: int = 0        # items made at 0.00 because the worker has no rate

    @property
    def amount(self):
        return sum((item.amount for item in self.created), Decimal("0.00"))


def _local_date(moment, user):
    import zoneinfo

    tz_name = getattr(getattr(user, "profile", None), "time_zone", None) or settings.TIME_ZONE
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    return moment.astimezone(tz).date()


def time_convert(*, by, task=None, entity=None, date_from=None, date_to=None, worker=None, bill_to=None):
    """Turn unbilled billable time into billable items: one item per time entry.

    Each entry's duration is rounded up to BILLING_ROUNDING_MINUTES, priced with the
    rate resolved for its worker, task type and customer on the day of the work,
    and that rate is recorded on the item. Entries whose task has no customer are
    skipped unless `bill_to` names one. Running it twice bills nothing twice; if
    another conversion takes the same time at the same moment, this one changes
    nothing and says so. One transaction.
    """
    _require_billing(by)
    if bill_to is not None and not is_customer(bill_to):
        raise ValidationError({"bill_to": "Bill to an organization or an individual."})
    if date_from and date_to and date_to < date_from:
        raise ValidationError({"date_to": "The end of the period cannot be before its start."})
    if task is None and entity is None and date_from is None and date_to is None and worker is None:
        raise ValidationError("Choose what to convert: a task, a customer or a period.")
    entries = list(
        unbilled_entries(task=task, entity=entity, date_from=date_from, date_to=date_to, worker=worker)
        .select_related("task", "user", "user__profile").prefetch_related(entity_prefetch("task__entity"))
        .order_by("started_at", "pk"))
    result = ConvertResult()
    if not entries:
        return result
    user_ids = {e.user_id for e in entries}
    rates = {}
    for rate in Rate.objects.filter(user_id__in=user_ids).select_related("content_type"):
        rates.setdefault(rate.user_id, []).append(rate)
    increment = rounding_minutes()
    try:
        with transaction.atomic():
            for entry in entries:
                customer = bill_to or customer_of(entry.task.entity if entry.task.content_type_id else None)
                if customer is None:
                    result.no_customer += 1
                    continue
                minutes = billable_minutes(entry.duration, increment)
                if minutes == 0:
                    result.too_short += 1
                    continue
                worked_on = _local_date(entry.started_at, entry.user)
                profile = getattr(entry.user, "profile", None)
                price, note = resolve_rate(
                    user=entry.user, task_type=entry.task.task_type, customer=customer, on_date=worked_on,
                    rates=rates.get(entry.user_id, []),
                    default=profile.default_hourly_rate if profile else Decimal("0.00"))
                description = entry.task.title + (f": {entry.note}" if entry.note else "")
                item = BillableItem(
                    description=f"{description} ({_name(entry.user)})"[:300], work_date=worked_on,
                    quantity=hours_quantity(minutes), unit_price=price, is_fixed_price=False,
                    rate_note=note[:200], source_entry=entry, minutes_worked=int(entry.duration.total_seconds() // 60),
                    task=entry.task, worker=entry.user, created_by=by)
                item.set_entity(customer)
                item.compute_amount()
                # The unique source entry is checked by the database on insert: validating it here
                # would cost a query per item and prove nothing against a concurrent conversion.
                item._history_user = by
                item.full_clean(validate_unique=False, validate_constraints=False)
                item.save()
                result.created.append(item)
                if price == 0:
                    result.zero_rate += 1
    except IntegrityError:
        raise ValidationError("Some of this time was billed by someone else at the same moment, so nothing was "
                              "converted. Try again.", code="race") from None
    return result


def fixed_item_create(*, by, customer, description, quantity, unit_price, work_date, task=None):
    """A fixed-price item (a flat fee, a licence, travel) for a customer."""
    _require_billing(by)
    if customer is None or not is_customer(customer):
        raise ValidationError({"content_type": "Choose the customer: an organization or an individual."})
    item = BillableItem(description=(description or "").strip(), quantity=quantity, unit_price=unit_price,
                        work_date=work_date, is_fixed_price=True, task=task, created_by=by, rate_note="Fixed price")
    item.set_entity(customer)
    try:
        item.compute_amount()
    except (InvalidOperation, TypeError):
        raise ValidationError("Enter a quantity and a price as numbers.") from None
    with transaction.atomic():
        return _save(item, by)


def item_delete(*, by, item):
    """Delete an unbilled item; its time entry becomes unbilled again (and can be changed or converted anew)."""
    _require_billing(by)
    with transaction.atomic():
        current = BillableItem.objects.select_for_update().filter(pk=item.pk).first()
        if current is None:
            raise ValidationError("This item was already deleted.")
        if current.invoice_id is not None:
            raise ValidationError("This item is on an invoice: remove it from the draft (or void the invoice) first.")
        current._history_user = by
        current.delete()


# ---- invoices -----------------------------------------------------------------------------

def _require_draft(invoice):
    if invoice.status != S.DRAFT:
        raise ValidationError(f"{invoice} is {invoice.get_status_display().lower()}: it can no longer be changed.",
                              code="read_only")


def _locked(invoice):
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _recompute(invoice):
    """Recompute every line with the invoice's tax rate and store the sums of the rounded lines."""
    lines = list(invoice.lines.all())
    for line in lines:
        line.compute(invoice.tax_rate)
    InvoiceLine.objects.bulk_update(lines, ["line_net", "line_tax", "line_total"])
    invoice.net_total = sum((line.line_net for line in lines), Decimal("0.00"))
    invoice.tax_total = sum((line.line_tax for line in lines), Decimal("0.00"))
    invoice.total = sum((line.line_total for line in lines), Decimal("0.00"))
    return lines


def _claim_items(invoice, customer, item_ids):
    """Attach unbilled items of `customer` to the draft; all or nothing."""
    from .customers import customer_q

    ids = sorted({int(i) for i in item_ids})
    claimed = BillableItem.objects.filter(customer_q(customer), pk__in=ids, invoice__isnull=True).update(
        invoice=invoice)
    if claimed != len(ids):
        raise ValidationError("Some of the chosen items are already on an invoice or belong to another customer; "
                              "nothing was added.", code="items_taken")
    last = invoice.lines.order_by("-position").values_list("position", flat=True).first() or 0
    lines = []
    for position, item in enumerate(BillableItem.objects.filter(pk__in=ids).order_by("work_date", "pk"),
                                    start=last + 1):
        line = InvoiceLine(invoice=invoice, item=item, position=position, description=item.description,
                           work_date=item.work_date, quantity=item.quantity, unit_price=item.unit_price)
        line.compute(invoice.tax_rate)
        lines.append(line)
    InvoiceLine.objects.bulk_create(lines)


def invoice_create(*, by, customer, item_ids, tax_rate=None, currency=None, notes="", due_date=None):
    """A draft invoice for `customer` with the chosen unbilled items as lines.

    Refused without items ("an invoice with no lines"), for items of another
    customer and for items already on an invoice (all or nothing).
    """
    _require_billing(by)
    if customer is None or not is_customer(customer):
        raise ValidationError({"content_type": "Choose the customer: an organization or an individual."})
    if not item_ids:
        raise ValidationError({"items": "An invoice needs at least one line: choose the items to invoice."})
    invoice = Invoice(status=S.DRAFT, tax_rate=default_tax_rate() if tax_rate is None else tax_rate,
                      currency=currency or settings.BILLING_CURRENCY, notes=(notes or "").strip(),
                      due_date=due_date, created_by=by)
    invoice.set_entity(customer)
    with transaction.atomic():
        _save(invoice, by)
        _claim_items(invoice, customer, item_ids)
        _recompute(invoice)
        invoice.save(update_fields=["net_total", "tax_total", "total", "updated_at"])
    return invoice


def invoice_update(*, by, invoice, tax_rate, currency, notes="", due_date=None):
    """Change a draft's tax rate, currency, notes or due date; the lines are recomputed."""
    _require_billing(by)
    with transaction.atomic():
        current = _locked(invoice)
        _require_draft(current)
        current.tax_rate, current.currency = tax_rate, currency
        current.notes, current.due_date = (notes or "").strip(), due_date
        current.full_clean()
        _recompute(current)
        return _save(current, by)


def invoice_add_items(*, by, invoice, item_ids):
    _require_billing(by)
    if not item_ids:
        raise ValidationError({"items": "Choose the items to add."})
    with transaction.atomic():
        current = _locked(invoice)
        _require_draft(current)
        _claim_items(current, current.customer, item_ids)
        _recompute(current)
        return _save(current, by)


def invoice_remove_line(*, by, invoice, line_id):
    """Take a line off a draft; its item becomes unbilled again."""
    _require_billing(by)
    with transaction.atomic():
        current = _locked(invoice)
        _require_draft(current)
        line = current.lines.filter(pk=line_id).first()
        if line is None:
            raise ValidationError("That line is not on this invoice.")
        if line.item_id:
            BillableItem.objects.filter(pk=line.item_id, invoice=current).update(invoice=None)
        line.delete()
        _recompute(current)
        return _save(current, by)


def invoice_delete(*, by, invoice):
    """Delete a draft (an issued invoice is voided instead, keeping its number); its items become unbilled."""
    _require_billing(by)
    with transaction.atomic():
        current = _locked(invoice)
        _require_draft(current)
        BillableItem.objects.filter(invoice=current).update(invoice=None)
        current._history_user = by
        current.delete()


def _next_number(year):
    """The next number of `year`, taken under a row lock held until the caller's transaction ends:
    a rolled-back issue gives its number back, so numbers have no gaps and no duplicates."""
    InvoiceSequence.objects.get_or_create(year=year)
    sequence = InvoiceSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{year}-{sequence.last_number:04d}"


def invoice_issue(*, by, invoice, issue_date=None, due_date=None):
    """Issue a draft: the next number of the issue date's year, lines and totals frozen, read-only from now on.

    Refused for an invoice with no lines and for one that is not a draft (two
    clicks on "Issue" give one number). Gap-free numbering: see `_next_number`.
    """
    _require_billing(by)
    issue_date = issue_date or timezone.localdate()
    with transaction.atomic():
        current = _locked(invoice)
        _require_draft(current)
        lines = _recompute(current)
        if not lines:
            raise ValidationError("An invoice needs at least one line before it can be issued.", code="no_lines")
        if issue_date > timezone.localdate() + timedelta(days=1):
            raise ValidationError({"issue_date": "An invoice cannot be issued with a date in the future."})
        current.issue_date = issue_date
        current.due_date = due_date or current.due_date or issue_date + timedelta(days=settings.BILLING_PAYMENT_DAYS)
        current.full_clean()  # before the number is taken: a refused issue must not use one
        current.number = _next_number(issue_date.year)
        current.status = S.ISSUED
        current.issued_at = timezone.now()
        return _save(current, by)


def invoice_mark_paid(*, by, invoice, paid_on=None):
    _require_billing(by)
    with transaction.atomic():
        current = _locked(invoice)
        if current.status != S.ISSUED:
            raise ValidationError(f"Only an issued invoice can be marked paid; {current} is "
                                  f"{current.get_status_display().lower()}.")
        current.status = S.PAID
        current.paid_at = timezone.now() if paid_on is None else paid_on
        return _save(current, by)


def invoice_mark_unpaid(*, by, invoice):
    """Undo "paid" (a payment recorded by mistake)."""
    _require_billing(by)
    with transaction.atomic():
        current = _locked(invoice)
        if current.status != S.PAID:
            raise ValidationError(f"{current} is not marked paid.")
        current.status = S.ISSUED
        current.paid_at = None
        return _save(current, by)


def invoice_void(*, by, invoice, reason):
    """Void an issued invoice: it keeps its number (no gaps) and lines, and its items become unbilled
    again so they can go on a new invoice. A paid invoice must be marked unpaid first."""
    _require_billing(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"void_reason": "Say why the invoice is void."})
    with transaction.atomic():
        current = _locked(invoice)
        if current.status != S.ISSUED:
            raise ValidationError(
                "A draft is deleted, not voided." if current.status == S.DRAFT else
                f"Only an issued, unpaid invoice can be voided; {current} is {current.get_status_display().lower()}.")
        BillableItem.objects.filter(invoice=current).update(invoice=None)
        current.status = S.VOID
        current.voided_at = timezone.now()
        current.void_reason = reason[:300]
        return _save(current, by)


def invoice_default_dates(issue_date=None):
    issue_date = issue_date or timezone.localdate()
    return issue_date, issue_date + timedelta(days=settings.BILLING_PAYMENT_DAYS)



BILLING_GROUP = "Billing"
_GROUP_MODELS = ("rate", "billableitem", "invoice", "invoiceline", "invoicesequence")


def billing_group_ensure():
    """The "Billing" group with every billables permission and tasks.view_timeentry (idempotent).

    `manage.py billing_group` and seed_demo (and tests) call it; it is not a data migration, so a
    fresh database has no such group until one of them runs.
    """
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=BILLING_GROUP)
    codenames = [f"{action}_{model}" for model in _GROUP_MODELS for action in ("add", "change", "delete", "view")]
    perms = list(Permission.objects.filter(content_type__app_label="billables", codename__in=codenames))
    perms += list(Permission.objects.filter(content_type__app_label="tasks", codename="view_timeentry"))
    group.permissions.add(*perms)
    return group
