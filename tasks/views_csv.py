"""CSV pages for tasks: export the filtered list, and import a file in two steps (preview, confirm).

The export takes the task list's query string and goes through selectors.task_list,
so it holds exactly the tasks the list shows (same filters, same sort, only tasks
the user may see), all pages of them. The import keeps the uploaded rows in a
TaskImport between preview and confirmation; only its uploader may open it
(anyone else gets 404). Every change goes through tasks.csv_io's services.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from crm.views_export import csv_error, csv_response

from . import csv_io, selectors
from .models import TaskImport

PREVIEW_PAGE_SIZE = 100


@require_http_methods(["GET", "HEAD"])
def tasks_export(request):
    filterset, qs = selectors.task_list(user=request.user, params=request.GET)
    if filterset.is_bound and not filterset.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())
        return csv_error(f"The export could not be made: {problems}")
    filename = f"tasks-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename=filename, header=list(csv_io.COLUMNS), rows=csv_io.export_rows(qs))


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": "Choose a CSV file to import.", "empty": "The file is empty.",
                        "invalid": "Choose a CSV file to import."},
    )


def _limit_label():
    return f"{settings.UPLOAD_MAX_BYTES / (1024 * 1024):.0f} MB"


@require_http_methods(["GET", "HEAD", "POST"])
def tasks_import_upload(request):
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                task_import = csv_io.task_import_preview(user=request.user, uploaded=form.cleaned_data["file"])
            except csv_io.CSVFileError as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("task_import_preview", pk=task_import.pk)
        status = 400
    recent = TaskImport.objects.filter(user=request.user).defer("rows")[:5]
    return render(request, "tasks/csv/upload.html", {
        "form": form, "columns": csv_io.COLUMNS, "max_size": _limit_label(), "max_rows": csv_io.MAX_ROWS,
        "recent": recent,
    }, status=status)


def _get_import(request, pk):
    """The user's own import, or 404 (nobody else's file is shown or confirmed)."""
    return get_object_or_404(TaskImport, pk=pk, user=request.user)


def _preview_context(request, task_import):
    show = request.GET.get("show", "all")
    if show not in ("all", "errors"):
        show = "all"
    rows = task_import.rows if show == "all" else [r for r in task_import.rows if r["errors"]]
    page = Paginator(rows, PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row["error_list"] = [(column, message) for column, msgs in row["errors"].items() for message in msgs]
    return {
        "task_import": task_import, "page": page, "show": show, "modes": TaskImport.Mode.choices,
        "set_by_import": [c for c in csv_io.SET_BY_IMPORT if c in task_import.columns],
        "not_imported": [c for c in csv_io.NOT_IMPORTED if any(r["values"].get(c) for r in task_import.rows)],
        "qs_no_page": f"show={show}",
    }


@require_http_methods(["GET", "HEAD"])
def tasks_import_preview(request, pk):
    task_import = _get_import(request, pk)
    return render(request, "tasks/csv/preview.html", _preview_context(request, task_import))


@require_POST
def tasks_import_confirm(request, pk):
    task_import = _get_import(request, pk)
    mode = request.POST.get("mode", "")
    try:
        result = csv_io.tasks_import(task_import=task_import, user=request.user, mode=mode)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        status = 400
    except csv_io.ImportRefused as exc:
        messages.error(request, str(exc))
        status = 409 if exc.code == "already_done" else 400
    else:
        text = f"Imported {result.created} task{'s' if result.created != 1 else ''}."
        if result.skipped_lines:
            n = len(result.skipped_lines)
            text += f" Skipped {n} invalid row{'s' if n != 1 else ''}: see below."
        messages.success(request, text)
        return redirect("task_import_preview", pk=task_import.pk)
    task_import.refresh_from_db()
    return render(request, "tasks/csv/preview.html", _preview_context(request, task_import), status=status)


@require_POST
def tasks_import_discard(request, pk):
    task_import = _get_import(request, pk)
    if csv_io.task_import_discard(task_import=task_import, user=request.user):
        messages.success(request, f"The file {task_import.filename} was discarded; nothing was imported.")
    else:
        messages.info(request, "This file was already imported or discarded.")
    return redirect("tasks_import")
