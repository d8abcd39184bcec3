"""Queries behind the memo pages: a fixed number of SQL queries whatever the number of rows."""

from django.db.models import Q

from tasks.models import CLOSED_STATUSES, Task, TaskStatus, subtree_q

from . import access
from .models import Memo, MemoStatus

BOXES = (
    ("inbox", "Sent to me"),
    ("sent", "Sent by me"),
)
STAFF_BOXES = BOXES + (("all", "All memos"),)


def boxes_for(user):
    return STAFF_BOXES if (user.is_staff or user.is_superuser) else BOXES


def memo_rows(qs):
    return qs.select_related("author", "recipient", "content_type", "converted_task", "converted_project") \
        .prefetch_related("entity")


def memo_list(*, user, box, status=None, base=None):
    """Visible memos of one box ("inbox": to me and sent; "sent": by me, drafts too; "all": staff), newest first,
    optionally of one status."""
    qs = access.visible_memos(user, base if base is not None else Memo.objects.all())
    if box == "inbox":
        qs = qs.filter(recipient=user).exclude(status=MemoStatus.DRAFT)
    elif box == "sent":
        qs = qs.filter(author=user)
    if status:
        qs = qs.filter(status=status)
    return memo_rows(qs.order_by("-created_at", "-pk"))


def decorate(rows):
    """Set `progress` ({done, closed, total, percent}) on converted memos: the tasks that came from each memo
    (the converted task and its subtasks, or the project's tasks). Two queries whatever the number of rows."""
    rows = list(rows)
    for row in rows:
        row.progress = None
    by_task = {row.converted_task_id: row for row in rows if row.converted_task_id}
    by_project = {row.converted_project_id: row for row in rows if row.converted_project_id}
    counts = {}

    def add(row, status):
        p = counts.setdefault(row.pk, {"total": 0, "done": 0, "closed": 0})
        p["total"] += 1
        p["done"] += status == TaskStatus.COMPLETED
        p["closed"] += status in CLOSED_STATUSES

    if by_task:
        cond = Q(pk__in=list(by_task))
        for row in rows:
            if row.converted_task_id and row.converted_task is not None:
                cond |= subtree_q(row.converted_task.subtree_prefix())
        for pk, path, status in Task.objects.filter(cond).order_by().values_list("pk", "tree_path", "status"):
            if pk in by_task:
                add(by_task[pk], status)
                continue
            for ancestor in path.strip("/").split("/"):
                if ancestor and int(ancestor) in by_task:
                    add(by_task[int(ancestor)], status)
                    break
    if by_project:
        for project_id, status in Task.objects.filter(project_id__in=list(by_project)).order_by() \
                .values_list("project_id", "status"):
            add(by_project[project_id], status)
    for row in rows:
        if row.converted_task_id or row.converted_project_id:
            p = counts.get(row.pk, {"total": 0, "done": 0, "closed": 0})
            p["percent"] = round(100 * p["done"] / p["total"]) if p["total"] else 0
            row.progress = p
    return rows


def box_counts(user):
    """Unread-ish counts for the tabs: memos waiting for my review (sent to me, not yet reviewed)."""
    return {"inbox": Memo.objects.filter(recipient=user, status=MemoStatus.SENT).count()}
