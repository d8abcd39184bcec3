"""What people taking part in a task are told when it changes (through crm.notifications.notify).

- Status or due date changed, or the task completed: its participants (any role),
  assignee and creator, never the person who did it. One notification per
  recipient and event even when the task is saved twice in one request or
  transaction: notify() merges the changes (first "from", last "to").
- Texts and emails show dates in the recipient's own time zone: the details keep
  raw values (ISO times, status values) and are put in words when rendered.

The services call `snapshot()` before a change and `task_saved()` after it,
inside their transaction, so a rolled-back change tells nobody.
"""

from datetime import datetime
from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model

from crm.history_text import format_date, format_moment, user_name
from crm.notifications import notify, register_email_context, register_text_builder

from .models import Participant, TaskStatus

S = TaskStatus


def snapshot(task):
    """The values whose change people hear about."""
    return {"status": task.status, "due_at": task.due_at, "all_day": task.all_day}


def _due_value(due_at, all_day):
    if due_at is None:
        return None
    return {"at": due_at.astimezone(dt_timezone.utc).isoformat(), "all_day": bool(all_day)}


def changes_between(before, task):
    changes = []
    if before["status"] != task.status:
        changes.append({"field": "status", "label": "status", "old": before["status"], "new": task.status})
    old_due, new_due = _due_value(before["due_at"], before["all_day"]), _due_value(task.due_at, task.all_day)
    if old_due != new_due:
        changes.append({"field": "due_at", "label": "due date", "old": old_due, "new": new_due})
    return changes


def format_change_value(change, value):
    """A change's old or new value in words, in the active (the reader's) time zone."""
    if value is None:
        return "none"
    if change["field"] == "status":
        return str(S(value).label) if value in S.values else str(value)
    if change["field"] == "due_at":
        moment = datetime.fromisoformat(value["at"])
        if value.get("all_day"):
            return format_date(moment.astimezone(dt_timezone.utc).date())
        return format_moment(moment)
    return str(value)


def describe_changes(changes):
    """ "status from Pending to In progress; due date from 3 Mar 17:00 to 5 Mar 09:00" """
    return "; ".join(
        f"{c['label']} from {format_change_value(c, c['old'])} to {format_change_value(c, c['new'])}"
        for c in changes
    )


def _changed_text(*, actor, target, details):
    changes = details.get("changes", [])
    if not changes:  # changed and changed back in the same request
        return f"{user_name(actor)} changed “{target.title}”."
    return f"{user_name(actor)} changed “{target.title}”: {describe_changes(changes)}."


def _completed_text(*, actor, target, details):
    return f"{user_name(actor)} completed “{target.title}”."


def _change_lines(email, context):
    return {"change_lines": [
        f"{c['label'].capitalize()}: {format_change_value(c, c['old'])} → {format_change_value(c, c['new'])}"
        for c in email.details.get("changes", [])
    ]}


register_text_builder("task_changed", _changed_text)
register_text_builder("completed", _completed_text)
register_email_context("task_changed", _change_lines)


def people_of(task):
    """Everyone taking part in `task`: participants, assignee and creator (active users, each once)."""
    ids = set(Participant.objects.filter(task_id=task.pk).values_list("user_id", flat=True))
    ids |= {pk for pk in (task.assignee_id, task.created_by_id) if pk}
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).select_related("profile").order_by("pk"))


def task_saved(*, task, user, before):
    """Tell the task's people what changed since `before` (a snapshot()): completed, or status/due date changed."""
    changes = changes_between(before, task)
    if not changes:
        return
    completed = task.status == S.COMPLETED and before["status"] != S.COMPLETED
    others = [c for c in changes if c["field"] != "status"] if completed else changes
    for person in people_of(task):
        if completed:
            notify(recipient=person, actor=user, verb="completed", target=task,
                   text=_completed_text(actor=user, target=task, details={}),
                   details={"outcome": task.outcome[:2000]})
        if others:
            notify(recipient=person, actor=user, verb="task_changed", target=task,
                   text=_changed_text(actor=user, target=task, details={"changes": others}),
                   details={"changes": others})
