"""The Tasks tab on entity pages: the task list limited to one entity."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.tests import html
from crm.tests.factories import (
    IndividualFactory, OpportunityFactory, OrganizationFactory, TicketFactory, UserFactory,
)
from tasks.models import Task
from tasks.tests.factories import TaskFactory


def linked(entity, **kwargs):
    task = TaskFactory(**kwargs)
    task.set_entity(entity)
    task.save()
    return task


def listed(response):
    table = html.main(response).find("table", cls="task-table")
    return [td.find("a").text() for td in table.find_all("td", cls="task-title")]


def tab_badge(response):
    tab = [a for a in html.main(response).find("ul", cls="nav-tabs").find_all("a") if a.text().startswith("Tasks")]
    return tab[0].text()


@pytest.fixture
def acme_board(owner, outsider, team):
    acme = OrganizationFactory(name="Acme")
    same_id_person = IndividualFactory(pk=acme.pk, organization=None)  # same id, other type
    other = OrganizationFactory(name="Globex")
    linked(acme, title="Call Acme", created_by=owner, priority="high")
    linked(acme, title="Send Acme contract", created_by=owner, team=team)
    linked(acme, title="Acme done", created_by=owner, status="completed")
    linked(acme, title="Acme, outsider's own", created_by=outsider, assignee=outsider)
    linked(other, title="Call Globex", created_by=owner)
    linked(same_id_person, title="Call the person", created_by=owner)
    TaskFactory(title="Global", created_by=owner)
    return acme


def test_the_tab_lists_only_the_entitys_tasks_the_user_may_see(client, owner, acme_board):
    client.force_login(owner)

    response = client.get(f"/organizations/{acme_board.pk}/tabs/tasks/?o=title")

    assert response.status_code == 200
    assert listed(response) == ["Call Acme", "Send Acme contract"]
    assert tab_badge(response) == "Tasks 2"
    assert "Linked to" not in html.column_headers(response)


def test_filters_and_status_links_work_inside_the_tab(client, owner, acme_board):
    client.force_login(owner)
    url = f"/organizations/{acme_board.pk}/tabs/tasks/"

    high = client.get(url + "?priority=high")
    completed = client.get(url + "?status=completed")
    searched = client.get(url + "?q=contract")
    status_links = dict(html.links(html.main(high).find("div", cls="status-links")))

    assert listed(high) == ["Call Acme"]
    assert listed(completed) == ["Acme done"]
    assert listed(searched) == ["Send Acme contract"]
    assert status_links["Completed"] == "?priority=high&status=completed"
    assert html.main(high).find("form", cls="task-filters").attrs["action"] == url
    assert html.main(high).find("select", name="entity_type") is None


def test_the_new_task_button_fills_in_the_entity(client, owner, acme_board):
    client.force_login(owner)

    response = client.get(f"/organizations/{acme_board.pk}/tabs/tasks/")
    new_task = [href for text, href in html.links(html.main(response)) if text == "New task"]
    form = html.main(client.get(new_task[0])).find("form", method="post")

    assert new_task == [f"/tasks/new/?entity_type=organization&entity={acme_board.pk}"]
    assert form.find("input", name="entity_1").attrs["value"] == f"Acme · #{acme_board.pk}"


def test_other_users_see_their_own_share(client, teammate, outsider, acme_board):
    client.force_login(teammate)
    as_teammate = client.get(f"/organizations/{acme_board.pk}/tabs/tasks/")
    client.force_login(outsider)
    as_outsider = client.get(f"/organizations/{acme_board.pk}/tabs/tasks/")

    assert (listed(as_teammate), tab_badge(as_teammate)) == (["Send Acme contract"], "Tasks 1")
    assert (listed(as_outsider), tab_badge(as_outsider)) == (["Acme, outsider's own"], "Tasks 1")


@pytest.mark.parametrize("factory, prefix, key", [
    (IndividualFactory, "individuals", "individual"),
    (TicketFactory, "tickets", "ticket"),
    (OpportunityFactory, "opportunities", "opportunity"),
])
def test_every_entity_type_has_the_tab(client, owner, factory, prefix, key):
    entity = factory()
    linked(entity, title=f"About the {key}", created_by=owner)
    client.force_login(owner)

    overview = client.get(f"/{prefix}/{entity.pk}/")
    tab = client.get(f"/{prefix}/{entity.pk}/tabs/tasks/")

    assert tab_badge(overview) == "Tasks 1"
    assert listed(tab) == [f"About the {key}"]
    assert [h for t, h in html.links(html.main(tab)) if t == "New task"] == [
        f"/tasks/new/?entity_type={key}&entity={entity.pk}"]


def _tab_queries(client, user, count, settings):
    settings.PAGE_SIZE = 100
    acme = OrganizationFactory(name="Acme")
    for n in range(count):
        parent = linked(acme, title=f"Row {n}", created_by=user, assignee=UserFactory(), tags=["x", f"t{n}"])
        TaskFactory(title=f"Sub {n}", created_by=user, parent=parent)
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/organizations/{acme.pk}/tabs/tasks/")
    assert len(listed(response)) == count
    return len(ctx.captured_queries)


def test_the_tab_runs_the_same_number_of_queries_for_1_and_50_rows(client, owner, team, settings):
    one = _tab_queries(client, owner, 1, settings)
    Task.objects.all().delete()

    fifty = _tab_queries(client, owner, 50, settings)

    assert fifty == one, (one, fifty)
