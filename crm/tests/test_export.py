"""CSV export of the entity lists: /organizations/export.csv and the other three, with the list's filters."""

import csv
import io
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
import time_machine

from crm.tests.factories import (
    IndividualFactory, OpportunityFactory, OrganizationFactory, TicketFactory, UserFactory,
)

NOW = datetime(2025, 3, 12, 9, 0, tzinfo=dt_timezone.utc)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def export(client, user, path):
    client.force_login(user)
    response = client.get(path)
    if not response.streaming:
        return response, None
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return response, list(csv.reader(io.StringIO(body[1:])))


def test_organizations_export_with_the_lists_search_and_sort(client, owner):
    OrganizationFactory(name="Acme Ltd", email="info@acme.example", phone="+49 30 1234567",
                        website="https://acme.example", address="Main St 1\nBerlin")
    OrganizationFactory(name="Acme Labs", email="labs@acme.example", phone="")
    OrganizationFactory(name="Globex", email="hello@globex.example")

    response, rows = export(client, owner, "/organizations/export.csv?q=acme&o=name")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="organizations-2025-03-12.csv"'
    ids = {o.name: o.pk for o in OrganizationFactory._meta.model.objects.all()}
    assert rows == [
        ["id", "name", "website", "email", "phone", "address", "created_at", "updated_at"],
        [str(ids["Acme Labs"]), "Acme Labs", "", "labs@acme.example", "", "", "2025-03-12T09:00:00Z",
         "2025-03-12T09:00:00Z"],
        [str(ids["Acme Ltd"]), "Acme Ltd", "https://acme.example", "info@acme.example", "'+49 30 1234567",
         "Main St 1\nBerlin", "2025-03-12T09:00:00Z", "2025-03-12T09:00:00Z"],
    ]


def test_individuals_export_names_their_organization(client, owner):
    acme = OrganizationFactory(name="Acme Ltd")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace", email="ada@example.com", organization=acme,
                            job_title="=CEO", phone="")
    IndividualFactory(first_name="Bob", last_name="Other", organization=OrganizationFactory(name="Globex"))

    _, rows = export(client, owner, f"/individuals/export.csv?organization={acme.pk}")

    assert rows == [
        ["id", "first_name", "last_name", "email", "phone", "organization", "job_title", "notes", "created_at",
         "updated_at"],
        [str(ada.pk), "Ada", "Lovelace", "ada@example.com", "", "Acme Ltd", "'=CEO", "", "2025-03-12T09:00:00Z",
         "2025-03-12T09:00:00Z"],
    ]


def test_tickets_and_opportunities_export_with_their_filters(client, owner):
    acme = OrganizationFactory(name="Acme Ltd")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace", organization=acme)
    ticket = TicketFactory(subject="Printer on fire", status="open", priority="urgent", organization=acme,
                           requester=ada)
    TicketFactory(subject="Closed one", status="closed")
    deal = OpportunityFactory(name="Big deal", organization=acme, contact=ada, stage="proposal", amount="12500.50",
                              owner=owner)
    OpportunityFactory(name="Lost deal", stage="lost")

    _, tickets = export(client, owner, "/tickets/export.csv?status=open")
    _, deals = export(client, owner, "/opportunities/export.csv?stage=proposal")

    assert tickets == [
        ["id", "subject", "description", "status", "priority", "requester", "organization", "created_at",
         "updated_at"],
        [str(ticket.pk), "Printer on fire", "", "open", "urgent", "Ada Lovelace", "Acme Ltd",
         "2025-03-12T09:00:00Z", "2025-03-12T09:00:00Z"],
    ]
    assert deals == [
        ["id", "name", "organization", "contact", "stage", "amount", "currency", "expected_close_date", "owner",
         "created_at", "updated_at"],
        [str(deal.pk), "Big deal", "Acme Ltd", "Ada Lovelace", "proposal", "12500.50", "EUR", "", "owner",
         "2025-03-12T09:00:00Z", "2025-03-12T09:00:00Z"],
    ]


@pytest.mark.parametrize("path, message", [
    ("/individuals/export.csv?organization=abc",
     "The export could not be made: organization: Select a valid choice. That choice is not one of the available "
     "choices."),
    ("/tickets/export.csv?status=burning",
     "The export could not be made: status: Select a valid choice. burning is not one of the available choices."),
])
def test_a_bad_filter_refuses_the_export_with_a_readable_400(client, owner, path, message):
    response, _ = export(client, owner, path)

    assert response.status_code == 400
    assert response.content.decode() == message + "\n"


def test_the_export_needs_a_signed_in_user(client):
    response = client.get("/organizations/export.csv")

    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/organizations/export.csv")


def test_every_signed_in_user_may_export_the_shared_address_book(client, db):
    OrganizationFactory(name="Acme Ltd")

    response, rows = export(client, UserFactory(username="someone"), "/organizations/export.csv")

    assert response.status_code == 200 and [r[1] for r in rows[1:]] == ["Acme Ltd"]
