"""Task pages: the list, a task's page and its actions, create/edit/delete, bulk actions.

Every view fetches its task through `selectors.task_detail` (404 for a user who
may not see it) and changes it only through `tasks.services`, so each rule is
enforced in one place. A refusal comes back as a readable message with the
status that fits: 400 invalid input, 403 not allowed (the user sees the task but
may not change it), 404 not visible, 409 a lost race (stale edit, already
claimed). Pages work without JavaScript; htmx only makes ticking checklist items
smoother.
"""

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from crm import links
from crm.choices import Priority
from crm.views import next_url

from . import access, panels, recurrence, selectors, services
from .filters import QUICK_VIEWS
from .forms import (
    AssignForm, ChecklistItemForm, CompleteForm, ParticipantForm, TaskForm, active_users, apply_service_errors,
    initial_entity, user_label,
)
from .models import CLOSED_STATUSES, ChecklistItem, Participant, Task, TaskStatus, subtree_q

S = TaskStatus

# ---- shared helpers ---------------------------------------------------------------------


def _get_task(request, pk):
    """The task with its relations, or 404 for anyone who may not see it."""
    return selectors.task_detail(user=request.user, pk=pk)


def _require_edit(request, task):
    if not access.can_edit(request.user, task):
        raise PermissionDenied("You can see this task but you may not change it.")


def _query(params, **changes):
    """The query string `params` with some parameters replaced (a list sets several, None removes)."""
    query = params.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            query.setlist(name, list(value))
        else:
            query[name] = value
    return query.urlencode()


# ---- the task table (list page and entity tab) -------------------------------------------

STATUS_LINKS = [
    ("open", "Open", None),
    ("completed", "Completed", [S.COMPLETED.value]),
    ("cancelled", "Cancelled", [S.CANCELLED.value]),
    ("all", "All", list(S.values)),
]


def _current_status_link(selected):
    if not selected:
        return "open"
    for key, _label, values in STATUS_LINKS:
        if values and set(selected) == set(values):
            return key
    return ""


def _friendlier_filter_labels(form):
    """Words for the filter bar's empty choices (the form is already validated: its bound fields are cached)."""
    form.fields["team"].empty_label = "Any team"
    entity_type = form.fields["entity_type"]
    entity_type.empty_label = "Anything"
    entity_type.choices = [choice for choice in entity_type.choices if choice[0] != ""]
    form["entity"].label = "Entity #"


def task_table_context(request, *, base=None, entity=None):
    """What templates/tasks/includes/task_table.html and its filter bar need.

    A fixed number of queries whatever the number of rows: the rows with their
    relations (selectors.task_rows), one count, the filter choices. Returns
    (context, status): 400 when the filters are invalid.
    """
    user = request.user
    params = request.GET
    filterset, qs = selectors.task_list(user=user, params=params, base=base)
    invalid = filterset.is_bound and not filterset.is_valid()
    _friendlier_filter_labels(filterset.form)
    page = Paginator(qs, settings.PAGE_SIZE).get_page(params.get("page"))
    page.object_list = selectors.decorate_rows(page.object_list, user)

    view = params.get("view", "")
    quick_views = [{"key": "", "label": "All", "url": "?", "active": not view}] + [
        {"key": key, "label": label, "url": f"?view={key}", "active": view == key}
        for key, label in QUICK_VIEWS
    ]
    selected_statuses = params.getlist("status")
    current_status = _current_status_link(selected_statuses)
    status_links = [
        {"key": key, "label": label, "active": key == current_status,
         "url": "?" + _query(params, status=values, page=None)}
        for key, label, values in STATUS_LINKS
    ]
    filter_entity = None
    if entity is None and params.get("entity_type") and params.get("entity", "").isdigit():
        entry = links.get(params["entity_type"])
        if entry is not None and len(params["entity"]) < 19:
            filter_entity = entry.model.objects.filter(pk=int(params["entity"])).first()
    new_task_url = reverse("tasks:create")
    if entity is not None:
        entry = links.for_model(type(entity))
        new_task_url += f"?entity_type={entry.key}&entity={entity.pk}"

    context = {
        "filter": filterset,
        "filter_invalid": invalid,
        "page": page,
        "current_order": "" if "o" in filterset.errors else params.get("o", ""),
        "qs_no_page": _query(params, page=None),
        "qs_no_order": _query(params, page=None, o=None),
        "quick_views": quick_views,
        "status_links": status_links,
        "selected": {name: params.getlist(name) for name in ("status", "priority", "task_type")},
        "status_choices": S.choices,
        "priority_choices": Priority.choices,
        "type_choices": Task._meta.get_field("task_type").choices,
        "bulk_users": list(active_users()),
        "table_entity": entity,
        "filter_entity": filter_entity,
        "new_task_url": new_task_url,
        "next_url": request.get_full_path(),
    }
    return context, (400 if invalid else 200)


