"""A deleted project task comes back under its stage gate; one whose project is gone comes back outside it."""

import pytest

from projects import services as project_services
from projects.tests.helpers import add, finish, statuses
from tasks import restore, services
from tasks.models import Task

pytestmark = pytest.mark.django_db


def test_a_waiting_task_restored_waits_again_behind_its_stage(project, stages, owner, staff):
    order = add(project, stages[0], "Order the line")
    cable = add(project, stages[1], "Lay the cable")
    services.task_delete(task=cable, user=owner)

    restore.task_restore_deleted(user=staff, task_id=cable.pk)

    assert statuses(project) == {"Order the line": ("pending", False), "Lay the cable": ("blocked", True)}
    finish(order, owner)
    assert statuses(project)["Lay the cable"] == ("pending", False)


def test_a_task_of_a_deleted_project_comes_back_outside_any_project(project, stages, owner, staff):
    add(project, stages[0], "Order the line")
    cable = add(project, stages[1], "Lay the cable")
    services.task_delete(task=cable, user=owner)
    project_services.project_delete(project=project, user=owner)

    restored = restore.task_restore_deleted(user=staff, task_id=cable.pk)

    assert Task.objects.filter(pk=restored.pk).values_list("title", "project", "stage", "status").get() == (
        "Lay the cable", None, None, "pending")
