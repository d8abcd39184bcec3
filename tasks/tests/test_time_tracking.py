"""Time entries: the timer (one per user, enforced by the database), manual entries, history, totals."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from crm.tests.factories import set_time_zone
from tasks import timetracking
from tasks.models import TimeEntry
from tasks.selectors_time import edit_notes, task_time
from tasks.tests.factories import ParticipantFactory, TaskFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=BERLIN)


def at(hour, minute=0, day=10):
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


def running_of(user):
    return list(TimeEntry.objects.filter(user=user, ended_at__isnull=True).values_list("task__title", flat=True))


@pytest.fixture
def tasks(owner):
    return TaskFactory(title="Call Acme", created_by=owner, assignee=owner), \
        TaskFactory(title="Write proposal", created_by=owner, assignee=owner)


@time_machine.travel(NOW, tick=False)
def test_starting_a_timer_on_another_task_stops_the_running_one_in_the_same_step(owner, tasks):
    call, proposal = tasks
    first = timetracking.timer_start(user=owner, task=call, now=at(13, 0))

    second = timetracking.timer_start(user=owner, task=proposal, now=at(14, 30))

    assert (first.stopped, second.stopped.pk, second.already_running) == (None, first.entry.pk, False)
    assert running_of(owner) == ["Write proposal"]
    assert list(TimeEntry.objects.order_by("started_at").values_list("task__title", "started_at", "ended_at",
                                                                      "duration")) == [
        ("Call Acme", at(13, 0), at(14, 30), timedelta(minutes=90)),
        ("Write proposal", at(14, 30), None, None),
    ]


@time_machine.travel(NOW, tick=False)
def test_starting_the_timer_that_already_runs_changes_nothing(owner, tasks):
    call, _ = tasks
    first = timetracking.timer_start(user=owner, task=call)

    again = timetracking.timer_start(user=owner, task=call)

    assert (again.already_running, again.entry.pk, TimeEntry.objects.count()) == (True, first.entry.pk, 1)


def test_the_database_refuses_a_second_running_timer_for_one_user(owner, tasks):
    call, proposal = tasks
    TimeEntry.objects.create(task=call, user=owner, started_at=at(9))

    with pytest.raises(IntegrityError), transaction.atomic():
        TimeEntry.objects.create(task=proposal, user=owner, started_at=at(10))

    assert running_of(owner) == ["Call Acme"]


def test_the_database_refuses_an_end_before_the_start_and_a_negative_duration(owner, tasks):
    call, _ = tasks
    with pytest.raises(IntegrityError), transaction.atomic():
        TimeEntry.objects.create(task=call, user=owner, started_at=at(10), ended_at=at(9), duration=timedelta(0))
    with pytest.raises(IntegrityError), transaction.atomic():
        TimeEntry.objects.create(task=call, user=owner, started_at=at(9), ended_at=at(10),
                                 duration=timedelta(minutes=-5))

    assert TimeEntry.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_stopping_records_the_duration_and_a_second_stop_is_refused(owner, tasks):
    call, _ = tasks
    timetracking.timer_start(user=owner, task=call, now=at(14, 0))

    entry = timetracking.timer_stop(user=owner, now=at(14, 47))
    with pytest.raises(ValidationError) as refused:
        timetracking.timer_stop(user=owner, now=at(14, 48))

    assert (entry.ended_at, entry.duration) == (at(14, 47), timedelta(minutes=47))
    assert refused.value.messages == ["No timer of yours is running."]


@time_machine.travel(NOW, tick=False)
def test_a_forgotten_timer_can_be_stopped_at_the_time_work_really_ended_but_not_before_it_started(owner, tasks):
    call, _ = tasks
    timetracking.timer_start(user=owner, task=call, now=at(17, 0, day=9))

    with pytest.raises(ValidationError) as before_start:
        timetracking.timer_stop(user=owner, ended_at=at(16, 0, day=9))
    with pytest.raises(ValidationError) as future:
        timetracking.timer_stop(user=owner, ended_at=at(18, 0))
    entry = timetracking.timer_stop(user=owner, ended_at=at(18, 30, day=9))

    assert before_start.value.message_dict == {"ended_at": ["The end cannot be before the start (09 Mar 2026 16:00)."]}
    assert future.value.message_dict == {"ended_at": ["A timer cannot be stopped in the future."]}
    assert entry.duration == timedelta(minutes=90)


@pytest.mark.parametrize("started, expected", [
    (at(8, 0), False),                 # this morning, 7 hours
    (at(4, 30), True),                 # 10.5 hours: longer than 10
    (at(23, 30, day=9), True),         # before the user's midnight
])
def test_a_running_timer_is_flagged_after_midnight_or_ten_hours(owner, tasks, started, expected):
    entry = TimeEntry(task=tasks[0], user=owner, started_at=started)

    assert entry.is_flagged(now=NOW, tz=BERLIN) is expected


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("values, errors", [
    ({"started_at": at(10), "ended_at": at(9)}, {"ended_at": ["The end cannot be before the start."]}),
    ({"started_at": at(10), "duration": timedelta(minutes=-30)}, {"duration": ["The duration cannot be negative."]}),
    ({"started_at": at(10), "duration": timedelta(0)},
     {"duration": ["A time entry must last longer than zero minutes."]}),
    ({"started_at": at(10)}, {"ended_at": ["Enter an end time or a duration."]}),
    ({"started_at": at(0, 0, day=8), "duration": timedelta(hours=25)},
     {"duration": ["A single entry cannot be longer than 24 hours: enter one per day."]}),
    ({"started_at": at(16), "ended_at": at(17)}, {"ended_at": ["Time cannot be recorded in the future."]}),
    ({"started_at": at(9), "ended_at": at(10), "duration": timedelta(minutes=30)},
     {"duration": ["The duration does not match the start and end: give one or the other."]}),
])
def test_bad_manual_entries_are_refused_with_a_reason_and_nothing_is_saved(owner, tasks, values, errors):
    with pytest.raises(ValidationError) as refused:
        timetracking.time_entry_create(user=owner, task=tasks[0], **values)

    assert refused.value.message_dict == errors
    assert TimeEntry.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_a_manual_entry_by_start_and_duration_and_one_by_duration_alone(owner, tasks):
    call, _ = tasks
    timetracking.time_entry_create(user=owner, task=call, started_at=at(9), duration=timedelta(minutes=45),
                                   note="Prep", billable=False)
    timetracking.time_entry_create(user=owner, task=call, started_at=at(0, 0, day=9), duration=timedelta(hours=2),
                                   has_clock_times=False)

    assert list(TimeEntry.objects.order_by("started_at").values_list(
        "started_at", "ended_at", "duration", "has_clock_times", "note", "billable")) == [
        (at(0, 0, day=9), at(2, 0, day=9), timedelta(hours=2), False, "", True),
        (at(9), at(9, 45), timedelta(minutes=45), True, "Prep", False),
    ]


@time_machine.travel(NOW, tick=False)
def test_an_outsider_cannot_track_time_on_a_task_they_cannot_see(outsider, tasks):
    with pytest.raises(PermissionDenied):
        timetracking.timer_start(user=outsider, task=tasks[0])
    with pytest.raises(PermissionDenied):
        timetracking.time_entry_create(user=outsider, task=tasks[0], started_at=at(9), ended_at=at(10))

    assert TimeEntry.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_entries_are_changed_by_their_user_or_an_editor_of_the_task_and_the_history_says_what_it_was(
        owner, teammate, manager, team):
    task = TaskFactory(title="Team call", created_by=owner, team=team)
    set_time_zone(owner, "Europe/Berlin")
    entry = timetracking.time_entry_create(user=teammate, task=task, started_at=at(9), ended_at=at(10), note="Call")

    with pytest.raises(PermissionDenied):
        timetracking.time_entry_update(user=_plain_member(team), entry=entry, started_at=at(9), ended_at=at(11))
    with time_machine.travel(at(15, 5), tick=False):
        timetracking.time_entry_update(user=manager, entry=entry, started_at=at(9), ended_at=at(10, 30),
                                       note="Call with Acme", billable=True)

    from django.utils import timezone

    timezone.activate(BERLIN)
    try:
        notes = edit_notes([entry])
    finally:
        timezone.deactivate()
    assert notes == {entry.pk: "edited by Mona Ger at 10 Mar 2026 15:05, was 10 Mar 2026 09:00–10:00 (1:00 h), "
                               "note “Call”"}
    assert list(entry.history.order_by("history_id").values_list("history_change_reason", "history_user__username")) \
        == [("created", "teammate"), ("edited", "manager")]


def _plain_member(team):
    """Someone who sees the team's tasks but may not edit them (a plain member)."""
    from crm.tests.factories import MembershipFactory, UserFactory

    member = UserFactory(username="plainmember")
    MembershipFactory(team=team, user=member)
    return member