@require_http_methods(["GET", "HEAD"])
def task_list_view(request):
    context, status = task_table_context(request)
    return render(request, "tasks/task_list.html", context, status=status)


# ---- a task's page --------------------------------------------------------------------

ACTION_BUTTONS = {
    S.IN_PROGRESS: ("Start", "btn-primary"),
    S.WAITING: ("Waiting", "btn-outline-warning"),
    S.BLOCKED: ("Blocked", "btn-outline-danger"),
    S.CANCELLED: ("Cancel task", "btn-outline-secondary"),
}


def _status_actions(task):
    """Buttons for the status moves the rules allow from the task's status (completing has its own form)."""
    actions = []
    for status in (S.IN_PROGRESS, S.PENDING, S.WAITING, S.BLOCKED, S.CANCELLED):
        if status not in services.TRANSITIONS[task.status]:
            continue
        if status == S.PENDING:
            label, css = ("Reopen", "btn-outline-primary") if task.status in CLOSED_STATUSES else (
                "Back to pending", "btn-outline-secondary")
        elif status == S.IN_PROGRESS and task.status in (S.WAITING, S.BLOCKED):
            label, css = "Resume", "btn-primary"
        else:
            label, css = ACTION_BUTTONS[status]
        actions.append({"status": status.value, "label": label, "css": css})
    return actions


def _detail_context(request, task, **extra):
    user = request.user
    rows = selectors.subtree(task)
    progress = selectors.progress(rows)
    can_edit = access.can_edit(user, task)
    entity = task.entity if task.content_type_id else None
    ancestors = list(Task.objects.filter(pk__in=task.ancestor_ids()).only("pk", "title", "tree_path"))
    ancestors.sort(key=lambda t: t.tree_path.count("/"))
    participants = list(task.participants.select_related("user"))
    checklist = list(task.checklist.select_related("done_by"))
    context = {
        "task": task,
        "subtasks": rows,
        "progress": progress,
        "checklist": checklist,
        "participants": participants,
        "is_participant": any(p.user_id == user.pk for p in participants),
        "entity": entity,
        "entity_entry": links.for_content_type(task.content_type) if task.content_type_id else None,
        "ancestors": ancestors,
        "can_edit": can_edit,
        "can_claim": access.can_claim(user, task),
        "status_actions": _status_actions(task) if can_edit else [],
        "can_complete": can_edit and S.COMPLETED in services.TRANSITIONS[task.status],
        "assign_form": AssignForm(initial={"assignee": task.assignee_id}) if can_edit else None,
        "participant_form": ParticipantForm() if can_edit else None,
        "checklist_form": ChecklistItemForm() if can_edit else None,
        "checklist_done": sum(1 for item in checklist if item.is_done),
        "overdue": task.is_overdue(),
    }
    context["panels_main"] = panels.render_list(request, task, can_edit, panels.MAIN)
    context["panels_side"] = panels.render_list(request, task, can_edit, panels.SIDE)
    context.update(extra)
    return context


