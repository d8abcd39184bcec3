"""Managers find deleted tasks and restore them, and put a task back to an earlier version; the admin too."""

from datetime import datetime
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.history_text import describe
from crm.tests.factories import OrganizationFactory, TeamFactory, UserFactory, grant, set_time_zone
from crm.tests.html import main, messages, rows
from tasks import restore, services
from tasks.models import ChecklistItem, Participant, Task

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=dt_timezone.utc)

pytestmark = pytest.mark.django_db


def history_texts(response):
    items = main(response).find_all("li", cls="history-entry")
    return [" ".join(node.text() for node in item.find_all("div", cls="history-sentence")) for item in items]


@pytest.fixture
def quote_task(owner, teammate, team):
    """A team task with a subtask, a checklist, a participant and tags."""
    task = services.task_create(created_by=owner, title="Send the quote", team=team, assignee=owner,
                                checklist=["Draft", "Check prices"], tags=["vip", "q2"],
                                participants=[(teammate, Participant.Role.CO_WORKER)])
    services.task_create(created_by=owner, title="Print it", parent=task, team=team, assignee=owner,
                         checklist=["Paper"])
    return task


# ---- deleted tasks --------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_manager_sees_their_teams_deleted_tasks_and_restores_one_with_what_was_deleted_with_it(
        client, owner, manager, quote_task):
    item = quote_task.checklist.get(text="Check prices")
    services.checklist_delete(item=item, user=owner)  # deleted before: stays deleted
    ids = {quote_task.pk, Task.objects.get(title="Print it").pk}
    services.task_delete(task=quote_task, user=owner)
    client.force_login(manager)

    listed = client.get("/tasks/deleted/")
    response = client.post(f"/tasks/deleted/{quote_task.pk}/restore/", follow=True)

    assert rows(listed) == [
        ["Send the quote", "—", "Sales", "Olga Owner", "Olga Owner", "2 Mar 2026, 08:00", "Restore"]]
    assert messages(response) == ["“Send the quote” is restored."]
    assert set(Task.objects.values_list("pk", flat=True)) == ids
    task = Task.objects.get(pk=quote_task.pk)
    child = Task.objects.get(title="Print it")
    assert (child.parent_id, child.tree_path) == (task.pk, f"/{task.pk}/")
    assert sorted(ChecklistItem.objects.values_list("task__title", "text")) == [
        ("Print it", "Paper"), ("Send the quote", "Draft")]
    assert list(task.participants.values_list("user__username", "role")) == [("teammate", "co_worker")]
    assert sorted(task.tags.names()) == ["q2", "vip"]
    assert (task.team.name, task.assignee, task.created_by) == ("Sales", owner, owner)
    record = Task.history.filter(id=task.pk).order_by("-history_id").first()
    assert (record.history_type, record.history_user, record.history_tags) == ("+", manager, "q2, vip")
    assert describe(record, about=("tasks.task", task.pk)) == "Mona Ger restored the task"
    assert client.get("/tasks/deleted/").status_code == 200
    assert rows(client.get("/tasks/deleted/")) == [["No deleted tasks."]]


def test_deleted_tasks_are_for_managers_and_staff_and_only_those_they_could_see(
        client, owner, teammate, outsider, manager, staff, quote_task):
    other_manager = UserFactory(username="boss", first_name="Other", last_name="Boss")
    TeamFactory(name="Support", manager=other_manager)
    services.task_delete(task=quote_task, user=owner)

    def listed(user):
        client.force_login(user)
        response = client.get("/tasks/deleted/")
        return response.status_code, [r[0] for r in rows(response)] if response.status_code == 200 else None

    assert listed(manager) == (200, ["Send the quote"])
    assert listed(staff) == (200, ["Send the quote"])
    assert listed(other_manager) == (200, ["No deleted tasks."])
    assert listed(owner) == (403, None)
    assert listed(outsider) == (403, None)
    client.force_login(other_manager)
    assert client.post(f"/tasks/deleted/{quote_task.pk}/restore/").status_code == 404
    client.force_login(teammate)
    assert client.post(f"/tasks/deleted/{quote_task.pk}/restore/").status_code == 403
    assert not Task.objects.filter(pk=quote_task.pk).exists()


