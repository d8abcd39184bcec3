"""Subtasks: progress over the whole subtree, closing a parent, moving subtrees."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from crm.models import Notification
from tasks import selectors, services
from tasks.models import Task
from tasks.tests.factories import TaskFactory

NOW = datetime(2025, 3, 10, 16, 45, tzinfo=ZoneInfo("Europe/Paris"))


def _notifications():
    # The "ready to finish" notices only: completing a task also tells its people (tasks.events).
    return sorted(
        (n.recipient.username, n.actor.username, n.verb, n.text)
        for n in Notification.objects.select_related("recipient", "actor").filter(verb="subtasks_done")
    )


def _state(*tasks):
    return {t.title: (t.status, t.completed_at) for t in Task.objects.filter(pk__in=[x.pk for x in tasks])}


@pytest.fixture
def tree(owner):
    """Launch (assigned to owner)
         ├ Brief           completed
         ├ Build           in_progress
         │  ├ Frontend     completed
         │  └ Backend      pending
         └ Old idea        cancelled
    """
    t = {}
    t["launch"] = TaskFactory(title="Launch", created_by=owner, assignee=owner, status="in_progress")
    t["brief"] = TaskFactory(title="Brief", created_by=owner, parent=t["launch"], status="completed")
    t["build"] = TaskFactory(title="Build", created_by=owner, parent=t["launch"], status="in_progress")
    t["frontend"] = TaskFactory(title="Frontend", created_by=owner, parent=t["build"], status="completed")
    t["backend"] = TaskFactory(title="Backend", created_by=owner, parent=t["build"], status="pending")
    t["old"] = TaskFactory(title="Old idea", created_by=owner, parent=t["launch"], status="cancelled")
    return t


# ---- progress ---------------------------------------------------------------------------

def test_subtree_lists_all_descendants_in_tree_order_with_depth(tree):
    rows = selectors.subtree(tree["launch"])

    assert [(r.title, r.tree_depth) for r in rows] == [
        ("Brief", 0), ("Build", 0), ("Frontend", 1), ("Backend", 1), ("Old idea", 0),
    ]


def test_progress_counts_the_whole_subtree(tree):
    result = selectors.progress(selectors.subtree(tree["launch"]))

    assert result == {"total": 5, "done": 2, "closed": 3, "open": 2, "percent": 40}


def test_progress_of_a_task_without_subtasks_is_empty(tree):
    assert selectors.progress(selectors.subtree(tree["backend"])) == {
        "total": 0, "done": 0, "closed": 0, "open": 0, "percent": 0,
    }


def test_list_rows_count_the_whole_subtree_of_each_row(tree, owner):
    rows = selectors.decorate_rows(Task.objects.all(), owner)

    assert {r.title: (r.subtasks_total, r.subtasks_done, r.subtasks_closed) for r in rows} == {
        "Launch": (5, 2, 3),
        "Brief": (0, 0, 0),
        "Build": (2, 1, 1),
        "Frontend": (0, 0, 0),
        "Backend": (0, 0, 0),
        "Old idea": (0, 0, 0),
    }


def test_list_rows_do_not_count_a_task_whose_id_starts_with_the_same_digits(owner):
    """Task 900's subtree prefix "/900/" must not match the subtree of task 9001 ("/9001/")."""
    short = TaskFactory(id=900, title="900", created_by=owner)
    long = TaskFactory(id=9001, title="9001", created_by=owner)
    TaskFactory(title="child of 9001", created_by=owner, parent=long)

    rows = {r.title: r.subtasks_total for r in selectors.decorate_rows(Task.objects.filter(parent=None), owner)}

    assert rows == {short.title: 0, long.title: 1}


# ---- completing a parent ------------------------------------------------------------------

def test_parent_with_open_subtasks_cannot_be_completed(tree, owner):
    before = _state(*tree.values())

    with pytest.raises(ValidationError) as exc:
        services.task_complete(task=tree["launch"], user=owner)

    assert exc.value.message_dict == {"subtasks": [
        "2 subtask(s) are still open. Complete or cancel them too, or finish them first."
    ]}
    assert _state(*tree.values()) == before


