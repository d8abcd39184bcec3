"""Real races on stage gates and dependencies: two threads, each with its own database connection.

Written for PostgreSQL (row locks on the project, an advisory lock on the dependency graph);
they also run on SQLite, whose write transactions serialise.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from projects import dependencies, services
from projects.models import StageHold, TaskDependency
from tasks import services as task_services
from tasks.models import Task
from tasks.tests.factories import TaskFactory

ROUNDS = 3


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test asserts
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_last_two_stage_1_tasks_completed_at_once_open_stage_2(transactional_db, owner, round_):
    project = services.project_create(user=owner, name="Race", stages=["One", "Two"])
    one, two = project.stages.order_by("position")
    a = services.project_task_add(project=project, user=owner, title="A", stage=one)
    b = services.project_task_add(project=project, user=owner, title="B", stage=one)
    services.project_task_add(project=project, user=owner, title="C", stage=two)
    a = task_services.task_start(task=a, user=owner)
    b = task_services.task_start(task=b, user=owner)

    results = _race(lambda: task_services.task_complete(task=a, user=owner),
                    lambda: task_services.task_complete(task=b, user=owner))

    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert Task.objects.get(title="C").status == "pending"
    assert StageHold.objects.count() == 0


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_opposite_dependencies_added_at_once_never_make_a_loop(transactional_db, owner, round_):
    a = TaskFactory(title="A", created_by=owner)
    b = TaskFactory(title="B", created_by=owner)

    results = _race(lambda: dependencies.dependency_add(successor=a, predecessor=b, user=owner),
                    lambda: dependencies.dependency_add(successor=b, predecessor=a, user=owner))

    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    refused = next(value for kind, value in results if kind == "error")
    assert isinstance(refused, ValidationError)
    assert TaskDependency.objects.count() == 1
