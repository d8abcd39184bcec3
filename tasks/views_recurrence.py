"""Pages and actions of repeating tasks and reminders, and their panels on the task page.

- GET /tasks/recurrence/preview/: the next five dates of the rule in the task form's
  builder (htmx fragment; the form's "Preview dates" button does the same without JS).
- POST /tasks/<id>/repeat/stop/: stop repeating (recurrence.series_cancel).
- POST /tasks/<id>/reminders/ (add), .../<reminder>/delete/, .../<reminder>/snooze/.
- GET/POST /tasks/reminders/<reminder>/snooze/<token>/: the email's snooze link. It works
  without signing in: the signed token stands for that one reminder of that one user
  (tasks.reminders.reminder_from_token). GET only shows a button; the POST snoozes.

Every task action fetches the task through views._get_task (404 for outsiders) and
answers bad input with a readable message and a 4xx, changing nothing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from . import access, panels, recurrence, reminders
from .forms_recurrence import PreviewForm, ReminderForm
from .models_recurrence import SeriesStatus
from .models_reminders import Reminder, ReminderStatus
from .views import _get_task, _refuse, _require_edit


def _messages_of(exc):
    return " ".join(exc.messages)


# ---- the builder's preview ----------------------------------------------------------------


@require_http_methods(["GET"])
def recurrence_preview_view(request):
    """The preview fragment for the builder's current values. htmx swaps it in (so always 200 for htmx);
    a plain request with bad input gets 400."""
    form = PreviewForm(request.GET)
    valid = form.is_valid()
    status = 200 if valid or request.headers.get("HX-Request") else 400
    return render(request, "tasks/recurrence/preview_dates.html", {"preview": form.preview_context}, status=status)


# ---- stop repeating ------------------------------------------------------------------------


@require_POST
def series_stop_view(request, pk):
    task = _get_task(request, pk)
    _require_edit(request, task)
    if not task.series_id or not task.occurrence:
        return _refuse(request, pk, 400, "This task does not repeat.")
    try:
        cancelled = recurrence.series_cancel(series=task.series, user=request.user, keep=task)
    except ValidationError as exc:
        return _refuse(request, pk, 400, _messages_of(exc))
    plural = cancelled != 1
    note = (f" {cancelled} other upcoming occurrence{'s' if plural else ''} not started yet "
            f"{'were' if plural else 'was'} cancelled.") if cancelled else ""
    messages.success(request, f"“{task.title}” no longer repeats; this task stays.{note}")
    return redirect(task.get_absolute_url() + "#repeat")


# ---- reminders ------------------------------------------------------------------------------


@require_POST
def reminder_add_view(request, pk):
    task = _get_task(request, pk)
    can_edit = access.can_edit(request.user, task)
    form = ReminderForm(request.POST, task=task, can_edit=can_edit)
    if not form.is_valid():
        errors = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _refuse(request, pk, 400, f"The reminder was not added: {errors}")
    kind, offset, at, for_all = form.spec()
    try:
        made = reminders.reminder_add(task=task, by=request.user, kind=kind, offset=offset, at=at, for_all=for_all)
        given = 0
        if form.cleaned_data.get("every_occurrence") and made:
            given = recurrence.series_reminder_add(series=task.series, reminder=made[0])
    except PermissionDenied as exc:
        return _refuse(request, pk, 403, str(exc))
    except ValidationError as exc:
        return _refuse(request, pk, 400, f"The reminder was not added: {_messages_of(exc)}")
    if not made:
        messages.info(request, "That reminder was already set.")
    else:
        who = "you" if not for_all else ", ".join(sorted({r.user.get_full_name() or r.user.username for r in made}))
        extra = " It repeats with the task." if form.cleaned_data.get("every_occurrence") else ""
        if given:
            extra = f" It repeats with the task ({given} upcoming occurrence{'s' if given != 1 else ''} got it too)."
        what = f"at {timezone.localtime(at):%-d %b %Y, %H:%M}" if at else made[0].describe()
        messages.success(request, f"Reminder set for {who}: {what}.{extra}")
    return redirect(task.get_absolute_url() + "#reminders")


def _task_reminder(request, pk, reminder_pk):
    task = _get_task(request, pk)
    reminder = get_object_or_404(Reminder.objects.select_related("user"), pk=reminder_pk, task=task)
    if reminder.user_id != request.user.pk and not access.can_edit(request.user, task):
        # Someone else's reminder on a task the reader may only see: not theirs to know about.
        raise Http404("No such reminder.")
    reminder.task = task
    return task, reminder


@require_POST
def reminder_delete_view(request, pk, reminder_pk):
    task, reminder = _task_reminder(request, pk, reminder_pk)
    try:
        reminders.reminder_remove(reminder=reminder, by=request.user)
    except PermissionDenied as exc:
        return _refuse(request, pk, 403, str(exc))
    messages.success(request, "Reminder removed.")
    return redirect(task.get_absolute_url() + "#reminders")


@require_POST
def reminder_snooze_view(request, pk, reminder_pk):
    task, reminder = _task_reminder(request, pk, reminder_pk)
    try:
        reminder = reminders.reminder_snooze(reminder=reminder, minutes=request.POST.get("minutes"), by=request.user)
    except PermissionDenied as exc:
        return _refuse(request, pk, 403, str(exc))
    except ValidationError as exc:
        return _refuse(request, pk, 400, _messages_of(exc))
    messages.success(request, f"Snoozed: you will be reminded again at "
                              f"{timezone.localtime(reminder.remind_at):%H:%M on %a %-d %b}.")
    return redirect(task.get_absolute_url() + "#reminders")


@login_not_required
@require_http_methods(["GET", "POST"])
def reminder_snooze_link_view(request, pk, token):
    """The snooze link of a reminder email: a confirmation page (GET) and the snooze itself (POST)."""
    reminder = reminders.reminder_from_token(pk, token)
    if reminder is None:
        return render(request, "tasks/recurrence/reminder_snooze.html", {"invalid": True}, status=404)
    zone = reminders.user_zone(reminder.user)
    context = {"reminder": reminder, "task": reminder.task, "choices": reminders.SNOOZE_CHOICES,
               "chosen": request.GET.get("minutes") or request.POST.get("minutes") or "60", "zone": zone}
    if request.method == "POST":
        try:
            reminder = reminders.reminder_snooze(reminder=reminder, minutes=request.POST.get("minutes"))
        except ValidationError as exc:
            context["error"] = _messages_of(exc)
            return render(request, "tasks/recurrence/reminder_snooze.html", context, status=400)
        until = reminder.remind_at.astimezone(zone)  # said in the reminder's user's zone, signed in or not
        context.update(reminder=reminder, done=True, until_text=f"{until:%H:%M} on {until:%A %-d %B}")
    return render(request, "tasks/recurrence/reminder_snooze.html", context)


# ---- panels on the task page -----------------------------------------------------------------


def recurrence_panel_context(request, task, can_edit):
    if not task.series_id or not task.occurrence:
        return None
    context = recurrence.series_panel(task)
    context.update(can_edit=can_edit, task=task, stopped=task.series.status == SeriesStatus.CANCELLED,
                   ended=task.series.status == SeriesStatus.ENDED)
    return context


def reminders_panel_context(request, task, can_edit):
    rows = reminders.task_reminders_for(request.user, task)
    for row in rows:
        row.is_mine = row.user_id == request.user.pk
        row.can_snooze = row.is_mine and row.status in (ReminderStatus.PENDING, ReminderStatus.SENT,
                                                         ReminderStatus.FAILED)
        row.can_remove = row.is_mine or can_edit
    closed = not task.is_open
    return {
        "task": task, "reminders": rows, "can_edit": can_edit, "closed": closed,
        "form": None if closed else ReminderForm(task=task, can_edit=can_edit),
        "snooze_choices": reminders.SNOOZE_CHOICES,
    }


panels.register(panels.Panel(slug="recurrence", label="Repeats", order=10, column=panels.SIDE,
                             template="tasks/panels/recurrence.html", context=recurrence_panel_context))
panels.register(panels.Panel(slug="reminders", label="Reminders", order=12, column=panels.SIDE,
                             template="tasks/panels/reminders.html", context=reminders_panel_context))