def test_completing_with_subtasks_complete_closes_the_whole_open_subtree(tree, owner):
    with time_machine.travel(NOW, tick=False):
        services.task_complete(task=tree["launch"], user=owner, subtasks="complete")

    completed_before = tree["brief"].completed_at
    assert _state(*tree.values()) == {
        "Launch": ("completed", NOW),
        "Brief": ("completed", completed_before),
        "Build": ("completed", NOW),
        "Frontend": ("completed", tree["frontend"].completed_at),
        "Backend": ("completed", NOW),
        "Old idea": ("cancelled", None),
    }


def test_completing_with_subtasks_cancel_cancels_the_open_subtree(tree, owner):
    with time_machine.travel(NOW, tick=False):
        services.task_complete(task=tree["launch"], user=owner, subtasks="cancel")

    assert {title: status for title, (status, _) in _state(*tree.values()).items()} == {
        "Launch": "completed", "Brief": "completed", "Build": "cancelled",
        "Frontend": "completed", "Backend": "cancelled", "Old idea": "cancelled",
    }


def test_completing_a_middle_task_closes_only_its_own_subtree(tree, owner):
    services.task_complete(task=tree["build"], user=owner, subtasks="complete")

    assert {title: status for title, (status, _) in _state(*tree.values()).items()} == {
        "Launch": "in_progress", "Brief": "completed", "Build": "completed",
        "Frontend": "completed", "Backend": "completed", "Old idea": "cancelled",
    }


def test_an_unknown_subtasks_choice_is_refused(tree, owner):
    before = _state(*tree.values())

    with pytest.raises(ValidationError) as exc:
        services.task_complete(task=tree["launch"], user=owner, subtasks="ignore")

    assert exc.value.message_dict == {"subtasks": ["Choose to complete or cancel the open subtasks."]}
    assert _state(*tree.values()) == before


def test_cancelling_a_parent_cancels_its_open_subtree(tree, owner):
    services.task_cancel(task=tree["launch"], user=owner)

    assert {title: status for title, (status, _) in _state(*tree.values()).items()} == {
        "Launch": "cancelled", "Brief": "completed", "Build": "cancelled",
        "Frontend": "completed", "Backend": "cancelled", "Old idea": "cancelled",
    }


# ---- telling the parent's assignee ----------------------------------------------------------

def test_completing_the_last_open_subtask_tells_the_parents_assignee(owner, teammate):
    parent = TaskFactory(title="Onboard Acme", created_by=owner, assignee=owner)
    TaskFactory(title="Send contract", created_by=owner, parent=parent, status="completed")
    last = TaskFactory(title="Book kickoff", created_by=owner, parent=parent, assignee=teammate,
                       status="in_progress")

    services.task_complete(task=last, user=teammate)

    assert _notifications() == [
        ("owner", "teammate", "subtasks_done", "All subtasks of “Onboard Acme” are done: it is ready to finish."),
    ]


def test_completing_a_subtask_while_others_are_open_tells_nobody(owner, teammate):
    parent = TaskFactory(title="Onboard Acme", created_by=owner, assignee=owner)
    TaskFactory(title="Send contract", created_by=owner, parent=parent, status="pending")
    one = TaskFactory(title="Book kickoff", created_by=owner, parent=parent, assignee=teammate,
                      status="in_progress")

    services.task_complete(task=one, user=teammate)

    assert _notifications() == []


def test_an_open_grandchild_keeps_the_parent_unfinished(owner, teammate):
    parent = TaskFactory(title="Onboard Acme", created_by=owner, assignee=owner)
    child = TaskFactory(title="Kickoff", created_by=owner, parent=parent, assignee=teammate, status="waiting")
    TaskFactory(title="Kickoff agenda", created_by=owner, parent=child, status="pending")
    sibling = TaskFactory(title="Send contract", created_by=owner, parent=parent, assignee=teammate,
                          status="in_progress")

    services.task_complete(task=sibling, user=teammate)

    assert _notifications() == []


def test_the_assignee_finishing_the_last_subtask_is_not_told(owner):
    parent = TaskFactory(title="Onboard Acme", created_by=owner, assignee=owner)
    last = TaskFactory(title="Book kickoff", created_by=owner, parent=parent, status="in_progress")

    services.task_complete(task=last, user=owner)

    assert _notifications() == []


def test_a_parent_without_assignee_tells_nobody(owner, teammate):
    parent = TaskFactory(title="Onboard Acme", created_by=owner)
    last = TaskFactory(title="Book kickoff", created_by=owner, parent=parent, assignee=teammate,
                       status="in_progress")

    services.task_complete(task=last, user=teammate)

    assert _notifications() == []