@require_http_methods(["GET", "HEAD"])
def task_detail_view(request, pk):
    task = _get_task(request, pk)
    return render(request, "tasks/task_detail.html", _detail_context(request, task))


def _refuse(request, pk, status, message):
    """Show the task's page again with the reason nothing changed."""
    messages.error(request, message)
    task = _get_task(request, pk)
    return render(request, "tasks/task_detail.html", _detail_context(request, task), status=status)


def _error_text(exc):
    return " ".join(exc.messages)


# ---- create / edit / delete -------------------------------------------------------------


def _create_initial(request):
    initial = {}
    params = request.GET
    parent_ref = (params.get("parent") or "").strip().lstrip("#")
    parent = None
    if parent_ref.isdigit() and len(parent_ref) < 19:
        parent = access.visible_tasks(request.user).select_related("content_type").filter(pk=int(parent_ref)).first()
    if parent is not None:
        initial["parent"] = str(parent.pk)
        initial["team"] = parent.team_id
        if parent.content_type_id and parent.entity is not None:
            initial["entity"] = parent.entity
    entity = initial_entity(params)
    if entity is not None:
        initial["entity"] = entity
    for name in ("task_type", "priority", "assignee", "team"):
        if params.get(name):
            initial[name] = params[name]
    if params.get("title"):
        initial["title"] = params["title"][:200]
    return initial, parent


def _previewing(request, form):
    """The "Preview dates" button: validate, keep only the errors about the repeat rule and the due date."""
    if request.method != "POST" or "preview" not in request.POST:
        return False
    form.is_valid()
    keep = set(form.builder_field_names())
    for name in list(form.errors):
        if name not in keep:
            del form.errors[name]
    return True


def _repeat_note(task):
    return f" It repeats: {task.series.describe()}." if task.series_id else ""


@require_http_methods(["GET", "POST"])
def task_create_view(request):
    initial, parent = _create_initial(request)
    form = TaskForm(request.POST or None, user=request.user, initial=initial)
    status = 200
    if _previewing(request, form):
        status = 200 if not form.errors else 400
    elif request.method == "POST":
        if form.is_valid():
            fields = form.service_fields()
            title = fields.pop("title")
            try:
                if form.schedule is not None:
                    task = recurrence.series_create(created_by=request.user, schedule=form.schedule, title=title,
                                                    entity=form.cleaned_data["entity"], tags=form.cleaned_data["tags"],
                                                    **fields)
                else:
                    task = services.task_create(created_by=request.user, title=title,
                                                entity=form.cleaned_data["entity"], tags=form.cleaned_data["tags"],
                                                **fields)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Task “{task.title}” created.{_repeat_note(task)}")
                return redirect(task)
        messages.error(request, "The task was not saved: please correct the errors below.")
        status = 400
    entity = initial.get("entity")
    cancel_url = (parent.get_absolute_url() if parent else
                  entity.get_absolute_url() if hasattr(entity, "get_absolute_url") else reverse("tasks:list"))
    return render(request, "tasks/task_form.html", {"form": form, "parent": parent, "cancel_url": cancel_url},
                  status=status)


