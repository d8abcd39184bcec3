"""Helpers of the projects tests: add tasks to a project, read its state as a user would see it."""

from crm.models import Notification
from projects import services
from projects.models import StageHold
from tasks.models import Task


def add(project, stage, title, user=None, **fields):
    return services.project_task_add(project=project, user=user or project.owner, title=title, stage=stage, **fields)


def statuses(project):
    """{title: (status, held by the gate)} of every task of the project."""
    held = set(StageHold.objects.values_list("task_id", flat=True))
    return {t.title: (t.status, t.pk in held) for t in Task.objects.filter(project=project)}


def notes(verb=None):
    qs = Notification.objects.select_related("recipient").order_by("pk")
    if verb:
        qs = qs.filter(verb=verb)
    return [(n.recipient.username, n.verb, n.text) for n in qs]


def finish(task, user):
    """Start (if needed) and complete a task through the services, as its page would."""
    from tasks import services as task_services

    task = Task.objects.get(pk=task.pk)
    if task.status != "in_progress":
        task = task_services.task_start(task=task, user=user)
    return task_services.task_complete(task=task, user=user)
