"""Real races on stage gates and dependencies: two threads, each with its own database connection.

Written for PostgreSQL (row locks on the project, an advisory lock on the dependency graph);
they also run on SQLite, whose write transactions serialise.
"""

import pytest
from django.core.exceptions import ValidationError

from crm.testing.concurrency import run_at_once
from projects import dependencies, services
from projects.models import StageHold, TaskDependency
from tasks import services as task_services
from tasks.models import Task
from tasks.tests.factories import TaskFactory

ROUNDS = 3


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_last_two_stage_1_tasks_completed_at_once_open_stage_2(transactional_db, owner, round_):
    project = services.project_create(user=owner, name="Race", stages=["One", "Two"])
    one, two = project.stages.order_by("position")
    a = services.project_task_add(project=project, user=owner, title="A", stage=one)
    b = services.project_task_add(project=project, user=owner, title="B", stage=one)
    services.project_task_add(project=project, user=owner, title="C", stage=two)
    a = task_services.task_start(task=a, user=owner)
    b = task_services.task_start(task=b, user=owner)

    results = run_at_once(lambda: task_services.task_complete(task=a, user=owner),
                          lambda: task_services.task_complete(task=b, user=owner))

    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert Task.objects.get(title="C").status == "pending"
    assert StageHold.objects.count() == 0


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_opposite_dependencies_added_at_once_never_make_a_loop(transactional_db, owner, round_):
    a = TaskFactory(title="A", created_by=owner)
    b = TaskFactory(title="B", created_by=owner)

    results = run_at_once(lambda: dependencies.dependency_add(successor=a, predecessor=b, user=owner),
                          lambda: dependencies.dependency_add(successor=b, predecessor=a, user=owner))

    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    refused = next(value for kind, value in results if kind == "error")
    assert isinstance(refused, ValidationError)
    assert TaskDependency.objects.count() == 1
