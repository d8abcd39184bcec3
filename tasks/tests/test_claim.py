"""Claiming, unassigning and (re)assigning a task, and who is told."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.models import Notification
from crm.tests.factories import MembershipFactory, UserFactory
from tasks import services
from tasks.models import Participant, Task
from tasks.tests.factories import ParticipantFactory, TaskFactory


def _notifications():
    return sorted(
        (n.recipient.username, n.actor.username if n.actor else None, n.verb, n.text, n.url)
        for n in Notification.objects.select_related("recipient", "actor")
    )


@pytest.fixture
def queue_task(team, manager):
    """An unassigned task in the Sales queue, created by the team manager."""
    return TaskFactory(title="Call back Acme", team=team, created_by=manager)


@pytest.mark.parametrize("who", ["owner", "teammate", "manager"])
def test_team_member_or_manager_claims_an_unassigned_team_task(request, queue_task, who):
    user = request.getfixturevalue(who)

    claimed = services.task_claim(task=queue_task, user=user)

    queue_task.refresh_from_db()
    assert (claimed.assignee, queue_task.assignee, queue_task.version) == (user, user, 2)


def test_outsider_cannot_claim_a_team_task(queue_task, outsider):
    with pytest.raises(PermissionDenied) as exc:
        services.task_claim(task=queue_task, user=outsider)

    assert str(exc.value) == "Only members of the task's team can claim it."
    queue_task.refresh_from_db()
    assert (queue_task.assignee, queue_task.version) == (None, 1)


def test_inactive_member_cannot_claim(queue_task):
    resting = UserFactory(username="resting")
    MembershipFactory(team=queue_task.team, user=resting, is_active=False)

    with pytest.raises(PermissionDenied):
        services.task_claim(task=queue_task, user=resting)

    queue_task.refresh_from_db()
    assert queue_task.assignee is None


def test_anyone_who_sees_a_teamless_unassigned_task_may_claim_it(owner, teammate):
    task = TaskFactory(title="Water the plants", created_by=owner)
    ParticipantFactory(task=task, user=teammate, role=Participant.Role.SUBSCRIBER)

    services.task_claim(task=task, user=teammate)

    task.refresh_from_db()
    assert task.assignee == teammate


def test_nobody_who_cannot_see_a_teamless_task_may_claim_it(owner, outsider):
    task = TaskFactory(title="Water the plants", created_by=owner)

    with pytest.raises(PermissionDenied):
        services.task_claim(task=task, user=outsider)

    task.refresh_from_db()
    assert task.assignee is None


def test_claiming_an_assigned_task_names_who_has_it(queue_task, owner, teammate):
    queue_task.assignee = teammate
    queue_task.save()

    with pytest.raises(services.AlreadyClaimed) as exc:
        services.task_claim(task=queue_task, user=owner)

    assert (str(exc.value), exc.value.by) == ("Tom Mate already took this task.", teammate)
    queue_task.refresh_from_db()
    assert (queue_task.assignee, queue_task.version) == (teammate, 1)


def test_second_of_two_claims_on_the_same_loaded_task_loses(queue_task, owner, teammate):
    """Both loaded the task while it was unassigned; the later claim must not overwrite the first."""
    seen_by_owner = Task.objects.get(pk=queue_task.pk)
    seen_by_teammate = Task.objects.get(pk=queue_task.pk)
    services.task_claim(task=seen_by_teammate, user=teammate)

    with pytest.raises(services.AlreadyClaimed) as exc:
        services.task_claim(task=seen_by_owner, user=owner)

    assert (str(exc.value), exc.value.by) == ("Tom Mate already took this task.", teammate)
    queue_task.refresh_from_db()
    assert (queue_task.assignee, queue_task.version) == (teammate, 2)


def test_a_closed_task_cannot_be_claimed(team, owner, manager):
    task = TaskFactory(title="Old call", team=team, created_by=manager, status="completed")

    with pytest.raises(ValidationError) as exc:
        services.task_claim(task=task, user=owner)

    assert exc.value.messages == ["Only open tasks can be claimed."]
    task.refresh_from_db()
    assert task.assignee is None


def test_a_task_closed_after_it_was_loaded_cannot_be_claimed(queue_task, owner, manager):
    loaded = Task.objects.get(pk=queue_task.pk)
    services.task_cancel(task=queue_task, user=manager)

    with pytest.raises(ValidationError) as exc:
        services.task_claim(task=loaded, user=owner)

    assert exc.value.messages == ["Only open tasks can be claimed."]
    queue_task.refresh_from_db()
    assert (queue_task.status, queue_task.assignee) == ("cancelled", None)


def test_claiming_notifies_nobody(queue_task, owner):
    services.task_claim(task=queue_task, user=owner)

    assert _notifications() == []


# ---- unassign ---------------------------------------------------------------------------

def test_assignee_releases_a_task_back_to_the_queue(queue_task, owner):
    services.task_claim(task=queue_task, user=owner)
    queue_task.refresh_from_db()

    services.task_unassign(task=queue_task, user=owner)

    queue_task.refresh_from_db()
    assert (queue_task.assignee, queue_task.team.name, queue_task.version) == (None, "Sales", 3)


def test_plain_team_member_cannot_unassign_someone_else(queue_task, owner, teammate):
    services.task_claim(task=queue_task, user=owner)
    queue_task.refresh_from_db()

    with pytest.raises(PermissionDenied):
        services.task_unassign(task=queue_task, user=teammate)

    queue_task.refresh_from_db()
    assert queue_task.assignee == owner


def test_team_manager_unassigns_a_member(queue_task, owner, manager):
    services.task_claim(task=queue_task, user=owner)
    queue_task.refresh_from_db()

    services.task_unassign(task=queue_task, user=manager)

    queue_task.refresh_from_db()
    assert queue_task.assignee is None


# ---- assign and reassign ----------------------------------------------------------------

def test_assigning_notifies_the_new_assignee(queue_task, manager, owner):
    services.task_assign(task=queue_task, user=manager, assignee=owner)

    queue_task.refresh_from_db()
    assert queue_task.assignee == owner
    assert _notifications() == [
        ("owner", "manager", "assigned", "Mona Ger assigned you “Call back Acme”.", f"/tasks/{queue_task.pk}/"),
    ]


def test_reassigning_notifies_only_the_new_assignee(queue_task, manager, owner, teammate):
    services.task_assign(task=queue_task, user=manager, assignee=owner)
    queue_task.refresh_from_db()

    services.task_assign(task=queue_task, user=manager, assignee=teammate)

    queue_task.refresh_from_db()
    assert (queue_task.assignee, queue_task.version) == (teammate, 3)
    assert _notifications() == [
        ("owner", "manager", "assigned", "Mona Ger assigned you “Call back Acme”.", f"/tasks/{queue_task.pk}/"),
        ("teammate", "manager", "assigned", "Mona Ger assigned you “Call back Acme”.", f"/tasks/{queue_task.pk}/"),
    ]


def test_assigning_oneself_notifies_nobody(queue_task, manager):
    services.task_assign(task=queue_task, user=manager, assignee=manager)

    queue_task.refresh_from_db()
    assert queue_task.assignee == manager
    assert _notifications() == []


def test_assigning_the_same_person_again_does_not_notify_twice(queue_task, manager, owner):
    services.task_assign(task=queue_task, user=manager, assignee=owner)
    queue_task.refresh_from_db()

    services.task_assign(task=queue_task, user=manager, assignee=owner)

    assert [n[0] for n in _notifications()] == ["owner"]


def test_assigning_an_inactive_user_is_refused(queue_task, manager):
    gone = UserFactory(username="gone", first_name="Gil", last_name="Gone", is_active=False)

    with pytest.raises(ValidationError) as exc:
        services.task_assign(task=queue_task, user=manager, assignee=gone)

    assert exc.value.message_dict == {"assignee": ["Gil Gone is not an active user."]}
    queue_task.refresh_from_db()
    assert (queue_task.assignee, queue_task.version) == (None, 1)
    assert _notifications() == []


def test_plain_member_cannot_assign_a_team_task(queue_task, owner, teammate):
    with pytest.raises(PermissionDenied):
        services.task_assign(task=queue_task, user=owner, assignee=teammate)

    queue_task.refresh_from_db()
    assert queue_task.assignee is None
    assert _notifications() == []
