"""The detail-page tab mechanism (crm.tabs) and the tabs crm itself registers."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import tabs
from crm.models import Ticket
from crm.tests.factories import (
    IndividualFactory,
    OpportunityFactory,
    OrganizationFactory,
    TicketFactory,
    UserFactory,
)
from crm.tests.html import main, rows

pytestmark = pytest.mark.django_db

CRM_TABS = {"overview", "individuals", "tickets", "opportunities", "requested-tickets", "deals"}


@pytest.fixture(autouse=True)
def only_crm_tabs(monkeypatch):
    """Other apps (tasks, ...) add their own tabs; these tests look at crm's and their own only.
    Tabs a test registers land in this copy of the registry and vanish with it."""
    monkeypatch.setattr(tabs, "_TABS", {slug: tab for slug, tab in tabs._TABS.items() if slug in CRM_TABS})


def tab_bar(response):
    """[(label with badge, href, is current)] of the tab bar."""
    bar = main(response).find("ul", cls="nav-tabs")
    return [(a.text(), a.attrs["href"], a.attrs.get("aria-current") == "page") for a in bar.find_all("a")]


def tab_url(obj, slug):
    return reverse(f"crm:{obj._meta.model_name}_tab", args=[obj.pk, slug])


def tab_rows(response):
    return rows(response) if main(response).find("div", cls="tab-body").find("table") else None


@pytest.fixture
def open_tickets_tab():
    """A tab another app might add: the entity's open tickets, on organizations and tickets only."""
    def render(request, obj):
        org = obj if obj._meta.model_name == "organization" else obj.organization
        return "crm/tabs/related_list.html", {
            "rows": Ticket.objects.filter(organization=org, status="open").select_related("requester"),
            "kind": "tickets", "columns": ["Subject", "Status", "Priority", "Requester"],
        }

    tab = tabs.Tab(slug="open-tickets", label="Open tickets", order=5, render=render,
                   models=("crm.Organization", "crm.Ticket"),
                   count=lambda request, obj: 7)
    tabs.register(tab)
    yield tab
    tabs.unregister("open-tickets")


# --- The registry ---------------------------------------------------------------------------------


def test_crm_registers_overview_everywhere_and_related_records_on_organizations_and_individuals():
    org, person = OrganizationFactory.build(), IndividualFactory.build()
    ticket, deal = TicketFactory.build(), OpportunityFactory.build()

    assert [t.slug for t in tabs.tabs_for(org)] == ["overview", "individuals", "tickets", "opportunities"]
    assert [t.slug for t in tabs.tabs_for(person)] == ["overview", "requested-tickets", "deals"]
    assert [t.slug for t in tabs.tabs_for(ticket)] == ["overview"]
    assert [t.slug for t in tabs.tabs_for(deal)] == ["overview"]


def test_get_tab_answers_only_tabs_that_apply_to_the_object():
    org, person = OrganizationFactory.build(), IndividualFactory.build()

    assert tabs.get_tab(org, "individuals").label == "People"
    assert tabs.get_tab(person, "individuals") is None
    assert tabs.get_tab(org, "no-such-tab") is None


def test_a_tab_without_models_applies_to_every_entity():
    tab = tabs.Tab(slug="everywhere", label="Everywhere", order=99, render=lambda r, o: ("", {}))
    tabs.register(tab)
    try:
        applies = [tabs.get_tab(f.build(), "everywhere") is tab
                   for f in (OrganizationFactory, IndividualFactory, TicketFactory, OpportunityFactory)]
    finally:
        tabs.unregister("everywhere")

    assert applies == [True, True, True, True]
    assert tabs.get_tab(OrganizationFactory.build(), "everywhere") is None


