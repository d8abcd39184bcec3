"""Status rules: which moves are allowed, what completing and reopening record."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from tasks import services
from tasks.models import Participant, Task
from tasks.tests.factories import ParticipantFactory, TaskFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 3, 10, 9, 30, tzinfo=BERLIN)
EARLIER = datetime(2025, 3, 1, 8, 0, tzinfo=BERLIN)

STATUSES = ["pending", "in_progress", "waiting", "blocked", "completed", "cancelled"]

# The rules of the issue, written out: pending → in_progress → completed; waiting and
# blocked from any open status; any open status → cancelled; closed tasks reopen (to pending).
ALLOWED = {
    ("pending", "in_progress"), ("pending", "waiting"), ("pending", "blocked"), ("pending", "cancelled"),
    ("in_progress", "completed"), ("in_progress", "waiting"), ("in_progress", "blocked"),
    ("in_progress", "cancelled"),
    ("waiting", "pending"), ("waiting", "in_progress"), ("waiting", "blocked"), ("waiting", "cancelled"),
    ("blocked", "pending"), ("blocked", "in_progress"), ("blocked", "waiting"), ("blocked", "cancelled"),
    ("completed", "pending"),
    ("cancelled", "pending"),
}
LABEL = {"pending": "pending", "in_progress": "in progress", "waiting": "waiting", "blocked": "blocked",
         "completed": "completed", "cancelled": "cancelled"}


def _task(owner, status, **kwargs):
    with time_machine.travel(EARLIER, tick=False):
        return TaskFactory(title="Call Ada", created_by=owner, status=status, **kwargs)


@pytest.mark.parametrize("source,target", sorted(ALLOWED))
def test_allowed_transition_changes_status_and_bumps_version(owner, source, target):
    task = _task(owner, source)

    with time_machine.travel(NOW, tick=False):
        services.task_change_status(task=task, user=owner, status=target)

    task.refresh_from_db()
    assert (task.status, task.status_changed_at, task.version) == (target, NOW, 2)


@pytest.mark.parametrize("source,target", sorted(
    (s, t) for s in STATUSES for t in STATUSES if s != t and (s, t) not in ALLOWED
))
def test_forbidden_transition_is_refused_and_nothing_changes(owner, source, target):
    task = _task(owner, source)
    before = Task.objects.values().get(pk=task.pk)

    with pytest.raises(ValidationError) as exc:
        services.task_change_status(task=task, user=owner, status=target)

    assert exc.value.message_dict == {"status": [f"A {LABEL[source]} task cannot become {LABEL[target]}."]}
    assert Task.objects.values().get(pk=task.pk) == before


def test_the_transition_table_is_exactly_the_rules():
    table = {(str(s), str(t)) for s, targets in services.TRANSITIONS.items() for t in targets}

    assert table == ALLOWED


def test_moving_to_the_same_status_is_refused(owner):
    task = _task(owner, "waiting")

    with pytest.raises(ValidationError) as exc:
        services.task_change_status(task=task, user=owner, status="waiting")

    assert exc.value.message_dict == {"status": ["The task is already waiting."]}
    task.refresh_from_db()
    assert (task.status, task.version) == ("waiting", 1)


def test_unknown_status_is_refused(owner):
    task = _task(owner, "pending")

    with pytest.raises(ValidationError) as exc:
        services.task_change_status(task=task, user=owner, status="overdue")

    assert exc.value.message_dict == {"status": ["“overdue” is not a task status."]}
    task.refresh_from_db()
    assert (task.status, task.version) == ("pending", 1)


def test_completing_records_completed_at_and_the_outcome(owner):
    task = _task(owner, "in_progress")

    with time_machine.travel(NOW, tick=False):
        services.task_complete(task=task, user=owner, outcome="Signed the contract.")

    task.refresh_from_db()
    assert (task.status, task.completed_at, task.outcome) == ("completed", NOW, "Signed the contract.")


def test_completing_without_an_outcome_keeps_the_outcome_already_written(owner):
    task = _task(owner, "in_progress", outcome="Left a voicemail.")

    with time_machine.travel(NOW, tick=False):
        services.task_complete(task=task, user=owner)

    task.refresh_from_db()
    assert (task.status, task.completed_at, task.outcome) == ("completed", NOW, "Left a voicemail.")


@pytest.mark.parametrize("closed", ["completed", "cancelled"])
def test_reopening_a_closed_task_clears_completed_at_and_keeps_the_outcome(owner, closed):
    task = _task(owner, closed, completed_at=EARLIER, outcome="Done by phone.")

    with time_machine.travel(NOW, tick=False):
        services.task_reopen(task=task, user=owner)

    task.refresh_from_db()
    assert (task.status, task.completed_at, task.outcome, task.status_changed_at) == (
        "pending", None, "Done by phone.", NOW,
    )


def test_cancelling_an_open_task_records_no_completion(owner):
    task = _task(owner, "blocked")

    with time_machine.travel(NOW, tick=False):
        services.task_cancel(task=task, user=owner)

    task.refresh_from_db()
    assert (task.status, task.completed_at) == ("cancelled", None)


def test_start_then_complete_follows_the_main_path(owner):
    task = _task(owner, "pending")

    with time_machine.travel(NOW, tick=False):
        services.task_start(task=task, user=owner)
        services.task_complete(task=task, user=owner, outcome="ok")

    task.refresh_from_db()
    assert (task.status, task.completed_at, task.version) == ("completed", NOW, 3)


def test_subscriber_cannot_change_the_status(owner, teammate):
    task = _task(owner, "pending")
    ParticipantFactory(task=task, user=teammate, role=Participant.Role.SUBSCRIBER)

    with pytest.raises(PermissionDenied) as exc:
        services.task_start(task=task, user=teammate)

    assert str(exc.value) == "You may not change this task."
    task.refresh_from_db()
    assert (task.status, task.version) == ("pending", 1)


def test_co_worker_can_change_the_status(owner, teammate):
    task = _task(owner, "pending")
    ParticipantFactory(task=task, user=teammate, role=Participant.Role.CO_WORKER)

    services.task_start(task=task, user=teammate)

    task.refresh_from_db()
    assert task.status == "in_progress"


def test_outsider_cannot_change_the_status(owner, outsider):
    task = _task(owner, "pending")

    with pytest.raises(PermissionDenied):
        services.task_cancel(task=task, user=outsider)

    task.refresh_from_db()
    assert task.status == "pending"