def test_a_subtask_whose_parent_is_deleted_too_cannot_come_back_alone(client, owner, manager, quote_task):
    child = Task.objects.get(title="Print it")
    services.task_delete(task=child, user=owner)  # deleted on its own first
    services.task_delete(task=quote_task, user=owner)
    client.force_login(manager)

    response = client.post(f"/tasks/deleted/{child.pk}/restore/")

    assert response.status_code == 400
    assert messages(response) == ["Nothing was restored: Its parent task “Send the quote” is deleted too: restore "
                                  "that first (its subtasks deleted with it come back with it)."]
    assert not Task.objects.exists()


def test_a_task_whose_entity_is_gone_comes_back_unlinked_with_a_note(owner, manager, team):
    org = OrganizationFactory(name="Acme")
    task = services.task_create(created_by=owner, title="Call Acme", entity=org, team=team, assignee=owner)
    services.task_delete(task=task, user=owner)
    org.delete()

    restored = restore.task_restore_deleted(user=manager, task_id=task.pk)

    assert (restored.content_type_id, restored.object_id, restored.former_link) == (
        None, None, "Organization “Acme” (deleted)")


def test_tasks_deleted_with_their_entity_can_be_restored(client, owner, manager, team):
    manager = grant(manager, "crm.delete_organization")
    org = OrganizationFactory(name="Acme")
    task = services.task_create(created_by=owner, title="Call Acme", entity=org, team=team, assignee=owner,
                                checklist=["Dial"])
    client.force_login(manager)
    client.post(f"/organizations/{org.pk}/delete/", {"linked": "delete"})

    client.post(f"/tasks/deleted/{task.pk}/restore/")

    restored = Task.objects.get(pk=task.pk)
    assert (restored.former_link, list(restored.checklist.values_list("text", flat=True))) == (
        "Organization “Acme” (deleted)", ["Dial"])


def test_the_deleted_list_runs_the_same_number_of_queries_for_one_and_many(client, owner, manager, team):
    org = OrganizationFactory()

    def delete_some(n):
        for i in range(n):
            task = services.task_create(created_by=owner, title=f"Gone {i}", team=team, assignee=owner, entity=org)
            services.task_delete(task=task, user=owner)

    client.force_login(manager)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/tasks/deleted/")
        return len(queries), len(rows(response))

    delete_some(1)
    one = count()
    delete_some(20)
    many = count()

    assert (one[1], many[1]) == (1, 21)
    assert many[0] == one[0]


# ---- earlier versions -------------------------------------------------------------------------


@time_machine.travel(NOW, tick=True)
def test_a_manager_restores_an_earlier_version_and_the_restore_is_recorded(client, owner, teammate, manager, team):
    set_time_zone(manager, "Europe/Berlin")
    task = services.task_create(created_by=owner, title="Call Acme", team=team, assignee=owner, tags=["vip"],
                                due_at=datetime(2026, 3, 3, 17, 0, tzinfo=BERLIN))
    version = Task.history.filter(id=task.pk).order_by("-history_id").first()
    task = services.task_update(task=task, user=owner, version=task.version, tags=["lost"],
                                data={"title": "Call Acme again", "due_at": datetime(2026, 3, 5, 9, 0, tzinfo=BERLIN),
                                      "assignee": teammate})
    task = services.task_start(task=task, user=owner)
    client.force_login(manager)

    response = client.post(f"/tasks/{task.pk}/history/{version.history_id}/restore/", follow=True)

    task.refresh_from_db()
    assert messages(response) == ["“Call Acme” is back as it was on 2 Mar 09:00."]
    assert (task.title, task.status, task.assignee, task.due_at, sorted(task.tags.names()), task.version) == (
        "Call Acme", "pending", owner, datetime(2026, 3, 3, 16, 0, tzinfo=dt_timezone.utc), ["vip"], 4)
    assert history_texts(response)[0] == (
        "Mona Ger restored the task to the version from 2 Mar 09:00. "
        "Mona Ger changed the title from “Call Acme again” to “Call Acme”. "
        "Mona Ger changed the status from In progress to Pending. "
        "Mona Ger changed the due date from 5 Mar 09:00 to 3 Mar 17:00. "
        "Mona Ger reassigned the task from Tom Mate to Olga Owner. "
        "Mona Ger tagged the task with “vip”. Mona Ger removed the tag “lost”."
    )


