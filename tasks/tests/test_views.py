"""Who may see and change a task through the pages: outsiders get 404 everywhere, readers get 403 on changes."""

import pytest

from crm.tests import html
from crm.tests.factories import UserFactory
from tasks.models import ChecklistItem, Participant, Task
from tasks.services import task_snapshot
from tasks.tests.factories import ChecklistItemFactory, ParticipantFactory, TaskFactory


@pytest.fixture
def task(owner, team):
    """An unassigned open task of the Sales team, created by owner, with one checklist item."""
    task = TaskFactory(title="Team task", created_by=owner, team=team)
    ChecklistItemFactory(task=task, text="Step")
    return task


@pytest.fixture
def subscriber(task):
    user = UserFactory(username="sub", first_name="Sue", last_name="Scriber")
    ParticipantFactory(task=task, user=user, role="subscriber")
    return user


def urls(task):
    item = task.checklist.get()
    p = f"/tasks/{task.pk}"
    get = [f"{p}/", f"{p}/edit/", f"{p}/delete/", f"{p}/complete/"]
    post = [
        (f"{p}/edit/", {"title": "Hacked", "task_type": "call", "priority": "low", "version": task.version}),
        (f"{p}/delete/", {}),
        (f"{p}/status/", {"status": "in_progress"}),
        (f"{p}/complete/", {"outcome": "x"}),
        (f"{p}/claim/", {}),
        (f"{p}/assign/", {"assignee": ""}),
        (f"{p}/checklist/", {"text": "More"}),
        (f"{p}/checklist/{item.pk}/toggle/", {"done": "1"}),
        (f"{p}/checklist/{item.pk}/move/", {"direction": "down"}),
        (f"{p}/checklist/{item.pk}/delete/", {}),
        (f"{p}/participants/", {"user": task.created_by_id, "role": "reviewer"}),
    ]
    return get, post


def state(task):
    """Everything the actions above could change."""
    task = Task.objects.filter(pk=task.pk).first()
    if task is None:
        return None
    return (task_snapshot(task), task.version, list(task.checklist.values_list("text", "is_done")),
            sorted(Participant.objects.filter(task=task).values_list("user__username", "role")))


def test_an_outsider_gets_404_on_every_page_and_action_and_nothing_changes(client, outsider, task):
    before = state(task)
    get_urls, post_urls = urls(task)
    client.force_login(outsider)

    statuses = [client.get(url).status_code for url in get_urls] + [
        client.post(url, data).status_code for url, data in post_urls]

    assert statuses == [404] * (len(get_urls) + len(post_urls))
    assert state(task) == before


def test_a_subscriber_reads_the_task_but_every_change_is_403(client, subscriber, task):
    before = state(task)
    get_urls, post_urls = urls(task)
    client.force_login(subscriber)

    page = client.get(get_urls[0])
    gets = [client.get(url).status_code for url in get_urls[1:]]
    posts = {url.split(f"/tasks/{task.pk}/")[1]: client.post(url, data).status_code
             for url, data in post_urls if not url.endswith("/claim/")}

    assert page.status_code == 200
    assert html.heading(page) == "Team task"
    actions = html.main(page).find("div", cls="task-actions")
    assert [n.text() for n in actions.iter() if n.tag in ("a", "button")] == ["New subtask"]
    assert html.main(page).find("form", cls="assign-form") is None
    assert html.main(page).find("button", cls="tick") is None
    assert gets == [403, 403, 403]
    assert set(posts.values()) == {403}
    assert state(task) == before


def test_the_403_page_says_why(client, subscriber, task):
    client.force_login(subscriber)

    response = client.get(f"/tasks/{task.pk}/edit/")

    assert response.status_code == 403
    assert "You can see this task but you may not change it." in html.main(response).text()


def test_a_teammate_sees_team_tasks_and_claims_them_but_may_not_edit(client, teammate, task):
    client.force_login(teammate)

    listed = client.get("/tasks/")
    edit = client.get(f"/tasks/{task.pk}/edit/")
    claim = client.post(f"/tasks/{task.pk}/claim/")

    assert [row[1] for row in html.rows(listed)] == ["Team task"]
    assert edit.status_code == 403
    assert claim.status_code == 302
    assert Task.objects.get(pk=task.pk).assignee == teammate


def test_a_teammate_does_not_see_a_members_private_task(client, owner, teammate):
    private = TaskFactory(title="Private", created_by=owner)
    client.force_login(teammate)

    assert client.get(f"/tasks/{private.pk}/").status_code == 404
    assert html.rows(client.get("/tasks/")) == [["No tasks match these filters."]]


def test_the_team_manager_edits_the_teams_tasks(client, manager, task):
    client.force_login(manager)
    page = client.get(f"/tasks/{task.pk}/edit/")
    form = html.main(page).find("form", method="post")
    data = {i.attrs["name"]: i.attrs.get("value", "") for i in form.find_all("input") if i.attrs.get("name")}

    response = client.post(f"/tasks/{task.pk}/edit/", {**data, "title": "Renamed by the manager",
                                                      "task_type": "call", "priority": "high", "team": task.team_id})

    assert page.status_code == 200
    assert response.status_code == 302
    assert Task.objects.filter(pk=task.pk).values_list("title", "priority").get() == (
        "Renamed by the manager", "high")


def test_staff_see_and_change_every_task(client, staff, outsider):
    hidden = TaskFactory(title="Outsider's own", created_by=outsider, assignee=outsider)
    client.force_login(staff)

    listed = client.get("/tasks/")
    response = client.post(f"/tasks/{hidden.pk}/status/", {"status": "in_progress"})

    assert [row[1] for row in html.rows(listed)] == ["Outsider's own"]
    assert response.status_code == 302
    assert Task.objects.get(pk=hidden.pk).status == "in_progress"


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, task):
    response = client.get(f"/tasks/{task.pk}/")

    assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next=/tasks/{task.pk}/")


def test_changes_are_post_only(client, owner, task):
    client.force_login(owner)

    statuses = [client.get(f"/tasks/{task.pk}/{action}/").status_code
                for action in ("status", "claim", "assign", "checklist", "participants")]

    assert statuses == [405] * 5
    assert (Task.objects.get(pk=task.pk).version, ChecklistItem.objects.count()) == (1, 1)
