"""The Django admin for CRM records: list columns, search, filters, forms."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Organization
from crm.tests.factories import (
    IndividualFactory,
    OpportunityFactory,
    OrganizationFactory,
    TicketFactory,
    UserFactory,
)
from crm.tests.html import parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def changelist(client, model_name, **params):
    response = client.get(reverse(f"admin:crm_{model_name}_changelist"), params)
    assert response.status_code == 200
    table = parse(response).find("table", id="result_list")
    if table is None:
        return []
    return [[cell.text() for cell in tr.find_all() if cell.tag in {"td", "th"}][1:]
            for tr in table.find("tbody").find_all("tr")]


def test_organization_admin_lists_and_searches(admin_client):
    OrganizationFactory(name="Acme", email="hello@acme.example", phone="+1 555 0100", website="https://acme.example")
    OrganizationFactory(name="Globex", email="info@globex.example", phone="+1 555 0199", website="")

    found = changelist(admin_client, "organization", q="0199")

    assert [row[:4] for row in found] == [["Globex", "info@globex.example", "+1 555 0199", "-"]]


def test_individual_admin_searches_names_and_organization_and_filters_by_organization(admin_client):
    acme = OrganizationFactory(name="Acme")
    IndividualFactory(first_name="Ada", last_name="Lovelace", organization=acme, job_title="Engineer",
                      email="ada@acme.example", phone="+44 20 1234 5678")
    IndividualFactory(first_name="Grace", last_name="Hopper", organization=OrganizationFactory(name="Navy"),
                      job_title="", email="grace@navy.example", phone="")

    by_org_name = changelist(admin_client, "individual", q="acme")
    by_filter = changelist(admin_client, "individual", organization__id__exact=acme.pk)

    expected = [["Lovelace", "Ada", "Acme", "Engineer", "ada@acme.example", "+44 20 1234 5678"]]
    assert by_org_name == expected
    assert by_filter == expected


def test_ticket_admin_filters_by_status_and_priority_and_searches_requesters(admin_client):
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    TicketFactory(subject="Printer", status="open", priority="high", requester=ada)
    TicketFactory(subject="Toner", status="closed", priority="high")
    TicketFactory(subject="Paper", status="open", priority="low")

    open_high = changelist(admin_client, "ticket", status__exact="open", priority__exact="high")
    by_requester = changelist(admin_client, "ticket", q="ada")

    assert [row[:3] for row in open_high] == [["Printer", "Open", "High"]]
    assert [row[0] for row in by_requester] == ["Printer"]


def test_opportunity_admin_filters_by_stage_and_owner(admin_client, owner):
    OpportunityFactory(name="Big deal", stage="won", amount=Decimal("2500"), currency="USD", owner=owner,
                       organization=OrganizationFactory(name="Acme"))
    OpportunityFactory(name="Small deal", stage="lead", owner=None)

    won = changelist(admin_client, "opportunity", stage__exact="won")
    owned = changelist(admin_client, "opportunity", owner__id__exact=owner.pk)

    assert won == [["Big deal", "Acme", "Won", "2500.00", "USD", "-", "owner"]]
    assert [row[0] for row in owned] == ["Big deal"]


@pytest.mark.parametrize(("model_name", "make"), [
    ("organization", lambda n: OrganizationFactory()),
    ("individual", lambda n: IndividualFactory()),
    ("ticket", lambda n: TicketFactory(requester=IndividualFactory())),
    ("opportunity", lambda n: OpportunityFactory(owner=UserFactory(username=f"seller{n}"))),
])
def test_admin_changelist_query_count_does_not_grow_with_rows(admin_client, model_name, make):
    url = reverse(f"admin:crm_{model_name}_changelist")
    make(0)
    admin_client.get(url)

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(url)
    one_row = len(queries)
    for n in range(1, 15):
        make(n)
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(url)
    many_rows = len(queries)

    # The organization filter of the individual admin lists organizations: one query whatever their number.
    assert one_row > 0
    assert many_rows == one_row


def test_admin_refuses_bad_input_and_saves_nothing(admin_client):
    response = admin_client.post(reverse("admin:crm_organization_add"), {
        "name": "x" * 201, "email": "nope", "phone": "call me", "website": "", "address": "",
    })

    errors = [node.text() for node in parse(response).find_all("ul", cls="errorlist")]
    assert response.status_code == 200  # the admin answers 200 with the errors, as Django's admin always does
    assert errors == [
        "Ensure this value has at most 200 characters (it has 201).",
        "Enter a valid email address.",
        "Enter a phone number: at least 5 digits; digits, spaces and + ( ) . / - only, up to 30 characters.",
    ]
    assert Organization.objects.count() == 0


def test_user_admin_shows_the_profile_inline_with_a_time_zone_list(admin_client, owner):
    response = admin_client.get(reverse("admin:auth_user_change", args=[owner.pk]))

    page = parse(response)
    zone = page.find("select", name="profile-0-time_zone")
    assert [o.attrs["value"] for o in zone.find_all("option") if "selected" in o.attrs] == ["UTC"]
    assert "America/New_York" in [o.attrs["value"] for o in zone.find_all("option")]
    assert page.find("input", name="profile-0-default_hourly_rate").attrs["value"] == "0.00"


def test_profile_admin_refuses_an_unknown_time_zone(admin_client, owner):
    url = reverse("admin:crm_profile_change", args=[owner.profile.pk])

    response = admin_client.post(url, {"user": owner.pk, "time_zone": "Mars/Olympus_Mons",
                                       "default_hourly_rate": "10"})

    assert [node.text() for node in parse(response).find_all("ul", cls="errorlist")] == [
        "Select a valid choice. Mars/Olympus_Mons is not one of the available choices."]
    owner.profile.refresh_from_db()
    assert (owner.profile.time_zone, owner.profile.default_hourly_rate) == ("UTC", Decimal("0.00"))


def test_profile_admin_lists_profiles_and_offers_no_add(admin_client, owner):
    owner.profile.time_zone = "Europe/Berlin"
    owner.profile.save()

    rows = changelist(admin_client, "profile", q="owner")
    add = admin_client.get(reverse("admin:crm_profile_add"))

    assert rows == [["owner", "Europe/Berlin", "0.00"]]
    assert add.status_code == 403
