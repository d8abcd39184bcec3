"""Billing pages: who may see them, the lists (constant queries), invoice flow, CSV, print and PDF, the Billing tab."""

import builtins
import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billables import services
from billables.models import BillableItem, Invoice, Rate
from crm.tests import html
from crm.tests.factories import OrganizationFactory, TicketFactory

from .conftest import at, linked_task, worked

D = Decimal
NOW = at(20, 12)


def _item(biller, customer, description="Consulting", amount="100.00"):
    return services.fixed_item_create(by=biller, customer=customer, description=description, quantity=D("1"),
                                      unit_price=D(amount), work_date=date(2026, 3, 1))


def _issued(biller, customer, *amounts, tax="19"):
    items = [_item(biller, customer, f"Item {n}", a) for n, a in enumerate(amounts)]
    draft = services.invoice_create(by=biller, customer=customer, item_ids=[i.pk for i in items], tax_rate=D(tax))
    return services.invoice_issue(by=biller, invoice=draft)


@pytest.mark.parametrize("url", ["/billables/", "/billables/rates/", "/billables/export.csv", "/invoices/",
                                 "/invoices/new/", "/billables/convert/"])
def test_billing_pages_are_for_billing_staff_only(client, owner, staff, url):
    client.force_login(owner)
    refused = client.get(url)
    client.force_login(staff)
    staff_refused = client.get(url)

    assert (refused.status_code, staff_refused.status_code) == (403, 403)
    assert "Billing is for billing staff (the Billing group)." in refused.content.decode()


@time_machine.travel(NOW, tick=False)
def test_invoice_pages_of_an_existing_invoice_are_403_for_others(client, owner, biller, acme):
    invoice = _issued(biller, acme, "10")
    client.force_login(owner)

    codes = [client.get(f"/invoices/{invoice.pk}/").status_code,
             client.get(f"/invoices/{invoice.pk}/print/").status_code,
             client.post(f"/invoices/{invoice.pk}/void/", {"reason": "x"}).status_code]

    assert codes == [403, 403, 403]
    assert Invoice.objects.get().status == "issued"


@time_machine.travel(NOW, tick=False)
def test_from_time_to_a_paid_invoice_through_the_pages(client, biller, worker, acme):
    task = linked_task(acme, title="Call Acme", task_type="call", created_by=worker)
    worked(task, worker, at(2, 9), 50)  # 1 h billed at 80.00
    client.force_login(biller)

    converted = client.post("/billables/convert/", {"entity_0": "organization", "entity_1": f"#{acme.pk}"},
                            follow=True)
    item = BillableItem.objects.get()
    created = client.post("/invoices/new/", {"customer": f"organization:{acme.pk}", "items": [str(item.pk)],
                                             "tax_rate": "19", "currency": "EUR", "notes": "Thanks"}, follow=True)
    invoice = Invoice.objects.get()
    issued = client.post(f"/invoices/{invoice.pk}/issue/", {"issue_date": "2026-03-20"}, follow=True)
    paid = client.post(f"/invoices/{invoice.pk}/paid/", follow=True)

    assert html.messages(converted) == ["Created 1 billable item(s) worth 80.00 EUR."]
    assert html.messages(created) == ["Draft invoice for Acme GmbH created with 1 line(s)."]
    assert html.messages(issued) == ["Issued as invoice 2026-0001. It can no longer be changed."]
    assert html.messages(paid) == ["Invoice 2026-0001 is marked paid."]
    lines = html.main(paid).find("table", cls="invoice-lines")
    assert [[td.text() for td in tr.find_all("td")] for tr in lines.find("tbody").find_all("tr")] == [
        ["1", "2 Mar 2026", "Call Acme (Wanda Work)", "1.00", "80.00", "80.00", "15.20", "95.20"]]
    assert [td.text() for td in lines.find("tfoot").find_all("td")] == ["80.00", "15.20", "95.20 EUR"]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("data, message", [
    ({"items": [], "tax_rate": "19", "currency": "EUR"},
     "The invoice was not created: An invoice needs at least one line: choose the items to invoice."),
    ({"items": ["x"], "tax_rate": "19", "currency": "EUR"}, "The invoice was not created: The selection is not valid."),
    ({"items": ["ITEM"], "tax_rate": "-1", "currency": "EUR"},
     "The invoice was not created: Tax rate (%): The tax rate cannot be below zero."),
    ({"items": ["ITEM"], "tax_rate": "19", "currency": "euro"},
     "The invoice was not created: Currency: Use a three-letter ISO currency code, e.g. EUR or USD."),
])
def test_a_bad_new_invoice_is_refused_with_400_and_nothing_is_saved(client, biller, acme, data, message):
    item = _item(biller, acme)
    data = {**data, "customer": f"organization:{acme.pk}",
            "items": [str(item.pk) if v == "ITEM" else v for v in data["items"]]}
    client.force_login(biller)

    response = client.post("/invoices/new/", data)

    assert response.status_code == 400
    assert html.messages(response) == [message]
    assert (Invoice.objects.count(), BillableItem.objects.get().invoice_id) == (0, None)


