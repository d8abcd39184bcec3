"""Queries behind the time pages and the task page's Time panel: a fixed number of SQL queries
whatever the number of entries."""

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from crm import links
from crm.choices import TaskType

from .models import Task
from .models_time import TimeEntry


def user_label(user):
    if user is None:
        return "someone"
    return user.get_full_name() or user.username


def hours(value):
    """A timedelta as "1:05" (hours:minutes), the way time sheets show it."""
    if value is None:
        return "0:00"
    minutes = int(value.total_seconds() // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


# ---- who sees whose time --------------------------------------------------------------

def sees_everyones_time(user):
    """Staff, superusers and users allowed to view all time entries (the Billing group) see everyone's."""
    return user.is_staff or user.is_superuser or user.has_perm("tasks.view_timeentry")


def visible_entries(user, queryset=None):
    """Time entries `user` may see in reports: their own, their managed teams' members', or all."""
    from crm.models import TeamMembership

    from .access import managed_team_ids

    qs = TimeEntry.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return qs.none()
    if sees_everyones_time(user):
        return qs
    managed = managed_team_ids(user)
    q = Q(user=user)
    if managed:
        q |= Q(user__in=TeamMembership.objects.filter(team_id__in=managed).values("user_id"))
    return qs.filter(q)


# ---- history: "edited by X at Y, was ..." --------------------------------------------

def _span(record):
    start = timezone.localtime(record.started_at)
    if record.ended_at is None:
        return f"{start:%d %b %Y %H:%M}–running"
    end = timezone.localtime(record.ended_at)
    if not record.has_clock_times:
        return f"{start:%d %b %Y}, {hours(record.duration)} h"
    return f"{start:%d %b %Y %H:%M}–{end:%H:%M} ({hours(record.duration)} h)"


def _was(previous, latest):
    parts = []
    if (previous.started_at, previous.ended_at, previous.duration) != (latest.started_at, latest.ended_at,
                                                                       latest.duration):
        parts.append(_span(previous))
    if previous.note != latest.note:
        parts.append(f"note “{previous.note}”" if previous.note else "no note")
    if previous.billable != latest.billable:
        parts.append("billable" if previous.billable else "not billable")
    if previous.task_id != latest.task_id:
        parts.append(f"on task #{previous.task_id}")
    return ", ".join(parts)


def edit_notes(entries):
    """{entry id: "edited by X at Y, was ..."} for the entries edited after they were recorded. One query."""
    ids = [e.pk for e in entries]
    if not ids:
        return {}
    records = (TimeEntry.history.filter(id__in=ids).select_related("history_user")
               .order_by("id", "-history_id"))
    by_entry = {}
    for record in records:
        by_entry.setdefault(record.id, []).append(record)
    notes = {}
    for entry_id, history in by_entry.items():
        for index, record in enumerate(history):
            if record.history_change_reason == "edited" and index + 1 < len(history):
                when = timezone.localtime(record.history_date)
                was = _was(history[index + 1], record)
                notes[entry_id] = (f"edited by {user_label(record.history_user)} at {when:%d %b %Y %H:%M}"
                                   + (f", was {was}" if was else ""))
                break
    return notes


def annotate_entries(entries, user):
    """Give each entry `edit_note` and `user_can_change` without a query per entry."""
    from . import access

    entries = list(entries)
    notes = edit_notes(entries)
    editable_tasks = set()
    task_ids = {e.task_id for e in entries if e.user_id != user.pk}
    if task_ids:
        editable_tasks = set(access.visible_tasks(user, Task.objects.filter(pk__in=task_ids))
                             .filter(access.editable_q(user)).values_list("pk", flat=True))
    for entry in entries:
        entry.edit_note = notes.get(entry.pk, "")
        entry.user_can_change = entry.user_id == user.pk or entry.task_id in editable_tasks
        entry.locked = bool(getattr(entry, "billed_item_id", None))
    return entries


def with_billing_state(qs):
    """Annotate `billed_item_id` (the billable item that took the entry, if billables is installed)."""
    from django.apps import apps

    if apps.is_installed("billables"):
        from django.db.models import OuterRef, Subquery

        item_model = apps.get_model("billables", "BillableItem")
        return qs.annotate(billed_item_id=Subquery(
            item_model.objects.filter(source_entry=OuterRef("pk")).values("pk")[:1]))
    return qs


# ---- the task page's Time panel -------------------------------------------------------

def task_time(task, now=None):
    """Time spent on the task and on its subtasks (two aggregate queries), and expected durations.

    Returns a dict: own, subtasks, total (timedeltas, running timers counted up to now),
    expected (the task's), subtasks_expected (sum over the subtree).
    """
    now = now or timezone.now()
    prefix = task.subtree_prefix()
    in_tree = Q(task_id=task.pk) | Q(task__tree_path__startswith=prefix)
    sums = TimeEntry.objects.filter(in_tree).aggregate(
        own=Sum("duration", filter=Q(task_id=task.pk)),
        total=Sum("duration"),
    )
    own = sums["own"] or timedelta(0)
    total = sums["total"] or timedelta(0)
    for task_id, started_at in TimeEntry.objects.filter(in_tree, ended_at__isnull=True).values_list(
            "task_id", "started_at"):
        running = max(now - started_at, timedelta(0))
        total += running
        if task_id == task.pk:
            own += running
    subtasks_expected = Task.objects.filter(tree_path__startswith=prefix).aggregate(
        s=Sum("expected_duration"))["s"]
    expected = task.expected_duration
    percent = None
    if expected:
        percent = int(round(100 * total.total_seconds() / expected.total_seconds()))
    return {"own": own, "subtasks": total - own, "total": total, "expected": expected,
            "subtasks_expected": subtasks_expected, "percent": percent,
            "over": bool(expected) and total > expected}


# ---- reports ---------------------------------------------------------------------------

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def _entity_names(pairs):
    """{(content_type_id, object_id): entity} for the pairs, one query per entity type."""
    by_type = {}
    for ct_id, obj_id in pairs:
        if ct_id and obj_id:
            by_type.setdefault(ct_id, set()).add(obj_id)
    found = {}
    for ct_id, ids in by_type.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        if model is None or not links.is_linkable(model):
            continue
        for obj in model.objects.filter(pk__in=ids):
            found[(ct_id, obj.pk)] = obj
    return found


def time_report(entries, period="week"):
    """Hours by user, by linked entity, by task type and by period, from database aggregates.

    `entries` is a TimeEntry queryset (already limited to what the reader may see);
    running timers count once stopped. A fixed number of queries.
    """
    done = entries.filter(ended_at__isnull=False).order_by()
    sums = {"total": Sum("duration"), "billable": Sum("duration", filter=Q(billable=True)), "entries": Count("pk")}

    by_user = [
        {"label": (f"{r['user__first_name']} {r['user__last_name']}".strip() or r["user__username"]), **r}
        for r in done.values("user_id", "user__username", "user__first_name", "user__last_name")
        .annotate(**sums).order_by("-total", "user__username")
    ]
    types = dict(TaskType.choices)
    by_type = [{"label": types.get(r["task__task_type"], r["task__task_type"]), **r}
               for r in done.values("task__task_type").annotate(**sums).order_by("-total", "task__task_type")]
    entity_rows = list(done.values("task__content_type_id", "task__object_id").annotate(**sums)
                       .order_by("-total", "task__content_type_id", "task__object_id"))
    names = _entity_names((r["task__content_type_id"], r["task__object_id"]) for r in entity_rows)
    by_entity = []
    for r in entity_rows:
        key = (r["task__content_type_id"], r["task__object_id"])
        entity = names.get(key)
        if r["task__content_type_id"] is None:
            label = "Global tasks"
        elif entity is None:
            label = "A deleted record"
        else:
            label = str(entity)
        entry = links.for_model(type(entity)) if entity is not None else None
        by_entity.append({"label": label, "kind": entry.label if entry else "", "entity": entity, **r})
    trunc = PERIODS.get(period, TruncWeek)
    by_period = list(done.annotate(period=trunc("started_at", tzinfo=timezone.get_current_timezone()))
                     .values("period").annotate(**sums).order_by("period"))
    for r in by_period:
        start = r["period"]
        if hasattr(start, "date"):
            start = timezone.localtime(start).date() if timezone.is_aware(start) else start.date()
        if period == "month":
            r["label"] = f"{start:%B %Y}"
        elif period == "day":
            r["label"] = f"{start:%a %d %b %Y}"
        else:
            r["label"] = f"Week of {start:%d %b %Y}"
    totals = done.aggregate(**sums)
    return {"by_user": by_user, "by_type": by_type, "by_entity": by_entity, "by_period": by_period,
            "totals": totals, "period": period if period in PERIODS else "week"}