def test_tabs_sort_by_order_then_slug_and_registering_a_slug_again_replaces_it():
    render = lambda r, o: ("", {})  # noqa: E731
    tabs.register(tabs.Tab(slug="zz-b", label="B", order=50, render=render, models=("crm.Ticket",)))
    tabs.register(tabs.Tab(slug="zz-a", label="A", order=50, render=render, models=("crm.Ticket",)))
    tabs.register(tabs.Tab(slug="zz-first", label="First", order=1, render=render, models=("crm.Ticket",)))
    tabs.register(tabs.Tab(slug="zz-first", label="First again", order=60, render=render, models=("crm.Ticket",)))
    try:
        seen = [(t.slug, t.label) for t in tabs.tabs_for(TicketFactory.build())]
    finally:
        for slug in ("zz-a", "zz-b", "zz-first"):
            tabs.unregister(slug)

    assert seen == [("overview", "Overview"), ("zz-a", "A"), ("zz-b", "B"), ("zz-first", "First again")]
    assert [t.slug for t in tabs.tabs_for(TicketFactory.build())] == ["overview"]


# --- A tab added from outside shows on the pages --------------------------------------------------


def test_a_registered_tab_appears_in_order_with_its_badge(client, owner, open_tickets_tab):
    acme = OrganizationFactory(name="Acme")
    client.force_login(owner)

    response = client.get(acme.get_absolute_url())

    assert tab_bar(response) == [
        ("Overview", acme.get_absolute_url(), True),
        ("Open tickets 7", tab_url(acme, "open-tickets"), False),
        ("People 0", tab_url(acme, "individuals"), False),
        ("Tickets 0", tab_url(acme, "tickets"), False),
        ("Opportunities 0", tab_url(acme, "opportunities"), False),
    ]


def test_a_registered_tab_renders_its_content_for_the_object(client, owner, open_tickets_tab):
    acme = OrganizationFactory(name="Acme")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    TicketFactory(subject="Printer", status="open", priority="high", organization=acme, requester=ada)
    TicketFactory(subject="Old printer", status="closed", organization=acme)
    TicketFactory(subject="Elsewhere", status="open", organization=OrganizationFactory())
    client.force_login(owner)

    response = client.get(tab_url(acme, "open-tickets"))

    assert response.status_code == 200
    assert [label for label, _, current in tab_bar(response) if current] == ["Open tickets 7"]
    assert tab_rows(response) == [["Printer", "Open", "High", "Ada Lovelace"]]


def test_a_registered_tab_is_absent_from_models_it_does_not_name(client, owner, open_tickets_tab):
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    ticket = TicketFactory(organization=OrganizationFactory())
    client.force_login(owner)

    person_page = client.get(ada.get_absolute_url())
    person_tab = client.get(tab_url(ada, "open-tickets"))
    ticket_page = client.get(ticket.get_absolute_url())

    assert [label for label, _, _ in tab_bar(person_page)] == ["Overview", "Tickets 0", "Opportunities 0"]
    assert person_tab.status_code == 404
    assert [label for label, _, _ in tab_bar(ticket_page)] == ["Overview", "Open tickets 7"]


def test_an_unregistered_tab_disappears(client, owner):
    acme = OrganizationFactory(name="Acme")
    client.force_login(owner)
    tabs.register(tabs.Tab(slug="temporary", label="Temporary", order=3, render=lambda r, o: ("", {})))
    tabs.unregister("temporary")

    page = client.get(acme.get_absolute_url())
    tab = client.get(tab_url(acme, "temporary"))

    assert "Temporary" not in [label for label, _, _ in tab_bar(page)]
    assert tab.status_code == 404


def test_an_unknown_tab_or_a_tab_of_another_entity_type_is_404(client, owner):
    acme = OrganizationFactory(name="Acme")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    client.force_login(owner)

    assert [
        client.get(tab_url(acme, "no-such-tab")).status_code,
        client.get(tab_url(ada, "individuals")).status_code,  # "People" is an organization tab
        client.get(tab_url(acme, "deals")).status_code,  # an individual's tab
    ] == [404, 404, 404]


# --- crm's own related-record tabs ----------------------------------------------------------------


