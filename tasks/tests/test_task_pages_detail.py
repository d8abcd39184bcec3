"""A task's page: its fields, the actions on it, the subtask tree, the checklist and participants."""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine

from crm.tests import html
from crm.tests.factories import OrganizationFactory, UserFactory, set_time_zone
from tasks import dates, services
from tasks.models import ChecklistItem, Participant, Task
from tasks.tests.factories import ChecklistItemFactory, ParticipantFactory, TaskFactory

UTC = dt_timezone.utc
NOW = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)


def fields(response):
    """{label: value} of the task's field list."""
    dl = html.main(response).find("dl", cls="task-fields")
    return dict(zip([dt.text() for dt in dl.find_all("dt")], [dd.text() for dd in dl.find_all("dd")]))


def buttons(response):
    """Labels of the action buttons and links at the top of the page."""
    bar = html.main(response).find("div", cls="task-actions")
    return [node.text() for node in bar.iter() if node.tag in ("button", "a")]


def at_now(client, method, url, data=None, **extra):
    with time_machine.travel(NOW, tick=False):
        return getattr(client, method)(url, data or {}, **extra)


# ---- fields -------------------------------------------------------------------------------


def test_the_page_shows_every_field_in_the_readers_time_zone(client, owner, teammate, team):
    set_time_zone(owner, "Europe/Berlin")
    acme = OrganizationFactory(name="Acme")
    parent = TaskFactory(title="Renewal", created_by=owner)
    with time_machine.travel(datetime(2025, 3, 1, 8, 0, tzinfo=UTC), tick=False):
        task = TaskFactory(
            title="Call Acme", description="Ask about seats.", task_type="call", priority="high", created_by=owner,
            assignee=teammate, team=team, parent=parent, due_at=datetime(2025, 3, 10, 16, 0, tzinfo=UTC),
            begin_at=datetime(2025, 3, 9, 8, 0, tzinfo=UTC), scheduled_at=datetime(2025, 3, 10, 15, 0, tzinfo=UTC),
            expected_duration=timedelta(minutes=90), location="Phone", tags=["vip"], outcome="Waiting on them.")
        task.set_entity(acme)
        task.save()
    client.force_login(owner)

    response = at_now(client, "get", f"/tasks/{task.pk}/")

    assert html.heading(response) == "Call Acme"
    assert fields(response) == {
        "Status": "Pending", "Type": "Call", "Priority": "High", "Due": "10 Mar 2025, 17:00 overdue",
        "Begins": "9 Mar 2025, 09:00", "Scheduled": "10 Mar 2025, 16:00", "Expected duration": "1 h 30 min",
        "Location": "Phone", "Linked to": "Acme Organization", "Parent task": "Renewal", "Team": "Sales",
        "Assignee": "Tom Mate", "Tags": "vip", "Created by": "Olga Owner", "Created": "1 Mar 2025, 09:00",
        "Last changed": "1 Mar 2025, 09:00",
    }
    assert "Ask about seats." in html.main(response).find("div", cls="task-description").text()
    assert html.main(response).find("div", cls="task-outcome").text() == "Waiting on them."


def test_a_global_task_says_so_and_what_it_was_linked_to(client, owner):
    plain = TaskFactory(title="Plain", created_by=owner)
    detached = TaskFactory(title="Detached", created_by=owner, former_link="Organization “Acme” (deleted 1 Mar 2025)")
    client.force_login(owner)

    assert fields(client.get(f"/tasks/{plain.pk}/"))["Linked to"] == "Global task"
    assert fields(client.get(f"/tasks/{detached.pk}/"))["Linked to"] == (
        "Global task Was linked to Organization “Acme” (deleted 1 Mar 2025)")


# ---- status actions ------------------------------------------------------------------------


@pytest.mark.parametrize("status, expected", [
    ("pending", ["Start", "Waiting", "Blocked", "Cancel task", "New subtask", "Edit", "Delete"]),
    ("in_progress", ["Waiting", "Blocked", "Cancel task", "New subtask", "Edit", "Delete"]),
    ("waiting", ["Resume", "Back to pending", "Blocked", "Cancel task", "New subtask", "Edit", "Delete"]),
    ("completed", ["Reopen", "New subtask", "Edit", "Delete"]),
    ("cancelled", ["Reopen", "New subtask", "Edit", "Delete"]),
])
def test_the_buttons_offer_the_moves_the_rules_allow(client, owner, status, expected):
    task = TaskFactory(title="T", created_by=owner, assignee=owner, status=status)
    client.force_login(owner)

    response = client.get(f"/tasks/{task.pk}/")

    assert buttons(response) == expected
    assert (html.main(response).find("div", id="complete") is not None) == (status == "in_progress")


