"""Billing rules: rounding, rates and their history, time to items (once), invoice totals, states, numbers."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from billables import services
from billables.models import BillableItem, Invoice, InvoiceLine, Rate
from crm.tests.factories import IndividualFactory, OrganizationFactory, TicketFactory
from tasks import timetracking
from tasks.tests.factories import TaskFactory

from .conftest import at, linked_task, worked

D = Decimal
NOW = at(20, 12)


@pytest.mark.parametrize("seconds, increment, minutes", [
    (0, 15, 0), (1, 15, 15), (15 * 60, 15, 15), (15 * 60 + 1, 15, 30), (7 * 60, 6, 12), (6 * 60, 6, 6),
    (59, 0, 1), (61 * 60, 1, 61), (10 * 60, 0, 10), (119 * 60 + 30, 60, 120),
])
def test_time_is_rounded_up_to_the_billing_increment(seconds, increment, minutes):
    assert services.billable_minutes(timedelta(seconds=seconds), increment) == minutes


@pytest.mark.parametrize("minutes, hours", [(15, "0.25"), (6, "0.10"), (10, "0.17"), (20, "0.33"), (100, "1.67"),
                                            (1, "0.02"), (0, "0.00")])
def test_minutes_become_hours_with_two_decimals_half_up(minutes, hours):
    assert services.hours_quantity(minutes) == D(hours)


def test_line_amounts_round_half_up_once_per_line_and_totals_add_the_rounded_lines():
    lines = [InvoiceLine(quantity=D("0.05"), unit_price=D("1.00")).compute(D("7")) for _ in range(3)]
    half = InvoiceLine(quantity=D("0.25"), unit_price=D("0.50")).compute(D("19"))
    awkward = InvoiceLine(quantity=D("1.67"), unit_price=D("99.99")).compute(D("19"))

    assert [(line.line_net, line.line_tax, line.line_total) for line in lines] == [
        (D("0.05"), D("0.00"), D("0.05"))] * 3
    assert (half.line_net, half.line_tax, half.line_total) == (D("0.13"), D("0.02"), D("0.15"))  # 0.125 -> 0.13
    assert (awkward.line_net, awkward.line_tax, awkward.line_total) == (D("166.98"), D("31.73"), D("198.71"))
    assert all(isinstance(v, Decimal) for line in [*lines, half, awkward]
               for v in (line.line_net, line.line_tax, line.line_total))


def test_the_most_specific_rate_valid_on_the_day_wins(worker, biller, acme):
    other = OrganizationFactory(name="Other")
    services.rate_create(by=biller, user=worker, hourly_rate=D("90"), valid_from=date(2026, 1, 1), task_type="call")
    services.rate_create(by=biller, user=worker, hourly_rate=D("100"), valid_from=date(2026, 1, 1), customer=acme)
    services.rate_create(by=biller, user=worker, hourly_rate=D("120"), valid_from=date(2026, 1, 1),
                         task_type="call", customer=acme)
    services.rate_create(by=biller, user=worker, hourly_rate=D("130"), valid_from=date(2026, 3, 15),
                         task_type="call", customer=acme)

    def rate(task_type, customer, day):
        return services.resolve_rate(user=worker, task_type=task_type, customer=customer, on_date=day)[0]

    assert [rate("call", acme, date(2026, 3, 14)), rate("call", acme, date(2026, 3, 15)),
            rate("email", acme, date(2026, 3, 1)), rate("call", other, date(2026, 3, 1)),
            rate("email", other, date(2026, 3, 1)), rate("call", acme, date(2025, 12, 31))] == [
        D("120"), D("130"), D("100"), D("90"), D("80.00"), D("80.00")]


def test_a_rate_below_zero_is_refused(worker, biller):
    with pytest.raises(ValidationError) as refused:
        services.rate_create(by=biller, user=worker, hourly_rate=D("-0.01"), valid_from=date(2026, 1, 1))

    assert refused.value.message_dict == {"hourly_rate": ["A rate cannot be below zero."]}
    assert Rate.objects.count() == 0


def test_only_billing_staff_may_bill(worker, owner, acme):
    with pytest.raises(PermissionDenied):
        services.rate_create(by=owner, user=worker, hourly_rate=D("1"), valid_from=date(2026, 1, 1))
    with pytest.raises(PermissionDenied):
        services.time_convert(by=owner, entity=acme)


@time_machine.travel(NOW, tick=False)
def test_converting_time_makes_one_priced_item_per_entry_and_never_twice(worker, biller, acme, settings):
    settings.BILLING_ROUNDING_MINUTES = 15
    ticket = TicketFactory(subject="Printer", organization=acme)
    call = linked_task(acme, title="Call Acme", task_type="call", created_by=worker)
    fix = linked_task(ticket, title="Fix printer", task_type="other", created_by=worker)
    services.rate_create(by=biller, user=worker, hourly_rate=D("99.99"), valid_from=date(2026, 1, 1),
                         task_type="call")
    worked(call, worker, at(2, 9), 20, note="Intro")         # 30 min billed
    worked(fix, worker, at(3, 23, 50), 61)                   # 75 min billed, worked on 3 March (Berlin)
    worked(call, worker, at(4, 9), 45, billable=False)       # not billable

    first = services.time_convert(by=biller, entity=acme)
    second = services.time_convert(by=biller, entity=acme)

    # 0.50 h x 99.99 = 49.995 -> 50.00 (half up)
    assert (len(first.created), len(second.created), first.amount) == (2, 0, D("150.00"))
    assert sorted(BillableItem.objects.values_list(
        "description", "work_date", "quantity", "unit_price", "amount", "minutes_worked", "object_id")) == [
        ("Call Acme: Intro (Wanda Work)", date(2026, 3, 2), D("0.50"), D("99.99"), D("50.00"), 20, acme.pk),
        ("Fix printer (Wanda Work)", date(2026, 3, 3), D("1.25"), D("80.00"), D("100.00"), 61, acme.pk),
    ]


@time_machine.travel(NOW, tick=False)
def test_time_of_a_task_without_customer_is_billed_only_to_a_named_customer(worker, biller, acme):
    task = TaskFactory(title="Global work", created_by=worker)
    worked(task, worker, at(2, 9), 60)

    skipped = services.time_convert(by=biller, task=task)
    billed = services.time_convert(by=biller, task=task, bill_to=acme)

    assert (len(skipped.created), skipped.no_customer, len(billed.created)) == (0, 1, 1)
    assert BillableItem.objects.get().customer == acme


@time_machine.travel(NOW, tick=False)
def test_rates_history_an_item_keeps_the_rate_it_was_made_with(worker, biller, acme):
    task = linked_task(acme, title="Call", task_type="call", created_by=worker)
    worked(task, worker, at(2, 9), 60)
    services.time_convert(by=biller, entity=acme)

    services.default_rate_set(by=biller, user=worker, hourly_rate=D("150"))
    services.rate_create(by=biller, user=worker, hourly_rate=D("200"), valid_from=date(2026, 1, 1), customer=acme)

    assert BillableItem.objects.values_list("unit_price", "amount", "rate_note").get() == (
        D("80.00"), D("80.00"), "Wanda Work's default rate")


@time_machine.travel(NOW, tick=False)
def test_billed_time_is_frozen_until_its_item_is_deleted(worker, biller, acme):
    task = linked_task(acme, title="Call", created_by=worker, assignee=worker)
    entry = worked(task, worker, at(2, 9), 60)
    services.time_convert(by=biller, entity=acme)

    with pytest.raises(ValidationError) as frozen:
        timetracking.time_entry_delete(user=worker, entry=entry)
    services.item_delete(by=biller, item=BillableItem.objects.get())
    timetracking.time_entry_delete(user=worker, entry=entry)

    assert frozen.value.messages == [
        "This time is billed (item “Call (Wanda Work)”), so it cannot be changed or deleted. Billing staff can "
        "delete the unbilled item to release it."]


def _items(biller, customer, *amounts):
    return [services.fixed_item_create(by=biller, customer=customer, description=f"Item {n}", quantity=D("1"),
                                       unit_price=D(amount), work_date=date(2026, 3, 1))
            for n, amount in enumerate(amounts)]


@time_machine.travel(NOW, tick=False)
def test_an_invoice_totals_its_rounded_lines(biller, acme):
    items = _items(biller, acme, "10.00", "0.05", "0.05", "0.05")
    items.append(services.fixed_item_create(by=biller, customer=acme, description="Half cent", quantity=D("0.25"),
                                            unit_price=D("0.50"), work_date=date(2026, 3, 1)))

    invoice = services.invoice_create(by=biller, customer=acme, item_ids=[i.pk for i in items], tax_rate=D("7"))

    invoice.refresh_from_db()
    assert list(invoice.lines.values_list("line_net", "line_tax", "line_total")) == [
        (D("10.00"), D("0.70"), D("10.70")), (D("0.05"), D("0.00"), D("0.05")), (D("0.05"), D("0.00"), D("0.05")),
        (D("0.05"), D("0.00"), D("0.05")), (D("0.13"), D("0.01"), D("0.14"))]
    assert (invoice.net_total, invoice.tax_total, invoice.total) == (D("10.28"), D("0.71"), D("10.99"))


def test_an_invoice_needs_lines(biller, acme):
    (item,) = _items(biller, acme, "5.00")
    with pytest.raises(ValidationError) as empty:
        services.invoice_create(by=biller, customer=acme, item_ids=[])
    draft = services.invoice_create(by=biller, customer=acme, item_ids=[item.pk])
    services.invoice_remove_line(by=biller, invoice=draft, line_id=draft.lines.get().pk)

    with pytest.raises(ValidationError) as no_lines:
        services.invoice_issue(by=biller, invoice=draft)

    assert empty.value.message_dict == {"items": ["An invoice needs at least one line: choose the items to invoice."]}
    assert no_lines.value.messages == ["An invoice needs at least one line before it can be issued."]
    assert Invoice.objects.values_list("status", "number").get() == ("draft", None)
    assert BillableItem.objects.get().invoice is None


def test_an_item_goes_on_one_invoice_only_and_only_for_its_customer(biller, acme):
    other = IndividualFactory(first_name="Ida", last_name="Ives")
    (item,) = _items(biller, acme, "5.00")
    services.invoice_create(by=biller, customer=acme, item_ids=[item.pk])

    with pytest.raises(ValidationError) as taken:
        services.invoice_create(by=biller, customer=acme, item_ids=[item.pk])
    with pytest.raises(ValidationError):
        services.invoice_create(by=biller, customer=other, item_ids=[item.pk])

    assert taken.value.messages == ["Some of the chosen items are already on an invoice or belong to another "
                                    "customer; nothing was added."]
    assert Invoice.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_issued_invoices_are_numbered_in_sequence_and_read_only(biller, acme):
    drafts = [services.invoice_create(by=biller, customer=acme, item_ids=[i.pk]) for i in _items(biller, acme, "1",
                                                                                                 "2", "3")]
    issued = [services.invoice_issue(by=biller, invoice=d) for d in drafts]
    extra = _items(biller, acme, "4")[0]

    attempts = [
        lambda: services.invoice_update(by=biller, invoice=issued[0], tax_rate=D("19"), currency="EUR"),
        lambda: services.invoice_add_items(by=biller, invoice=issued[0], item_ids=[extra.pk]),
        lambda: services.invoice_remove_line(by=biller, invoice=issued[0], line_id=issued[0].lines.get().pk),
        lambda: services.invoice_delete(by=biller, invoice=issued[0]),
        lambda: services.invoice_issue(by=biller, invoice=issued[0]),
    ]
    refusals = []
    for attempt in attempts:
        with pytest.raises(ValidationError) as refused:
            attempt()
        refusals.append(refused.value.messages)

    assert [i.number for i in issued] == ["2026-0001", "2026-0002", "2026-0003"]
    assert refusals == [["Invoice 2026-0001 is issued: it can no longer be changed."]] * 5
    first = Invoice.objects.get(pk=issued[0].pk)
    assert (first.tax_rate, first.total, first.lines.count(), first.issue_date, first.due_date) == (
        D("0.00"), D("1.00"), 1, date(2026, 3, 20), date(2026, 4, 3))


@time_machine.travel(NOW, tick=False)
def test_void_keeps_the_number_and_releases_the_items_for_a_new_invoice(biller, acme):
    items = _items(biller, acme, "100.00", "50.00")
    first = services.invoice_issue(by=biller, invoice=services.invoice_create(
        by=biller, customer=acme, item_ids=[i.pk for i in items], tax_rate=D("19")))

    with pytest.raises(ValidationError) as no_reason:
        services.invoice_void(by=biller, invoice=first, reason="  ")
    services.invoice_void(by=biller, invoice=first, reason="Wrong address")
    again = services.invoice_issue(by=biller, invoice=services.invoice_create(
        by=biller, customer=acme, item_ids=[i.pk for i in items], tax_rate=D("19")))

    assert no_reason.value.message_dict == {"void_reason": ["Say why the invoice is void."]}
    assert list(Invoice.objects.order_by("pk").values_list("number", "status", "total")) == [
        ("2026-0001", "void", D("178.50")), ("2026-0002", "issued", D("178.50"))]
    assert set(BillableItem.objects.values_list("invoice__number", flat=True)) == {"2026-0002"}
    assert InvoiceLine.objects.filter(invoice=first).count() == 2


@time_machine.travel(NOW, tick=False)
def test_paid_and_unpaid_and_what_cannot_be_voided(biller, acme):
    invoice = services.invoice_issue(by=biller, invoice=services.invoice_create(
        by=biller, customer=acme, item_ids=[i.pk for i in _items(biller, acme, "10")]))

    services.invoice_mark_paid(by=biller, invoice=invoice)
    with pytest.raises(ValidationError) as paid_void:
        services.invoice_void(by=biller, invoice=invoice, reason="x")
    services.invoice_mark_unpaid(by=biller, invoice=invoice)

    assert paid_void.value.messages == ["Only an issued, unpaid invoice can be voided; Invoice 2026-0001 is paid."]
    assert Invoice.objects.values_list("status", "paid_at").get() == ("issued", None)