# ---- moving -----------------------------------------------------------------------------

def _rows():
    return {t["title"]: t for t in Task.objects.values("title", "parent_id", "tree_path", "version")}


@pytest.mark.parametrize("target", ["build", "frontend", "backend", "brief"])
def test_moving_a_task_under_one_of_its_own_descendants_is_refused(tree, owner, target):
    before = _rows()
    launch = Task.objects.get(pk=tree["launch"].pk)
    new_parent = Task.objects.get(pk=tree[target].pk)

    with pytest.raises(ValidationError) as exc:
        services.task_set_parent(task=launch, user=owner, parent=new_parent)

    assert exc.value.message_dict == {"parent": ["A task cannot be moved under itself or one of its own subtasks."]}
    assert _rows() == before


def test_moving_a_task_under_itself_is_refused(tree, owner):
    before = _rows()
    build = Task.objects.get(pk=tree["build"].pk)

    with pytest.raises(ValidationError):
        services.task_set_parent(task=build, user=owner, parent=Task.objects.get(pk=build.pk))

    assert _rows() == before


def test_moving_a_three_level_subtree_rewrites_every_path(owner):
    root_a = TaskFactory(title="A", created_by=owner)
    b = TaskFactory(title="B", created_by=owner, parent=root_a)
    c = TaskFactory(title="C", created_by=owner, parent=b)
    d = TaskFactory(title="D", created_by=owner, parent=c)
    e = TaskFactory(title="E", created_by=owner, parent=b)
    x = TaskFactory(title="X", created_by=owner)
    y = TaskFactory(title="Y", created_by=owner, parent=x)

    moved = services.task_set_parent(task=Task.objects.get(pk=b.pk), user=owner, parent=Task.objects.get(pk=y.pk))

    assert moved.version == 2
    assert {t.title: (t.parent_id, t.tree_path) for t in Task.objects.all()} == {
        "A": (None, "/"),
        "X": (None, "/"),
        "Y": (x.pk, f"/{x.pk}/"),
        "B": (y.pk, f"/{x.pk}/{y.pk}/"),
        "C": (b.pk, f"/{x.pk}/{y.pk}/{b.pk}/"),
        "D": (c.pk, f"/{x.pk}/{y.pk}/{b.pk}/{c.pk}/"),
        "E": (b.pk, f"/{x.pk}/{y.pk}/{b.pk}/"),
    }
    assert [r.title for r in selectors.subtree(Task.objects.get(pk=x.pk))] == ["Y", "B", "C", "D", "E"]
    assert selectors.subtree(Task.objects.get(pk=root_a.pk)) == []


def test_moving_a_subtree_to_the_top_level(owner):
    a = TaskFactory(title="A", created_by=owner)
    b = TaskFactory(title="B", created_by=owner, parent=a)
    c = TaskFactory(title="C", created_by=owner, parent=b)

    services.task_set_parent(task=Task.objects.get(pk=b.pk), user=owner, parent=None)

    assert {t.title: (t.parent_id, t.tree_path) for t in Task.objects.all()} == {
        "A": (None, "/"), "B": (None, "/"), "C": (b.pk, f"/{b.pk}/"),
    }


def test_a_moved_subtree_is_then_protected_against_cycles_at_its_new_place(owner):
    a = TaskFactory(title="A", created_by=owner)
    b = TaskFactory(title="B", created_by=owner)
    c = TaskFactory(title="C", created_by=owner, parent=b)
    services.task_set_parent(task=Task.objects.get(pk=b.pk), user=owner, parent=Task.objects.get(pk=a.pk))
    before = _rows()

    with pytest.raises(ValidationError):
        services.task_set_parent(task=Task.objects.get(pk=a.pk), user=owner, parent=Task.objects.get(pk=c.pk))

    assert _rows() == before


def test_moving_a_task_under_its_great_grandchild_is_refused(owner):
    a = TaskFactory(title="A", created_by=owner)
    b = TaskFactory(title="B", created_by=owner, parent=a)
    c = TaskFactory(title="C", created_by=owner, parent=b)
    d = TaskFactory(title="D", created_by=owner, parent=c)
    before = _rows()

    with pytest.raises(ValidationError):
        services.task_update(task=Task.objects.get(pk=a.pk), user=owner, version=1, data={"parent": d})

    assert _rows() == before