def test_start_then_complete_with_an_outcome(client, owner):
    task = TaskFactory(title="Call", created_by=owner, assignee=owner)
    client.force_login(owner)

    started = at_now(client, "post", f"/tasks/{task.pk}/status/", {"status": "in_progress"})
    completed = at_now(client, "post", f"/tasks/{task.pk}/complete/", {"outcome": "They signed."}, follow=True)

    task.refresh_from_db()
    assert started.status_code == 302
    assert (task.status, task.outcome, task.completed_at) == ("completed", "They signed.", NOW)
    assert html.messages(completed) == ["“Call” is now in progress.", "“Call” is completed."]


def test_cancel_and_reopen(client, owner):
    task = TaskFactory(title="Call", created_by=owner)
    client.force_login(owner)

    client.post(f"/tasks/{task.pk}/status/", {"status": "cancelled"})
    task.refresh_from_db()
    cancelled = task.status
    client.post(f"/tasks/{task.pk}/status/", {"status": "pending"})
    task.refresh_from_db()

    assert (cancelled, task.status, task.completed_at) == ("cancelled", "pending", None)


@pytest.mark.parametrize("status, message", [
    ("completed", "A pending task cannot become completed."),
    ("bogus", "“bogus” is not a task status."),
    ("pending", "The task is already pending."),
])
def test_a_move_the_rules_refuse_answers_400_and_changes_nothing(client, owner, status, message):
    task = TaskFactory(title="Call", created_by=owner)
    client.force_login(owner)

    response = client.post(f"/tasks/{task.pk}/status/", {"status": status})

    task.refresh_from_db()
    assert response.status_code == 400
    assert message in " ".join(html.messages(response))
    assert (task.status, task.version) == ("pending", 1)


def test_completing_a_parent_with_open_subtasks_asks_what_to_do_with_them(client, owner):
    parent = TaskFactory(title="Parent", created_by=owner, status="in_progress")
    TaskFactory(title="Open child", created_by=owner, parent=parent)
    TaskFactory(title="Done child", created_by=owner, parent=parent, status="completed")
    client.force_login(owner)

    page = client.get(f"/tasks/{parent.pk}/")
    refused = client.post(f"/tasks/{parent.pk}/complete/", {"outcome": "All done"})
    statuses_after_refusal = list(Task.objects.order_by("pk").values_list("status", flat=True))
    accepted = client.post(f"/tasks/{parent.pk}/complete/", {"outcome": "All done", "subtasks": "cancel"})

    choice = html.main(page).find("div", id="complete")
    assert [i.attrs["value"] for i in choice.find_all("input", type="radio")] == ["complete", "cancel"]
    assert "1 subtask still open." in choice.text()
    assert refused.status_code == 400
    assert html.field_errors(refused) == {"subtasks": [
        "1 subtask(s) are still open. Complete or cancel them too, or finish them first."]}
    assert statuses_after_refusal == ["in_progress", "pending", "completed"]
    assert accepted.status_code == 302
    assert {t.title: t.status for t in Task.objects.all()} == {
        "Parent": "completed", "Open child": "cancelled", "Done child": "completed"}


# ---- claim and assign ---------------------------------------------------------------------


def test_a_teammate_claims_an_unassigned_team_task(client, owner, teammate, team):
    task = TaskFactory(title="Queue", created_by=owner, team=team)
    client.force_login(teammate)

    page = client.get(f"/tasks/{task.pk}/")
    response = client.post(f"/tasks/{task.pk}/claim/", follow=True)

    task.refresh_from_db()
    assert "Claim" in buttons(page)
    assert task.assignee == teammate
    assert html.messages(response) == ["You took “Queue”."]
    assert fields(response)["Assignee"] == "Tom Mate"


def test_the_loser_of_a_claim_race_gets_409_naming_the_winner(client, owner, teammate, team):
    task = TaskFactory(title="Queue", created_by=owner, team=team)
    client.force_login(teammate)
    page = client.get(f"/tasks/{task.pk}/")
    services.task_claim(task=task, user=owner)  # owner was quicker

    response = client.post(f"/tasks/{task.pk}/claim/")

    task.refresh_from_db()
    assert "Claim" in buttons(page)
    assert response.status_code == 409
    assert html.messages(response) == ["Too late: Olga Owner already took this task."]
    assert task.assignee == owner
    assert "Claim" not in buttons(response)


def test_claiming_a_closed_task_is_refused(client, owner, teammate, team):
    task = TaskFactory(title="Old", created_by=owner, team=team, status="completed")
    client.force_login(teammate)

    response = client.post(f"/tasks/{task.pk}/claim/")

    task.refresh_from_db()
    assert response.status_code == 400
    assert html.messages(response) == ["Only open tasks can be claimed."]
    assert task.assignee is None