@require_http_methods(["GET", "POST"])
def task_edit_view(request, pk):
    task = _get_task(request, pk)
    _require_edit(request, task)
    title = task.title
    stale_changes = None
    status = 200
    if request.method == "POST":
        form = TaskForm(request.POST, user=request.user, task=task)
        status = 400
        if _previewing(request, form):
            status = 200 if not form.errors else 400
        elif form.is_valid():
            data = form.cleaned_data
            edit = dict(task=task, user=request.user, data=form.service_fields(), version=data["version"],
                        snapshot=data["snapshot"], tags=data["tags"], entity=data["entity"])
            try:
                if form.series is not None:  # an occurrence of a repeating task: which ones change?
                    task = recurrence.task_save_in_series(scope=data.get("repeat_scope") or "this",
                                                          schedule=form.schedule, **edit)
                elif form.schedule is not None:  # starts repeating
                    task = recurrence.task_update_repeating(schedule=form.schedule, **edit)
                else:
                    task = services.task_update(**edit)
            except services.StaleEdit as exc:
                # Show what changed meanwhile; keep the user's input, now based on the current version.
                current = exc.task
                resubmit = request.POST.copy()
                resubmit["version"] = str(current.version)
                resubmit["snapshot"] = signing.dumps(services.task_snapshot(current))
                form = TaskForm(resubmit, user=request.user, task=current)
                form.is_valid()
                stale_changes = exc.changes
                messages.error(request, "Someone else changed this task while you were editing it, so your changes "
                                        "were not saved. Check what changed, then save again to apply your version.")
                status = 409
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Task “{task.title}” saved.")
                return redirect(task)
        if status == 400:
            messages.error(request, "The task was not saved: please correct the errors below.")
    else:
        form = TaskForm(user=request.user, task=task)
    return render(request, "tasks/task_form.html",
                  {"form": form, "task": task, "task_title": title, "stale_changes": stale_changes}, status=status)


@require_http_methods(["GET", "POST"])
def task_delete_view(request, pk):
    task = _get_task(request, pk)
    _require_edit(request, task)
    subtask_count = Task.objects.filter(subtree_q(task.subtree_prefix())).count()
    if request.method == "POST":
        parent_id = task.parent_id
        services.task_delete(task=task, user=request.user)
        messages.success(request, f"Task “{task.title}” deleted" + (
            f" with its {subtask_count} subtask(s)." if subtask_count else "."))
        if parent_id and access.visible_tasks(request.user).filter(pk=parent_id).exists():
            return redirect("tasks:detail", parent_id)
        return redirect("tasks:list")
    return render(request, "tasks/task_confirm_delete.html", {"task": task, "subtask_count": subtask_count})


# ---- status, claim, assign ------------------------------------------------------------------


@require_POST
def task_status_view(request, pk):
    task = _get_task(request, pk)
    status = request.POST.get("status", "")
    if status == S.COMPLETED:
        return task_complete_view(request, pk)
    _require_edit(request, task)
    try:
        task = services.task_change_status(task=task, user=request.user, status=status)
    except ValidationError as exc:
        return _refuse(request, pk, 400, _error_text(exc))
    messages.success(request, f"“{task.title}” is now {task.get_status_display().lower()}.")
    return redirect(next_url(request, task.get_absolute_url()))


@require_http_methods(["GET", "POST"])
def task_complete_view(request, pk):
    """Complete with an optional outcome; a parent with open subtasks asks what happens to them."""
    task = _get_task(request, pk)
    _require_edit(request, task)
    open_subtasks = selectors.progress(selectors.subtree(task))["open"]
    form = CompleteForm(request.POST if request.method == "POST" else None, open_subtasks=open_subtasks)
    if request.method == "POST":
        if form.is_valid():
            try:
                task = services.task_complete(task=task, user=request.user,
                                              outcome=form.cleaned_data["outcome"] or None,
                                              subtasks=form.cleaned_data.get("subtasks") or None)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"“{task.title}” is completed.")
                return redirect(task)
        messages.error(request, "The task was not completed: see below.")
    return render(request, "tasks/task_complete.html", {"task": task, "form": form},
                  status=400 if request.method == "POST" else 200)


@require_POST
def task_claim_view(request, pk):
    task = _get_task(request, pk)
    try:
        task = services.task_claim(task=task, user=request.user)
    except services.AlreadyClaimed as exc:
        if exc.by is not None and exc.by.pk == request.user.pk:
            return _refuse(request, pk, 409, "This task is already yours.")
        return _refuse(request, pk, 409, f"Too late: {user_label(exc.by) if exc.by else 'someone else'} "
                                         "already took this task.")
    except ValidationError as exc:
        return _refuse(request, pk, 400, _error_text(exc))
    messages.success(request, f"You took “{task.title}”.")
    return redirect(next_url(request, task.get_absolute_url()))


