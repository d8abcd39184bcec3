"""Creating, editing (with stale-edit detection), deleting and bulk-changing tasks."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from crm.models import Notification
from crm.tests.factories import OrganizationFactory, UserFactory
from tasks import dates, services
from tasks.models import ChecklistItem, Participant, Task
from tasks.tests.factories import ParticipantFactory, TaskFactory

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=PARIS)


def _notifications():
    return sorted(
        (n.recipient.username, n.actor.username, n.verb, n.text)
        for n in Notification.objects.select_related("recipient", "actor")
    )


def _rows():
    return {t["title"]: t for t in Task.objects.values()}


# ---- create -----------------------------------------------------------------------------

def test_create_saves_the_task_with_its_checklist_participants_tags_and_entity(owner, teammate):
    acme = OrganizationFactory(name="Acme")

    with time_machine.travel(NOW, tick=False):
        task = services.task_create(
            created_by=owner, title="Prepare offer", entity=acme, priority="high", task_type="proposal",
            participants=[(teammate, Participant.Role.REVIEWER)], checklist=["Prices", "Terms"], tags=["q1", "vip"],
        )

    task = Task.objects.get(pk=task.pk)
    assert (task.title, task.created_by, task.entity, task.priority, task.priority_rank, task.task_type,
            task.status, task.status_changed_at, task.tree_path, task.version) == (
        "Prepare offer", owner, acme, "high", 3, "proposal", "pending", NOW, "/", 1,
    )
    assert [(p.user, p.role) for p in task.participants.all()] == [(teammate, "reviewer")]
    assert list(task.checklist.values_list("text", "position")) == [("Prices", 0), ("Terms", 1)]
    assert sorted(task.tags.names()) == ["q1", "vip"]


def test_create_under_a_parent_sets_the_tree_path(owner):
    top = TaskFactory(title="Top", created_by=owner)
    middle = TaskFactory(title="Middle", created_by=owner, parent=top)

    task = services.task_create(created_by=owner, title="Leaf", parent=middle)

    assert Task.objects.get(pk=task.pk).tree_path == f"/{top.pk}/{middle.pk}/"


def test_create_notifies_the_assignee_chosen_by_someone_else(owner, teammate):
    services.task_create(created_by=owner, title="Call Ada", assignee=teammate)

    assert _notifications() == [("teammate", "owner", "assigned", "Olga Owner assigned you “Call Ada”.")]


def test_create_for_oneself_notifies_nobody(owner):
    services.task_create(created_by=owner, title="Call Ada", assignee=owner)

    assert _notifications() == []


def test_create_refuses_unknown_fields(owner):
    with pytest.raises(ValidationError) as exc:
        services.task_create(created_by=owner, title="Call Ada", version=7, tree_path="/1/")

    assert exc.value.messages == ["Unknown task fields: tree_path, version."]
    assert Task.objects.count() == 0


def test_create_refuses_an_unknown_priority_and_saves_nothing(owner):
    with pytest.raises(ValidationError) as exc:
        services.task_create(created_by=owner, title="Call Ada", priority="asap", checklist=["one"])

    assert "priority" in exc.value.message_dict
    assert (Task.objects.count(), ChecklistItem.objects.count()) == (0, 0)


# ---- due before begin -------------------------------------------------------------------

def test_create_refuses_a_due_date_before_the_begin_date_and_saves_nothing(owner):
    with pytest.raises(ValidationError) as exc:
        services.task_create(
            created_by=owner, title="Call Ada", checklist=["Dial"],
            begin_at=datetime(2025, 3, 10, 14, 0, tzinfo=PARIS), due_at=datetime(2025, 3, 10, 13, 59, tzinfo=PARIS),
        )

    assert exc.value.message_dict == {"due_at": ["The due date cannot be before the begin date."]}
    assert (Task.objects.count(), ChecklistItem.objects.count()) == (0, 0)


def test_update_refuses_a_due_date_before_the_begin_date_and_changes_nothing(owner):
    task = TaskFactory(title="Call Ada", created_by=owner, begin_at=datetime(2025, 3, 10, 14, 0, tzinfo=PARIS))
    before = _rows()

    with pytest.raises(ValidationError) as exc:
        services.task_update(task=task, user=owner, version=1,
                             data={"title": "Call Ada today", "due_at": datetime(2025, 3, 9, 18, 0, tzinfo=PARIS)})

    assert exc.value.message_dict == {"due_at": ["The due date cannot be before the begin date."]}
    assert _rows() == before


def test_due_equal_to_begin_is_allowed(owner):
    moment = datetime(2025, 3, 10, 14, 0, tzinfo=PARIS)

    task = services.task_create(created_by=owner, title="Call Ada", begin_at=moment, due_at=moment)

    assert (Task.objects.get(pk=task.pk).begin_at, Task.objects.get(pk=task.pk).due_at) == (moment, moment)


@pytest.mark.parametrize("zone,begin", [
    ("UTC", (2025, 3, 10, 0, 0)),
    ("UTC", (2025, 3, 10, 23, 30)),
    ("Asia/Tokyo", (2025, 3, 10, 9, 0)),
    ("Asia/Tokyo", (2025, 3, 10, 23, 30)),
    ("America/Los_Angeles", (2025, 3, 10, 9, 0)),
])
def test_all_day_due_date_on_the_same_day_as_a_timed_begin_is_allowed(owner, zone, begin):
    with timezone.override(zone):
        task = services.task_create(
            created_by=owner, title="Workshop", begin_at=datetime(*begin, tzinfo=ZoneInfo(zone)),
            due_at=dates.date_as_utc_midnight(date(2025, 3, 10)), all_day=True,
        )

    assert Task.objects.filter(pk=task.pk).exists()


def test_all_day_due_date_on_the_same_day_as_an_evening_begin_in_los_angeles_is_allowed(owner):
    zone = ZoneInfo("America/Los_Angeles")
    with timezone.override(zone):
        task = services.task_create(
            created_by=owner, title="Workshop", begin_at=datetime(2025, 3, 10, 20, 0, tzinfo=zone),
            due_at=dates.date_as_utc_midnight(date(2025, 3, 10)), all_day=True,
        )

    assert Task.objects.filter(pk=task.pk).exists()


def test_all_day_due_date_the_day_before_the_begin_in_tokyo_is_refused(owner):
    zone = ZoneInfo("Asia/Tokyo")
    with timezone.override(zone), pytest.raises(ValidationError):
        services.task_create(
            created_by=owner, title="Workshop", begin_at=datetime(2025, 3, 11, 8, 0, tzinfo=zone),
            due_at=dates.date_as_utc_midnight(date(2025, 3, 10)), all_day=True,
        )

    assert Task.objects.count() == 0


def test_all_day_due_date_the_day_before_the_begin_is_refused(owner):
    with timezone.override("UTC"), pytest.raises(ValidationError) as exc:
        services.task_create(
            created_by=owner, title="Workshop", begin_at=datetime(2025, 3, 11, 9, 0, tzinfo=ZoneInfo("UTC")),
            due_at=dates.date_as_utc_midnight(date(2025, 3, 10)), all_day=True,
        )

    assert exc.value.message_dict == {"due_at": ["The due date cannot be before the begin date."]}
    assert Task.objects.count() == 0


# ---- update and stale edits ---------------------------------------------------------------

def test_update_applies_the_edit_and_bumps_the_version(owner, teammate):
    task = TaskFactory(title="Call Ada", created_by=owner)

    updated = services.task_update(task=task, user=owner, version=1, snapshot=services.task_snapshot(task),
                                   data={"title": "Call Ada back", "priority": "urgent", "assignee": teammate},
                                   tags=["vip"])

    task.refresh_from_db()
    assert (updated.version, task.title, task.priority, task.priority_rank, task.assignee, task.version) == (
        2, "Call Ada back", "urgent", 4, teammate, 2,
    )
    assert list(task.tags.names()) == ["vip"]
    assert _notifications() == [("teammate", "owner", "assigned", "Olga Owner assigned you “Call Ada back”.")]


def test_update_refuses_fields_outside_the_form(owner):
    task = TaskFactory(title="Call Ada", created_by=owner)

    with pytest.raises(ValidationError) as exc:
        services.task_update(task=task, user=owner, version=1, data={"status": "completed"})

    assert exc.value.messages == ["Unknown task fields: status."]
    task.refresh_from_db()
    assert (task.status, task.version) == ("pending", 1)


def test_subscriber_cannot_update(owner, teammate):
    task = TaskFactory(title="Call Ada", created_by=owner)
    ParticipantFactory(task=task, user=teammate, role=Participant.Role.SUBSCRIBER)

    with pytest.raises(PermissionDenied):
        services.task_update(task=task, user=teammate, version=1, data={"title": "Mine"})

    task.refresh_from_db()
    assert (task.title, task.version) == ("Call Ada", 1)


def test_stale_edit_is_refused_with_what_changed_meanwhile(team, owner, manager):
    task = TaskFactory(title="Call Ada", created_by=owner, team=team, due_at=datetime(2025, 3, 10, 9, 0, tzinfo=PARIS))
    seen_by_owner = Task.objects.get(pk=task.pk)
    snapshot, version = services.task_snapshot(seen_by_owner), seen_by_owner.version
    services.task_update(task=Task.objects.get(pk=task.pk), user=manager, version=1,
                         data={"title": "Call Ada back", "priority": "high",
                               "due_at": datetime(2025, 3, 12, 17, 30, tzinfo=PARIS)})

    with timezone.override(PARIS), pytest.raises(services.StaleEdit) as exc:
        services.task_update(task=seen_by_owner, user=owner, version=version, snapshot=snapshot,
                             data={"title": "Call Ada today", "description": "About the offer"})

    assert (str(exc.value), exc.value.changes) == ("The task was changed by someone else meanwhile.", [
        ("title", "Call Ada", "Call Ada back"),
        ("priority", "Medium", "High"),
        ("due", "10 Mar 2025 09:00", "12 Mar 2025 17:30"),
    ])
    task.refresh_from_db()
    assert (task.title, task.description, task.priority, task.version) == ("Call Ada back", "", "high", 2)


def test_stale_edit_after_a_claim_and_a_status_change_names_them(team, owner, teammate, manager):
    task = TaskFactory(title="Call Ada", created_by=manager, team=team)
    snapshot = services.task_snapshot(task)
    services.task_claim(task=Task.objects.get(pk=task.pk), user=teammate)
    services.task_start(task=Task.objects.get(pk=task.pk), user=teammate)

    with pytest.raises(services.StaleEdit) as exc:
        services.task_update(task=task, user=manager, version=1, snapshot=snapshot, data={"title": "x"})

    assert exc.value.changes == [("assignee", "—", "Tom Mate"), ("status", "Pending", "In progress")]
    task.refresh_from_db()
    assert (task.title, task.assignee, task.status, task.version) == ("Call Ada", teammate, "in_progress", 3)


def test_stale_edit_shows_all_day_dates_without_shifting_them(owner):
    task = TaskFactory(title="Renew", created_by=owner, all_day=True,
                       due_at=dates.date_as_utc_midnight(date(2025, 3, 10)))
    snapshot = services.task_snapshot(task)
    services.task_update(task=Task.objects.get(pk=task.pk), user=owner, version=1,
                         data={"due_at": dates.date_as_utc_midnight(date(2025, 3, 12))})

    with timezone.override("America/Los_Angeles"), pytest.raises(services.StaleEdit) as exc:
        services.task_update(task=task, user=owner, version=1, snapshot=snapshot, data={"title": "x"})

    assert exc.value.changes == [("due", "10 Mar 2025", "12 Mar 2025")]


def test_stale_edit_names_changed_tags(owner):
    task = TaskFactory(title="Call Ada", created_by=owner, tags=["b2b"])
    snapshot = services.task_snapshot(task)
    services.task_update(task=task, user=owner, version=1, data={}, tags=["b2b", "vip"])

    with pytest.raises(services.StaleEdit) as exc:
        services.task_update(task=task, user=owner, version=1, snapshot=snapshot, data={"title": "x"})

    assert exc.value.changes == [("tags", "b2b", "b2b,vip")]


def test_update_with_the_current_version_after_a_stale_refusal_succeeds(owner, teammate):
    task = TaskFactory(title="Call Ada", created_by=owner)
    services.task_update(task=task, user=owner, version=1, data={"title": "Call Ada back"})

    with pytest.raises(services.StaleEdit):
        services.task_update(task=task, user=owner, version=1, data={"title": "Stale"})
    services.task_update(task=task, user=owner, version=2, data={"title": "Fresh"})

    task.refresh_from_db()
    assert (task.title, task.version) == ("Fresh", 3)


# ---- delete -----------------------------------------------------------------------------

def test_delete_removes_the_task_and_its_whole_subtree(owner):
    top = TaskFactory(title="Top", created_by=owner)
    child = TaskFactory(title="Child", created_by=owner, parent=top)
    TaskFactory(title="Grandchild", created_by=owner, parent=child)
    TaskFactory(title="Elsewhere", created_by=owner)

    services.task_delete(task=top, user=owner)

    assert set(Task.objects.values_list("title", flat=True)) == {"Elsewhere"}


def test_subscriber_cannot_delete(owner, teammate):
    task = TaskFactory(title="Call Ada", created_by=owner)
    ParticipantFactory(task=task, user=teammate, role=Participant.Role.SUBSCRIBER)

    with pytest.raises(PermissionDenied):
        services.task_delete(task=task, user=teammate)

    assert Task.objects.filter(pk=task.pk).exists()


# ---- bulk -------------------------------------------------------------------------------

@pytest.fixture
def three(owner):
    return [TaskFactory(title=f"T{i}", created_by=owner) for i in (1, 2, 3)]


def _ids(tasks):
    return [t.pk for t in tasks]


def test_bulk_assign_assigns_all_and_notifies_the_assignee_per_task(owner, teammate, three):
    result = services.tasks_bulk(user=owner, task_ids=_ids(three), action="assign", value=str(teammate.pk))

    assert result.changed == 3
    assert {t.title: t.assignee_id for t in Task.objects.all()} == {"T1": teammate.pk, "T2": teammate.pk,
                                                                     "T3": teammate.pk}
    assert _notifications() == [
        ("teammate", "owner", "assigned", f"Olga Owner assigned you “T{i}”.") for i in (1, 2, 3)
    ]


def test_bulk_unassign_with_an_empty_value(owner, teammate, three):
    for task in three:
        task.assignee = teammate
        task.save()

    services.tasks_bulk(user=owner, task_ids=_ids(three), action="assign", value="")

    assert set(Task.objects.values_list("assignee", flat=True)) == {None}


def test_bulk_assign_to_an_inactive_user_changes_nothing(owner, three):
    gone = UserFactory(username="gone", is_active=False)
    before = _rows()

    with pytest.raises(ValidationError) as exc:
        services.tasks_bulk(user=owner, task_ids=_ids(three), action="assign", value=str(gone.pk))

    assert exc.value.messages == ["Choose an active user to assign the tasks to."]
    assert _rows() == before


@pytest.mark.parametrize("action,value", [("assign", None), ("status", "in_progress"), ("priority", "urgent"),
                                          ("delete", None)])
def test_bulk_with_one_task_the_user_may_only_read_changes_nothing(owner, teammate, three, action, value):
    foreign = TaskFactory(title="Foreign", created_by=teammate, assignee=teammate)
    ParticipantFactory(task=foreign, user=owner, role=Participant.Role.SUBSCRIBER)
    before = _rows()

    with pytest.raises(PermissionDenied) as exc:
        services.tasks_bulk(user=owner, task_ids=_ids(three) + [foreign.pk], action=action, value=value)

    assert str(exc.value) == "You may not change some of the selected tasks; nothing was changed."
    assert (_rows(), _notifications()) == (before, [])


def test_bulk_with_one_task_the_user_cannot_see_changes_nothing(owner, outsider, three):
    hidden = TaskFactory(title="Hidden", created_by=outsider)
    before = _rows()

    with pytest.raises(PermissionDenied):
        services.tasks_bulk(user=owner, task_ids=_ids(three) + [hidden.pk], action="delete")

    assert _rows() == before


def test_bulk_status_with_one_forbidden_transition_rolls_back_all(owner, three):
    three[2].status = "completed"
    three[2].save()
    before = _rows()

    with pytest.raises(ValidationError) as exc:
        services.tasks_bulk(user=owner, task_ids=_ids(three), action="status", value="in_progress")

    assert exc.value.messages == ["“T3”: A completed task cannot become in progress. Nothing was changed."]
    assert _rows() == before


def test_bulk_completing_a_parent_with_open_subtasks_rolls_back_all(owner, teammate):
    alone = TaskFactory(title="Alone", created_by=owner, status="in_progress")
    parent = TaskFactory(title="Parent", created_by=owner, status="in_progress", assignee=teammate)
    last = TaskFactory(title="Sub", created_by=owner, parent=parent, status="in_progress")
    TaskFactory(title="Open sub", created_by=owner, parent=parent)
    before = _rows()

    with pytest.raises(ValidationError):
        services.tasks_bulk(user=owner, task_ids=[alone.pk, last.pk, parent.pk], action="status", value="completed")

    assert (_rows(), _notifications()) == (before, [])


def test_bulk_status_moves_all(owner, three):
    with time_machine.travel(NOW, tick=False):
        services.tasks_bulk(user=owner, task_ids=_ids(three), action="status", value="waiting")

    assert {t.title: (t.status, t.status_changed_at, t.version) for t in Task.objects.all()} == {
        f"T{i}": ("waiting", NOW, 2) for i in (1, 2, 3)
    }


def test_bulk_priority_sets_priority_and_rank(owner, three):
    services.tasks_bulk(user=owner, task_ids=_ids(three), action="priority", value="urgent")

    assert {t.title: (t.priority, t.priority_rank, t.version) for t in Task.objects.all()} == {
        f"T{i}": ("urgent", 4, 2) for i in (1, 2, 3)
    }


def test_bulk_delete_removes_all_even_a_parent_with_its_selected_child(owner, three):
    child = TaskFactory(title="Child", created_by=owner, parent=three[0])
    keep = TaskFactory(title="Keep", created_by=owner)

    services.tasks_bulk(user=owner, task_ids=_ids(three) + [child.pk], action="delete")

    assert list(Task.objects.values_list("pk", flat=True)) == [keep.pk]


def test_team_manager_bulk_changes_team_tasks(team, owner, manager):
    tasks = [TaskFactory(title=f"Q{i}", created_by=owner, team=team) for i in (1, 2)]

    services.tasks_bulk(user=manager, task_ids=_ids(tasks), action="priority", value="low")

    assert set(Task.objects.values_list("priority", flat=True)) == {"low"}


@pytest.mark.parametrize("action,value,message", [
    ("archive", None, "“archive” is not a bulk action."),
    ("status", "overdue", "“overdue” is not a task status."),
    ("priority", "asap", "“asap” is not a priority."),
])
def test_bulk_refuses_unknown_actions_and_values(owner, three, action, value, message):
    before = _rows()

    with pytest.raises(ValidationError) as exc:
        services.tasks_bulk(user=owner, task_ids=_ids(three), action=action, value=value)

    assert (exc.value.messages, _rows()) == ([message], before)


def test_bulk_needs_a_selection(owner):
    with pytest.raises(ValidationError) as exc:
        services.tasks_bulk(user=owner, task_ids=[], action="delete")

    assert exc.value.messages == ["Select at least one task."]