@time_machine.travel(NOW, tick=False)
def test_an_issued_invoice_cannot_be_edited_through_the_pages(client, biller, acme):
    invoice = _issued(biller, acme, "10")
    client.force_login(biller)

    edit = client.post(f"/invoices/{invoice.pk}/edit/", {"tax_rate": "0", "currency": "EUR"})
    remove = client.post(f"/invoices/{invoice.pk}/lines/{invoice.lines.get().pk}/remove/")
    delete = client.post(f"/invoices/{invoice.pk}/delete/")

    assert [edit.status_code, remove.status_code, delete.status_code] == [409, 409, 409]
    assert html.messages(edit) == ["Invoice 2026-0001 is issued: it can no longer be changed."]
    assert Invoice.objects.values_list("tax_rate", "total").get() == (D("19.00"), D("11.90"))
    assert "Draft details" not in html.main(edit).text()


@time_machine.travel(NOW, tick=False)
def test_voiding_from_the_page_releases_the_items(client, biller, acme):
    invoice = _issued(biller, acme, "10", "20")
    client.force_login(biller)

    no_reason = client.post(f"/invoices/{invoice.pk}/void/", {"reason": ""})
    voided = client.post(f"/invoices/{invoice.pk}/void/", {"reason": "Sent twice"}, follow=True)

    assert no_reason.status_code == 400
    assert html.messages(voided) == ["Invoice 2026-0001 is void; its items are unbilled again."]
    assert list(BillableItem.objects.values_list("invoice", flat=True)) == [None, None]


@time_machine.travel(NOW, tick=False)
def test_a_negative_rate_is_refused_on_the_rates_page(client, biller, worker):
    client.force_login(biller)

    response = client.post("/billables/rates/", {"action": "add", "rate-user": str(worker.pk), "rate-hourly_rate": "-5",
                                                 "rate-valid_from": "2026-03-01"})
    added = client.post("/billables/rates/", {"action": "add", "rate-user": str(worker.pk),
                                              "rate-hourly_rate": "95.50", "rate-valid_from": "2026-03-01",
                                              "rate-task_type": "call"}, follow=True)

    assert response.status_code == 400
    assert html.messages(response) == ["Nothing was changed: Hourly rate: A rate cannot be below zero."]
    assert html.messages(added) == ["Rate added: wanda 95.50/h for Call from 2026-03-01."]
    assert list(Rate.objects.values_list("hourly_rate", "task_type")) == [(D("95.50"), "call")]


def _list_queries(client, biller, url, count):
    org = OrganizationFactory(name=f"Org {count}")
    for n in range(count):
        _issued(biller, org, "10") if "invoices" in url else _item(biller, org, f"Item {n}")
    client.force_login(biller)
    client.get(url)  # warm caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("url", ["/billables/", "/invoices/", "/billables/?status=unbilled"])
def test_billing_lists_run_the_same_number_of_queries_for_1_and_many_rows(client, biller, settings, url):
    settings.PAGE_SIZE = 100
    one = _list_queries(client, biller, url, 1)
    Invoice.objects.all().delete()
    BillableItem.objects.all().delete()

    many = _list_queries(client, biller, url, 15)

    assert many == one, (one, many)


@time_machine.travel(NOW, tick=False)
def test_the_csv_export_lists_the_filtered_items_with_exact_decimals(client, biller, acme, worker):
    other = OrganizationFactory(name="Other")
    _item(biller, acme, "Licence", "1234.50")
    _item(biller, other, "Elsewhere", "1.00")
    task = linked_task(acme, title="Call", created_by=worker)
    worked(task, worker, at(2, 9), 10)  # 15 minutes billed: 0.25 h x 80.00
    services.time_convert(by=biller, entity=acme)
    client.force_login(biller)

    response = client.get(f"/billables/export.csv?customer=organization:{acme.pk}")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert rows == [
        ["date", "customer", "customer_type", "description", "person", "task_id", "kind", "minutes_worked",
         "quantity", "unit_price", "amount", "currency", "rate", "invoice", "invoice_status"],
        ["2026-03-02", "Acme GmbH", "organization", "Call (Wanda Work)", "Wanda Work", str(task.pk), "time", "10",
         "0.25", "80.00", "20.00", "EUR", "Wanda Work's default rate", "", "unbilled"],
        ["2026-03-01", "Acme GmbH", "organization", "Licence", "", "", "fixed", "", "1.00", "1234.50", "1234.50",
         "EUR", "Fixed price", "", "unbilled"],
    ]


