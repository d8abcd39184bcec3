"""Creating and editing tasks through the form: what is saved, what is refused, how deadlines show."""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine

from crm.tests import html
from crm.tests.factories import OrganizationFactory, TicketFactory, UserFactory, set_time_zone
from tasks import dates
from tasks.models import Task
from tasks.tests.factories import TaskFactory

UTC = dt_timezone.utc


def form_data(**overrides):
    data = {
        "title": "Call Acme about renewal", "description": "", "task_type": "call", "priority": "medium",
        "due_date": "", "due_time": "", "begin_at": "", "scheduled_at": "", "expected_duration": "",
        "location": "", "entity_0": "", "entity_1": "", "assignee": "", "team": "", "parent": "", "tags": "",
    }
    data.update(overrides)
    return data


def posted_form(client, url):
    """The values of the form on `url`, as a browser would post them back unchanged."""
    page = html.main(client.get(url))
    form = page.find("form", method="post")
    data = {}
    for node in form.iter():
        name = node.attrs.get("name")
        if not name or name == "csrfmiddlewaretoken":
            continue
        if node.tag == "input" and node.attrs.get("type") not in ("submit", "checkbox", "radio"):
            data[name] = node.attrs.get("value", "")
        elif node.tag == "textarea":  # its text as a browser sends it (without the newline after the tag)
            raw = "".join(c for c in node.children if isinstance(c, str))
            data[name] = raw[1:] if raw.startswith("\n") else raw
        elif node.tag == "select":
            chosen = [o.attrs.get("value", "") for o in node.find_all("option") if "selected" in o.attrs]
            data[name] = chosen[0] if chosen else ""
    return data


@pytest.fixture
def berlin_owner(owner):
    return set_time_zone(owner, "Europe/Berlin")


# ---- create -------------------------------------------------------------------------------


def test_create_saves_every_field_in_the_users_time_zone(client, berlin_owner, teammate, team):
    acme = OrganizationFactory(name="Acme")
    parent = TaskFactory(title="Renewal", created_by=berlin_owner)
    client.force_login(berlin_owner)

    response = client.post("/tasks/new/", form_data(
        description="Ask about seats.", priority="high", due_date="2025-03-20", due_time="14:30",
        begin_at="2025-03-18T09:00", scheduled_at="2025-03-19T11:15", expected_duration="1:30",
        location="Phone", entity_0="organization", entity_1=f"Acme · #{acme.pk}", assignee=str(teammate.pk),
        team=str(team.pk), parent=f"#{parent.pk}", tags="vip, renewal", status="completed",
    ))

    task = Task.objects.get(title="Call Acme about renewal")
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    assert {
        "description": task.description, "task_type": task.task_type, "priority": task.priority,
        "status": task.status, "due_at": task.due_at, "all_day": task.all_day, "begin_at": task.begin_at,
        "scheduled_at": task.scheduled_at, "expected_duration": task.expected_duration, "location": task.location,
        "entity": task.entity, "assignee": task.assignee, "team": task.team, "parent": task.parent,
        "tree_path": task.tree_path, "created_by": task.created_by, "tags": sorted(t.name for t in task.tags.all()),
    } == {
        "description": "Ask about seats.", "task_type": "call", "priority": "high", "status": "pending",
        "due_at": datetime(2025, 3, 20, 13, 30, tzinfo=UTC), "all_day": False,
        "begin_at": datetime(2025, 3, 18, 8, 0, tzinfo=UTC), "scheduled_at": datetime(2025, 3, 19, 10, 15, tzinfo=UTC),
        "expected_duration": timedelta(minutes=90), "location": "Phone", "entity": acme, "assignee": teammate,
        "team": team, "parent": parent, "tree_path": f"/{parent.pk}/", "created_by": berlin_owner,
        "tags": ["renewal", "vip"],
    }


def test_a_due_date_without_time_is_stored_as_an_all_day_deadline(client, berlin_owner):
    client.force_login(berlin_owner)

    client.post("/tasks/new/", form_data(due_date="2025-03-20", expected_duration="45"))

    task = Task.objects.get()
    assert (task.due_at, task.all_day, task.expected_duration) == (
        datetime(2025, 3, 20, tzinfo=UTC), True, timedelta(minutes=45))