@require_POST
def task_assign_view(request, pk):
    """Assign, reassign or (with no one chosen) unassign."""
    task = _get_task(request, pk)
    if not (access.can_edit(request.user, task) or task.assignee_id == request.user.pk):
        raise PermissionDenied("You can see this task but you may not change who does it.")
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _refuse(request, pk, 400, " ".join(form.errors["assignee"]))
    assignee = form.cleaned_data["assignee"]
    try:
        if assignee is None:
            task = services.task_unassign(task=task, user=request.user)
            messages.success(request, f"“{task.title}” is now unassigned.")
        else:
            task = services.task_assign(task=task, user=request.user, assignee=assignee)
            messages.success(request, f"“{task.title}” is now assigned to {user_label(assignee)}.")
    except ValidationError as exc:
        return _refuse(request, pk, 400, _error_text(exc))
    return redirect(next_url(request, task.get_absolute_url()))


# ---- checklist ------------------------------------------------------------------------------


def _checklist_item(request, pk, item_pk):
    task = _get_task(request, pk)
    item = get_object_or_404(ChecklistItem.objects.select_related("done_by"), pk=item_pk, task=task)
    item.task = task
    return task, item


@require_POST
def checklist_add_view(request, pk):
    task = _get_task(request, pk)
    _require_edit(request, task)
    form = ChecklistItemForm(request.POST)
    if not form.is_valid():
        return _refuse(request, pk, 400, "Checklist: " + " ".join(form.errors["text"]))
    try:
        services.checklist_add(task=task, user=request.user, text=form.cleaned_data["text"])
    except ValidationError as exc:
        return _refuse(request, pk, 400, _error_text(exc))
    return redirect(task.get_absolute_url() + "#checklist")


@require_POST
def checklist_toggle_view(request, pk, item_pk):
    """Tick or untick. The form sends the wanted state (`done` = 1/0) so a double submit does no harm."""
    task, item = _checklist_item(request, pk, item_pk)
    _require_edit(request, task)
    wanted = request.POST.get("done")
    done = None if wanted not in ("0", "1") else wanted == "1"
    item = services.checklist_toggle(item=item, user=request.user, done=done)
    if request.headers.get("HX-Request"):
        return render(request, "tasks/includes/checklist_item.html", {"item": item, "task": task, "can_edit": True})
    return redirect(task.get_absolute_url() + "#checklist")


@require_POST
def checklist_delete_view(request, pk, item_pk):
    task, item = _checklist_item(request, pk, item_pk)
    _require_edit(request, task)
    services.checklist_delete(item=item, user=request.user)
    messages.success(request, f"Removed “{item.text}” from the checklist.")
    return redirect(task.get_absolute_url() + "#checklist")


@require_POST
def checklist_move_view(request, pk, item_pk):
    task, item = _checklist_item(request, pk, item_pk)
    _require_edit(request, task)
    try:
        services.checklist_move(item=item, user=request.user, direction=request.POST.get("direction", ""))
    except ValidationError as exc:
        return _refuse(request, pk, 400, _error_text(exc))
    return redirect(task.get_absolute_url() + "#checklist")


# ---- participants ----------------------------------------------------------------------------


@require_POST
def participant_add_view(request, pk):
    task = _get_task(request, pk)
    _require_edit(request, task)
    form = ParticipantForm(request.POST)
    if not form.is_valid():
        return _refuse(request, pk, 400, " ".join(msg for errors in form.errors.values() for msg in errors))
    user, role = form.cleaned_data["user"], form.cleaned_data["role"]
    try:
        services.participant_add(task=task, by=request.user, user=user, role=role)
    except ValidationError as exc:
        return _refuse(request, pk, 400, _error_text(exc))
    messages.success(request, f"{user_label(user)} takes part as {Participant.Role(role).label.lower()}.")
    return redirect(task.get_absolute_url() + "#participants")