def test_only_managers_who_may_change_the_task_restore_versions(client, owner, teammate, outsider, manager, team):
    task = services.task_create(created_by=owner, title="Call Acme", team=team, assignee=owner)
    first = Task.history.filter(id=task.pk).first()
    services.task_update(task=task, user=owner, data={"title": "Changed"}, version=task.version)

    client.force_login(owner)  # may edit, but manages no team
    as_owner = client.post(f"/tasks/{task.pk}/history/{first.history_id}/restore/")
    history_page = client.get(f"/tasks/{task.pk}/history/").content.decode()
    client.force_login(outsider)
    as_outsider = client.post(f"/tasks/{task.pk}/history/{first.history_id}/restore/")

    assert (as_owner.status_code, as_outsider.status_code) == (403, 404)
    assert "Restore this version" not in history_page
    assert Task.objects.get(pk=task.pk).title == "Changed"
    with pytest.raises(PermissionDenied):
        restore.task_restore_version(task=task, user=teammate, history_id=first.history_id)


def test_a_version_that_cannot_come_back_is_refused_with_a_reason(client, owner, manager, team):
    parent = services.task_create(created_by=owner, title="Parent", team=team, assignee=owner)
    task = services.task_create(created_by=owner, title="Child", parent=parent, team=team, assignee=owner)
    first = Task.history.filter(id=task.pk).first()
    task = services.task_update(task=task, user=owner, data={"parent": None}, version=task.version)
    services.task_delete(task=parent, user=owner)
    client.force_login(manager)

    response = client.post(f"/tasks/{task.pk}/history/{first.history_id}/restore/")
    other = client.post(f"/tasks/{task.pk}/history/999999/restore/")

    assert response.status_code == 400
    assert messages(response) == ["Nothing was restored: The parent task of that version no longer exists."]
    assert (other.status_code, messages(other)) == (
        400, ["Nothing was restored: That version of the task does not exist."])
    assert Task.objects.get(pk=task.pk).version == task.version


# ---- the admin ------------------------------------------------------------------------------


def test_the_admin_shows_a_tasks_history_and_reverts_through_the_restore_service(client, owner, staff, team):
    staff = grant(staff, "tasks.view_task", "tasks.change_task", "tasks.delete_task")
    task = services.task_create(created_by=owner, title="Call Acme", team=team, assignee=owner)
    first = Task.history.filter(id=task.pk).first()
    services.task_update(task=task, user=owner, data={"title": "Changed"}, version=task.version)
    client.force_login(staff)

    page = client.get(f"/admin/tasks/task/{task.pk}/history/")
    client.post(f"/admin/tasks/task/{task.pk}/history/{first.history_id}/", {})

    assert page.status_code == 200
    task.refresh_from_db()
    assert task.title == "Call Acme"
    latest = Task.history.filter(id=task.pk).order_by("-history_id").first()
    assert (latest.history_user, latest.history_change_reason.startswith("Restored version from ")) == (staff, True)


def test_the_admin_lists_deleted_tasks_and_restores_them(client, owner, staff, quote_task):
    staff = grant(staff, "tasks.view_task", "tasks.change_task", "tasks.delete_task")
    client.force_login(staff)
    client.post(f"/admin/tasks/task/{quote_task.pk}/delete/", {"post": "yes"})
    assert not Task.objects.exists()

    listing = client.get("/admin/tasks/task/deleted/").content.decode()
    changelist = client.get("/admin/tasks/task/").content.decode()
    response = client.post("/admin/tasks/task/deleted/", {"task": str(quote_task.pk)})

    assert "Send the quote" in listing and "Print it" not in listing
    assert 'href="/admin/tasks/task/deleted/"' in changelist
    assert response.status_code == 302
    assert sorted(Task.objects.values_list("title", flat=True)) == ["Print it", "Send the quote"]
