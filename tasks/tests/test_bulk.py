"""Bulk actions from the task list: choose, confirm, apply to all selected tasks or to none."""

import pytest

from crm.tests import html
from tasks.models import Task
from tasks.tests.factories import TaskFactory


def confirm_rows(response):
    table = html.main(response).find("table", cls="bulk-tasks")
    return [[td.text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]


def table_state():
    return sorted(Task.objects.values_list("title", "status", "priority", "assignee__username"))


@pytest.fixture
def two(owner):
    return [TaskFactory(title="Alpha", created_by=owner, priority="low"),
            TaskFactory(title="Beta", created_by=owner, priority="medium", status="in_progress")]


def test_the_list_offers_every_bulk_action_in_one_select(client, owner, teammate, two):
    client.force_login(owner)

    response = client.get("/tasks/")
    bar = html.main(response).find("form", id="bulk-form")
    options = [value for value, _label in html.select_options(bar, "op")]

    assert bar.attrs["action"] == "/tasks/bulk/"
    assert options[:2] == ["", "assign:"]
    assert {f"assign:{owner.pk}", f"assign:{teammate.pk}", "status:completed", "priority:urgent", "delete:"} <= set(
        options)
    assert [i.attrs["form"] for i in html.main(response).find_all("input", name="ids")] == ["bulk-form"] * 2


def test_confirm_then_apply_a_priority_to_the_selection(client, owner, two):
    client.force_login(owner)
    alpha, beta = two

    confirm = client.get(f"/tasks/bulk/?op=priority:urgent&ids={alpha.pk}&ids={beta.pk}&next=/tasks/%3Fo%3Dtitle")
    unchanged = table_state()
    applied = client.post("/tasks/bulk/", {"action": "priority", "value": "urgent", "ids": [alpha.pk, beta.pk],
                                           "next": "/tasks/?o=title"})

    assert confirm.status_code == 200
    assert html.heading(confirm) == "Set priority to “Urgent”: 2 tasks"
    assert [row[0] for row in confirm_rows(confirm)] == ["Alpha", "Beta"]
    assert unchanged == [("Alpha", "pending", "low", None), ("Beta", "in_progress", "medium", None)]
    assert (applied.status_code, applied["Location"]) == (302, "/tasks/?o=title")
    assert table_state() == [("Alpha", "pending", "urgent", None), ("Beta", "in_progress", "urgent", None)]
    assert Task.objects.get(title="Alpha").priority_rank == 4


def test_bulk_assign_and_unassign(client, owner, teammate, two):
    client.force_login(owner)
    ids = [t.pk for t in two]

    client.post("/tasks/bulk/", {"action": "assign", "value": teammate.pk, "ids": ids})
    assigned = table_state()
    response = client.post("/tasks/bulk/", {"op": "assign:", "ids": ids}, follow=True)

    assert [a for *_rest, a in assigned] == ["teammate", "teammate"]
    assert [a for *_rest, a in table_state()] == [None, None]
    assert html.messages(response)[-1] == "Unassign: 2 task(s) changed."


def test_bulk_status_and_delete(client, owner, two):
    client.force_login(owner)
    alpha, beta = two

    client.post("/tasks/bulk/", {"action": "status", "value": "cancelled", "ids": [alpha.pk, beta.pk]})
    cancelled = table_state()
    client.post("/tasks/bulk/", {"action": "delete", "ids": [alpha.pk]})

    assert [s for _t, s, *_rest in cancelled] == ["cancelled", "cancelled"]
    assert table_state() == [("Beta", "cancelled", "medium", None)]


def test_a_status_the_rules_refuse_for_one_task_changes_none(client, owner, two):
    client.force_login(owner)
    before = table_state()

    response = client.post("/tasks/bulk/", {"action": "status", "value": "completed", "ids": [t.pk for t in two]})

    assert response.status_code == 400
    assert html.messages(response) == ["“Alpha”: A pending task cannot become completed. Nothing was changed."]
    assert table_state() == before


@pytest.mark.parametrize("query, message", [
    ("op=archive:&ids={a}", "“archive” is not a bulk action."),
    ("op=status:bogus&ids={a}", "“bogus” is not a task status."),
    ("op=priority:whenever&ids={a}", "“whenever” is not a priority."),
    ("op=assign:99999&ids={a}", "Choose an active user to assign the tasks to."),
    ("op=priority:high", "Select at least one task."),
    ("op=priority:high&ids=x", "The selection is not valid."),
    ("ids={a}", "Choose an action."),
])
def test_bad_bulk_input_answers_400_and_changes_nothing(client, owner, two, query, message):
    client.force_login(owner)
    before = table_state()
    url = "/tasks/bulk/?" + query.format(a=two[0].pk)

    confirm = client.get(url)
    applied = client.post("/tasks/bulk/", dict(p.split("=", 1) for p in query.format(a=two[0].pk).split("&")))

    assert (confirm.status_code, applied.status_code) == (400, 400)
    assert html.messages(confirm) == [message]
    assert table_state() == before


def test_a_selection_with_a_task_the_user_may_not_see_is_refused_as_a_whole(client, owner, outsider, two):
    hidden = TaskFactory(title="Outsider's", created_by=outsider, assignee=outsider)
    client.force_login(owner)
    before = table_state()
    ids = [two[0].pk, hidden.pk]

    confirm = client.get("/tasks/bulk/", {"op": "delete:", "ids": ids})
    applied = client.post("/tasks/bulk/", {"action": "delete", "ids": ids})

    assert (confirm.status_code, applied.status_code) == (403, 403)
    assert html.messages(applied) == ["You may not change some of the selected tasks, so nothing was changed."]
    assert [row[0] for row in confirm_rows(confirm)] == ["Alpha"]
    assert "1 of the selected tasks do not exist or are not visible to you." in html.main(confirm).text()
    assert html.main(confirm).find("form", method="post", action="/tasks/bulk/") is None
    assert table_state() == before


def test_a_teammate_may_not_bulk_change_team_tasks_they_only_see(client, owner, teammate, team):
    TaskFactory(title="Team task", created_by=owner, team=team)
    TaskFactory(title="Own task", created_by=teammate)
    client.force_login(teammate)
    before = table_state()
    ids = list(Task.objects.order_by("title").values_list("pk", flat=True))

    confirm = client.get("/tasks/bulk/", {"op": "priority:urgent", "ids": ids})
    applied = client.post("/tasks/bulk/", {"action": "priority", "value": "urgent", "ids": ids})

    assert (confirm.status_code, applied.status_code) == (403, 403)
    assert confirm_rows(confirm) == [
        ["Team task", "Pending", "Medium", "—", "Unassigned", "No"],
        ["Own task", "Pending", "Medium", "—", "Unassigned", "Yes"],
    ]
    assert table_state() == before


def test_an_outsider_changes_nothing_in_bulk(client, outsider, two):
    client.force_login(outsider)
    before = table_state()

    response = client.post("/tasks/bulk/", {"action": "delete", "ids": [t.pk for t in two]})

    assert response.status_code == 403
    assert table_state() == before


def test_a_foreign_next_url_is_ignored(client, owner, two):
    client.force_login(owner)

    response = client.post("/tasks/bulk/", {"action": "priority", "value": "high", "ids": [two[0].pk],
                                            "next": "https://evil.example.com/"})

    assert response["Location"] == "/tasks/"
