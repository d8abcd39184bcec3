"""A task's full history (with "restore this version"), and the deleted tasks managers can restore.

Every task view fetches the task through `selectors.task_detail` (404 for a
reader who may not see it) and changes it only through tasks.restore. A
refusal is a readable message with the fitting status: 400 bad input (a version
that cannot be restored), 403 not a manager, 404 not visible.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from crm import history
from crm.history_text import Names, format_moment
from crm.views import paginate, querystring_without

from . import restore, selectors
from .history_panels import task_history_querysets
from .models import Task

HistoricalTask = Task.history.model


def _history_context(request, task):
    page = history.history_page(request, task_history_querysets(task), about=("tasks.task", task.pk))
    latest = HistoricalTask.objects.filter(id=task.pk).order_by("-history_id").values_list(
        "history_id", flat=True).first()
    return {
        "task": task, "page": page, "qs_no_page": querystring_without(request, "page"),
        "can_restore": restore.can_restore_version(request.user, task), "latest_history_id": latest,
    }


@require_http_methods(["GET", "HEAD"])
def task_history_view(request, pk):
    task = selectors.task_detail(user=request.user, pk=pk)
    return render(request, "crm/history/task_history.html", _history_context(request, task))


@require_POST
def task_restore_version_view(request, pk, history_id):
    task = selectors.task_detail(user=request.user, pk=pk)
    if not restore.can_restore_version(request.user, task):
        raise PermissionDenied("Only team managers and staff can restore an earlier version of a task they may change.")
    record = HistoricalTask.objects.filter(id=task.pk, history_id=history_id).first()
    try:
        task = restore.task_restore_version(task=task, user=request.user, history_id=history_id)
    except ValidationError as exc:
        messages.error(request, "Nothing was restored: " + " ".join(exc.messages))
        return render(request, "crm/history/task_history.html", _history_context(request, task), status=400)
    messages.success(request, f"“{task.title}” is back as it was on {format_moment(record.history_date)}.")
    return redirect("activity:task_history", task.pk)


def _linked_labels(rows):
    """"Organization “Acme”" for each deleted task's link, one query per kind of entity."""
    from django.contrib.contenttypes.models import ContentType

    from crm import links

    names = Names()
    for row in rows:
        if row.content_type_id and row.object_id:
            names.want(ContentType.objects.get_for_id(row.content_type_id).model_class(), row.object_id)
    names.resolve()
    for row in rows:
        row.linked_label = ""
        if row.content_type_id and row.object_id:
            model = ContentType.objects.get_for_id(row.content_type_id).model_class()
            entry = links.for_model(model) if model else None
            row.linked_label = f"{entry.label if entry else 'Record'} “{names.get(model, row.object_id)}”"


def _deleted_context(request):
    page = paginate(request, restore.deleted_tasks(request.user))
    page.object_list = list(page.object_list)
    _linked_labels(page.object_list)
    return {"page": page, "qs_no_page": querystring_without(request, "page")}


@require_http_methods(["GET", "HEAD"])
def deleted_tasks_view(request):
    if not restore.is_manager(request.user):
        raise PermissionDenied("Only team managers and staff can see and restore deleted tasks.")
    return render(request, "crm/history/deleted_tasks.html", _deleted_context(request))


@require_POST
def task_restore_deleted_view(request, pk):
    if not restore.is_manager(request.user):
        raise PermissionDenied("Only team managers and staff can restore deleted tasks.")
    try:
        task = restore.task_restore_deleted(user=request.user, task_id=pk)
    except Task.DoesNotExist:
        raise Http404("No such deleted task.") from None
    except ValidationError as exc:
        messages.error(request, "Nothing was restored: " + " ".join(exc.messages))
        return render(request, "crm/history/deleted_tasks.html", _deleted_context(request), status=400)
    messages.success(request, f"“{task.title}” is restored.")
    return redirect(reverse("tasks:detail", args=[task.pk]))
