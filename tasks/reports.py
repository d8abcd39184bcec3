"""Report figures over the tasks a user may see: every number is a database aggregate.

`build_report` runs a fixed number of queries (12) over the reader's visible
tasks narrowed by the report's filters (`report_tasks`), whatever the number of
tasks or time entries, and shapes the aggregated rows (one per assignee, team,
type, status, week, ...) into the page's sections. Task and time-entry rows are
never loaded, except the 20 longest-stuck tasks the page lists by name.

Definitions (the page repeats them to its readers):

- Open: pending, in progress, waiting or blocked. Overdue: open and past its
  deadline (an all-day deadline is past once its date is over in the reader's
  time zone), as in tasks.dates.
- Completion time: completed_at - created_at of the tasks completed within the
  period. Median and 90th percentile are PERCENTILE_CONT (linear interpolation).
- On time: completed by the deadline; for an all-day deadline, by the end of
  that date in the reader's time zone. Tasks without a deadline are left out of
  the share (and counted separately).
- Weeks run Monday to Sunday in the reader's time zone.
- Time in status: now - status_changed_at (created_at when it was never set).
- Hours: expected_duration summed; tasks without an estimate are counted apart.
- Tracked time is compared with the expected time of the same tasks: the time
  entries recorded on the report's tasks, by anyone, whenever they were
  recorded. So the period applies to tracked time through the tasks: for the
  tasks completed in the period, all the time ever tracked on them; for the
  open tasks, the time tracked on them so far. Time on cancelled tasks and on
  tasks completed outside the period is not counted. A task's own entries count
  against its own estimate (a subtask is a task of its own here: nothing is
  counted twice). Only finished entries count, as on the time sheets: a
  running timer is counted once it is stopped (a forgotten timer would
  otherwise inflate the figures by the hour).
- Rows are the task's assignee (or type), for tracked time too: the hours a
  colleague spent helping count against the assignee's estimate, because the
  question is whether the estimates hold. Hours per person who tracked them
  are on the time sheets (/time/).
- Tracked, difference (tracked - expected) and ratio (tracked / expected) are
  over the tasks with an estimate. Tracked time on tasks without an estimate is
  shown apart, and tasks with an estimate but no time tracked are counted (they
  stay in the expected hours: they pull the ratio down, and the count says why).

Percentiles: PostgreSQL computes them with PERCENTILE_CONT(...) WITHIN GROUP.
SQLite has no percentile function, so there each group's durations are ranked
with window functions (ROW_NUMBER, COUNT OVER) and only the one or two rows
around each wanted rank come back; the interpolation between those two values
is the same formula PERCENTILE_CONT uses. Either way the tasks are never loaded.

Speed: the figures that share a grouping come from one query with conditional
aggregates (COUNT ... FILTER), so the table is read about a dozen times, not once
per number. Tracked time is one more grouped query: the report's tasks that have
finished entries, joined to those entries, summed per assignee and type. Statuses
are tested inside the aggregates and grouping keys are wrapped in `Scan()`: on
SQLite that stops the planner from walking an index in key order (a random page
read per row, several times slower than one pass over a 100,000-row table); on
PostgreSQL it changes nothing.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate, Case, CharField, Count, DateTimeField, F, FloatField, Func, IntegerField, Min, Q, Sum, Value, When,
    Window,
)
from django.db.models.functions import Abs, Coalesce, RowNumber
from django.utils import timezone

from crm.choices import PRIORITY_RANK, Priority, TaskType
from crm.models import Team

from . import access
from .dates import day_bounds, due_between_q, local_today, overdue_q
from .models import OPEN_STATUSES, TaskStatus

User = get_user_model()

STUCK_LIST_LIMIT = 20


@dataclass(frozen=True)
class ReportFilters:
    """What the report page was asked for (already validated by the view's form)."""

    date_from: date
    date_to: date
    team: Team | None = None
    user: object = None  # a User: the assignee whose tasks are counted
    task_type: str = ""
    threshold_days: int = 7


def default_period(today):
    """The last 8 weeks: from the Monday seven weeks before this week's Monday, to today."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=7), today


def report_tasks(user, filters):
    """The tasks the report counts: those `user` may see, narrowed by the team, assignee and type filters."""
    qs = access.visible_tasks(user).order_by()
    if filters.team is not None:
        qs = qs.filter(team=filters.team)
    if filters.user is not None:
        qs = qs.filter(assignee=filters.user)
    if filters.task_type:
        qs = qs.filter(task_type=filters.task_type)
    return qs


def period_bounds(filters):
    """UTC instants of the start of the first day and the end of the last day, in the current time zone."""
    start, _ = day_bounds(filters.date_from)
    _, end = day_bounds(filters.date_to)
    return start, end


# ---- SQL building blocks -------------------------------------------------------------------


class Scan(Func):
    """A column as an expression SQLite cannot answer from an index (its documented unary "+").

    Used for grouping keys and status tests in the report's aggregates, so SQLite reads
    the table once instead of walking an index and fetching each row at random.
    PostgreSQL gets the plain column.
    """

    arity = 1
    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="(+%(expressions)s)", **extra)


class SecondsBetween(Func):
    """(end - start) in seconds, as a float, on PostgreSQL and SQLite."""

    arity = 2
    output_field = FloatField()

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover - other databases
        raise NotImplementedError(f"SecondsBetween is not written for {connection.vendor}.")

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection,
            template="CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)", arg_joiner=" - ", **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() reads Django's stored "YYYY-MM-DD HH:MM:SS[.ffffff]" UTC text.
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        return f"((julianday({end}) - julianday({start})) * 86400.0)", (*end_params, *start_params)


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate PERCENTILE_CONT(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction, **extra):
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("A percentile fraction is between 0 and 1.")
        # A float literal from code, never from the request.
        super().__init__(expression, fraction=repr(fraction), **extra)

    def as_sql(self, compiler, connection, **extra):
        if connection.vendor != "postgresql":
            raise NotImplementedError("PERCENTILE_CONT needs PostgreSQL; use percentiles(method='window').")
        return super().as_sql(compiler, connection, **extra)


def _interpolate(values_by_rank, n, fraction):
    """PERCENTILE_CONT's formula: the value at 0-based rank fraction * (n - 1), linear between neighbours."""
    position = fraction * (n - 1)
    low = math.floor(position)
    high = min(math.ceil(position), n - 1)
    lo_value = values_by_rank[low]
    hi_value = values_by_rank[high]
    return lo_value + (hi_value - lo_value) * (position - low)


def percentiles(qs, *, group, seconds, fractions=(0.5, 0.9), method=None):
    """{group value: {"n": count, fraction: seconds, ...}} of the `seconds` expression per `group`.

    `group` is an expression (F("task_type"), a week number, Value(0) for one overall
    group). `method` is "aggregate" (PostgreSQL's PERCENTILE_CONT) or "window" (ranked
    rows, for SQLite); by default the database decides. Both give the same numbers.
    """
    method = method or ("aggregate" if connection.vendor == "postgresql" else "window")
    qs = qs.order_by()
    if method == "aggregate":
        names = {fraction: f"p{index}" for index, fraction in enumerate(fractions)}
        rows = (
            qs.annotate(report_group=group).values("report_group")
            .annotate(report_n=Count("pk"), **{names[f]: PercentileCont(seconds, f) for f in fractions})
        )
        return {
            row["report_group"]: {"n": row["report_n"], **{f: row[names[f]] for f in fractions}} for row in rows
        }

    ranked = qs.annotate(report_group=group, report_secs=seconds).annotate(
        report_rank=Window(RowNumber(), partition_by=[F("report_group")],
                           order_by=[F("report_secs").asc(), F("pk").asc()]),
        report_n=Window(Count("pk"), partition_by=[F("report_group")]),
    )
    # Keep only the rows next to each wanted rank: |rank0 - fraction * (n - 1)| < 1 picks the
    # floor and the ceiling of that position (just one row when it is a whole number).
    wanted = Q()
    for index, fraction in enumerate(fractions):
        distance = f"report_d{index}"
        ranked = ranked.annotate(**{distance: Abs(
            F("report_rank") - Value(1) - Value(float(fraction)) * (F("report_n") - Value(1)),
            output_field=FloatField(),
        )})
        wanted |= Q(**{f"{distance}__lt": 1})
    result = {}
    picked = ranked.filter(wanted).values_list("report_group", "report_secs", "report_rank", "report_n")
    for key, secs, rank, n in picked:
        entry = result.setdefault(key, {"n": n, "ranks": {}})
        entry["ranks"][rank - 1] = secs
    # SQLite's julianday() arithmetic is exact to a few microseconds: round to whole milliseconds.
    return {
        key: {"n": entry["n"], **{f: round(_interpolate(entry["ranks"], entry["n"], f), 3) for f in fractions}}
        for key, entry in result.items()
    }


# ---- conditions --------------------------------------------------------------------------------

def _status():
    return Scan("status", output_field=CharField())


def is_open():
    return Q(report_status__in=OPEN_STATUSES)


def with_status(qs):
    """`qs` with the status as a grouping-safe alias (see Scan) that the conditions below test."""
    return qs.alias(report_status=_status())


def on_time_q(now):
    """Completed by the deadline. An all-day deadline (its date at 00:00 UTC) lasts until the end of
    that date in the reader's time zone: the stored midnight plus one day minus the zone's offset.
    The offset is the one the zone has now, so for a deadline on the other side of a daylight-saving
    change a completion in the last or first hour of the day may be counted one way or the other."""
    offset = timezone.localtime(now).utcoffset() or timedelta(0)
    return Q(due_at__isnull=False) & (
        Q(all_day=False, completed_at__lte=F("due_at"))
        | Q(all_day=True, completed_at__lt=F("due_at") + (timedelta(days=1) - offset))
    )


def week_starts(first_week, last_week):
    weeks = []
    week = first_week
    while week <= last_week:
        weeks.append(week)
        week += timedelta(weeks=1)
    return weeks


def week_number(field, weeks):
    """Which of `weeks` (local Mondays) the instant in `field` falls in, as 0, 1, ...: compared with each
    Monday's local midnight as a UTC instant, so daylight-saving changes fall where the reader sees them."""
    tz = timezone.get_current_timezone()
    bounds = [datetime.combine(w, time.min).replace(tzinfo=tz).astimezone(dt_timezone.utc) for w in weeks[1:]]
    whens = [When(**{f"{field}__lt": bound}, then=Value(index)) for index, bound in enumerate(bounds)]
    return Case(*whens, default=Value(len(weeks) - 1), output_field=IntegerField())


# ---- shaping -----------------------------------------------------------------------------------


def _hours(value):
    """A timedelta (or seconds) as hours, one decimal; None stays None."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return round(seconds / 3600, 1)


def _days(seconds):
    return None if seconds is None else round(seconds / 86400, 1)


def _share(part, whole):
    return None if not whole else round(100 * part / whole)


def user_label(user):
    return (user.get_full_name() or user.username) if user is not None else "Unassigned"


TYPE_LABELS = dict(TaskType.choices)
STATUS_LABELS = dict(TaskStatus.choices)
PRIORITY_LABELS = dict(Priority.choices)
TYPE_ORDER = {value: index for index, value in enumerate(TaskType.values)}
STATUS_ORDER = {value: index for index, value in enumerate(TaskStatus.values)}


def _speed(row, pct):
    """The completion-speed figures of one group: its counts and its percentiles."""
    return {
        "completed": row["done_n"], "median_hours": _hours(pct.get(0.5)), "p90_hours": _hours(pct.get(0.9)),
        "with_deadline": row["with_deadline"], "on_time": row["on_time"],
        "on_time_share": _share(row["on_time"], row["with_deadline"]),
    }


def _signed_hours(value):
    """_hours, without a "-0.0" for a difference of a few seconds."""
    hours = _hours(value)
    return None if hours is None else hours + 0.0


def _hour_figures(row, time_row=None):
    """Expected against tracked hours of one group (an assignee, a type, everything).

    `row` is the group's task figures, `time_row` its tracked-time sums (None: nothing tracked).
    Tracked, difference and ratio are over the tasks with an estimate; the time tracked on tasks
    without one is given apart, as is the number of estimated tasks with no time tracked.
    """
    time_row = time_row or {}
    zero = timedelta(0)
    expected = row["done_hours"] or zero
    tracked = time_row.get("tracked_done") or zero
    estimated = row["done_n"] - row["done_unestimated"]
    return {
        "open": row["open"], "open_hours": _hours(row["open_hours"]) or 0.0,
        "open_tracked": _hours(time_row.get("tracked_open")) or 0.0,
        "open_ratio": _share((time_row.get("tracked_open") or zero).total_seconds(),
                             (row["open_hours"] or zero).total_seconds()),
        "open_unestimated": row["open_unestimated"],
        "open_unestimated_tracked": _hours(time_row.get("tracked_open_unestimated")) or 0.0,
        "completed": row["done_n"], "estimated": estimated, "completed_hours": _hours(expected),
        "tracked": _hours(tracked),
        "difference": _signed_hours(tracked - expected) if estimated else None,
        "ratio": _share(tracked.total_seconds(), expected.total_seconds()),
        "completed_unestimated": row["done_unestimated"],
        "unestimated_tracked": _hours(time_row.get("tracked_done_unestimated")) or 0.0,
        "no_time": estimated - (time_row.get("done_timed") or 0),
    }


SUMMED = ("open", "overdue", "open_hours", "open_unestimated", "done_n", "done_hours", "done_unestimated",
          "with_deadline", "on_time", "due_week", "hours_week", "unestimated_week",
          "tracked_open", "tracked_open_unestimated", "tracked_done", "tracked_done_unestimated", "done_timed")


NO_TASKS = {"open": 0, "open_hours": None, "open_unestimated": 0, "done_n": 0, "done_hours": None,
            "done_unestimated": 0}


def _added_up(rows):
    """All the aggregated `rows` added up into one (None when there are none)."""
    merged = rollup(({**row, "all": 0} for row in rows), "all")
    return merged[0] if merged else None


def rollup(rows, key, **also):
    """Add up aggregated rows that share the value of `key` (counts, and sums where None is nothing).

    The rows come from one GROUP BY over two columns (a few rows per person or type),
    so one query serves two tables. Each result has "key" (the shared value) and the
    columns named in `also` (e.g. name="team_name").
    """
    merged = {}
    for row in rows:
        target = merged.setdefault(row[key], {"key": row[key], **{new: row[old] for new, old in also.items()}})
        for name in SUMMED:
            if name not in row:
                continue
            value, current = row[name], target.get(name)
            target[name] = current if value is None else (value if current is None else current + value)
    return list(merged.values())


# ---- the whole report ------------------------------------------------------------------------


def build_report(*, user, filters, now=None, members=(), method=None):
    """Every section of the reports page for `user` (only tasks they may see) and `filters`.

    Run with the reader's time zone active: days, weeks and "this week" are theirs.
    `members` are listed in the workload table even with nothing assigned.
    """
    now = now or timezone.now()
    qs = with_status(report_tasks(user, filters))
    start, end = period_bounds(filters)
    first_week = filters.date_from - timedelta(days=filters.date_from.weekday())
    last_week = filters.date_to - timedelta(days=filters.date_to.weekday())
    weeks = week_starts(first_week, last_week)
    monday, sunday = week_range(local_today(now))

    open_ = is_open()
    overdue = open_ & overdue_q(now)
    this_week = open_ & due_between_q(monday, sunday)
    done = Q(report_status=TaskStatus.COMPLETED, completed_at__gte=start, completed_at__lt=end)
    no_estimate = Q(expected_duration__isnull=True)
    counts = {"open": Count("pk", filter=open_), "overdue": Count("pk", filter=overdue)}
    hours = {
        "open_hours": Sum("expected_duration", filter=open_),
        "open_unestimated": Count("pk", filter=open_ & no_estimate),
        "done_n": Count("pk", filter=done),
        "done_hours": Sum("expected_duration", filter=done),
        "done_unestimated": Count("pk", filter=done & no_estimate),
        "with_deadline": Count("pk", filter=done & Q(due_at__isnull=False)),
        "on_time": Count("pk", filter=done & on_time_q(now)),
    }

    # 1. Per assignee and team: open/overdue, workload, expected hours, completion counts; rolled up
    #    below into per-assignee and per-team rows (a few rows per person, never task rows).
    per_assignee_team = list(qs.values(
        key=Scan("assignee", output_field=IntegerField()), team_key=Scan("team", output_field=IntegerField()),
        team_name=F("team__name"),
    ).annotate(
        **counts, **hours, due_week=Count("pk", filter=this_week),
        hours_week=Sum("expected_duration", filter=this_week),
        unestimated_week=Count("pk", filter=this_week & no_estimate),
    ))
    # 2. Per type and priority: the same without the workload; rolled up per type and per priority.
    per_type_priority = list(qs.values(key=F("task_type"), priority_key=F("priority")).annotate(**counts, **hours))
    per_assignee = rollup(per_assignee_team, "key")
    per_team = rollup(per_assignee_team, "team_key", name="team_name")
    per_type = rollup(per_type_priority, "key")
    per_priority = rollup(per_type_priority, "priority_key")

    # 3. Time tracked on the same tasks (open, or completed in the period), finished entries only, per
    #    assignee and type: the tasks joined to their entries (filter and sums share that one join). Each
    #    task is in one (assignee, type) group, so the distinct task counts add up in the roll-ups.
    estimated = Q(expected_duration__isnull=False)
    entry_hours = "time_entries__duration"
    per_assignee_type_time = list(
        qs.filter(open_ | done, time_entries__ended_at__isnull=False)
        .values(key=Scan("assignee", output_field=IntegerField()), type_key=F("task_type"))
        .annotate(
            tracked_open=Sum(entry_hours, filter=open_ & estimated),
            tracked_open_unestimated=Sum(entry_hours, filter=open_ & no_estimate),
            tracked_done=Sum(entry_hours, filter=done & estimated),
            tracked_done_unestimated=Sum(entry_hours, filter=done & no_estimate),
            done_timed=Count("pk", distinct=True, filter=done & estimated),
        )
    )
    time_by_assignee = {row["key"]: row for row in rollup(per_assignee_type_time, "key")}
    time_by_type = {row["key"]: row for row in rollup(per_assignee_type_time, "type_key")}

    # 4-8. Completion times: percentiles overall, per type, per assignee and per week; counts per week.
    completed = qs.filter(done)
    seconds = SecondsBetween(F("completed_at"), F("created_at"))
    week_of = week_number("completed_at", weeks)
    pct_overall = percentiles(completed, group=Value(0, output_field=IntegerField()), seconds=seconds,
                              method=method).get(0, {})
    pct_type = percentiles(completed, group=F("task_type"), seconds=seconds, method=method)
    pct_user = percentiles(completed, group=F("assignee"), seconds=seconds, method=method)
    pct_week = percentiles(completed, group=week_of, seconds=seconds, method=method)
    per_week = {row["key"]: row for row in completed.values(key=week_of).annotate(
        done_n=Count("pk"), with_deadline=Count("pk", filter=Q(due_at__isnull=False)),
        on_time=Count("pk", filter=on_time_q(now)),
    )}

    # 9-11. Bottlenecks: per open status, median time in it, and the longest-stuck tasks.
    since = Coalesce("status_changed_at", "created_at")
    cutoff = now - timedelta(days=filters.threshold_days)
    open_qs = qs.filter(open_).alias(report_since=since)
    per_status = list(open_qs.values(key=_status()).annotate(
        n=Count("pk"), stuck=Count("pk", filter=Q(report_since__lt=cutoff)), oldest=Min("report_since"),
    ))
    waiting = percentiles(open_qs, group=_status(), method=method, fractions=(0.5,),
                          seconds=SecondsBetween(Value(now, output_field=DateTimeField()), since))
    stuck = list(
        open_qs.filter(report_since__lt=cutoff).annotate(report_since_at=since)
        .select_related("assignee", "team").order_by("report_since", "pk")[:STUCK_LIST_LIMIT]
    )

    # 12. Names of everyone in the per-person tables.
    known = {m.pk: m for m in members}
    ids = {row["key"] for row in per_assignee if row["key"] is not None} - set(known)
    people = {**known, **({u.pk: u for u in User.objects.filter(pk__in=ids)} if ids else {})}

    def name(pk):
        return user_label(people.get(pk)) if pk is not None else "Unassigned"

    # ---- shaping the rows (aggregated rows only) ----
    by_assignee = [{**row, "label": name(row["key"])} for row in per_assignee]
    open_overdue = {
        "by_assignee": sorted(
            ({"key": r["key"], "label": r["label"], "open": r["open"], "overdue": r["overdue"]}
             for r in by_assignee if r["open"]),
            key=lambda r: (-r["open"], r["key"] is None, r["label"].lower())),
        "by_team": sorted(
            ({"key": r["key"], "label": r["name"] or "No team", "open": r["open"], "overdue": r["overdue"]}
             for r in per_team if r["open"]),
            key=lambda r: (-r["open"], r["key"] is None, r["label"].lower())),
        "by_priority": sorted(
            ({"key": r["key"], "label": PRIORITY_LABELS.get(r["key"], r["key"]), "open": r["open"],
              "overdue": r["overdue"]} for r in per_priority if r["open"]),
            key=lambda r: -PRIORITY_RANK.get(r["key"], 0)),
        "by_type": sorted(
            ({"key": r["key"], "label": TYPE_LABELS.get(r["key"], r["key"]), "open": r["open"],
              "overdue": r["overdue"]} for r in per_type if r["open"]),
            key=lambda r: TYPE_ORDER.get(r["key"], 99)),
    }
    open_overdue["open"] = sum(r["open"] for r in per_type)
    open_overdue["overdue"] = sum(r["overdue"] for r in per_type)

    with_deadline = sum(r["with_deadline"] for r in per_type)
    on_time = sum(r["on_time"] for r in per_type)
    speed = {
        "overall": {
            "completed": sum(r["done_n"] for r in per_type), "median_hours": _hours(pct_overall.get(0.5)),
            "median_days": _days(pct_overall.get(0.5)),
            "p90_hours": _hours(pct_overall.get(0.9)), "with_deadline": with_deadline, "on_time": on_time,
            "on_time_share": _share(on_time, with_deadline),
        },
        "by_type": sorted(
            ({"key": r["key"], "label": TYPE_LABELS.get(r["key"], r["key"]), **_speed(r, pct_type.get(r["key"], {}))}
             for r in per_type if r["done_n"]),
            key=lambda r: TYPE_ORDER.get(r["key"], 99)),
        "by_user": sorted(
            ({"key": r["key"], "label": r["label"], **_speed(r, pct_user.get(r["key"], {}))}
             for r in by_assignee if r["done_n"]),
            key=lambda r: (r["key"] is None, r["label"].lower())),
        "weeks": [],
    }
    for index, week in enumerate(weeks):
        row = per_week.get(index, {"done_n": 0, "with_deadline": 0, "on_time": 0})
        speed["weeks"].append({"week": week, **_speed(row, pct_week.get(index, {}))})

    load = {r["key"]: r for r in by_assignee if r["key"] is not None and r["open"]}
    for member in members:
        load.setdefault(member.pk, {"key": member.pk, "label": name(member.pk), "open": 0, "overdue": 0,
                                    "due_week": 0, "hours_week": None, "unestimated_week": 0})
    workload = {
        "rows": sorted(
            ({"key": r["key"], "label": r["label"], "open": r["open"], "overdue": r["overdue"],
              "due_week": r["due_week"], "hours_week": _hours(r["hours_week"]) or 0.0,
              "unestimated_week": r["unestimated_week"]} for r in load.values()),
            key=lambda r: (-r["open"], r["label"].lower())),
        "week_start": monday, "week_end": sunday,
    }

    by_status = sorted(
        ({"key": r["key"], "label": STATUS_LABELS.get(r["key"], r["key"]), "open": r["n"], "stuck": r["stuck"],
          "median_days": _days(waiting.get(r["key"], {}).get(0.5)),
          "longest_days": _days((now - r["oldest"]).total_seconds()) if r["oldest"] else None}
         for r in per_status),
        key=lambda r: STATUS_ORDER.get(r["key"], 99))
    for task in stuck:
        task.days_in_status = int((now - task.report_since_at).total_seconds() // 86400)
    bottlenecks = {
        "by_status": by_status, "stuck": stuck, "stuck_count": sum(r["stuck"] for r in by_status),
        "slowest": max((r for r in by_status if r["median_days"] is not None), key=lambda r: r["median_days"],
                       default=None),
        "threshold_days": filters.threshold_days,
    }

    # Time tracked against expected duration: completed in the period, and open now.
    hours_section = {
        "total": _hour_figures(_added_up(per_type) or NO_TASKS, _added_up(per_assignee_type_time)),
        "by_assignee": sorted(
            ({"key": r["key"], "label": r["label"], **_hour_figures(r, time_by_assignee.get(r["key"]))}
             for r in by_assignee if r["done_n"]),
            key=lambda r: (r["key"] is None, -r["completed_hours"], -r["tracked"], r["label"].lower())),
        "by_type": sorted(
            ({"key": r["key"], "label": TYPE_LABELS.get(r["key"], r["key"]),
              **_hour_figures(r, time_by_type.get(r["key"]))} for r in per_type if r["done_n"]),
            key=lambda r: TYPE_ORDER.get(r["key"], 99)),
        "open_by_assignee": sorted(
            ({"key": r["key"], "label": r["label"], **_hour_figures(r, time_by_assignee.get(r["key"]))}
             for r in by_assignee if r["open"]),
            key=lambda r: (r["key"] is None, -r["open_hours"], r["label"].lower())),
        "open_by_type": sorted(
            ({"key": r["key"], "label": TYPE_LABELS.get(r["key"], r["key"]),
              **_hour_figures(r, time_by_type.get(r["key"]))} for r in per_type if r["open"]),
            key=lambda r: TYPE_ORDER.get(r["key"], 99)),
    }
    return {"now": now, "open_overdue": open_overdue, "speed": speed, "workload": workload,
            "bottlenecks": bottlenecks, "hours": hours_section}


def week_range(today):
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


__all__ = ["ReportFilters", "build_report", "default_period", "report_tasks", "percentiles", "PercentileCont",
           "SecondsBetween", "Scan", "week_number", "week_range"]
