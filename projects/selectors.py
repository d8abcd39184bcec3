"""Queries behind the project pages: a fixed number of SQL queries whatever the number of rows."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from tasks import access as task_access
from tasks.dates import due_date_local, is_overdue
from tasks.models import CLOSED_STATUSES, OPEN_STATUSES, Task, TaskStatus

from . import access
from .dependencies import starts_too_early
from .filters import ProjectFilter
from .models import Project, StageHold, TaskDependency


def _task_count(**conditions):
    return Coalesce(Subquery(
        Task.objects.filter(project=OuterRef("pk"), **conditions).order_by().values("project")
        .annotate(c=Count("pk")).values("c")[:1], output_field=IntegerField()), Value(0))


def with_progress(qs):
    """Annotate n_tasks, n_done, n_closed and the next open deadline (next_due_at/_all_day/_title)."""
    upcoming = Task.objects.filter(project=OuterRef("pk"), status__in=OPEN_STATUSES, due_at__isnull=False) \
        .order_by("due_at", "pk")
    return qs.annotate(
        n_tasks=_task_count(),
        n_done=_task_count(status=TaskStatus.COMPLETED),
        n_closed=_task_count(status__in=CLOSED_STATUSES),
        next_due_at=Subquery(upcoming.values("due_at")[:1]),
        next_due_all_day=Subquery(upcoming.values("all_day")[:1]),
        next_due_title=Subquery(upcoming.values("title")[:1]),
    )


def decorate(rows, user):
    """Per-row facts for the list: progress percent, next deadline as a date, overdue, may edit."""
    managed = task_access.managed_team_ids(user)
    staff = user.is_staff or user.is_superuser
    today = timezone.localdate()
    for row in rows:
        row.percent = round(100 * row.n_done / row.n_tasks) if row.n_tasks else 0
        row.next_due = None
        if row.next_due_at is not None:
            row.next_due = (row.next_due_at.date() if row.next_due_all_day
                            else timezone.localtime(row.next_due_at).date())
        row.next_due_late = row.next_due is not None and row.next_due < today
        row.late = row.is_open and row.due_date is not None and row.due_date < today
        row.user_can_edit = staff or row.owner_id == user.pk or (row.team_id is not None and row.team_id in managed)
    return rows


def project_list(*, user, params, base=None):
    """The filtered, visible projects for the list page, with their progress. Returns (filterset, queryset)."""
    visible = access.visible_projects(user, base if base is not None else Project.objects.all())
    filterset = ProjectFilter(params or None, queryset=visible, user=user)
    if filterset.is_bound and not filterset.is_valid():
        return filterset, Project.objects.none()
    qs = filterset.qs
    if not (params or {}).get("o"):
        qs = qs.order_by(F("due_date").asc(nulls_last=True), "name", "pk")
    else:
        qs = qs.order_by(*qs.query.order_by, "pk")
    qs = with_progress(qs.select_related("owner", "team", "content_type")).prefetch_related("entity")
    return filterset, qs


# ---- a project's page ---------------------------------------------------------------------------


@dataclass
class StageView:
    stage: object
    tasks: list = field(default_factory=list)
    state: str = "open"        # open, waiting, done
    waits_for: object = None   # the stage it waits for

    @property
    def total(self):
        return len(self.tasks)

    @property
    def done(self):
        return sum(1 for t in self.tasks if t.status == TaskStatus.COMPLETED)

    @property
    def closed(self):
        return sum(1 for t in self.tasks if t.status in CLOSED_STATUSES)

    @property
    def percent(self):
        return round(100 * self.done / self.total) if self.total else 0


def project_plan(project, user):
    """Stages with their tasks (in deadline order), tasks outside stages, and per task what it waits for.

    Five queries whatever the number of tasks: stages, tasks, holds, dependencies, visible ids.
    """
    stages = list(project.stages.order_by("position"))
    tasks = list(Task.objects.filter(project=project).select_related("assignee", "team", "parent")
                 .order_by(F("due_at").asc(nulls_last=True), "pk"))
    holds = set(StageHold.objects.filter(task__project=project).values_list("task_id", flat=True))
    by_id = {t.pk: t for t in tasks}
    deps = list(TaskDependency.objects.filter(Q(successor__project=project) | Q(predecessor__project=project))
                .select_related("predecessor", "successor"))
    visible = set(task_access.visible_tasks(user, Task.objects.filter(project=project)).values_list("pk", flat=True))
    now = timezone.now()
    for task in tasks:
        task.held = task.pk in holds
        task.visible = task.pk in visible
        task.waits_for = []
        task.late_for = []
        task.is_late = is_overdue(task, now=now)
        task.due_day = due_date_local(task)
    for dep in deps:
        successor = by_id.get(dep.successor_id)
        if successor is None:
            continue
        predecessor = by_id.get(dep.predecessor_id, dep.predecessor)
        if predecessor.status in OPEN_STATUSES:
            successor.waits_for.append(predecessor)
        if successor.status in OPEN_STATUSES and starts_too_early(successor, predecessor):
            successor.late_for.append(predecessor)
    views = [StageView(stage=s) for s in stages]
    view_by_id = {v.stage.pk: v for v in views}
    outside = []
    for task in tasks:
        view = view_by_id.get(task.stage_id)
        (view.tasks if view else outside).append(task)
    blocking = None
    for view in views:
        if blocking is not None:
            view.state, view.waits_for = "waiting", blocking
        elif view.total and view.closed == view.total:
            view.state = "done"
        if blocking is None and view.closed < view.total:
            blocking = view.stage
    progress = {"total": len(tasks), "done": sum(1 for t in tasks if t.status == TaskStatus.COMPLETED),
                "closed": sum(1 for t in tasks if t.status in CLOSED_STATUSES)}
    progress["percent"] = round(100 * progress["done"] / progress["total"]) if progress["total"] else 0
    return {"stages": views, "outside": outside, "tasks": tasks, "progress": progress, "deps": deps}


# ---- the timeline (server-drawn SVG: no script, no inline styles) ----------------------------------

LABEL_WIDTH = 230
CHART_WIDTH = 640
ROW_HEIGHT = 22
HEADER = 28


@dataclass
class Bar:
    task: object
    y: int
    x: float
    width: float
    due_x: float
    css: str
    label: str
    title: str


def timeline(project, plan):
    """Bars from when each task can start (its own begin, else its predecessors' or the previous stage's
    last deadline, else the project start) to its deadline; ticks, today and the project's due date."""
    tasks = [t for t in plan["tasks"] if t.due_day is not None]
    if not tasks:
        return None
    today = timezone.localdate()
    stage_position = {v.stage.pk: v.stage.position for v in plan["stages"]}
    stage_last_due = {}
    for t in tasks:
        if t.stage_id:
            pos = stage_position.get(t.stage_id)
            stage_last_due[pos] = max(stage_last_due.get(pos, t.due_day), t.due_day)
    start_default = project.start_date or min(t.due_day for t in tasks)
    starts = {}
    for t in tasks:
        begin = timezone.localtime(t.begin_at).date() if t.begin_at else None
        if begin is None:
            previous = [p.due_day for p in (t.waits_for + t.late_for) if getattr(p, "due_day", None)]
            pos = stage_position.get(t.stage_id)
            if pos and pos - 1 in stage_last_due:
                previous.append(stage_last_due[pos - 1])
            begin = max(previous) if previous else start_default
        starts[t.pk] = min(begin, t.due_day)
    first = min([start_default, *starts.values()])
    last = max([t.due_day for t in tasks] + ([project.due_date] if project.due_date else []))
    if last <= first:
        last = first + timedelta(days=1)
    span = (last - first).days + 1

    def x_of(day):
        return round(LABEL_WIDTH + CHART_WIDTH * (day - first).days / span, 1)

    day_width = CHART_WIDTH / span
    ordered = sorted(tasks, key=lambda t: (stage_position.get(t.stage_id, 999), starts[t.pk], t.due_day, t.pk))
    bars = []
    for i, t in enumerate(ordered):
        x = x_of(starts[t.pk])
        end = x_of(t.due_day) + day_width
        css = "tl-done" if t.status == TaskStatus.COMPLETED else "tl-cancelled" \
            if t.status == TaskStatus.CANCELLED else "tl-late" if t.is_late or t.late_for \
            else "tl-waiting" if t.held else "tl-open"
        label = t.title if len(t.title) <= 32 else t.title[:31] + "…"
        bars.append(Bar(task=t, y=HEADER + i * ROW_HEIGHT, x=x, width=max(end - x, 3), due_x=end,
                        css=css, label=label, title=f"{t.title}: due {t.due_day:%d %b %Y}"))
    step = 1 if span <= 21 else 7 if span <= 120 else 30
    ticks = []
    day = first
    while day <= last:
        ticks.append({"x": x_of(day), "label": f"{day.day} {day:%b}"})
        day += timedelta(days=step)
    height = HEADER + len(bars) * ROW_HEIGHT + 6
    return {
        "bars": bars, "ticks": ticks, "width": LABEL_WIDTH + CHART_WIDTH + 10, "height": height,
        "chart_left": LABEL_WIDTH, "chart_right": LABEL_WIDTH + CHART_WIDTH,
        "today_x": x_of(today) if first <= today <= last else None,
        "due_x": x_of(project.due_date) + day_width if project.due_date and first <= project.due_date <= last
        else None,
        "first": first, "last": last, "bottom": height - 4,
    }


def entity_projects(entity, user):
    """The projects linked to `entity` that the user may see, with progress (fixed queries)."""
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(entity)
    qs = access.visible_projects(user, Project.objects.filter(content_type=ct, object_id=entity.pk))
    rows = list(with_progress(qs.select_related("owner", "team")).order_by(F("due_date").asc(nulls_last=True), "pk"))
    return decorate(rows, user)