@time_machine.travel(NOW, tick=False)
def test_deleting_keeps_the_deleted_values_in_the_history(owner, tasks):
    entry = timetracking.time_entry_create(user=owner, task=tasks[0], started_at=at(9), ended_at=at(10))

    timetracking.time_entry_delete(user=owner, entry=entry)

    assert TimeEntry.objects.count() == 0
    assert list(TimeEntry.history.filter(id=entry.pk).order_by("history_id").values_list(
        "history_type", "history_change_reason", "duration")) == [
        ("+", "created", timedelta(hours=1)), ("-", "deleted", timedelta(hours=1))]


@time_machine.travel(NOW, tick=False)
def test_a_subscriber_tracks_their_own_time_but_cannot_change_the_assignees(owner, teammate, tasks):
    call, _ = tasks
    ParticipantFactory(task=call, user=teammate, role="subscriber")
    mine = timetracking.time_entry_create(user=owner, task=call, started_at=at(9), ended_at=at(10))

    theirs = timetracking.timer_start(user=teammate, task=call).entry
    with pytest.raises(PermissionDenied):
        timetracking.time_entry_delete(user=teammate, entry=mine)

    assert set(TimeEntry.objects.values_list("user__username", "ended_at")) == {("owner", at(10)),
                                                                              ("teammate", None)}
    assert theirs.user == teammate


@time_machine.travel(NOW, tick=False)
def test_actual_time_includes_subtasks_and_running_timers(owner, teammate):
    parent = TaskFactory(title="Project", created_by=owner, expected_duration=timedelta(hours=3))
    child = TaskFactory(title="Part", created_by=owner, parent=parent, expected_duration=timedelta(hours=1))
    grandchild = TaskFactory(title="Bit", created_by=owner, parent=child)
    other = TaskFactory(title="Unrelated", created_by=owner)
    for task, start, end in ((parent, at(8), at(9)), (child, at(9), at(10, 30)), (grandchild, at(11), at(11, 15)),
                             (other, at(12), at(13))):
        TimeEntry.objects.create(task=task, user=owner, started_at=start, ended_at=end, duration=end - start)
    TimeEntry.objects.create(task=child, user=teammate, started_at=at(14, 30))  # running for 30 minutes

    totals = task_time(parent, now=NOW)

    assert totals == {"own": timedelta(hours=1), "subtasks": timedelta(hours=2, minutes=15),
                      "total": timedelta(hours=3, minutes=15), "expected": timedelta(hours=3),
                      "subtasks_expected": timedelta(hours=1), "percent": 108, "over": True}
