"""Who may see and do what: anonymous visitors, missing records, the delete permission, HTTP methods."""

from urllib.parse import quote

import pytest
from django.urls import reverse

from crm.models import Individual, Opportunity, Organization, Ticket
from crm.tests.factories import (
    IndividualFactory,
    OpportunityFactory,
    OrganizationFactory,
    TicketFactory,
    UserFactory,
    grant,
)
from crm.tests.html import main

pytestmark = pytest.mark.django_db

FACTORIES = {
    "organization": OrganizationFactory,
    "individual": IndividualFactory,
    "ticket": TicketFactory,
    "opportunity": OpportunityFactory,
}
MODELS = {"organization": Organization, "individual": Individual, "ticket": Ticket, "opportunity": Opportunity}


def every_page(objects):
    """Every page of the crm app, with real ids."""
    urls = [reverse("home"), reverse("crm:entity_search") + "?type=organization&q=a", reverse("crm:profile"),
            reverse("crm:team_list"), reverse("password_change"), reverse("password_change_done")]
    for key, obj in objects.items():
        urls += [
            reverse(f"crm:{key}_list"), reverse(f"crm:{key}_create"),
            reverse(f"crm:{key}_detail", args=[obj.pk]), reverse(f"crm:{key}_tab", args=[obj.pk, "overview"]),
            reverse(f"crm:{key}_edit", args=[obj.pk]), reverse(f"crm:{key}_delete", args=[obj.pk]),
        ]
    return urls


@pytest.fixture
def objects():
    return {key: factory() for key, factory in FACTORIES.items()}


def error_page(response):
    return main(response).find("h1").text()


# --- Anonymous visitors ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login_from_every_page(client, objects):
    urls = every_page(objects)

    answers = {url: (r.status_code, r.headers.get("Location")) for url in urls for r in [client.get(url)]}

    assert answers == {url: (302, f"{reverse('login')}?next={quote(url)}") for url in urls}


def test_anonymous_posts_change_nothing(client, objects):
    org = objects["organization"]
    names_before = set(Organization.objects.values_list("name", flat=True))

    created = client.post(reverse("crm:organization_create"), {"name": "Sneaky"})
    edited = client.post(reverse("crm:organization_edit", args=[org.pk]), {"name": "Renamed"})
    deleted = client.post(reverse("crm:organization_delete", args=[org.pk]), {"linked": "delete"})
    profile = client.post(reverse("crm:profile"), {"time_zone": "Asia/Tokyo", "default_hourly_rate": "1"})

    assert [r.status_code for r in (created, edited, deleted, profile)] == [302, 302, 302, 302]
    assert set(Organization.objects.values_list("name", flat=True)) == names_before
    assert list(Organization.objects.filter(name__in=["Sneaky", "Renamed"])) == []


def test_the_login_page_is_open_to_anonymous_visitors(client):
    response = client.get(reverse("login"))

    form = main(response).find("form")
    assert response.status_code == 200
    assert [i.attrs["name"] for i in form.find_all("input")] == [
        "csrfmiddlewaretoken", "username", "password", "next"]


def test_anonymous_visitors_do_not_see_the_navigation(client):
    response = client.get(reverse("login"))

    assert main(response).parent.find("nav", cls="navbar") is None


# --- Missing records ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(FACTORIES))
@pytest.mark.parametrize(("page", "post_status"), [("detail", 405), ("edit", 404), ("delete", 404)])
def test_a_missing_record_is_404_on_every_page(client, key, page, post_status):
    client.force_login(UserFactory(username="admin", is_superuser=True))
    url = reverse(f"crm:{key}_{page}", args=[999999])

    got = client.get(url)
    posted = client.post(url, {"name": "x", "linked": "delete"})

    assert (got.status_code, posted.status_code) == (404, post_status)
    assert error_page(got) == "404 · Not found"
    assert MODELS[key].objects.count() == 0


def test_a_missing_record_tab_and_a_huge_id_are_404(client, owner):
    client.force_login(owner)

    assert [
        client.get(reverse("crm:organization_tab", args=[999999, "individuals"])).status_code,
        client.get(reverse("crm:ticket_detail", args=[10**30])).status_code,
        client.get("/tickets/abc/").status_code,
        client.get("/no-such-page/").status_code,
    ] == [404, 404, 404, 404]


