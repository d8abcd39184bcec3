"""The entity list pages: rows, search, filters, sortable columns, pagination, query counts."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Opportunity, Ticket
from crm.tests.factories import (
    IndividualFactory,
    MembershipFactory,
    OpportunityFactory,
    OrganizationFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
    set_time_zone,
)
from crm.tests.html import column_headers, field_errors, first_column, heading, links, main, rows, select_options

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")

pytestmark = pytest.mark.django_db


def list_url(key, **params):
    from urllib.parse import urlencode

    url = reverse(f"crm:{key}_list")
    return f"{url}?{urlencode(params)}" if params else url


def sort_links(response):
    """{column label without the arrow: href} for the sortable column headers."""
    thead = main(response).find("table").find("thead")
    return {a.text().rstrip(" ▲▼"): a.attrs["href"] for a in thead.find_all("a", cls="sort")}


def pager(response):
    nav = main(response).find("nav", aria_label="Pages")
    return None if nav is None else {"text": nav.text(), "links": links(nav)}


# --- Organizations --------------------------------------------------------------------------------


def test_organization_list_shows_each_organization_with_dates_in_the_users_zone(client, owner):
    set_time_zone(owner, "America/New_York")
    # 21:00 in New York on 15 January is already 16 January in UTC.
    with time_machine.travel(datetime(2024, 1, 15, 21, 0, tzinfo=NEW_YORK), tick=False):
        OrganizationFactory(name="Acme", email="hello@acme.example", phone="+1 212 555 0100",
                            website="https://acme.example")
    with time_machine.travel(datetime(2024, 3, 1, 9, 0, tzinfo=NEW_YORK), tick=False):
        OrganizationFactory(name="Globex", email="", phone="", website="")
    client.force_login(owner)

    response = client.get(list_url("organization"))

    assert response.status_code == 200
    assert heading(response) == "Organizations 2 found"
    assert column_headers(response) == ["Name", "Email", "Phone", "Website", "Created"]
    assert rows(response) == [
        ["Acme", "hello@acme.example", "+1 212 555 0100", "https://acme.example", "15 Jan 2024"],
        ["Globex", "", "", "", "1 Mar 2024"],
    ]


def test_organization_list_search_matches_name_email_website_phone_and_address(client, owner):
    OrganizationFactory(name="Acme", email="a@a.example", phone="+1 555 0100", website="")
    OrganizationFactory(name="Globex", email="sales@acme-partner.example", phone="+1 555 0101", website="")
    OrganizationFactory(name="Initech", email="i@i.example", phone="+1 555 0102", website="https://acme.example")
    OrganizationFactory(name="Hooli", email="h@h.example", phone="+1 555 0103", website="", address="1 Acme Road")
    OrganizationFactory(name="Umbrella", email="u@u.example", phone="+44 20 7946 0000", website="")
    client.force_login(owner)

    by_word = client.get(list_url("organization", q="acme"))
    by_phone = client.get(list_url("organization", q="7946"))

    assert first_column(by_word) == ["Acme", "Globex", "Hooli", "Initech"]
    assert first_column(by_phone) == ["Umbrella"]


def test_organization_list_search_without_match_says_so(client, owner):
    OrganizationFactory(name="Acme")
    client.force_login(owner)

    response = client.get(list_url("organization", q="nothing like this"))

    assert response.status_code == 200
    assert heading(response) == "Organizations 0 found"
    assert rows(response) == [["No organizations match these filters."]]


def test_sort_links_toggle_between_ascending_and_descending_and_keep_the_search(client, owner):
    for name in ["Beta", "Alpha", "Gamma"]:
        OrganizationFactory(name=name, email=f"{name.lower()}@example.com")
    client.force_login(owner)

    unsorted = client.get(list_url("organization", q="a"))
    ascending = client.get(list_url("organization", q="a", o="name"))
    descending = client.get(list_url("organization", q="a", o="-name"))

    assert sort_links(unsorted) == {"Name": "?q=a&o=name", "Email": "?q=a&o=email", "Created": "?q=a&o=created"}
    assert sort_links(ascending) == {"Name": "?q=a&o=-name", "Email": "?q=a&o=email", "Created": "?q=a&o=created"}
    assert sort_links(descending) == {"Name": "?q=a&o=name", "Email": "?q=a&o=email", "Created": "?q=a&o=created"}
    assert column_headers(ascending)[0] == "Name ▲"
    assert column_headers(descending)[0] == "Name ▼"
    assert first_column(ascending) == ["Alpha", "Beta", "Gamma"]
    assert first_column(descending) == ["Gamma", "Beta", "Alpha"]


def test_organization_list_sorts_by_creation_time(client, owner):
    for day, name in [(3, "Third"), (1, "First"), (2, "Second")]:
        with time_machine.travel(datetime(2024, 5, day, 12, 0, tzinfo=BERLIN), tick=False):
            OrganizationFactory(name=name)
    client.force_login(owner)

    oldest_first = client.get(list_url("organization", o="created"))
    newest_first = client.get(list_url("organization", o="-created"))

    assert first_column(oldest_first) == ["First", "Second", "Third"]
    assert first_column(newest_first) == ["Third", "Second", "First"]


def test_pagination_splits_26_and_more_rows_and_keeps_filters_and_sort_across_pages(client, owner):
    for n in range(1, 31):
        OrganizationFactory(name=f"Org {n:02d}")
    OrganizationFactory(name="Unrelated Ltd", email="hello@unrelated.example")
    client.force_login(owner)

    first = client.get(list_url("organization", q="Org", o="-name"))
    second = client.get(list_url("organization", q="Org", o="-name", page=2))

    assert heading(first) == "Organizations 30 found"
    assert first_column(first) == [f"Org {n:02d}" for n in range(30, 5, -1)]
    assert pager(first) == {
        "text": "Page 1 of 2 Next › Last »",
        "links": [("Next ›", "?q=Org&o=-name&page=2"), ("Last »", "?q=Org&o=-name&page=2")],
    }
    assert first_column(second) == ["Org 05", "Org 04", "Org 03", "Org 02", "Org 01"]
    assert pager(second) == {
        "text": "« First ‹ Previous Page 2 of 2",
        "links": [("« First", "?q=Org&o=-name&page=1"), ("‹ Previous", "?q=Org&o=-name&page=1")],
    }
    # The filter bar on page 2 still holds the search and the sort.
    form = main(second).find("form", role="search")
    assert form.find("input", name="q").attrs["value"] == "Org"
    assert form.find("input", name="o").attrs["value"] == "-name"


def test_pagination_never_repeats_rows_that_sort_equal(client, owner):
    # 30 organizations with the same email: sorted by email alone, the database may order equal rows
    # differently for each page (PostgreSQL does), so the id breaks ties.
    for n in range(30):
        OrganizationFactory(name=f"Same {n:02d}", email="same@example.com")
    client.force_login(owner)

    with CaptureQueriesContext(connection) as queries:
        page_1 = first_column(client.get(list_url("organization", o="-email")))
    row_query = next(q["sql"] for q in queries if "LIMIT 25" in q["sql"])
    page_2 = first_column(client.get(list_url("organization", o="-email", page=2)))

    assert row_query.split("ORDER BY")[1].split("LIMIT")[0].strip() == (
        '"crm_organization"."email" DESC, "crm_organization"."id" DESC')
    assert sorted(page_1 + page_2) == [f"Same {n:02d}" for n in range(30)]


def test_a_page_number_out_of_range_shows_the_last_page(client, owner):
    for n in range(27):
        OrganizationFactory(name=f"Org {n:02d}")
    client.force_login(owner)

    response = client.get(list_url("organization", o="name", page=99))

    assert first_column(response) == ["Org 25", "Org 26"]
    assert pager(response)["text"] == "« First ‹ Previous Page 2 of 2"


def test_one_page_of_rows_shows_no_pager(client, owner):
    OrganizationFactory(name="Acme")
    client.force_login(owner)

    assert pager(client.get(list_url("organization"))) is None


# --- Individuals ----------------------------------------------------------------------------------


def test_individual_list_rows_filter_by_organization_and_search_by_full_name(client, owner):
    acme = OrganizationFactory(name="Acme")
    globex = OrganizationFactory(name="Globex")
    IndividualFactory(first_name="Ada", last_name="Lovelace", organization=acme, job_title="Engineer",
                      email="ada@acme.example", phone="+44 20 1234 5678")
    IndividualFactory(first_name="Ada", last_name="Byron", organization=globex, job_title="", email="", phone="")
    IndividualFactory(first_name="Charles", last_name="Babbage", organization=None, job_title="Inventor",
                      email="cb@example.com", phone="")
    client.force_login(owner)

    everyone = client.get(list_url("individual"))
    at_acme = client.get(list_url("individual", organization=acme.pk))
    full_name = client.get(list_url("individual", q="ada lovelace"))
    by_organization_name = client.get(list_url("individual", q="globex"))

    assert column_headers(everyone) == ["Name", "Organization", "Job title", "Email", "Phone"]
    assert rows(everyone) == [
        ["Charles Babbage", "", "Inventor", "cb@example.com", ""],
        ["Ada Byron", "Globex", "", "", ""],
        ["Ada Lovelace", "Acme", "Engineer", "ada@acme.example", "+44 20 1234 5678"],
    ]
    assert first_column(at_acme) == ["Ada Lovelace"]
    assert first_column(full_name) == ["Ada Lovelace"]
    assert first_column(by_organization_name) == ["Ada Byron"]


def test_individual_list_sorts_by_last_then_first_name(client, owner):
    for first, last in [("Zoe", "Byron"), ("Bob", "Adams"), ("Ada", "Byron")]:
        IndividualFactory(first_name=first, last_name=last)
    client.force_login(owner)

    ascending = client.get(list_url("individual", o="name"))
    descending = client.get(list_url("individual", o="-name"))

    assert first_column(ascending) == ["Bob Adams", "Ada Byron", "Zoe Byron"]
    assert first_column(descending) == ["Zoe Byron", "Ada Byron", "Bob Adams"]


def test_individual_list_sorts_by_organization_name(client, owner):
    IndividualFactory(first_name="A", last_name="One", organization=OrganizationFactory(name="Zeta"))
    IndividualFactory(first_name="B", last_name="Two", organization=OrganizationFactory(name="Alpha"))
    client.force_login(owner)

    response = client.get(list_url("individual", o="organization"))

    assert first_column(response) == ["B Two", "A One"]


def test_an_unknown_organization_in_the_filter_is_a_readable_400(client, owner):
    IndividualFactory(first_name="Ada", last_name="Lovelace")
    client.force_login(owner)

    response = client.get(list_url("individual", organization=999999))

    assert response.status_code == 400
    assert field_errors(response) == {
        "organization": ["Select a valid choice. That choice is not one of the available choices."]
    }
    assert rows(response) == [["No individuals match these filters."]]


def test_an_unknown_sort_key_is_a_readable_400_and_is_not_carried_into_the_next_search(client, owner):
    OrganizationFactory(name="Acme")
    client.force_login(owner)

    response = client.get(list_url("organization", q="Acme", o="shoe_size"))

    assert response.status_code == 400
    form = main(response).find("form", role="search")
    assert [node.text() for node in form.find_all("div", role="alert")] == [
        "Sort: Select a valid choice. shoe_size is not one of the available choices."
    ]
    assert form.find("input", name="o") is None
    assert form.find("input", name="q").attrs["value"] == "Acme"


# --- Tickets --------------------------------------------------------------------------------------


def test_ticket_list_rows_show_status_priority_organization_requester_and_local_date(client, owner):
    set_time_zone(owner, "Europe/Berlin")
    acme = OrganizationFactory(name="Acme")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace", organization=acme)
    # 23:30 in New York is 05:30 the next morning in Berlin.
    with time_machine.travel(datetime(2024, 1, 15, 23, 30, tzinfo=NEW_YORK), tick=False):
        ticket = TicketFactory(subject="Printer on fire", status="pending", priority="urgent",
                               organization=acme, requester=ada)
    client.force_login(owner)

    response = client.get(list_url("ticket"))

    assert column_headers(response) == ["Subject", "Status", "Priority", "Organization", "Requester", "Created"]
    assert rows(response) == [[f"Printer on fire #{ticket.pk}", "Pending", "Urgent", "Acme", "Ada Lovelace",
                               "16 Jan 2024"]]


def test_ticket_list_filters_by_status_priority_organization_and_search(client, owner):
    acme = OrganizationFactory(name="Acme")
    globex = OrganizationFactory(name="Globex")
    TicketFactory(subject="Open high acme", status="open", priority="high", organization=acme)
    TicketFactory(subject="Open low acme", status="open", priority="low", organization=acme)
    TicketFactory(subject="Closed high acme", status="closed", priority="high", organization=acme)
    TicketFactory(subject="Open high globex", status="open", priority="high", organization=globex,
                  requester=IndividualFactory(first_name="Grace", last_name="Hopper"))
    client.force_login(owner)

    def subjects(**params):
        return sorted(row[0].rsplit(" #", 1)[0] for row in rows(client.get(list_url("ticket", **params))))

    assert subjects(status="open") == ["Open high acme", "Open high globex", "Open low acme"]
    assert subjects(status="open", priority="high") == ["Open high acme", "Open high globex"]
    assert subjects(status="open", priority="high", organization=acme.pk) == ["Open high acme"]
    assert subjects(q="grace hopper") == ["Open high globex"]


@pytest.mark.parametrize(("order", "expected"), [
    ("priority", ["Low", "Medium", "High", "Urgent"]),
    ("-priority", ["Urgent", "High", "Medium", "Low"]),
])
def test_ticket_list_sorts_priority_by_urgency_not_alphabetically(client, owner, order, expected):
    for priority in ["high", "urgent", "low", "medium"]:
        TicketFactory(priority=priority)
    client.force_login(owner)

    response = client.get(list_url("ticket", o=order))

    assert [row[2] for row in rows(response)] == expected


def test_ticket_list_sorts_status_in_workflow_order(client, owner):
    for status in ["resolved", "closed", "open", "pending"]:
        TicketFactory(status=status)
    client.force_login(owner)

    response = client.get(list_url("ticket", o="status"))

    assert [row[1] for row in rows(response)] == ["Open", "Pending", "Resolved", "Closed"]


def test_a_ticket_status_outside_the_choices_is_a_readable_400(client, owner):
    TicketFactory(status="open")
    client.force_login(owner)

    response = client.get(list_url("ticket", status="exploded"))

    assert response.status_code == 400
    assert field_errors(response) == {
        "status": ["Select a valid choice. exploded is not one of the available choices."]
    }


# --- Opportunities --------------------------------------------------------------------------------


def test_opportunity_list_rows_and_filters(client, owner, teammate):
    acme = OrganizationFactory(name="Acme")
    OpportunityFactory(name="Big deal", organization=acme, stage="negotiation", amount=Decimal("12500"),
                       currency="USD", expected_close_date=date(2024, 6, 30), owner=owner)
    OpportunityFactory(name="Small deal", organization=None, stage="lead", amount=Decimal("900"),
                       currency="EUR", expected_close_date=None, owner=teammate)
    OpportunityFactory(name="Lost deal", organization=acme, stage="lost", amount=Decimal("50"), owner=None)
    client.force_login(owner)

    everything = client.get(list_url("opportunity", o="name"))
    mine = client.get(list_url("opportunity", owner=owner.pk))
    leads = client.get(list_url("opportunity", stage="lead"))
    at_acme = client.get(list_url("opportunity", organization=acme.pk, o="name"))

    assert column_headers(everything) == ["Name ▲", "Organization", "Stage", "Amount", "Expected close", "Owner"]
    assert rows(everything) == [
        ["Big deal", "Acme", "Negotiation", "12,500.00 USD", "30 Jun 2024", "Olga Owner"],
        ["Lost deal", "Acme", "Lost", "50.00 EUR", "", ""],
        ["Small deal", "", "Lead", "900.00 EUR", "", "Tom Mate"],
    ]
    assert first_column(mine) == ["Big deal"]
    assert first_column(leads) == ["Small deal"]
    assert first_column(at_acme) == ["Big deal", "Lost deal"]


def test_opportunity_owner_filter_lists_people_by_name(client, owner, teammate):
    UserFactory(username="nameless", first_name="", last_name="")
    UserFactory(username="gone", first_name="Gone", last_name="Away", is_active=False)
    client.force_login(owner)

    response = client.get(list_url("opportunity"))

    assert select_options(main(response), "owner") == [
        ("", "---------"), (str(UserFactory(username="nameless").pk), "nameless"),
        (str(owner.pk), "Olga Owner"), (str(teammate.pk), "Tom Mate"),
    ]


@pytest.mark.parametrize(("order", "expected"), [
    ("stage", ["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]),
    ("-stage", ["Lost", "Won", "Negotiation", "Proposal", "Qualified", "Lead"]),
])
def test_opportunity_list_sorts_stages_in_pipeline_order(client, owner, order, expected):
    for stage in ["won", "lead", "negotiation", "lost", "qualified", "proposal"]:
        OpportunityFactory(stage=stage)
    client.force_login(owner)

    response = client.get(list_url("opportunity", o=order))

    assert [row[2] for row in rows(response)] == expected


def test_opportunity_list_sorts_amount_as_a_number_and_close_date_as_a_date(client, owner):
    OpportunityFactory(name="Nine hundred", amount=Decimal("900"), expected_close_date=date(2024, 12, 1))
    OpportunityFactory(name="Ten thousand", amount=Decimal("10000"), expected_close_date=date(2024, 2, 1))
    OpportunityFactory(name="Eighty", amount=Decimal("80"), expected_close_date=date(2024, 7, 1))
    client.force_login(owner)

    by_amount = client.get(list_url("opportunity", o="-amount"))
    by_close = client.get(list_url("opportunity", o="close"))

    assert first_column(by_amount) == ["Ten thousand", "Nine hundred", "Eighty"]
    assert first_column(by_close) == ["Ten thousand", "Eighty", "Nine hundred"]


# --- Query counts ---------------------------------------------------------------------------------


def _make_organization(n):
    return OrganizationFactory(name=f"Org {n:03d}")


def _make_individual(n):
    return IndividualFactory(organization=OrganizationFactory(name=f"Org {n:03d}"))


def _make_ticket(n):
    org = OrganizationFactory(name=f"Org {n:03d}")
    return TicketFactory(organization=org, requester=IndividualFactory(organization=org))


def _make_opportunity(n):
    org = OrganizationFactory(name=f"Org {n:03d}")
    return OpportunityFactory(organization=org, contact=IndividualFactory(organization=org),
                              owner=UserFactory(username=f"seller{n}"))


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), len(rows(response))


@pytest.mark.parametrize(("key", "make"), [
    ("organization", _make_organization),
    ("individual", _make_individual),
    ("ticket", _make_ticket),
    ("opportunity", _make_opportunity),
])
def test_list_page_query_count_does_not_grow_with_rows(client, owner, key, make):
    make(0)
    client.force_login(owner)
    client.get(list_url(key))  # warm caches (content types, sessions) outside the measurement

    one_row = _count_queries(client, list_url(key))
    for n in range(1, 20):
        make(n)
    many_rows = _count_queries(client, list_url(key))

    assert (one_row[1], many_rows[1]) == (1, 20)
    assert one_row[0] > 0
    assert many_rows[0] == one_row[0]


def test_filtered_and_sorted_list_query_count_does_not_grow_with_rows(client, owner):
    _make_opportunity(0)
    url = list_url("opportunity", q="Org", o="-amount", stage="lead")
    client.force_login(owner)
    client.get(url)

    one_row = _count_queries(client, url)
    for n in range(1, 30):
        _make_opportunity(n)
    many_rows = _count_queries(client, url)

    assert (one_row[1], many_rows[1]) == (1, 25)
    assert many_rows[0] == one_row[0]


# --- Teams ----------------------------------------------------------------------------------------


def test_team_list_shows_manager_and_members(client, owner, team, manager):
    MembershipFactory(team=team, user=UserFactory(username="idle", first_name="Ida", last_name="Le"),
                      is_active=False, task_types=["call", "email"])
    client.force_login(owner)

    response = client.get(reverse("crm:team_list"))

    card = main(response).find("div", cls="card")
    assert card.find("h2").text() == "Sales"
    assert card.find("p", cls="mb-1").text() == "Manager: Mona Ger"
    assert [li.text() for li in card.find_all("li")] == [
        "Ida Le inactive call, email", "Olga Owner all task types", "Tom Mate all task types",
    ]


def test_team_list_query_count_does_not_grow_with_teams(client, owner):
    def make_team(n):
        team = TeamFactory(name=f"Team {n:02d}", manager=UserFactory(username=f"boss{n}"))
        for m in range(3):
            MembershipFactory(team=team, user=UserFactory(username=f"member{n}-{m}"))

    make_team(0)
    client.force_login(owner)
    url = reverse("crm:team_list")
    client.get(url)

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    one_team = len(queries)
    for n in range(1, 10):
        make_team(n)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    ten_teams = len(queries)

    assert [h.text() for h in main(response).find_all("h2")] == [f"Team {n:02d}" for n in range(10)]
    assert one_team > 0
    assert ten_teams == one_team


def test_ticket_and_opportunity_choice_values_match_the_filters():
    # The filter drop-downs offer exactly the model's choices (a new status must show up in the filter).
    from crm.filters import OpportunityFilter, TicketFilter

    assert list(TicketFilter().form.fields["status"].choices)[1:] == list(Ticket.Status.choices)
    assert list(OpportunityFilter().form.fields["stage"].choices)[1:] == list(Opportunity.Stage.choices)
