"""Time tracking pages: the timer (start/stop from the task page, the task list and my day),
time entries (add, edit, delete) and /time/ (my time and the time report).

Views fetch the task through tasks.access (404 for a task the user cannot see)
and change entries only through tasks.timetracking. Refusals come back as a
readable message with a 4xx: 400 bad input, 403 not allowed, 404 not visible,
409 nothing to stop.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from crm.views import next_url

from . import access, timetracking
from .context_processors import running_timer_for
from .forms_time import TimeEntryForm, TimerStopForm, apply_errors
from .models_time import TimeEntry
from .selectors_time import annotate_entries, hours, sees_everyones_time, time_report, visible_entries, \
    with_billing_state


def _title(task):
    return f"“{task.title}”"


def _get_entry(request, pk):
    """The entry if its task is visible to the user (or it is their own), else 404."""
    user = request.user
    entry = (TimeEntry.objects.select_related("task", "user")
             .filter(Q(user=user) | Q(task__in=access.visible_tasks(user).values("pk")), pk=pk).first())
    if entry is None:
        raise Http404("No such time entry.")
    return entry


# ---- timer ---------------------------------------------------------------------------------

@require_POST
def timer_start_view(request, pk):
    task = access.get_task_for_user(request.user, pk)
    try:
        result = timetracking.timer_start(user=request.user, task=task)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return render(request, "tasks/time/timer_problem.html", {"task": task}, status=409)
    if result.already_running:
        messages.info(request, f"The timer on {_title(task)} is already running.")
    else:
        if result.stopped is not None:
            messages.info(request, f"Stopped the timer on {_title(result.stopped.task)} "
                                   f"({hours(result.stopped.duration)} h).")
        messages.success(request, f"Timer started on {_title(task)}.")
    return redirect(next_url(request, task.get_absolute_url() + "#time"))


@require_http_methods(["GET", "POST"])
def timer_stop_view(request):
    """POST stops the running timer now (or at `stop_at`); GET shows the form to choose the end."""
    running = running_timer_for(request)
    form = TimerStopForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                entry = timetracking.timer_stop(user=request.user, ended_at=form.cleaned_data["stop_at"])
            except ValidationError as exc:
                if getattr(exc, "code", None) == "not_running":
                    messages.error(request, " ".join(exc.messages))
                    status = 409
                else:
                    apply_errors(form, exc)
                    status = 400
            else:
                messages.success(request, f"Stopped the timer on {_title(entry.task)}: {hours(entry.duration)} h.")
                return redirect(next_url(request, entry.task.get_absolute_url() + "#time"))
        else:
            status = 400
    if status == 400:
        messages.error(request, "The timer was not stopped: see below.")
    return render(request, "tasks/time/timer_stop.html", {
        "form": form, "running": running, "flagged": running is not None and running.is_flagged(),
        "next": next_url(request, ""),
    }, status=status)


# ---- entries -------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def entry_create_view(request, pk):
    task = access.get_task_for_user(request.user, pk)
    form = TimeEntryForm(request.POST if request.method == "POST" else None,
                         initial={"date": timezone.localdate(), "billable": True})
    if request.method == "POST":
        if form.is_valid():
            try:
                entry = timetracking.time_entry_create(user=request.user, task=task, **form.service_values())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Added {hours(entry.duration)} h to {_title(task)}.")
                return redirect(task.get_absolute_url() + "#time")
        messages.error(request, "The time was not added: please correct the errors below.")
    return render(request, "tasks/time/entry_form.html", {"form": form, "task": task},
                  status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def entry_edit_view(request, entry_pk):
    entry = _get_entry(request, entry_pk)
    if not timetracking.can_change_entry(request.user, entry):
        raise PermissionDenied("Only the person who tracked this time, or someone who may edit the task, can "
                               "change it.")
    running = entry.ended_at is None
    if request.method == "POST":
        form = TimeEntryForm(request.POST, running=running)
        if form.is_valid():
            try:
                entry = timetracking.time_entry_update(user=request.user, entry=entry, **form.service_values())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Time entry on {_title(entry.task)} saved.")
                return redirect(next_url(request, entry.task.get_absolute_url() + "#time"))
        messages.error(request, "The time entry was not saved: please correct the errors below.")
        status = 400
    else:
        form = TimeEntryForm(running=running, entry=entry)
        status = 200
    return render(request, "tasks/time/entry_form.html", {
        "form": form, "task": entry.task, "entry": entry, "locked": timetracking.locked_reason(entry),
        "next": next_url(request, ""),
    }, status=status)


@require_http_methods(["GET", "POST"])
def entry_delete_view(request, entry_pk):
    entry = _get_entry(request, entry_pk)
    if not timetracking.can_change_entry(request.user, entry):
        raise PermissionDenied("Only the person who tracked this time, or someone who may edit the task, can "
                               "delete it.")
    locked = timetracking.locked_reason(entry)
    if request.method == "POST":
        try:
            timetracking.time_entry_delete(user=request.user, entry=entry)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return render(request, "tasks/time/entry_confirm_delete.html",
                          {"entry": entry, "locked": locked, "next": next_url(request, "")}, status=400)
        messages.success(request, f"Deleted {hours(entry.elapsed())} h on {_title(entry.task)}.")
        return redirect(next_url(request, entry.task.get_absolute_url() + "#time"))
    return render(request, "tasks/time/entry_confirm_delete.html",
                  {"entry": entry, "locked": locked, "next": next_url(request, "")})


# ---- /time/: my time and the report --------------------------------------------------------

def _parse_date(text):
    try:
        return date.fromisoformat((text or "").strip()) if (text or "").strip() else None
    except ValueError:
        return "invalid"


@require_http_methods(["GET", "HEAD"])
def time_index_view(request):
    """The entries the user may see in a date range (default: this month) and hours by user,
    entity, type and period. A fixed number of queries whatever the number of entries."""
    user = request.user
    params = request.GET
    today = timezone.localdate()
    errors = []
    date_from = _parse_date(params.get("from"))
    date_to = _parse_date(params.get("to"))
    if date_from == "invalid" or date_to == "invalid":
        errors.append("Enter dates as YYYY-MM-DD.")
        date_from = date_to = None
    if date_from is None and not params.get("from"):
        date_from = today.replace(day=1)
    if date_from and date_to and date_to < date_from:
        errors.append("The end of the period cannot be before its start.")
        date_to = None
    period = params.get("period", "week")
    if period not in ("day", "week", "month"):
        errors.append("Group the period by day, week or month.")
        period = "week"
    everyone = sees_everyones_time(user) or bool(access.managed_team_ids(user))
    who = params.get("user", "" if everyone else str(user.pk))
    billable = params.get("billable", "")

    tz = timezone.get_current_timezone()
    qs = visible_entries(user)
    if date_from:
        qs = qs.filter(started_at__gte=datetime.combine(date_from, time(0, 0), tzinfo=tz))
    if date_to:
        qs = qs.filter(started_at__lt=datetime.combine(date_to + timedelta(days=1), time(0, 0), tzinfo=tz))
    if who:
        if who.isdigit() and len(who) < 19:
            qs = qs.filter(user_id=int(who))
        else:
            errors.append("Choose a person from the list.")
    task_ref = params.get("task", "")
    if task_ref:
        if task_ref.isdigit() and len(task_ref) < 19:
            qs = qs.filter(task_id=int(task_ref))
        else:
            errors.append("The task filter must be a task number.")
    if billable in ("yes", "no"):
        qs = qs.filter(billable=billable == "yes")
    elif billable:
        errors.append("Choose billable, not billable or all.")
    if errors:
        qs = qs.none()

    report = time_report(qs, period=period)
    rows = with_billing_state(qs.select_related("task", "user", "task__content_type")
                              .prefetch_related("task__entity").order_by("-started_at", "-pk"))
    page = Paginator(rows, settings.PAGE_SIZE).get_page(params.get("page"))
    page.object_list = annotate_entries(page.object_list, user)
    people = []
    if everyone:
        people = list(get_user_model().objects.filter(pk__in=visible_entries(user).values("user_id"))
                      .order_by("first_name", "last_name", "username"))
    query = params.copy()
    query.pop("page", None)
    return render(request, "tasks/time/index.html", {
        "page": page, "report": report, "errors": errors, "people": people, "everyone": everyone,
        "filters": {"from": date_from.isoformat() if date_from else "", "to": date_to.isoformat() if date_to else "",
                    "user": who, "billable": billable, "period": period, "task": task_ref},
        "qs_no_page": query.urlencode(),
    }, status=400 if errors else 200)