def test_a_deleted_record_is_404(client, owner):
    ticket = TicketFactory()
    url = ticket.get_absolute_url()
    ticket.delete()
    client.force_login(owner)

    assert client.get(url).status_code == 404


# --- Deleting needs the model's delete permission -------------------------------------------------


@pytest.mark.parametrize("key", list(FACTORIES))
def test_without_the_delete_permission_deleting_is_403_and_deletes_nothing(client, owner, key):
    obj = FACTORIES[key]()
    client.force_login(owner)

    page = client.get(reverse(f"crm:{key}_delete", args=[obj.pk]))
    attempt = client.post(reverse(f"crm:{key}_delete", args=[obj.pk]), {"linked": "delete"})

    assert (page.status_code, attempt.status_code) == (403, 403)
    assert main(attempt).find("p", cls="lead").text() == "You may not delete this record."
    assert list(MODELS[key].objects.values_list("pk", flat=True)) == [obj.pk]


def test_staff_status_alone_does_not_allow_deleting(client, staff):
    org = OrganizationFactory()
    client.force_login(staff)

    response = client.post(reverse("crm:organization_delete", args=[org.pk]))

    assert response.status_code == 403
    assert Organization.objects.count() == 1


def test_the_permission_is_per_model(client, owner):
    org = OrganizationFactory()
    ticket = TicketFactory(organization=None)
    client.force_login(grant(owner, "crm.delete_ticket"))

    ticket_attempt = client.post(reverse("crm:ticket_delete", args=[ticket.pk]))
    org_attempt = client.post(reverse("crm:organization_delete", args=[org.pk]))

    assert (ticket_attempt.status_code, org_attempt.status_code) == (302, 403)
    assert (Ticket.objects.count(), Organization.objects.count()) == (0, 1)


def test_a_superuser_may_delete(client):
    deal = OpportunityFactory()
    client.force_login(UserFactory(username="root", is_superuser=True))

    response = client.post(reverse("crm:opportunity_delete", args=[deal.pk]))

    assert response.status_code == 302
    assert Opportunity.objects.count() == 0


def test_the_delete_button_shows_only_to_those_allowed_to_delete(client, owner, teammate):
    org = OrganizationFactory(name="Acme")
    deleter = grant(teammate, "crm.delete_organization")

    client.force_login(owner)
    without = main(client.get(org.get_absolute_url())).find("div", cls="btn-group")
    client.force_login(deleter)
    with_perm = main(client.get(org.get_absolute_url())).find("div", cls="btn-group")

    assert [(a.text(), a.attrs["href"]) for a in without.find_all("a")] == [
        ("Edit", reverse("crm:organization_edit", args=[org.pk]))]
    assert [(a.text(), a.attrs["href"]) for a in with_perm.find_all("a")] == [
        ("Edit", reverse("crm:organization_edit", args=[org.pk])),
        ("Delete", reverse("crm:organization_delete", args=[org.pk])),
    ]


# --- Everyone signed in shares the address book ---------------------------------------------------


def test_any_signed_in_user_may_read_create_and_edit_entities(client, outsider):
    org = OrganizationFactory(name="Acme")
    client.force_login(outsider)

    read = client.get(org.get_absolute_url())
    created = client.post(reverse("crm:organization_create"), {"name": "Globex"})
    edited = client.post(reverse("crm:organization_edit", args=[org.pk]), {"name": "Acme Ltd"})

    assert [r.status_code for r in (read, created, edited)] == [200, 302, 302]
    assert set(Organization.objects.values_list("name", flat=True)) == {"Acme Ltd", "Globex"}


# --- HTTP methods ---------------------------------------------------------------------------------


def test_unsupported_methods_are_405(client, owner):
    org = OrganizationFactory(name="Acme")
    client.force_login(owner)

    assert [
        client.put(reverse("crm:organization_create")).status_code,
        client.delete(reverse("crm:organization_edit", args=[org.pk])).status_code,
        client.post(org.get_absolute_url()).status_code,
        client.post(reverse("crm:entity_search")).status_code,
        client.get(reverse("logout")).status_code,
    ] == [405, 405, 405, 405, 405]
    assert list(Organization.objects.values_list("name", flat=True)) == ["Acme"]