@pytest.mark.parametrize("overrides, field, message", [
    ({"title": ""}, "title", "This field is required."),
    ({"task_type": "bogus"}, "task_type", "Select a valid choice. bogus is not one of the available choices."),
    ({"priority": "whenever"}, "priority", "Select a valid choice. whenever is not one of the available choices."),
    ({"begin_at": "2025-03-20T10:00", "due_date": "2025-03-19"}, "due_date",
     "The due date cannot be before the begin date."),
    ({"begin_at": "2025-03-20T10:00", "due_date": "2025-03-20", "due_time": "09:00"}, "due_date",
     "The due date cannot be before the begin date."),
    ({"due_time": "09:00"}, "due_date", "Give the date of the deadline too (or clear the time)."),
    ({"due_date": "20/03/2025"}, "due_date", "Enter a valid date."),
    ({"expected_duration": "a while"}, "expected_duration",
     "Enter minutes (90), hours and minutes (1:30) or e.g. 1h 30m."),
    ({"entity_0": "organization", "entity_1": "#99999"}, "entity", "There is no organization #99999."),
    ({"entity_0": "invoice", "entity_1": "#1"}, "entity",
     "Records can only be linked to an individual, organization, ticket or opportunity."),
    ({"parent": "99999"}, "parent", "There is no task #99999 you can see."),
    ({"parent": "abc"}, "parent", "Enter the number of the parent task, e.g. 42."),
    ({"assignee": "99999"}, "assignee", "Choose an active user."),
])
def test_bad_input_is_refused_with_400_and_nothing_is_saved(client, berlin_owner, overrides, field, message):
    client.force_login(berlin_owner)

    response = client.post("/tasks/new/", form_data(**overrides))

    assert response.status_code == 400
    assert html.field_errors(response) == {field: [message]}
    assert html.messages(response) == ["The task was not saved: please correct the errors below."]
    assert Task.objects.count() == 0


def test_an_inactive_assignee_or_a_parent_the_user_cannot_see_is_refused(client, berlin_owner, outsider):
    gone = UserFactory(username="gone", is_active=False)
    hidden = TaskFactory(title="Outsider's", created_by=outsider)
    client.force_login(berlin_owner)

    response = client.post("/tasks/new/", form_data(assignee=str(gone.pk), parent=str(hidden.pk)))

    assert response.status_code == 400
    assert html.field_errors(response) == {"assignee": ["Choose an active user."],
                                           "parent": [f"There is no task #{hidden.pk} you can see."]}
    assert list(Task.objects.values_list("title", flat=True)) == ["Outsider's"]


# ---- prefilled "new task" links ------------------------------------------------------------


@pytest.mark.parametrize("query", ["entity_type=organization&entity={pk}", "entity_0=organization&entity_1=%23{pk}"])
def test_new_task_from_an_entity_has_the_entity_filled_in(client, owner, query):
    acme = OrganizationFactory(name="Acme")
    client.force_login(owner)

    response = client.get("/tasks/new/?" + query.format(pk=acme.pk))
    form = html.main(response).find("form", method="post")

    assert response.status_code == 200
    assert html.select_options(form, "entity_0")[2] == ("organization", "Organization")
    assert [o.attrs["value"] for o in form.find("select", name="entity_0").find_all("option")
            if "selected" in o.attrs] == ["organization"]
    assert form.find("input", name="entity_1").attrs["value"] == f"Acme · #{acme.pk}"
    assert ("Cancel", acme.get_absolute_url()) in html.links(html.main(response))


def test_new_task_from_an_entity_saves_the_link(client, owner):
    ticket = TicketFactory(subject="Printer on fire")
    client.force_login(owner)
    prefilled = posted_form(client, f"/tasks/new/?entity_type=ticket&entity={ticket.pk}")

    client.post(f"/tasks/new/?entity_type=ticket&entity={ticket.pk}", {**prefilled, "title": "Call the requester"})

    assert Task.objects.get().entity == ticket


def test_new_subtask_has_the_parent_filled_in_and_saves_under_it(client, owner, team):
    acme = OrganizationFactory(name="Acme")
    parent = TaskFactory(title="Quarterly review", created_by=owner, team=team)
    parent.set_entity(acme)
    parent.save()
    client.force_login(owner)

    page = client.get(f"/tasks/new/?parent={parent.pk}")
    prefilled = posted_form(client, f"/tasks/new/?parent={parent.pk}")
    client.post(f"/tasks/new/?parent={parent.pk}", {**prefilled, "title": "Book a room"})

    assert html.heading(page) == "New subtask of “Quarterly review”"
    assert (prefilled["parent"], prefilled["team"], prefilled["entity_0"]) == (str(parent.pk), str(team.pk),
                                                                                "organization")
    child = Task.objects.get(title="Book a room")
    assert (child.parent, child.tree_path, child.team, child.entity) == (parent, f"/{parent.pk}/", team, acme)


# ---- edit ----------------------------------------------------------------------------------