def test_assign_reassign_and_unassign(client, owner, teammate, manager):
    task = TaskFactory(title="Call", created_by=owner)
    client.force_login(owner)

    client.post(f"/tasks/{task.pk}/assign/", {"assignee": teammate.pk})
    first = Task.objects.get(pk=task.pk).assignee
    client.post(f"/tasks/{task.pk}/assign/", {"assignee": manager.pk})
    second = Task.objects.get(pk=task.pk).assignee
    response = client.post(f"/tasks/{task.pk}/assign/", {"assignee": ""}, follow=True)

    assert (first, second, Task.objects.get(pk=task.pk).assignee) == (teammate, manager, None)
    assert html.messages(response) == ["“Call” is now assigned to Tom Mate.", "“Call” is now assigned to Mona Ger.",
                                       "“Call” is now unassigned."]


def test_assigning_an_inactive_user_is_refused(client, owner):
    gone = UserFactory(username="gone", is_active=False)
    task = TaskFactory(title="Call", created_by=owner, assignee=owner)
    client.force_login(owner)

    response = client.post(f"/tasks/{task.pk}/assign/", {"assignee": gone.pk})

    assert response.status_code == 400
    assert html.messages(response) == ["Choose an active user."]
    assert Task.objects.get(pk=task.pk).assignee == owner


# ---- subtasks -----------------------------------------------------------------------------


def test_the_subtask_tree_shows_every_level_with_progress(client, owner):
    top = TaskFactory(title="Launch", created_by=owner)
    TaskFactory(title="Design", created_by=owner, parent=top, status="completed")
    b = TaskFactory(title="Build", created_by=owner, parent=top)
    TaskFactory(title="Backend", created_by=owner, parent=b, status="completed")
    TaskFactory(title="Frontend", created_by=owner, parent=b, status="cancelled")
    client.force_login(owner)

    response = client.get(f"/tasks/{top.pk}/")
    tree = html.main(response).find("ul", cls="subtask-list")

    assert [(li.find("a").text(), sorted(c for c in li.classes if c.startswith("depth-")))
            for li in tree.find_all("li")] == [
        ("Design", ["depth-0"]), ("Build", ["depth-0"]), ("Backend", ["depth-1"]), ("Frontend", ["depth-1"])]
    assert html.main(response).find("span", cls="subtask-progress").text() == "2/4 done"


# ---- checklist ----------------------------------------------------------------------------


def test_ticking_a_checklist_item_in_place(client, owner):
    task = TaskFactory(title="Call", created_by=owner)
    item = ChecklistItemFactory(task=task, text="Agenda")
    client.force_login(owner)

    ticked = at_now(client, "post", f"/tasks/{task.pk}/checklist/{item.pk}/toggle/", {"done": "1"})
    item.refresh_from_db()
    state_after_tick = (item.is_done, item.done_by, item.done_at)
    again = at_now(client, "post", f"/tasks/{task.pk}/checklist/{item.pk}/toggle/", {"done": "1"})
    item.refresh_from_db()

    assert ticked.status_code == 302 and ticked["Location"] == f"/tasks/{task.pk}/#checklist"
    assert state_after_tick == (True, owner, NOW)
    assert (again.status_code, item.is_done) == (302, True)  # a double submit keeps it ticked


def test_htmx_gets_just_the_item_back(client, owner):
    task = TaskFactory(title="Call", created_by=owner)
    item = ChecklistItemFactory(task=task, text="Agenda", is_done=True)
    client.force_login(owner)

    response = client.post(f"/tasks/{task.pk}/checklist/{item.pk}/toggle/", {"done": "0"}, HTTP_HX_REQUEST="true")

    li = html.parse(response).find("li")
    assert li.attrs["id"] == f"checklist-item-{item.pk}"
    assert li.find("span", cls="checklist-text").text() == "Agenda"
    assert li.find("input", name="done").attrs["value"] == "1"
    assert ChecklistItem.objects.get(pk=item.pk).is_done is False


def test_adding_moving_and_removing_checklist_items(client, owner):
    task = TaskFactory(title="Call", created_by=owner)
    client.force_login(owner)

    for text in ("Agenda", "Invite", "Recap"):
        client.post(f"/tasks/{task.pk}/checklist/", {"text": text})
    recap = ChecklistItem.objects.get(text="Recap")
    client.post(f"/tasks/{task.pk}/checklist/{recap.pk}/move/", {"direction": "up"})
    client.post(f"/tasks/{task.pk}/checklist/{ChecklistItem.objects.get(text='Agenda').pk}/delete/")
    empty = client.post(f"/tasks/{task.pk}/checklist/", {"text": "  "})
    page = client.get(f"/tasks/{task.pk}/")

    assert [li.find("span", cls="checklist-text").text()
            for li in html.main(page).find("ul", cls="checklist").find_all("li")] == ["Recap", "Invite"]
    assert empty.status_code == 400
    assert html.messages(empty) == ["Removed “Agenda” from the checklist.", "Checklist: This field is required."]


