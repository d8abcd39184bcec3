"""The Task admin: list, search, filters, inlines, and saves that go through the services."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.tests import html
from crm.tests.factories import OrganizationFactory, UserFactory
from tasks.models import ChecklistItem, Participant, Task
from tasks.tests.factories import TaskFactory


@pytest.fixture
def admin_user(db):
    return UserFactory(username="boss", first_name="Bo", last_name="Ss", is_staff=True, is_superuser=True)


def change_form_data(task=None, **overrides):
    """The admin change form's fields with its three inline formsets (empty unless given)."""
    data = {
        "title": "", "description": "", "task_type": "other", "priority": "medium", "outcome": "", "tags": "",
        "begin_at_0": "", "begin_at_1": "", "due_at_0": "", "due_at_1": "", "scheduled_at_0": "",
        "scheduled_at_1": "", "expected_duration": "", "location": "", "assignee": "", "team": "", "parent": "",
        "content_type": "", "object_id": "",
    }
    for prefix in ("children", "checklist", "participants"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
    data.update(overrides)
    return data


def changelist_titles(response):
    table = html.parse(response).find("table", id="result_list")
    return [tr.find("th").text() for tr in table.find("tbody").find_all("tr")]


def test_the_change_list_shows_columns_and_searches(client, admin_user, owner):
    acme = OrganizationFactory(name="Acme")
    linked = TaskFactory(title="Call Acme", created_by=owner, assignee=owner, priority="high")
    linked.set_entity(acme)
    linked.save()
    TaskFactory(title="Write report", created_by=owner, description="About Acme's numbers")
    TaskFactory(title="Other", created_by=owner)
    client.force_login(admin_user)

    listing = client.get("/admin/tasks/task/")
    searched = client.get("/admin/tasks/task/?q=acme")
    filtered = client.get("/admin/tasks/task/?priority__exact=high")

    headers = [th.text() for th in html.parse(listing).find("table", id="result_list").find("thead").find_all("th")]
    assert headers[1:] == ["Title", "Status", "Priority", "Type", "Due", "Assignee", "Team", "Linked to", "Created at"]
    assert changelist_titles(listing) == ["Other", "Write report", "Call Acme"]
    first_row = html.parse(listing).find("table", id="result_list").find("tbody").find_all("tr")[2]
    assert f"organization #{acme.pk}" in first_row.text()
    assert changelist_titles(searched) == ["Write report", "Call Acme"]
    assert changelist_titles(filtered) == ["Call Acme"]


def test_the_change_list_query_count_does_not_grow_with_rows(client, admin_user, owner, team):
    def count(n):
        Task.objects.all().delete()
        for i in range(n):
            task = TaskFactory(title=f"T{i}", created_by=owner, assignee=UserFactory(), team=team)
            task.set_entity(OrganizationFactory())
            task.save()
        client.force_login(admin_user)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/admin/tasks/task/")
        assert len(changelist_titles(response)) == n
        return len(ctx.captured_queries)

    assert count(1) == count(30)


def test_adding_a_subtask_in_the_admin_goes_through_the_service(client, admin_user, owner):
    parent = TaskFactory(title="Parent", created_by=owner)
    client.force_login(admin_user)

    response = client.post("/admin/tasks/task/add/", change_form_data(
        title="Child", parent=str(parent.pk), tags="vip",
        **{"checklist-TOTAL_FORMS": "1", "checklist-0-position": "0", "checklist-0-text": "Step one",
           "participants-TOTAL_FORMS": "1", "participants-0-user": str(owner.pk),
           "participants-0-role": "co_worker"},
    ))

    child = Task.objects.get(title="Child")
    assert response.status_code == 302
    assert (child.tree_path, child.created_by, child.status, child.version) == (
        f"/{parent.pk}/", admin_user, "pending", 1)
    assert [t.name for t in child.tags.all()] == ["vip"]
    assert list(ChecklistItem.objects.values_list("task__title", "text")) == [("Child", "Step one")]
    assert list(Participant.objects.values_list("user__username", "role")) == [("owner", "co_worker")]


def test_moving_a_task_rewrites_its_subtree_and_refuses_a_cycle(client, admin_user, owner):
    a = TaskFactory(title="A", created_by=owner)
    b = TaskFactory(title="B", created_by=owner)
    b_child = TaskFactory(title="B child", created_by=owner, parent=b)
    client.force_login(admin_user)

    moved = client.post(f"/admin/tasks/task/{b.pk}/change/", change_form_data(
        title="B", parent=str(a.pk), **{"children-TOTAL_FORMS": "1", "children-INITIAL_FORMS": "1",
                                         "children-0-id": str(b_child.pk), "children-0-parent": str(b.pk),
                                         "children-0-title": "B child", "children-0-task_type": "other",
                                         "children-0-priority": "medium"}))
    cycle = client.post(f"/admin/tasks/task/{a.pk}/change/", change_form_data(title="A", parent=str(b_child.pk)))

    assert moved.status_code == 302
    assert dict(Task.objects.values_list("title", "tree_path")) == {
        "A": "/", "B": f"/{a.pk}/", "B child": f"/{a.pk}/{b.pk}/"}
    assert cycle.status_code == 200
    assert "A task cannot be moved under itself or one of its own subtasks." in html.parse(cycle).text()
    assert Task.objects.get(pk=a.pk).parent is None


def test_admin_status_actions_follow_the_rules(client, admin_user, owner):
    pending = TaskFactory(title="Pending", created_by=owner)
    started = TaskFactory(title="Started", created_by=owner, status="in_progress")
    client.force_login(admin_user)

    refused = client.post("/admin/tasks/task/", {"action": "mark_completed", "_selected_action": [pending.pk,
                                                                                                  started.pk]},
                          follow=True)
    statuses_after_refusal = dict(Task.objects.values_list("title", "status"))
    client.post("/admin/tasks/task/", {"action": "mark_completed", "_selected_action": [started.pk]})

    assert "“Pending”: A pending task cannot become completed. Nothing was changed." in html.parse(refused).text()
    assert statuses_after_refusal == {"Pending": "pending", "Started": "in_progress"}
    assert dict(Task.objects.values_list("title", "status")) == {"Pending": "pending", "Started": "completed"}
