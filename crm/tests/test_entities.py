"""Entity detail pages, create/edit forms (good and bad input) and the delete page."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from crm import links
from crm.models import Individual, Opportunity, Organization, Ticket
from crm.tests.factories import (
    IndividualFactory,
    OpportunityFactory,
    OrganizationFactory,
    TicketFactory,
    grant,
    set_time_zone,
)
from crm.tests.html import definitions, field_errors, heading, main, messages, select_options

NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")

pytestmark = pytest.mark.django_db


def overview(response):
    return definitions(main(response).find("div", cls="tab-body"))


# --- Detail pages ---------------------------------------------------------------------------------


def test_organization_overview_shows_every_field_and_dates_in_the_users_time_zone(client, owner):
    set_time_zone(owner, "America/New_York")
    with time_machine.travel(datetime(2024, 1, 15, 21, 5, tzinfo=NEW_YORK), tick=False):
        org = OrganizationFactory(name="Acme", website="https://acme.example", email="hello@acme.example",
                                  phone="+1 212 555 0100", address="1 Road\nSpringfield")
    with time_machine.travel(datetime(2024, 7, 1, 9, 30, tzinfo=NEW_YORK), tick=False):
        org.save()
    client.force_login(owner)

    response = client.get(org.get_absolute_url())

    assert response.status_code == 200
    assert heading(response) == "Acme Organization"
    assert overview(response) == [
        ("Name", "Acme"),
        ("Website", "https://acme.example"),
        ("Email", "hello@acme.example"),
        ("Phone", "+1 212 555 0100"),
        ("Address", "1 Road Springfield"),
        ("Created", "15 Jan 2024, 21:05 EST"),
        ("Last changed", "1 Jul 2024, 09:30 EDT"),
    ]


def test_the_same_record_shows_its_dates_in_each_viewers_own_zone(client, owner, teammate):
    set_time_zone(owner, "America/New_York")
    set_time_zone(teammate, "Asia/Tokyo")
    with time_machine.travel(datetime(2024, 1, 15, 21, 5, tzinfo=NEW_YORK), tick=False):
        org = OrganizationFactory(name="Acme")

    client.force_login(owner)
    seen_in_new_york = dict(overview(client.get(org.get_absolute_url())))["Created"]
    client.force_login(teammate)
    seen_in_tokyo = dict(overview(client.get(org.get_absolute_url())))["Created"]

    assert (seen_in_new_york, seen_in_tokyo) == ("15 Jan 2024, 21:05 EST", "16 Jan 2024, 11:05 JST")


def test_individual_overview(client, owner):
    acme = OrganizationFactory(name="Acme")
    with time_machine.travel(datetime(2024, 2, 1, 8, 0, tzinfo=TOKYO), tick=False):
        ada = IndividualFactory(first_name="Ada", last_name="Lovelace", organization=acme, job_title="Engineer",
                                email="ada@acme.example", phone="+44 20 1234 5678", notes="Met at the fair.")
    client.force_login(owner)

    response = client.get(ada.get_absolute_url())

    assert heading(response) == "Ada Lovelace Individual"
    assert overview(response) == [
        ("Name", "Ada Lovelace"), ("Organization", "Acme"), ("Job title", "Engineer"),
        ("Email", "ada@acme.example"), ("Phone", "+44 20 1234 5678"), ("Notes", "Met at the fair."),
        ("Created", "31 Jan 2024, 23:00 UTC"), ("Last changed", "31 Jan 2024, 23:00 UTC"),
    ]
    assert main(response).find("a", href=acme.get_absolute_url()).text() == "Acme"


def test_individual_overview_without_optional_fields_shows_dashes(client, owner):
    with time_machine.travel(datetime(2024, 2, 1, 8, 0, tzinfo=TOKYO), tick=False):
        loner = IndividualFactory(first_name="Solo", last_name="Person", organization=None, email="", phone="")
    client.force_login(owner)

    response = client.get(loner.get_absolute_url())

    assert overview(response) == [
        ("Name", "Solo Person"), ("Organization", "—"), ("Job title", "—"), ("Email", "—"), ("Phone", "—"),
        ("Notes", "—"), ("Created", "31 Jan 2024, 23:00 UTC"), ("Last changed", "31 Jan 2024, 23:00 UTC"),
    ]


def test_ticket_overview(client, owner):
    acme = OrganizationFactory(name="Acme")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    with time_machine.travel(datetime(2024, 3, 10, 12, 0, tzinfo=NEW_YORK), tick=False):
        ticket = TicketFactory(subject="Printer on fire", description="Smoke.\nFlames.", status="resolved",
                               priority="urgent", requester=ada, organization=acme)
    client.force_login(owner)

    response = client.get(ticket.get_absolute_url())

    assert heading(response) == f"#{ticket.pk} Printer on fire Ticket"
    assert overview(response) == [
        ("Subject", "Printer on fire"), ("Status", "Resolved"), ("Priority", "Urgent"),
        ("Requester", "Ada Lovelace"), ("Organization", "Acme"), ("Description", "Smoke. Flames."),
        ("Created", "10 Mar 2024, 16:00 UTC"), ("Last changed", "10 Mar 2024, 16:00 UTC"),
    ]


def test_opportunity_overview_with_and_without_an_owner(client, owner):
    acme = OrganizationFactory(name="Acme")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    with time_machine.travel(datetime(2024, 3, 10, 12, 0, tzinfo=NEW_YORK), tick=False):
        owned = OpportunityFactory(name="Big deal", organization=acme, contact=ada, stage="proposal",
                                   amount=Decimal("12500.50"), currency="USD",
                                   expected_close_date=date(2024, 6, 30), owner=owner)
        orphan = OpportunityFactory(name="Orphan", organization=None, contact=None, owner=None,
                                    expected_close_date=None)
    client.force_login(owner)

    owned_page = client.get(owned.get_absolute_url())
    orphan_page = client.get(orphan.get_absolute_url())

    assert overview(owned_page) == [
        ("Name", "Big deal"), ("Stage", "Proposal"), ("Amount", "12,500.50 USD"), ("Expected close", "30 Jun 2024"),
        ("Organization", "Acme"), ("Contact", "Ada Lovelace"), ("Owner", "Olga Owner"),
        ("Created", "10 Mar 2024, 16:00 UTC"), ("Last changed", "10 Mar 2024, 16:00 UTC"),
    ]
    assert orphan_page.status_code == 200
    assert overview(orphan_page) == [
        ("Name", "Orphan"), ("Stage", "Lead"), ("Amount", "1,000.00 EUR"), ("Expected close", "—"),
        ("Organization", "—"), ("Contact", "—"), ("Owner", "—"),
        ("Created", "10 Mar 2024, 16:00 UTC"), ("Last changed", "10 Mar 2024, 16:00 UTC"),
    ]


# --- Create ---------------------------------------------------------------------------------------


def test_create_organization(client, owner):
    client.force_login(owner)

    response = client.post(reverse("crm:organization_create"), {
        "name": "  Acme  ", "website": "acme.example", "email": "hello@acme.example",
        "phone": "+1 (212) 555-0100", "address": "1 Road",
    }, follow=True)

    org = Organization.objects.get()
    assert response.redirect_chain == [(org.get_absolute_url(), 302)]
    assert messages(response) == ["Organization “Acme” created."]
    assert Organization.objects.values_list("name", "website", "email", "phone", "address").get() == (
        "Acme", "https://acme.example", "hello@acme.example", "+1 (212) 555-0100", "1 Road",
    )


def test_create_organization_with_bad_input_shows_readable_errors_and_saves_nothing(client, owner):
    client.force_login(owner)

    response = client.post(reverse("crm:organization_create"), {
        "name": "x" * 201, "website": "not a website", "email": "hello@", "phone": "call me maybe",
        "address": "a" * 1001,
    })

    assert response.status_code == 400
    assert messages(response) == ["Please correct the errors below."]
    assert field_errors(response) == {
        "name": ["Ensure this value has at most 200 characters (it has 201)."],
        "website": ["Enter a valid URL."],
        "email": ["Enter a valid email address."],
        "phone": ["Enter a phone number: at least 5 digits; digits, spaces and + ( ) . / - only, up to 30 characters."],
        "address": ["Ensure this value has at most 1000 characters (it has 1001)."],
    }
    assert Organization.objects.count() == 0


@pytest.mark.parametrize(("phone", "error"), [
    ("-- (.) --", "Enter a phone number: at least 5 digits; digits, spaces and + ( ) . / - only, up to 30 characters."),
    ("1234", "Enter a phone number: at least 5 digits; digits, spaces and + ( ) . / - only, up to 30 characters."),
    ("1" * 31, "Ensure this value has at most 30 characters (it has 31)."),
    ("+49 30 123 ext. 4", "Enter a phone number: at least 5 digits; digits, spaces and + ( ) . / - only, up to 30 characters."),
])
def test_a_bad_phone_number_gets_one_readable_message(client, owner, phone, error):
    client.force_login(owner)

    response = client.post(reverse("crm:organization_create"), {"name": "Acme", "phone": phone})

    assert response.status_code == 400
    assert field_errors(response) == {"phone": [error]}
    assert Organization.objects.count() == 0


def test_a_name_of_only_spaces_is_missing(client, owner):
    client.force_login(owner)

    response = client.post(reverse("crm:organization_create"), {"name": "   "})

    assert response.status_code == 400
    assert field_errors(response) == {"name": ["This field is required."]}
    assert Organization.objects.count() == 0


def test_create_individual(client, owner):
    acme = OrganizationFactory(name="Acme")
    client.force_login(owner)

    response = client.post(reverse("crm:individual_create"), {
        "first_name": "Ada", "last_name": "Lovelace", "email": "ada@acme.example", "phone": "+44 20 1234 5678",
        "organization": acme.pk, "job_title": "Engineer", "notes": "Met at the fair.",
    }, follow=True)

    ada = Individual.objects.get()
    assert response.redirect_chain == [(ada.get_absolute_url(), 302)]
    assert messages(response) == ["Individual “Ada Lovelace” created."]
    assert Individual.objects.values_list(
        "first_name", "last_name", "email", "phone", "organization__name", "job_title", "notes").get() == (
        "Ada", "Lovelace", "ada@acme.example", "+44 20 1234 5678", "Acme", "Engineer", "Met at the fair.",
    )


def test_create_individual_with_bad_input_shows_readable_errors_and_saves_nothing(client, owner):
    client.force_login(owner)

    response = client.post(reverse("crm:individual_create"), {
        "first_name": "", "last_name": "", "email": "ada at acme", "phone": "1" * 31,
        "organization": "999999", "job_title": "j" * 121, "notes": "n" * 5001,
    })

    assert response.status_code == 400
    assert field_errors(response) == {
        "first_name": ["This field is required."],
        "last_name": ["This field is required."],
        "email": ["Enter a valid email address."],
        "phone": ["Ensure this value has at most 30 characters (it has 31)."],
        "organization": ["Select a valid choice. That choice is not one of the available choices."],
        "job_title": ["Ensure this value has at most 120 characters (it has 121)."],
        "notes": ["Ensure this value has at most 5000 characters (it has 5001)."],
    }
    assert Individual.objects.count() == 0


def test_new_individual_form_from_an_organization_preselects_it(client, owner):
    acme = OrganizationFactory(name="Acme")
    OrganizationFactory(name="Globex")
    client.force_login(owner)

    response = client.get(reverse("crm:individual_create") + f"?organization={acme.pk}")

    select = main(response).find("select", name="organization")
    assert [opt.text() for opt in select.find_all("option") if "selected" in opt.attrs] == ["Acme"]


def test_create_ticket(client, owner):
    acme = OrganizationFactory(name="Acme")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    client.force_login(owner)

    response = client.post(reverse("crm:ticket_create"), {
        "subject": "Printer on fire", "description": "Smoke.", "status": "pending", "priority": "high",
        "requester": ada.pk, "organization": acme.pk,
    })

    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    assert Ticket.objects.values_list(
        "subject", "description", "status", "priority", "requester__last_name", "organization__name").get() == (
        "Printer on fire", "Smoke.", "pending", "high", "Lovelace", "Acme",
    )


def test_create_ticket_with_bad_input_shows_readable_errors_and_saves_nothing(client, owner):
    client.force_login(owner)

    response = client.post(reverse("crm:ticket_create"), {
        "subject": "", "description": "d" * 10001, "status": "exploded", "priority": "",
        "requester": "999999", "organization": "abc",
    })

    assert response.status_code == 400
    assert field_errors(response) == {
        "subject": ["This field is required."],
        "description": ["Ensure this value has at most 10000 characters (it has 10001)."],
        "status": ["Select a valid choice. exploded is not one of the available choices."],
        "priority": ["This field is required."],
        "requester": ["Select a valid choice. That choice is not one of the available choices."],
        "organization": ["Select a valid choice. That choice is not one of the available choices."],
    }
    assert Ticket.objects.count() == 0


def test_create_opportunity_upper_cases_the_currency(client, owner, teammate):
    acme = OrganizationFactory(name="Acme")
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    client.force_login(owner)

    response = client.post(reverse("crm:opportunity_create"), {
        "name": "Big deal", "organization": acme.pk, "contact": ada.pk, "stage": "qualified",
        "amount": "12500.50", "currency": "usd", "expected_close_date": "2024-06-30", "owner": teammate.pk,
    })

    deal = Opportunity.objects.get()
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    assert Opportunity.objects.values_list(
        "name", "organization__name", "contact__last_name", "stage", "amount", "currency",
        "expected_close_date", "owner__username").get() == (
        "Big deal", "Acme", "Lovelace", "qualified", Decimal("12500.50"), "USD", date(2024, 6, 30), "teammate",
    )


def test_create_opportunity_with_bad_input_shows_readable_errors_and_saves_nothing(client, owner):
    client.force_login(owner)

    response = client.post(reverse("crm:opportunity_create"), {
        "name": "", "stage": "won-ish", "amount": "-1", "currency": "EURO",
        "expected_close_date": "2024-02-30", "owner": "999999",
    })

    assert response.status_code == 400
    assert field_errors(response) == {
        "name": ["This field is required."],
        "stage": ["Select a valid choice. won-ish is not one of the available choices."],
        "amount": ["Ensure this value is greater than or equal to 0."],
        "currency": ["Ensure this value has at most 3 characters (it has 4)."],
        "expected_close_date": ["Enter a valid date."],
        "owner": ["Select a valid choice. That choice is not one of the available choices."],
    }
    assert Opportunity.objects.count() == 0


@pytest.mark.parametrize(("amount", "currency", "errors"), [
    ("123456789012345", "EUR", {"amount": ["Ensure that there are no more than 14 digits in total."]}),
    ("ten", "EUR", {"amount": ["Enter a number."]}),
    ("10", "E1U", {"currency": ["Use a three-letter ISO currency code, e.g. EUR or USD."]}),
])
def test_opportunity_amount_and_currency_errors(client, owner, amount, currency, errors):
    client.force_login(owner)

    response = client.post(reverse("crm:opportunity_create"),
                           {"name": "Deal", "stage": "lead", "amount": amount, "currency": currency})

    assert response.status_code == 400
    assert field_errors(response) == errors
    assert Opportunity.objects.count() == 0


def test_opportunity_form_lists_active_people_by_name(client, owner, teammate):
    teammate.is_active = False
    teammate.save()
    client.force_login(owner)

    response = client.get(reverse("crm:opportunity_create"))

    assert select_options(main(response), "owner") == [("", "---------"), (str(owner.pk), "Olga Owner")]


# --- Edit -----------------------------------------------------------------------------------------


def test_edit_individual(client, owner):
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace", organization=None)
    client.force_login(owner)

    response = client.post(reverse("crm:individual_edit", args=[ada.pk]), {
        "first_name": "Ada", "last_name": "King", "email": "ada@king.example", "phone": "", "job_title": "Countess",
    }, follow=True)

    assert response.redirect_chain == [(ada.get_absolute_url(), 302)]
    assert messages(response) == ["Individual “Ada King” saved."]
    assert Individual.objects.values_list("first_name", "last_name", "email", "job_title").get() == (
        "Ada", "King", "ada@king.example", "Countess",
    )


def test_edit_form_shows_the_current_values(client, owner):
    acme = OrganizationFactory(name="Acme")
    ticket = TicketFactory(subject="Printer on fire", status="pending", organization=acme)
    client.force_login(owner)

    response = client.get(reverse("crm:ticket_edit", args=[ticket.pk]))

    form = main(response).find("form")
    assert heading(response) == f"Edit ticket “#{ticket.pk} Printer on fire”"
    assert form.find("input", name="subject").attrs["value"] == "Printer on fire"
    assert [o.attrs["value"] for o in form.find("select", name="status").find_all("option")
            if "selected" in o.attrs] == ["pending"]


@pytest.mark.parametrize(("key", "factory", "data", "errors"), [
    ("organization", OrganizationFactory, {"name": "", "email": "x"},
     {"name": ["This field is required."], "email": ["Enter a valid email address."]}),
    ("individual", IndividualFactory, {"first_name": "Ada", "last_name": "L" * 101},
     {"last_name": ["Ensure this value has at most 100 characters (it has 101)."]}),
    ("ticket", TicketFactory, {"subject": "s" * 201, "status": "open", "priority": "low"},
     {"subject": ["Ensure this value has at most 200 characters (it has 201)."]}),
    ("opportunity", OpportunityFactory, {"name": "n" * 201, "stage": "lead", "amount": "1", "currency": "EUR"},
     {"name": ["Ensure this value has at most 200 characters (it has 201)."]}),
])
def test_edit_with_bad_input_changes_nothing_and_keeps_the_saved_name_in_the_heading(
        client, owner, key, factory, data, errors):
    obj = factory()
    saved_name = str(obj)
    before = factory._meta.model.objects.filter(pk=obj.pk).values().get()
    client.force_login(owner)

    response = client.post(reverse(f"crm:{key}_edit", args=[obj.pk]), data)

    assert response.status_code == 400
    assert field_errors(response) == errors
    assert heading(response) == f"Edit {key} “{saved_name}”"
    assert factory._meta.model.objects.filter(pk=obj.pk).values().get() == before


# --- Delete ---------------------------------------------------------------------------------------


@pytest.fixture
def deleter(owner):
    return grant(owner, "crm.delete_organization", "crm.delete_individual", "crm.delete_ticket",
                 "crm.delete_opportunity")


@pytest.fixture
def ticket_notes():
    """A dependent registered for this test: tickets whose description says "about <entity>" stand in for
    tasks or memos linked to the entity. Unregistered afterwards so no other test sees it."""
    def about(entity):
        return Ticket.objects.filter(description=f"about {entity._meta.model_name} {entity.pk}")

    dependent = links.Dependent(
        label="ticket notes",
        count=lambda entity: about(entity).count(),
        detach=lambda entity, user: about(entity).update(description=f"was about {entity} (removed by {user})"),
        delete=lambda entity, user: about(entity).delete(),
    )
    links.register_dependent(dependent)
    yield dependent
    links.unregister_dependent("ticket notes")


def test_delete_page_lists_linked_records_and_offers_keep_or_delete(client, deleter, ticket_notes):
    acme = OrganizationFactory(name="Acme")
    for n in range(3):
        TicketFactory(subject=f"Note {n}", organization=None, description=f"about organization {acme.pk}")
    client.force_login(deleter)

    response = client.get(reverse("crm:organization_delete", args=[acme.pk]))

    form = main(response).find("form")
    assert heading(response) == "Delete organization “Acme”?"
    assert [li.text() for li in form.find_all("li")] == ["3 ticket notes"]
    assert [(radio.attrs["value"], "checked" in radio.attrs) for radio in form.find_all("input", type="radio")] == [
        ("keep", True), ("delete", False)]
    assert [label.text() for label in form.find_all("label")] == [
        "Keep them, unlinked, with a note of what they were linked to", "Delete them too"]


def test_deleting_and_keeping_linked_records_detaches_them(client, deleter, ticket_notes):
    acme = OrganizationFactory(name="Acme")
    TicketFactory(subject="Note", organization=None, description=f"about organization {acme.pk}")
    TicketFactory(subject="Other", organization=None, description="about organization 0")
    client.force_login(deleter)

    response = client.post(reverse("crm:organization_delete", args=[acme.pk]), {"linked": "keep"}, follow=True)

    assert response.redirect_chain == [(reverse("crm:organization_list"), 302)]
    assert messages(response) == ["Organization “Acme” deleted."]
    assert list(Organization.objects.all()) == []
    assert set(Ticket.objects.values_list("subject", "description")) == {
        ("Note", "was about Acme (removed by owner)"), ("Other", "about organization 0")}


def test_deleting_with_linked_records_deletes_them_too(client, deleter, ticket_notes):
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    TicketFactory(subject="Note", organization=None, description=f"about individual {ada.pk}")
    TicketFactory(subject="Other", organization=None, description="about individual 0")
    client.force_login(deleter)

    response = client.post(reverse("crm:individual_delete", args=[ada.pk]), {"linked": "delete"})

    assert response.status_code == 302
    assert list(Individual.objects.all()) == []
    assert set(Ticket.objects.values_list("subject", flat=True)) == {"Other"}


def test_delete_with_an_unknown_choice_for_linked_records_deletes_nothing(client, deleter, ticket_notes):
    acme = OrganizationFactory(name="Acme")
    TicketFactory(subject="Note", organization=None, description=f"about organization {acme.pk}")
    client.force_login(deleter)

    response = client.post(reverse("crm:organization_delete", args=[acme.pk]), {"linked": "shred"})

    assert response.status_code == 400
    assert messages(response) == ["Choose whether to keep or delete the linked records."]
    assert list(Organization.objects.values_list("name", flat=True)) == ["Acme"]
    assert list(Ticket.objects.values_list("description", flat=True)) == [f"about organization {acme.pk}"]


def test_delete_page_without_linked_records(client, deleter):
    deal = OpportunityFactory(name="Big deal")
    client.force_login(deleter)

    page = client.get(reverse("crm:opportunity_delete", args=[deal.pk]))
    response = client.post(reverse("crm:opportunity_delete", args=[deal.pk]))

    assert main(page).find("form").find("p").text() == "Nothing else is linked to it."
    assert response.status_code == 302
    assert Opportunity.objects.count() == 0


def test_deleting_an_organization_keeps_its_people_tickets_and_deals_without_it(client, deleter):
    acme = OrganizationFactory(name="Acme")
    IndividualFactory(last_name="Lovelace", organization=acme)
    TicketFactory(subject="Printer", organization=acme)
    OpportunityFactory(name="Deal", organization=acme)
    client.force_login(deleter)

    client.post(reverse("crm:organization_delete", args=[acme.pk]))

    assert list(Individual.objects.values_list("last_name", "organization")) == [("Lovelace", None)]
    assert list(Ticket.objects.values_list("subject", "organization")) == [("Printer", None)]
    assert list(Opportunity.objects.values_list("name", "organization")) == [("Deal", None)]


def test_registering_a_dependent_twice_keeps_one_and_unregister_removes_it():
    dependent = links.Dependent(label="widgets", count=lambda e: 0, detach=lambda e, u: None,
                                delete=lambda e, u: None)
    before = links.dependents()

    links.register_dependent(dependent)
    links.register_dependent(dependent)
    registered = links.dependents()
    links.unregister_dependent("widgets")

    assert registered == before + [dependent]
    assert links.dependents() == before