def test_an_item_of_another_task_is_not_found(client, owner):
    mine = TaskFactory(title="Mine", created_by=owner)
    other = ChecklistItemFactory(task=TaskFactory(title="Other", created_by=owner), text="Theirs")
    client.force_login(owner)

    response = client.post(f"/tasks/{mine.pk}/checklist/{other.pk}/toggle/", {"done": "1"})

    assert response.status_code == 404
    assert ChecklistItem.objects.get(pk=other.pk).is_done is False


# ---- participants -------------------------------------------------------------------------


def test_adding_changing_and_removing_participants(client, owner, teammate, manager):
    task = TaskFactory(title="Call", created_by=owner)
    client.force_login(owner)

    client.post(f"/tasks/{task.pk}/participants/", {"user": teammate.pk, "role": "co_worker"})
    client.post(f"/tasks/{task.pk}/participants/", {"user": manager.pk, "role": "subscriber"})
    client.post(f"/tasks/{task.pk}/participants/", {"user": manager.pk, "role": "reviewer"})
    page = client.get(f"/tasks/{task.pk}/")
    listed = [li.text() for li in html.main(page).find("ul", cls="participant-list").find_all("li")]
    client.post(f"/tasks/{task.pk}/participants/{teammate.pk}/remove/")

    assert listed == ["Tom Mate Co-worker Remove", "Mona Ger Reviewer Remove"]
    assert set(Participant.objects.values_list("user__username", "role")) == {("manager", "reviewer")}


def test_a_bad_participant_role_is_refused(client, owner, teammate):
    task = TaskFactory(title="Call", created_by=owner)
    client.force_login(owner)

    response = client.post(f"/tasks/{task.pk}/participants/", {"user": teammate.pk, "role": "boss"})

    assert response.status_code == 400
    assert html.messages(response) == ["“boss” is not a participant role."]
    assert Participant.objects.count() == 0


def test_a_subscriber_may_leave_but_not_remove_others(client, owner, teammate, manager):
    task = TaskFactory(title="Call", created_by=owner)
    ParticipantFactory(task=task, user=teammate, role="subscriber")
    ParticipantFactory(task=task, user=manager, role="subscriber")
    client.force_login(teammate)

    page = client.get(f"/tasks/{task.pk}/")
    refused = client.post(f"/tasks/{task.pk}/participants/{manager.pk}/remove/")
    left = client.post(f"/tasks/{task.pk}/participants/{teammate.pk}/remove/")

    assert [li.text() for li in html.main(page).find("ul", cls="participant-list").find_all("li")] == [
        "Tom Mate Subscriber (informed) Leave", "Mona Ger Subscriber (informed)"]
    assert refused.status_code == 403
    assert (left.status_code, left["Location"]) == (302, "/tasks/")
    assert set(Participant.objects.values_list("user__username", flat=True)) == {"manager"}


# ---- delete -------------------------------------------------------------------------------


def test_delete_asks_first_then_removes_the_task_and_its_subtasks(client, owner):
    top = TaskFactory(title="Top", created_by=owner)
    TaskFactory(title="Child", created_by=owner, parent=top)
    TaskFactory(title="Keep", created_by=owner)
    client.force_login(owner)

    confirm = client.get(f"/tasks/{top.pk}/delete/")
    response = client.post(f"/tasks/{top.pk}/delete/", follow=True)

    assert "and its 1 subtask" in html.main(confirm).text()
    assert list(Task.objects.values_list("title", flat=True)) == ["Keep"]
    assert html.messages(response) == ["Task “Top” deleted with its 1 subtask(s)."]


def test_an_all_day_deadline_is_not_overdue_on_its_own_day(client, owner):
    set_time_zone(owner, "Pacific/Auckland")
    task = TaskFactory(title="Today", created_by=owner, due_at=dates.date_as_utc_midnight(date(2025, 3, 12)),
                       all_day=True)
    client.force_login(owner)

    with time_machine.travel(datetime(2025, 3, 12, 10, 0, tzinfo=UTC), tick=False):  # 23:00 in Auckland
        on_the_day = fields(client.get(f"/tasks/{task.pk}/"))["Due"]
    with time_machine.travel(datetime(2025, 3, 12, 12, 0, tzinfo=UTC), tick=False):  # 13 March in Auckland
        next_day = fields(client.get(f"/tasks/{task.pk}/"))["Due"]

    assert (on_the_day, next_day) == ("12 Mar 2025 (all day)", "12 Mar 2025 (all day) overdue")
