"""Entity pages: the History tab (the entity's own changes) and the Activity tab (everything linked to it)."""

from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import history
from crm.history_text import Names, describe, format_moment
from crm.models import Individual, Organization
from crm.tests.factories import OrganizationFactory, UserFactory, set_time_zone
from crm.tests.html import main
from tasks import services
from tasks.tests.factories import TaskFactory

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=dt_timezone.utc)

pytestmark = pytest.mark.django_db


def entries(response):
    """(sentences, time shown) of each history entry on the page, newest first."""
    shown = []
    for item in main(response).find_all("li", cls="history-entry"):
        sentences = " ".join(n.text() for n in item.find_all("div", cls="history-sentence"))
        shown.append((sentences, item.find("time").text()))
    return shown


@pytest.fixture
def ana(db):
    return set_time_zone(UserFactory(username="ana", first_name="Ana", last_name="Fischer"), "Europe/Berlin")


def org_form(**changes):
    data = {"name": "Acme", "website": "", "email": "", "phone": "+49 30 1234567", "address": ""}
    data.update(changes)
    return data


def test_the_history_tab_says_who_created_and_changed_the_entity_in_the_readers_time_zone(client, ana):
    client.force_login(ana)
    with time_machine.travel(NOW, tick=False):
        client.post("/organizations/new/", org_form())
    org = Organization.objects.get()
    with time_machine.travel(datetime(2026, 3, 4, 15, 30, tzinfo=dt_timezone.utc), tick=False):
        client.post(f"/organizations/{org.pk}/edit/", org_form(phone="+49 30 7654321", address="Main St 1\nBerlin"))

    response = client.get(f"/organizations/{org.pk}/tabs/history/")

    assert response.status_code == 200
    assert entries(response) == [
        ("Ana Fischer changed the phone from “+49 30 1234567” to “+49 30 7654321”. Ana Fischer added the address.",
         "4 Mar 2026, 16:30"),
        ("Ana Fischer created the organization.", "2 Mar 2026, 09:00"),
    ]


def test_related_records_are_named_even_after_they_are_deleted(ana):
    acme, globex = OrganizationFactory(name="Acme"), OrganizationFactory(name="Globex")
    person = Individual.objects.create(first_name="Ada", last_name="Lovelace", organization=acme)
    person.organization = globex
    person.save()
    acme.delete()  # its last name is read from its own history

    records = list(Individual.history.filter(id=person.pk).order_by("-history_id"))

    assert [describe(r, about=("crm.individual", person.pk)) for r in records] == [
        "The system changed the organization from Acme to Globex",
        "The system created the individual",
    ]


def test_names_are_fetched_with_one_query_per_model():
    orgs = [OrganizationFactory(name=f"Org {n}") for n in range(5)]
    names = Names()
    for org in orgs:
        names.want(Organization, org.pk)

    with CaptureQueriesContext(connection) as queries:
        names.resolve()

    assert len(queries) == 1
    assert [names.get(Organization, o.pk) for o in orgs] == [f"Org {n}" for n in range(5)]


def test_moments_show_the_year_only_when_it_is_not_this_year():
    with time_machine.travel(NOW, tick=False):
        assert format_moment(datetime(2026, 3, 3, 16, 0, tzinfo=dt_timezone.utc)) == "3 Mar 16:00"
        assert format_moment(datetime(2025, 12, 31, 23, 0, tzinfo=dt_timezone.utc)) == "31 Dec 2025 23:00"