def test_a_bad_csv_filter_is_a_400(client, biller):
    client.force_login(biller)

    response = client.get("/billables/export.csv?status=maybe")

    assert response.status_code == 400


@time_machine.travel(NOW, tick=False)
def test_the_printable_invoice_shows_issuer_customer_lines_and_totals(client, biller, acme, settings):
    settings.BILLING_ISSUER_NAME = "Taskdesk Services GmbH"
    settings.BILLING_ISSUER_DETAILS = ["Musterweg 5, 10117 Berlin", "VAT DE123456789"]
    invoice = _issued(biller, acme, "1234.50", "0.05")
    client.force_login(biller)

    page = html.parse(client.get(f"/invoices/{invoice.pk}/print/"))

    assert [d.text() for d in page.find("div", cls="issuer").find_all("div")] == [
        "Taskdesk Services GmbH", "Musterweg 5, 10117 Berlin", "VAT DE123456789"]
    assert [d.text() for d in page.find("section", cls="bill-to").find_all("div")] == [
        "Bill to", "Acme GmbH", "Hauptstr. 1 10115 Berlin", acme.email]
    assert [[td.text() for td in tr.find_all("td")] for tr in page.find("table", cls="lines").find_all("tr")[1:]] == [
        ["1", "01.03.2026", "Item 0", "1.00", "1,234.50", "1,234.50"],
        ["2", "01.03.2026", "Item 1", "1.00", "0.05", "0.05"]]
    assert [td.text() for td in page.find("table", cls="totals").find_all("td")] == [
        "1,234.55 EUR", "234.57 EUR", "1,469.12 EUR"]


@time_machine.travel(NOW, tick=False)
def test_the_pdf_download_is_a_pdf(client, biller, acme):
    pytest.importorskip("weasyprint", reason="WeasyPrint is not installed")
    invoice = _issued(biller, acme, "10")
    client.force_login(biller)

    response = client.get(f"/invoices/{invoice.pk}/pdf/")

    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == 'inline; filename="invoice-2026-0001.pdf"'


@time_machine.travel(NOW, tick=False)
def test_without_weasyprint_the_pdf_answers_503_and_points_to_the_printable_page(client, biller, acme, monkeypatch):
    invoice = _issued(biller, acme, "10")
    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    client.force_login(biller)

    response = client.get(f"/invoices/{invoice.pk}/pdf/")

    assert response.status_code == 503
    assert html.main(response).find("a", cls="btn").attrs["href"] == f"/invoices/{invoice.pk}/print/"


@time_machine.travel(NOW, tick=False)
def test_the_billing_tab_shows_money_to_billing_staff_and_only_time_to_others(client, biller, owner, worker, acme):
    ticket = TicketFactory(subject="Printer", organization=acme)
    worked(linked_task(acme, title="Call", created_by=worker), worker, at(2, 9), 60)
    worked(linked_task(ticket, title="Fix", created_by=worker), worker, at(3, 9), 30)
    _issued(biller, acme, "10")

    client.force_login(biller)
    as_biller = html.main(client.get(f"/organizations/{acme.pk}/tabs/billing/"))
    client.force_login(owner)
    as_member = html.main(client.get(f"/organizations/{acme.pk}/tabs/billing/"))
    ticket_tab = html.main(client.get(f"/tickets/{ticket.pk}/tabs/billing/"))

    assert as_biller.find("dd", cls="unbilled-time").text() == "1:30 h"
    assert [[td.text() for td in tr.find_all("td")] for tr in as_biller.find("table", cls="tab-invoices")
            .find("tbody").find_all("tr")] == [
        ["Invoice 2026-0001", "Issued", "20 Mar 2026", "3 Apr 2026", "11.90 EUR"]]
    assert as_member.find("dd", cls="unbilled-time").text() == "1:30 h"
    assert as_member.find("table", cls="tab-invoices") is None
    assert ticket_tab.find("dd", cls="unbilled-time").text() == "0:30 h"