@require_POST
def participant_remove_view(request, pk, user_pk):
    task = _get_task(request, pk)
    participant = get_object_or_404(Participant.objects.select_related("user"), task=task, user_id=user_pk)
    if participant.user_id != request.user.pk:
        _require_edit(request, task)
    services.participant_remove(task=task, by=request.user, user=participant.user)
    if participant.user_id == request.user.pk:
        messages.success(request, "You no longer take part in this task.")
        if not access.can_view(request.user, task):
            return redirect("tasks:list")
    else:
        messages.success(request, f"{user_label(participant.user)} no longer takes part in this task.")
    return redirect(task.get_absolute_url() + "#participants")


# ---- bulk actions ----------------------------------------------------------------------------


def _bulk_request(source):
    """(action, value) from `op=assign:5` (the list's one select) or `action=assign&value=5`."""
    op = source.get("op")
    if op:
        action, _sep, value = op.partition(":")
        return action, value
    return source.get("action", ""), source.get("value", "")


def _bulk_describe(action, value):
    """A readable description of the action, or raise ValidationError for a bad action or value."""
    if action not in services.BULK_ACTIONS:
        raise ValidationError(f"“{action}” is not a bulk action." if action else "Choose an action.")
    if action == "assign":
        if not value:
            return "Unassign", None
        user = active_users().filter(pk=int(value)).first() if value.isdigit() and len(value) < 19 else None
        if user is None:
            raise ValidationError("Choose an active user to assign the tasks to.")
        return f"Assign to {user_label(user)}", user
    if action == "status":
        if value not in S.values:
            raise ValidationError(f"“{value}” is not a task status.")
        return f"Set status to “{S(value).label}”", None
    if action == "priority":
        if value not in Priority.values:
            raise ValidationError(f"“{value}” is not a priority.")
        return f"Set priority to “{Priority(value).label}”", None
    return "Delete (with their subtasks)", None


@require_http_methods(["GET", "POST"])
def task_bulk_view(request):
    """Confirm (GET) then apply (POST) one action to the selected tasks: all of them or none."""
    source = request.POST if request.method == "POST" else request.GET
    action, value = _bulk_request(source)
    raw_ids = source.getlist("ids")
    back = next_url(request, reverse("tasks:list"))
    context = {"action": action, "value": value, "back": back, "tasks": [], "allowed": False}
    try:
        if not raw_ids:
            raise ValidationError("Select at least one task.")
        if not all(i.isdigit() and len(i) < 19 for i in raw_ids):
            raise ValidationError("The selection is not valid.")
        description, _ = _bulk_describe(action, value)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return render(request, "tasks/bulk_confirm.html", context, status=400)
    ids = sorted({int(i) for i in raw_ids})
    tasks = selectors.decorate_rows(
        access.visible_tasks(request.user, Task.objects.filter(pk__in=ids))
        .select_related("assignee", "team").order_by("due_at", "pk"),
        request.user,
    )
    context.update({"tasks": tasks, "ids": ids, "description": description, "hidden_count": len(ids) - len(tasks)})
    if len(tasks) != len(ids) or not all(t.user_can_edit for t in tasks):
        messages.error(request, "You may not change some of the selected tasks, so nothing was changed.")
        return render(request, "tasks/bulk_confirm.html", context, status=403)
    if request.method == "POST":
        try:
            result = services.tasks_bulk(user=request.user, task_ids=ids, action=action, value=value or None)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or "You may not change some of the selected tasks.")
            return render(request, "tasks/bulk_confirm.html", context, status=403)
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            return render(request, "tasks/bulk_confirm.html", context, status=400)
        messages.success(request, f"{description}: {result.changed} task(s) changed.")
        return redirect(back)
    context["allowed"] = True
    return render(request, "tasks/bulk_confirm.html", context)