# ---- the Activity tab -------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=True)
def test_the_activity_tab_shows_the_entity_and_its_tasks_newest_first_even_deleted_ones(client, owner, team):
    org = OrganizationFactory(name="Acme")
    org.phone = "+49 30 5555555"
    org.save()
    kept = services.task_create(created_by=owner, title="Call Acme", entity=org, team=team, assignee=owner)
    services.checklist_add(task=kept, user=owner, text="Prepare numbers")
    services.task_update(task=kept, user=owner, data={"priority": "high"}, version=kept.version)
    gone = services.task_create(created_by=owner, title="Old idea", entity=org, team=team, assignee=owner,
                                checklist=["Step"])
    services.task_delete(task=gone, user=owner)
    other = services.task_create(created_by=owner, title="Elsewhere", team=team, assignee=owner)
    client.force_login(owner)

    response = client.get(f"/organizations/{org.pk}/tabs/activity/")

    assert [text for text, _when in entries(response)] == [
        "Olga Owner deleted the task “Old idea”.",
        "Olga Owner added the checklist item “Step” to “Old idea”.",
        "Olga Owner created the task “Old idea”.",
        "Olga Owner changed the priority of the task “Call Acme” from Medium to High.",
        "Olga Owner added the checklist item “Prepare numbers” to “Call Acme”.",
        "Olga Owner created the task “Call Acme”.",
        "The system changed the phone from “+49 30 1234567” to “+49 30 5555555”.",
        "The system created the organization.",
    ]
    assert other.title not in response.content.decode()


def test_the_activity_tab_shows_only_the_tasks_the_reader_may_see(client, owner, teammate, outsider, team):
    org = OrganizationFactory(name="Acme")
    services.task_create(created_by=owner, title="Team call", entity=org, team=team, assignee=owner)
    private = services.task_create(created_by=outsider, title="Private call", entity=org, assignee=outsider)
    services.task_delete(task=private, user=outsider)

    def texts(user):
        client.force_login(user)
        return [text for text, _when in entries(client.get(f"/organizations/{org.pk}/tabs/activity/"))]

    assert texts(teammate) == ["Olga Owner created the task “Team call”.", "The system created the organization."]
    assert texts(outsider) == [
        "Otto Side deleted the task “Private call”.", "Otto Side created the task “Private call”.",
        "The system created the organization.",
    ]


def test_the_activity_tab_pages_and_keeps_a_constant_number_of_queries(client, owner, team, settings):
    settings.PAGE_SIZE = 10
    org = OrganizationFactory(name="Acme")

    def add(n):
        task = services.task_create(created_by=owner, title=f"Task {n}", entity=org, team=team, assignee=owner)
        services.task_update(task=task, user=owner, data={"priority": "high"}, version=task.version)
        services.checklist_add(task=task, user=owner, text=f"Item {n}")
        services.participant_add(task=task, by=owner, user=UserFactory())

    def count(phone):
        org.phone = phone  # the newest entry is the entity's own change, so both pages hold every kind
        org.save()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/organizations/{org.pk}/tabs/activity/")
        return len(queries), len(entries(response))

    client.force_login(owner)
    add(0)
    client.get(f"/organizations/{org.pk}/tabs/activity/")
    few = count("+49 30 1111111")
    for n in range(1, 10):
        add(n)
    many = count("+49 30 2222222")
    second = client.get(f"/organizations/{org.pk}/tabs/activity/?page=2")

    assert (few[1], many[1]) == (6, 10)
    assert many[0] == few[0]
    assert "Page 2 of 5" in second.content.decode()


def test_an_app_can_add_its_records_to_the_activity_tab(client, owner):
    org = OrganizationFactory(name="Acme")
    other = OrganizationFactory(name="Globex")
    other.name = "Globex Inc"
    other.save()
    history.register_activity(history.ActivitySource(
        "test-sister", lambda entity, user: Organization.history.model.objects.filter(id=other.pk),
        ("crm.Organization",)))
    try:
        client.force_login(owner)
        response = client.get(f"/organizations/{org.pk}/tabs/activity/")
    finally:
        history.unregister_activity("test-sister")

    assert [text for text, _when in entries(response)][:1] == [
        "The system changed the name of the organization “Globex Inc” from “Globex” to “Globex Inc”."]


def test_history_tabs_are_on_every_entity_page(client, owner):
    org = OrganizationFactory()
    client.force_login(owner)

    page = main(client.get(f"/organizations/{org.pk}/"))

    labels = [a.text() for a in page.find("ul", cls="nav-tabs").find_all("a")]
    assert labels[-2:] == ["Activity", "History"]
    assert TaskFactory._meta.model.history.model.__name__ == "HistoricalTask"