def test_organization_people_tab_lists_its_individuals_and_offers_to_add_one(client, owner):
    acme = OrganizationFactory(name="Acme")
    IndividualFactory(first_name="Ada", last_name="Lovelace", organization=acme, job_title="Engineer",
                      email="ada@acme.example", phone="+44 20 1234 5678")
    IndividualFactory(first_name="Charles", last_name="Babbage", organization=acme, job_title="", email="",
                      phone="")
    IndividualFactory(first_name="Grace", last_name="Hopper", organization=OrganizationFactory())
    client.force_login(owner)

    response = client.get(tab_url(acme, "individuals"))

    assert tab_bar(response)[1] == ("People 2", tab_url(acme, "individuals"), True)
    assert tab_rows(response) == [
        ["Charles Babbage", "", "", ""],
        ["Ada Lovelace", "Engineer", "ada@acme.example", "+44 20 1234 5678"],
    ]
    add = main(response).find("a", cls="btn-success")
    assert (add.text(), add.attrs["href"]) == (
        "Add a person", f"{reverse('crm:individual_create')}?organization={acme.pk}")


def test_organization_tickets_and_opportunities_tabs(client, owner):
    acme = OrganizationFactory(name="Acme")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace", organization=acme)
    TicketFactory(subject="Printer", status="pending", priority="low", organization=acme, requester=ada)
    TicketFactory(subject="Not ours", organization=OrganizationFactory())
    OpportunityFactory(name="Big deal", organization=acme, stage="won", amount=Decimal("2500"), currency="USD",
                       expected_close_date=date(2024, 6, 30))
    client.force_login(owner)

    ticket_tab = client.get(tab_url(acme, "tickets"))
    deal_tab = client.get(tab_url(acme, "opportunities"))

    assert tab_rows(ticket_tab) == [["Printer", "Pending", "Low", "Ada Lovelace"]]
    assert tab_rows(deal_tab) == [["Big deal", "Won", "2,500.00 USD", "30 Jun 2024"]]
    assert [label for label, _, _ in tab_bar(deal_tab)] == [
        "Overview", "People 1", "Tickets 1", "Opportunities 1"]


def test_individual_tickets_and_opportunities_tabs(client, owner):
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    TicketFactory(subject="Printer", status="open", priority="urgent", requester=ada)
    TicketFactory(subject="Someone else's", requester=IndividualFactory())
    OpportunityFactory(name="Her deal", contact=ada, stage="lead", amount=Decimal("10"), currency="EUR")
    client.force_login(owner)

    tickets = client.get(tab_url(ada, "requested-tickets"))
    deals = client.get(tab_url(ada, "deals"))

    assert tab_rows(tickets) == [["Printer", "Open", "Urgent", "Ada Lovelace"]]
    assert tab_rows(deals) == [["Her deal", "Lead", "10.00 EUR", ""]]


def test_an_empty_related_tab_says_nothing_yet(client, owner):
    acme = OrganizationFactory(name="Acme")
    client.force_login(owner)

    response = client.get(tab_url(acme, "tickets"))

    assert tab_rows(response) == [["Nothing yet."]]


@pytest.mark.parametrize("slug", ["individuals", "tickets", "opportunities"])
def test_related_tab_query_count_does_not_grow_with_rows(client, owner, slug):
    acme = OrganizationFactory(name="Acme")

    def add_related(n):
        person = IndividualFactory(organization=acme)
        TicketFactory(organization=acme, requester=person)
        OpportunityFactory(organization=acme, contact=person, owner=UserFactory(username=f"seller{n}"))

    add_related(0)
    client.force_login(owner)
    client.get(tab_url(acme, slug))
    with CaptureQueriesContext(connection) as queries:
        first = client.get(tab_url(acme, slug))
    one_row = len(queries)
    for n in range(1, 15):
        add_related(n)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(tab_url(acme, slug))
    many_rows = len(queries)

    assert (len(tab_rows(first)), len(tab_rows(second))) == (1, 15)
    assert one_row > 0
    assert many_rows == one_row