def test_edit_shows_the_saved_values_and_saves_changes(client, berlin_owner, teammate):
    task = TaskFactory(title="Call Acme", created_by=berlin_owner, due_at=datetime(2025, 3, 20, 13, 30, tzinfo=UTC),
                       expected_duration=timedelta(minutes=90), tags=["vip"])
    client.force_login(berlin_owner)
    loaded = posted_form(client, f"/tasks/{task.pk}/edit/")

    response = client.post(f"/tasks/{task.pk}/edit/", {**loaded, "title": "Call Acme today", "due_time": "",
                                                      "assignee": str(teammate.pk), "tags": "vip, hot"})

    assert {k: loaded[k] for k in ("title", "due_date", "due_time", "expected_duration", "tags", "version")} == {
        "title": "Call Acme", "due_date": "2025-03-20", "due_time": "14:30", "expected_duration": "1:30",
        "tags": "vip", "version": "1"}
    task.refresh_from_db()
    assert response.status_code == 302
    assert (task.title, task.due_at, task.all_day, task.assignee, sorted(t.name for t in task.tags.all()),
            task.version) == ("Call Acme today", datetime(2025, 3, 20, tzinfo=UTC), True, teammate, ["hot", "vip"], 2)


def test_edit_refuses_moving_a_task_under_its_own_subtask(client, owner):
    top = TaskFactory(title="Top", created_by=owner)
    child = TaskFactory(title="Child", created_by=owner, parent=top)
    grandchild = TaskFactory(title="Grandchild", created_by=owner, parent=child)
    client.force_login(owner)
    loaded = posted_form(client, f"/tasks/{top.pk}/edit/")

    response = client.post(f"/tasks/{top.pk}/edit/", {**loaded, "parent": str(grandchild.pk), "title": "Moved"})

    top.refresh_from_db()
    assert response.status_code == 400
    assert html.field_errors(response) == {
        "parent": ["A task cannot be moved under itself or one of its own subtasks."]}
    assert (top.title, top.parent, top.tree_path, top.version) == ("Top", None, "/", 1)


def test_edit_refuses_due_before_begin_and_keeps_the_task(client, owner):
    task = TaskFactory(title="Plan", created_by=owner)
    client.force_login(owner)
    loaded = posted_form(client, f"/tasks/{task.pk}/edit/")

    response = client.post(f"/tasks/{task.pk}/edit/", {**loaded, "begin_at": "2025-05-02T10:00",
                                                      "due_date": "2025-05-01"})

    task.refresh_from_db()
    assert response.status_code == 400
    assert html.field_errors(response) == {"due_date": ["The due date cannot be before the begin date."]}
    assert (task.begin_at, task.due_at, task.version) == (None, None, 1)


# ---- how deadlines show --------------------------------------------------------------------


def test_an_all_day_deadline_shows_the_same_date_everywhere_and_a_timed_one_in_local_time(client, owner, teammate):
    set_time_zone(owner, "America/New_York")
    set_time_zone(teammate, "Asia/Tokyo")
    all_day = TaskFactory(title="All day", created_by=owner, assignee=teammate,
                          due_at=dates.date_as_utc_midnight(date(2025, 3, 20)), all_day=True)
    timed = TaskFactory(title="Timed", created_by=owner, assignee=teammate,
                        due_at=datetime(2025, 3, 20, 14, 30, tzinfo=UTC))

    seen = {}
    for user in (owner, teammate):
        client.force_login(user)
        with time_machine.travel(datetime(2025, 3, 12, tzinfo=UTC), tick=False):
            listing = client.get("/tasks/?o=title")
            detail = html.main(client.get(f"/tasks/{all_day.pk}/")).find("dl", cls="task-fields")
            edit = posted_form(client, f"/tasks/{timed.pk}/edit/")
        seen[user.username] = ([row[5] for row in html.rows(listing)],
                               dict(zip([dt.text() for dt in detail.find_all("dt")],
                                        [dd.text() for dd in detail.find_all("dd")]))["Due"],
                               (edit["due_date"], edit["due_time"]))

    assert seen == {
        "owner": (["20 Mar 2025", "20 Mar 2025, 10:30"], "20 Mar 2025 (all day)", ("2025-03-20", "10:30")),
        "teammate": (["20 Mar 2025", "20 Mar 2025, 23:30"], "20 Mar 2025 (all day)", ("2025-03-20", "23:30")),
    }


def test_saving_an_untouched_form_changes_no_value(client, owner):
    task = TaskFactory(title="Call", created_by=owner, description="Line one\nLine two",
                       due_at=datetime(2025, 3, 20, 13, 30, 45, 123000, tzinfo=UTC),
                       begin_at=datetime(2025, 3, 19, 8, 15, 10, tzinfo=UTC))
    client.force_login(owner)
    loaded = posted_form(client, f"/tasks/{task.pk}/edit/")

    # A browser sends textarea line breaks as CRLF.
    client.post(f"/tasks/{task.pk}/edit/", {**loaded, "description": loaded["description"].replace("\n", "\r\n")})

    task.refresh_from_db()
    assert (task.description, task.due_at, task.begin_at, task.version) == (
        "Line one\nLine two", datetime(2025, 3, 20, 13, 30, 45, 123000, tzinfo=UTC),
        datetime(2025, 3, 19, 8, 15, 10, tzinfo=UTC), 2)
