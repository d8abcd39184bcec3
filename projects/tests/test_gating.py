"""Stage gates: stage N's tasks wait, blocked, until every task of the earlier stages is completed or
cancelled; then they open, go through their team's distribution and their assignees are told."""

import pytest
from django.core.exceptions import ValidationError

from crm.tests.factories import MembershipFactory, TeamFactory, UserFactory
from projects import gating, services
from projects.models import StageHold
from tasks import services as task_services
from tasks.models import Task

from .helpers import add, finish, notes, statuses

pytestmark = pytest.mark.django_db


def test_tasks_of_a_later_stage_are_created_blocked_and_stage_1_tasks_pending(project, stages):
    add(project, stages[0], "Check the order")
    add(project, stages[0], "Set up the line")
    add(project, stages[1], "Lay the cable")
    add(project, None, "Keep the customer informed")

    assert statuses(project) == {
        "Check the order": ("pending", False),
        "Set up the line": ("pending", False),
        "Lay the cable": ("blocked", True),
        "Keep the customer informed": ("pending", False),
    }


def test_stage_2_opens_only_when_every_stage_1_task_is_done(owner, teammate, project, stages):
    order = add(project, stages[0], "Check the order")
    line = add(project, stages[0], "Set up the line")
    cable = add(project, stages[1], "Lay the cable", assignee=teammate)
    notes_before = notes()

    finish(order, owner)
    after_one = statuses(project)["Lay the cable"]
    finish(line, owner)

    assert after_one == ("blocked", True)
    assert statuses(project)["Lay the cable"] == ("pending", False)
    assert notes_before == []  # nobody is told of a task waiting for its stage
    assert notes("stage_opened") == [
        ("teammate", "stage_opened", "Stage 2 “Connection” of “Connect Acme” is open: you can start “Lay the cable”."),
    ]
    cable.refresh_from_db()
    assert cable.status == "pending"


def test_a_cancelled_stage_1_task_counts_as_done(owner, project, stages):
    order = add(project, stages[0], "Check the order")
    line = add(project, stages[0], "Set up the line")
    add(project, stages[1], "Lay the cable")

    finish(order, owner)
    task_services.task_cancel(task=line, user=owner)

    assert statuses(project)["Lay the cable"] == ("pending", False)


def test_stage_3_waits_for_stage_2_even_when_stage_1_is_done(owner, project, stages):
    order = add(project, stages[0], "Check the order")
    cable = add(project, stages[1], "Lay the cable")
    add(project, stages[2], "Enter in billing")

    finish(order, owner)
    middle = statuses(project)
    finish(cable, owner)

    assert (middle["Lay the cable"], middle["Enter in billing"]) == (("pending", False), ("blocked", True))
    assert statuses(project)["Enter in billing"] == ("pending", False)


def test_reopening_a_stage_1_task_blocks_stage_2_tasks_not_started_and_leaves_started_ones(
        owner, teammate, project, stages):
    order = add(project, stages[0], "Check the order")
    add(project, stages[1], "Lay the cable", assignee=teammate)
    add(project, stages[1], "Install the router", assignee=teammate)
    finish(order, owner)
    router = Task.objects.get(title="Install the router")
    task_services.task_start(task=router, user=teammate)

    task_services.task_reopen(task=Task.objects.get(pk=order.pk), user=owner)

    assert statuses(project) == {
        "Check the order": ("pending", False),
        "Lay the cable": ("blocked", True),
        "Install the router": ("in_progress", False),
    }
    assert notes("stage_closed") == [
        ("teammate", "stage_closed", "“Lay the cable” waits again: an earlier stage of “Connect Acme” has open "
                                     "tasks again."),
        ("teammate", "stage_closed", "An earlier stage of “Connect Acme” has open tasks again: “Install the router” "
                                     "stays in progress but can only be completed once that stage is done."),
    ]
    with pytest.raises(ValidationError) as refused:
        finish(router, teammate)
    assert refused.value.messages == [
        "Waits for stage 2 “Connection” to open: stage 1 “Order” still has 1 open task."]


def test_after_reopening_and_completing_again_stage_2_opens_again(owner, project, stages):
    order = add(project, stages[0], "Check the order")
    add(project, stages[1], "Lay the cable")
    finish(order, owner)
    task_services.task_reopen(task=Task.objects.get(pk=order.pk), user=owner)

    finish(order, owner)

    assert statuses(project)["Lay the cable"] == ("pending", False)


def test_a_waiting_task_cannot_start_complete_or_leave_blocked_but_can_be_cancelled(owner, project, stages):
    add(project, stages[0], "Check the order")
    cable = add(project, stages[1], "Lay the cable")

    refusals = []
    for status in ("in_progress", "pending", "waiting"):
        with pytest.raises(ValidationError) as refused:
            task_services.task_change_status(task=cable, user=owner, status=status)
        refusals.append(refused.value.messages)
    task_services.task_cancel(task=cable, user=owner)

    wait = "Waits for stage 2 “Connection” to open: stage 1 “Order” still has 1 open task."
    assert refusals == [[f"{wait} Until then it can only be cancelled."]] * 3
    assert statuses(project)["Lay the cable"] == ("cancelled", False)
    assert StageHold.objects.count() == 0


