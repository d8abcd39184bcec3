"""Gap-free invoice numbers when several invoices are issued at the same moment (threads, own connections).

This is what PostgreSQL in CI proves: the year's counter row is locked, so
concurrent issues take consecutive numbers, none twice, none skipped. On SQLite
the write transactions serialise and the same must hold.
"""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from billables import services
from billables.models import Invoice, InvoiceSequence
from crm.testing.concurrency import run_at_once
from crm.tests.factories import OrganizationFactory, UserFactory

from .conftest import at

THREADS = 6


@pytest.fixture
def drafts(transactional_db):
    biller = UserFactory(username="bill")
    biller.groups.add(services.billing_group_ensure())
    biller = type(biller).objects.get(pk=biller.pk)
    acme = OrganizationFactory(name="Acme")
    made = []
    for n in range(THREADS):
        item = services.fixed_item_create(by=biller, customer=acme, description=f"Work {n}", quantity=Decimal("1"),
                                          unit_price=Decimal("10.00"), work_date=date(2026, 3, 1))
        made.append(services.invoice_create(by=biller, customer=acme, item_ids=[item.pk]))
    return biller, made


@time_machine.travel(at(20, 12), tick=False)
@pytest.mark.parametrize("round_", range(3))
def test_invoices_issued_at_the_same_moment_get_consecutive_numbers_without_gaps(drafts, round_):
    biller, made = drafts

    results = run_at_once(*[lambda d=d: services.invoice_issue(by=biller, invoice=d) for d in made])

    assert [kind for kind, _ in results] == ["ok"] * THREADS, results
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"2026-{n:04d}" for n in range(1, THREADS + 1)]
    assert InvoiceSequence.objects.values_list("year", "last_number").get() == (2026, THREADS)


@time_machine.travel(at(20, 12), tick=False)
def test_the_same_draft_issued_twice_at_once_gets_one_number(drafts):
    biller, made = drafts

    results = run_at_once(lambda: services.invoice_issue(by=biller, invoice=made[0]),
                          lambda: services.invoice_issue(by=biller, invoice=made[0]))

    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    assert list(Invoice.objects.exclude(number=None).values_list("number", flat=True)) == ["2026-0001"]
    assert InvoiceSequence.objects.values_list("last_number", flat=True).get() == 1
