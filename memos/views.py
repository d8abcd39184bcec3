"""Memo pages: the list (sent to me / sent by me / by status), a memo's page with its actions,
write/edit/delete, send, review or postpone, convert into a task or a project, reminders.

Every view fetches its memo through `access.get_memo_for_user` (404 for anyone who may not
see it; 403 for a reader who tries what only the author or recipient may do) and changes it
only through memos.services. Bad input shows the page again with the reason (400).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from crm import attachments, discussion

from . import access, selectors, services
from .forms import (
    ConvertProjectForm, ConvertTaskForm, MemoForm, ReminderForm, ReviewForm, apply_errors, tomorrow_morning,
)
from .models import Memo, MemoReminder, MemoStatus


def _error_text(exc):
    return " ".join(exc.messages)


@require_http_methods(["GET", "HEAD"])
def memo_list_view(request):
    user = request.user
    boxes = selectors.boxes_for(user)
    box = request.GET.get("box") or "inbox"
    status = request.GET.get("status") or ""
    errors = []
    if box not in dict(boxes):
        errors.append(f"“{box}” is not a list of memos.")
        box = "inbox"
    if status and status not in MemoStatus.values:
        errors.append(f"“{status}” is not a memo status.")
        status = ""
    qs = selectors.memo_list(user=user, box=box, status=status or None)
    page = Paginator(qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.decorate(page.object_list)
    status_links = [{"value": "", "label": "Any status", "active": not status}] + [
        {"value": value, "label": label, "active": value == status} for value, label in MemoStatus.choices
        if not (box == "inbox" and value == MemoStatus.DRAFT)]
    return render(request, "memos/memo_list.html", {
        "page": page, "box": box, "boxes": boxes, "status": status, "status_links": status_links,
        "errors": errors, "counts": selectors.box_counts(user),
        "qs_no_page": f"box={box}" + (f"&status={status}" if status else ""),
    }, status=400 if errors else 200)


def _get(request, pk):
    return access.get_memo_for_user(request.user, pk, Memo.objects.select_related(
        "author", "recipient", "content_type", "converted_task", "converted_project"))


def _detail_context(request, memo, **forms):
    user = request.user
    can_act = access.can_act(user, memo)
    decorated = selectors.decorate([memo])[0]
    became = None
    if memo.converted_task_id and memo.converted_task is not None:
        from tasks import access as task_access

        became = {"kind": "task", "object": memo.converted_task,
                  "visible": task_access.can_view(user, memo.converted_task)}
    elif memo.converted_project_id and memo.converted_project is not None:
        from projects import access as project_access

        became = {"kind": "project", "object": memo.converted_project,
                  "visible": project_access.can_view(user, memo.converted_project)}
    reminders = list(MemoReminder.objects.filter(memo=memo, user=user, sent_at__isnull=True).order_by("remind_at"))
    context = {
        "memo": memo, "entity": memo.entity if memo.content_type_id else None,
        "can_edit": access.can_edit(user, memo), "can_act": can_act, "can_delete": access.can_delete(user, memo),
        "can_remind": user.pk in (memo.author_id, memo.recipient_id),
        "progress": decorated.progress, "became": became, "reminders": reminders,
        "review_form": forms.get("review_form") or (ReviewForm(auto_id="review_%s") if can_act else None),
        "task_form": forms.get("task_form") or (
            ConvertTaskForm(initial={"title": memo.subject, "assignee": user.pk})
            if can_act else None),
        "project_form": forms.get("project_form") or (
            ConvertProjectForm(auto_id="project_%s", user=user, initial={"name": memo.subject}) if can_act else None),
        "reminder_form": forms.get("reminder_form") or ReminderForm(initial={"remind_at": tomorrow_morning()}),
        "discussion": discussion.card_context(obj=memo, user=user),
        "files": attachments.card_context(obj=memo, user=user, may_moderate=access.can_moderate(user, memo)),
    }
    return context


@require_http_methods(["GET", "HEAD"])
def memo_detail_view(request, pk):
    memo = _get(request, pk)
    return render(request, "memos/memo_detail.html", _detail_context(request, memo))


def _refuse(request, memo, status, message, **forms):
    messages.error(request, message)
    memo = _get(request, memo.pk)
    return render(request, "memos/memo_detail.html", _detail_context(request, memo, **forms), status=status)


# ---- write / edit / delete ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def memo_create_view(request):
    from tasks.forms import initial_entity

    initial = {}
    entity = initial_entity(request.GET)
    if entity is not None:
        initial["entity"] = entity
    form = MemoForm(request.POST or None, author=request.user, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            send = "send" in request.POST
            try:
                memo = services.memo_create(author=request.user, recipient=form.cleaned_data["recipient"],
                                            subject=form.cleaned_data["subject"], body=form.cleaned_data["body"],
                                            entity=form.cleaned_data["entity"], send=send)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Memo “{memo.subject}” sent to {_name(memo.recipient)}." if send
                                 else f"Memo “{memo.subject}” saved as a draft.")
                return redirect(memo)
        messages.error(request, "The memo was not saved: please correct the errors below.")
        return render(request, "memos/memo_form.html", {"form": form}, status=400)
    return render(request, "memos/memo_form.html", {"form": form})


def _name(user):
    return user.get_full_name() or user.username


@require_http_methods(["GET", "POST"])
def memo_edit_view(request, pk):
    memo = _get(request, pk)
    access.require(access.can_edit(request.user, memo),
                   "Only the author may change a memo, and only before it is sent.")
    form = MemoForm(request.POST or None, author=request.user, memo=memo)
    if request.method == "POST":
        if form.is_valid():
            try:
                memo = services.memo_update(memo=memo, user=request.user, recipient=form.cleaned_data["recipient"],
                                            subject=form.cleaned_data["subject"], body=form.cleaned_data["body"],
                                            entity=form.cleaned_data["entity"])
                if "send" in request.POST:
                    memo = services.memo_send(memo=memo, user=request.user)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Memo “{memo.subject}” sent to {_name(memo.recipient)}."
                                 if memo.status == MemoStatus.SENT else f"Memo “{memo.subject}” saved.")
                return redirect(memo)
        messages.error(request, "The memo was not saved: please correct the errors below.")
        return render(request, "memos/memo_form.html", {"form": form, "memo": memo}, status=400)
    return render(request, "memos/memo_form.html", {"form": form, "memo": memo})


@require_http_methods(["GET", "POST"])
def memo_delete_view(request, pk):
    memo = _get(request, pk)
    access.require(access.can_delete(request.user, memo), "Only the author may delete a draft.")
    if request.method == "POST":
        services.memo_delete(memo=memo, user=request.user)
        messages.success(request, f"Memo “{memo.subject}” deleted.")
        return redirect(reverse("memos:list") + "?box=sent")
    return render(request, "memos/memo_confirm_delete.html", {"memo": memo})


# ---- actions -------------------------------------------------------------------------------------


@require_POST
def memo_send_view(request, pk):
    memo = _get(request, pk)
    access.require(memo.author_id == request.user.pk, "Only the author may send a memo.")
    try:
        memo = services.memo_send(memo=memo, user=request.user)
    except ValidationError as exc:
        return _refuse(request, memo, 400, _error_text(exc))
    messages.success(request, f"Memo sent to {_name(memo.recipient)}.")
    return redirect(memo)


@require_POST
def memo_review_view(request, pk):
    memo = _get(request, pk)
    access.require(memo.recipient_id == request.user.pk, "Only the memo's recipient may review it.")
    form = ReviewForm(request.POST, auto_id="review_%s")
    if not form.is_valid():
        return _refuse(request, memo, 400, "Choose to mark the memo reviewed or postpone it.", review_form=form)
    try:
        memo = services.memo_review(memo=memo, user=request.user, decision=form.cleaned_data["decision"],
                                    note=form.cleaned_data["note"])
    except ValidationError as exc:
        return _refuse(request, memo, 400, _error_text(exc), review_form=form)
    messages.success(request, f"Memo marked {memo.get_status_display().lower()}; {_name(memo.author)} is told.")
    return redirect(memo)


@require_POST
def memo_convert_task_view(request, pk):
    memo = _get(request, pk)
    access.require(memo.recipient_id == request.user.pk, "Only the memo's recipient may turn it into a task.")
    form = ConvertTaskForm(request.POST)
    if form.is_valid():
        fields = form.service_fields()
        title = fields.pop("title")
        try:
            task = services.memo_convert_to_task(memo=memo, user=request.user, title=title, **fields)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"The memo is now the task “{task.title}”.")
            return redirect(task)
    return _refuse(request, memo, 400, "No task was made: see below. "
                   + " ".join(m for e in form.non_field_errors().as_data() for m in e.messages), task_form=form)


@require_POST
def memo_convert_project_view(request, pk):
    memo = _get(request, pk)
    access.require(memo.recipient_id == request.user.pk, "Only the memo's recipient may turn it into a project.")
    form = ConvertProjectForm(request.POST, auto_id="project_%s", user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            project = services.memo_convert_to_project(memo=memo, user=request.user, name=data["name"],
                                                       template=data["template"], start_date=data["start_date"],
                                                       team=data["team"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"The memo is now the project “{project.name}”.")
            return redirect(project)
    return _refuse(request, memo, 400, "No project was made: see below. "
                   + " ".join(m for e in form.non_field_errors().as_data() for m in e.messages), project_form=form)


@require_POST
def memo_remind_view(request, pk):
    memo = _get(request, pk)
    form = ReminderForm(request.POST)
    if form.is_valid():
        try:
            reminder = services.memo_remind(memo=memo, user=request.user, remind_at=form.cleaned_data["remind_at"],
                                            note=form.cleaned_data["note"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            when = timezone.localtime(reminder.remind_at)
            messages.success(request, f"You will be reminded on {when:%d %b %Y at %H:%M}.")
            return redirect(memo.get_absolute_url() + "#reminders")
    return _refuse(request, memo, 400, "No reminder was set: see below.", reminder_form=form)


@require_POST
def memo_reminder_delete_view(request, pk, reminder_pk):
    memo = _get(request, pk)
    reminder = get_object_or_404(MemoReminder, pk=reminder_pk, memo=memo, user=request.user)
    services.memo_reminder_delete(reminder=reminder, user=request.user)
    messages.success(request, "Reminder removed.")
    return redirect(memo.get_absolute_url() + "#reminders")