def test_a_cancelled_waiting_task_reopened_waits_again(owner, project, stages):
    add(project, stages[0], "Check the order")
    cable = add(project, stages[1], "Lay the cable")
    task_services.task_cancel(task=cable, user=owner)

    reopened = task_services.task_reopen(task=Task.objects.get(pk=cable.pk), user=owner)

    assert reopened.status == "blocked"
    assert statuses(project)["Lay the cable"] == ("blocked", True)


def test_a_task_blocked_by_hand_is_not_released_when_its_stage_opens(owner, project, stages):
    order = add(project, stages[0], "Check the order")
    cable = add(project, stages[1], "Lay the cable")
    finish(order, owner)
    task_services.task_change_status(task=Task.objects.get(pk=cable.pk), user=owner, status="blocked")  # by hand
    task_services.task_reopen(task=Task.objects.get(pk=order.pk), user=owner)

    finish(order, owner)

    assert statuses(project)["Lay the cable"] == ("blocked", False)


def test_adding_a_task_to_an_open_earlier_stage_makes_the_later_stage_wait_again(owner, project, stages):
    order = add(project, stages[0], "Check the order")
    add(project, stages[1], "Lay the cable")
    finish(order, owner)

    extra = add(project, stages[0], "Check the credit")

    assert statuses(project)["Lay the cable"] == ("blocked", True)
    assert extra.gate_note == "Stage 2 “Connection” waits again."


def test_deleting_the_last_open_stage_1_task_opens_stage_2(owner, project, stages):
    order = add(project, stages[0], "Check the order")
    add(project, stages[1], "Lay the cable")

    task_services.task_delete(task=order, user=owner)

    assert statuses(project) == {"Lay the cable": ("pending", False)}


def test_an_empty_earlier_stage_holds_nothing_up(owner, project, stages):
    add(project, stages[1], "Lay the cable")

    assert statuses(project) == {"Lay the cable": ("pending", False)}


def test_when_a_stage_opens_its_team_tasks_are_distributed_and_the_picked_member_is_told(owner, project, stages):
    team = TeamFactory(name="Field", distribution_strategy="round_robin")
    ann, bob = UserFactory(username="ann", first_name="Ann"), UserFactory(username="bob", first_name="Bob")
    MembershipFactory(team=team, user=ann)
    MembershipFactory(team=team, user=bob)
    order = add(project, stages[0], "Check the order")
    add(project, stages[1], "Lay the cable", team=team)
    add(project, stages[1], "Install the router", team=team)
    waiting = sorted(Task.objects.filter(stage=stages[1]).values_list("title", "assignee__username"))

    finish(order, owner)

    assert waiting == [("Install the router", None), ("Lay the cable", None)]
    assert sorted(Task.objects.filter(stage=stages[1]).values_list("title", "assignee__username", "status")) == [
        ("Install the router", "bob", "pending"), ("Lay the cable", "ann", "pending")]


def test_two_stage_1_tasks_closed_in_one_bulk_action_open_stage_2(owner, project, stages):
    order = add(project, stages[0], "Check the order")
    line = add(project, stages[0], "Set up the line")
    add(project, stages[1], "Lay the cable")

    task_services.tasks_bulk(user=owner, task_ids=[order.pk, line.pk], action="status", value="cancelled")

    assert statuses(project)["Lay the cable"] == ("pending", False)


def test_moving_a_waiting_task_out_of_the_stages_releases_it(owner, project, stages):
    add(project, stages[0], "Check the order")
    cable = add(project, stages[1], "Lay the cable")

    services.project_task_move(task=cable, user=owner, project=project, stage=None)

    assert statuses(project)["Lay the cable"] == ("pending", False)


def test_moving_a_pending_task_into_a_waiting_stage_holds_it(owner, project, stages):
    add(project, stages[0], "Check the order")
    loose = add(project, None, "Order the router")

    services.project_task_move(task=loose, user=owner, project=project, stage=stages[1])

    assert statuses(project)["Order the router"] == ("blocked", True)


def test_sync_twice_changes_nothing_more(owner, project, stages):
    order = add(project, stages[0], "Check the order")
    add(project, stages[1], "Lay the cable")
    finish(order, owner)
    before = statuses(project)

    again = gating.stages_sync(project_id=project.pk, user=owner)

    assert (again.opened, again.closed, again.released, again.held) == ([], [], [], [])
    assert statuses(project) == before


def test_deleting_a_project_keeps_its_tasks_and_gives_waiting_ones_their_status_back(owner, project, stages):
    add(project, stages[0], "Check the order")
    add(project, stages[1], "Lay the cable")

    services.project_delete(project=project, user=owner)

    assert sorted(Task.objects.values_list("title", "status", "project", "stage")) == [
        ("Check the order", "pending", None, None), ("Lay the cable", "pending", None, None)]
