"""Repeating tasks: starting a series, generating its instances, editing and stopping it.

Guarantees:
- An instance is an ordinary task made by services.task_create (so a team without an
  assignee goes through distribution), with the series' fields, tags, checklist,
  participants and reminders, and with (series, occurrence) set. That pair is unique in
  the database: `series_generate_instances` inserts each instance in a savepoint and
  takes an IntegrityError as "already made", so two runs at once, or twice in a row,
  never make an occurrence twice. Each run also locks the series row, so an edit of the
  series and a run never interleave.
- Generation covers every occurrence due within the series' horizon (RECURRENCE_HORIZON_DAYS,
  14 by default) and always the next one, never past the end date or the count, and
  never an occurrence already considered (`generated_until`): an instance someone
  deleted is not made again.
- Editing an instance (`task_save_in_series`) applies to this occurrence only (the task is
  marked detached: later series-wide edits leave it alone), to this and the following
  ones (the series is split: the old one ends before this occurrence, a new one starts
  with it), or to the whole series. Series-wide edits change the instances not started
  yet (pending, not detached) from now on; started, finished and detached ones keep
  their values. Everything in one transaction: a refused part saves nothing.
- Stopping (`series_cancel`) makes no more instances and cancels the future ones not
  started yet; the task it was stopped from, and history, stay.
- Completing one instance changes no other.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from . import access, reminders, rrules, services
from .models import Participant, Task, TaskStatus
from .models_recurrence import DetachedInstance, SeriesStatus, TaskSeries

log = logging.getLogger(__name__)

UTC = dt_timezone.utc
S = TaskStatus
SCOPES = ("this", "following", "all")
# At most this many instances per series and run; the rest come with the next run.
MAX_INSTANCES_PER_RUN = 200
# Template fields copied from a task to its series and from the series to each instance.
TEMPLATE_FIELDS = ("title", "description", "task_type", "priority", "expected_duration", "location", "assignee_id",
                   "team_id", "parent_id", "content_type_id", "object_id")
_EPSILON = timedelta(microseconds=1)


def _utc(naive, zone):
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def local_due(due_at, all_day, zone):
    """A task's deadline as a series keeps it: its date (all day) or naive local date and time in `zone`."""
    if all_day:
        return due_at.astimezone(UTC).date()
    return due_at.astimezone(zone).replace(tzinfo=None)


def schedule_from_due(*, due_at, all_day, pattern, time_zone, until=None, count=None, exdates=(),
                      month_end=rrules.MONTH_END_SKIP):
    """The Schedule whose first occurrence is the given deadline."""
    rrules.validate_time_zone_name(time_zone)
    from zoneinfo import ZoneInfo

    start = local_due(due_at, all_day, ZoneInfo(time_zone))
    return rrules.Schedule(pattern=pattern, start=start, time_zone=time_zone, until=until, count=count,
                           exdates=tuple(sorted(set(exdates))), month_end=month_end)


def _fmt_local(local):
    return local.strftime("%a %-d %b %Y") if not isinstance(local, datetime) else local.strftime("%a %-d %b %Y, %H:%M")


def check_first_occurrence(schedule):
    """Refuse a schedule whose start (the due date) is not one of its own dates."""
    first = schedule.first()
    if first is None:
        raise ValidationError({"repeat_end": "With these end and skipped dates the series has no occurrence."})
    if first.local != schedule.start:
        raise ValidationError({"due_date": (
            f"The due date ({_fmt_local(schedule.start)}) is not one of the repeat dates; the first would be "
            f"{_fmt_local(first.local)}. Change the due date or how it repeats."
        )})
    return first


# ---- template ------------------------------------------------------------------------------


def _base(local, all_day):
    return datetime.combine(local, time.min) if all_day else local


def _template_from_task(series, task, schedule):
    for name in TEMPLATE_FIELDS:
        setattr(series, name, getattr(task, name))
    zone = schedule.zone
    base = _base(schedule.start, schedule.all_day)
    series.begin_offset = (task.begin_at.astimezone(zone).replace(tzinfo=None) - base) if task.begin_at else None
    series.scheduled_offset = (task.scheduled_at.astimezone(zone).replace(tzinfo=None) - base) \
        if task.scheduled_at else None
    series.tags = sorted(t.name for t in task.tags.all())
    series.checklist = [item.text for item in task.checklist.all()]
    series.participants = [[p.user_id, p.role] for p in Participant.objects.filter(task=task)]


def _template_values(series):
    values = {name: getattr(series, name) for name in TEMPLATE_FIELDS}
    values["tags"] = list(series.tags)
    values["begin_offset"] = series.begin_offset
    values["scheduled_offset"] = series.scheduled_offset
    return values


def _instance_dates(series, schedule, occ):
    base = _base(occ.local, schedule.all_day)
    zone = schedule.zone
    return {
        "due_at": occ.key, "all_day": schedule.all_day,
        "begin_at": _utc(base + series.begin_offset, zone) if series.begin_offset is not None else None,
        "scheduled_at": _utc(base + series.scheduled_offset, zone) if series.scheduled_offset is not None else None,
    }


def _instance_fields(series, schedule, occ):
    fields = {
        "description": series.description, "task_type": series.task_type, "priority": series.priority,
        "expected_duration": series.expected_duration, "location": series.location,
        "assignee": series.assignee if series.assignee_id and series.assignee.is_active else None,
        "team": series.team, "parent": series.parent,
        "content_type": series.content_type, "object_id": series.object_id,
    }
    fields.update(_instance_dates(series, schedule, occ))
    return fields


# ---- starting a series ----------------------------------------------------------------------


def series_start(*, task, user, schedule, now=None, check=True, distribute_each=False):
    """Make `task` the first occurrence of a new series following `schedule`, and generate the next ones.

    The schedule's start must be the task's deadline and one of the rule's dates (else a
    ValidationError on "due_date"). The series copies the task's fields, tags, checklist,
    participants and relative reminders; with `distribute_each` (a task given to a team
    without an assignee) it keeps no assignee, so each instance is distributed anew.
    One transaction. Nobody is notified of the instances made now (they were asked for
    by `user`); distribution tells whom it picks.
    """
    now = now or timezone.now()
    if check and not access.can_edit(user, task):
        raise PermissionDenied("You may not change this task.")
    if task.series_id and TaskSeries.objects.filter(pk=task.series_id).exclude(status=SeriesStatus.CANCELLED).exists():
        raise ValidationError("This task already repeats.")
    if task.due_at is None:
        raise ValidationError({"due_date": "A repeating task needs a due date: it is the first occurrence."})
    schedule.validate()
    first = check_first_occurrence(schedule)
    if first.key != task.due_at:
        raise ValidationError({"due_date": "The series must start at the task's due date."})
    with transaction.atomic():
        series = TaskSeries(created_by=user)
        series.set_schedule(schedule)
        _template_from_task(series, task, schedule)
        if distribute_each:
            series.assignee = None
        specs = [reminders.reminder_spec(r) for r in task.reminders.filter(
            kind__in=(reminders.K.RELATIVE_DUE, reminders.K.RELATIVE_SCHEDULED)).order_by("pk")]
        series.reminders = [spec for i, spec in enumerate(specs) if spec not in specs[:i]]  # one per kind and time
        series.generated_until = first.key
        series.full_clean()
        series.save()
        Task.objects.filter(pk=task.pk).update(series=series, occurrence=first.key)
        task.series, task.occurrence = series, first.key
        series_generate_instances(series=series, now=now)
    return series


def series_create(*, created_by, schedule, title, entity=None, participants=(), checklist=(), tags=(), now=None,
                  **fields):
    """Create a task that repeats: the task (services.task_create) as the first occurrence, then its series.

    `fields` are those of task_create; their due_at/all_day must be the schedule's start.
    One transaction: a refused schedule creates nothing. Returns the first instance.
    """
    with transaction.atomic():
        task = services.task_create(created_by=created_by, title=title, entity=entity, participants=participants,
                                    checklist=checklist, tags=tags, **fields)
        series_start(task=task, user=created_by, schedule=schedule, now=now, check=False,
                     distribute_each=fields.get("team") is not None and fields.get("assignee") is None)
    task.refresh_from_db()
    return task


def task_update_repeating(*, task, user, schedule, now=None, **update):
    """Save an edit of a single task (services.task_update) and make it repeat from its due date.

    One transaction: if the schedule is refused, the edit is not saved either.
    """
    with transaction.atomic():
        updated = services.task_update(task=task, user=user, **update)
        series_start(task=updated, user=user, schedule=schedule, now=now)
    updated.refresh_from_db()
    return updated


# ---- generating instances -------------------------------------------------------------------


@dataclass
class GenerationReport:
    series: int = 0
    created: int = 0
    failed: int = 0


def _create_instance(series, schedule, occ):
    """Make the instance for `occ`, or return None when it already exists (made by another run)."""
    for attempt in (1, 2):
        fields = _instance_fields(series, schedule, occ)
        participants = []
        if series.participants:
            from django.contrib.auth import get_user_model

            users = get_user_model().objects.in_bulk([uid for uid, _ in series.participants])
            participants = [(users[uid], role) for uid, role in series.participants
                            if uid in users and users[uid].is_active]
        try:
            with transaction.atomic():
                task = services.task_create(
                    created_by=series.created_by, title=series.title, participants=participants,
                    checklist=list(series.checklist), tags=list(series.tags), notify_assignee=False,
                    series=series, occurrence=occ.key, **fields)
                if series.reminders:
                    reminders.reminders_from_specs(task=task, specs=series.reminders, created_by=series.created_by)
            return task
        except IntegrityError:
            return None  # made meanwhile by a concurrent run: (series, occurrence) is unique
        except ValidationError as exc:
            if Task.objects.filter(series=series, occurrence=occ.key).exists():
                return None
            names = set(getattr(exc, "error_dict", {}))
            if attempt == 1 and names & {"content_type", "object_id"}:
                # The linked entity was deleted: keep repeating, as a global task.
                log.info("Series %s: its linked entity is gone; instances are global from now on.", series.pk)
                TaskSeries.objects.filter(pk=series.pk).update(content_type=None, object_id=None)
                series.content_type, series.object_id = None, None
                continue
            raise
    return None


def series_generate_instances(*, series, now=None):
    """Make the instances of `series` due within its horizon, and always the next one.

    Idempotent and safe to run twice at once (see the module docstring). Runs in one
    transaction holding the series row. Returns the tasks it made.
    """
    now = now or timezone.now()
    created = []
    with transaction.atomic():
        series = TaskSeries.objects.select_for_update(of=("self",)).select_related(
            "assignee", "team", "parent", "content_type").get(pk=series.pk)
        if series.status != SeriesStatus.ACTIVE:
            return created
        schedule = series.schedule()
        upper = schedule.horizon_key(now, series.horizon_days)
        gu = series.generated_until
        occurrences = schedule.between(gu, upper, limit=MAX_INSTANCES_PER_RUN) if gu is None or gu < upper else []
        through = upper if gu is None or gu < upper else gu
        if len(occurrences) >= MAX_INSTANCES_PER_RUN:
            through = occurrences[-1].key
        else:
            upcoming = schedule.first_after(schedule.now_key(now), inclusive=True)
            if upcoming is not None and upcoming.key > through:  # "always the next one"
                occurrences.append(upcoming)
                through = upcoming.key
        for occ in occurrences:
            task = _create_instance(series, schedule, occ)
            if task is not None:
                created.append(task)
        new_gu = through if gu is None or through > gu else gu
        following = schedule.first_after(new_gu)
        if following is not None:
            # Nothing occurs between here and the next occurrence: count that gap as considered, so
            # the job looks at this series again only when the next one enters the horizon, or when
            # the latest instance passes (then the next one is made at once: "always the next one").
            latest = Task.objects.filter(series=series, occurrence__isnull=False).aggregate(m=Max("occurrence"))["m"]
            wake = following.key - _EPSILON
            if latest is not None:
                wake = min(wake, latest + timedelta(days=series.horizon_days))
            new_gu = max(new_gu, wake)
        TaskSeries.objects.filter(pk=series.pk).update(
            generated_until=new_gu, status=SeriesStatus.ACTIVE if following else SeriesStatus.ENDED,
            updated_at=timezone.now())
    if created:
        log.info("Series %s: made %s instance(s) up to %s.", series.pk, len(created), new_gu.isoformat())
    return created


def _horizon_key(now, days, all_day, zone):
    if not all_day:
        return now + timedelta(days=days)
    from zoneinfo import ZoneInfo

    today = now.astimezone(ZoneInfo(zone)).date()
    return datetime.combine(today + timedelta(days=days), time.min).replace(tzinfo=UTC)


def series_generate_due(*, now=None, chunk_size=500):
    """Generate instances for every active series whose horizon has moved on. Each series in its own
    transaction; one failing series is logged and the others go on. Returns a GenerationReport."""
    now = now or timezone.now()
    report = GenerationReport()
    last = 0
    while True:
        rows = list(TaskSeries.objects.filter(status=SeriesStatus.ACTIVE, pk__gt=last).order_by("pk")
                    .values_list("pk", "generated_until", "horizon_days", "all_day", "time_zone")[:chunk_size])
        if not rows:
            break
        last = rows[-1][0]
        for pk, gu, horizon, all_day, zone in rows:
            if gu is not None and gu >= _horizon_key(now, horizon, all_day, zone):
                continue  # its horizon has not moved past what was made
            report.series += 1
            try:
                report.created += len(series_generate_instances(series=TaskSeries(pk=pk), now=now))
            except Exception:  # noqa: BLE001 - one broken series must not stop the others
                report.failed += 1
                log.exception("Could not generate the instances of series %s.", pk)
    return report


# ---- stopping --------------------------------------------------------------------------------


def _not_started(series, after_key):
    return Task.objects.filter(series=series, status=S.PENDING, occurrence__gt=after_key, detached__isnull=True)


def _cancel_instances(ids, now):
    if ids:
        Task.objects.filter(pk__in=ids).update(status=S.CANCELLED, status_changed_at=now, completed_at=None,
                                               version=F("version") + 1, updated_at=now)
        reminders.reminders_drop(task_ids=ids)


def _detach(task, series, user):
    DetachedInstance.objects.get_or_create(task=task, defaults={"series": series, "detached_by": user})


def series_cancel(*, series, user, keep=None, now=None):
    """Stop repeating: no more instances; future instances not started yet are cancelled.

    `keep` (the task it was stopped from) stays as it is. Started, finished and
    separately edited instances stay too: history is kept. Needs the right to change
    `keep` (or any instance when none is given). One transaction. Returns how many
    instances were cancelled.
    """
    now = now or timezone.now()
    if keep is not None and not access.can_edit(user, keep):
        raise PermissionDenied("You may not change this task.")
    with transaction.atomic():
        series = TaskSeries.objects.select_for_update().get(pk=series.pk)
        if series.status == SeriesStatus.CANCELLED:
            raise ValidationError("This task already stopped repeating.")
        schedule = series.schedule()
        future = _not_started(series, schedule.now_key(now))
        if keep is not None:
            future = future.exclude(pk=keep.pk)
        ids = list(future.values_list("pk", flat=True))
        _cancel_instances(ids, now)
        TaskSeries.objects.filter(pk=series.pk).update(status=SeriesStatus.CANCELLED, cancelled_at=now,
                                                       cancelled_by=user, updated_at=now)
        if keep is not None and keep.series_id == series.pk:
            _detach(keep, series, user)
    return len(ids)


# ---- editing instances ----------------------------------------------------------------------


def _end_before(series, schedule, key):
    """End `series` just before its occurrence `key`. Returns the number of occurrences it keeps."""
    kept = schedule.count_before(key)
    if kept == 0:
        return 0
    if schedule.count is not None:
        series.count = kept
    else:
        series.until = schedule.local_of_key(key) if schedule.all_day else schedule.local_of_key(key).date()
        series.until -= timedelta(days=1)
    series.status = SeriesStatus.ENDED
    series.full_clean()
    series.save()
    return kept


def task_save_in_series(*, task, user, scope, data, version, snapshot=None, tags=None, entity=..., schedule=None,
                        now=None):
    """Save the edit of an instance of a repeating task for `scope` ("this", "following", "all").

    `schedule` is the repeat rule the form shows (its start is ignored: the task's new
    due date is the occurrence), or None to stop repeating (from this occurrence on with
    "following", altogether with "all"). Raises services.StaleEdit like task_update,
    ValidationError for a refused change. One transaction. Returns the saved task.
    """
    now = now or timezone.now()
    if scope not in SCOPES:
        raise ValidationError({"repeat_scope": "Choose whether the change is for this occurrence, this and the "
                                               "following ones, or the whole series."})
    if task.series_id is None:
        raise ValidationError("This task does not repeat.")
    with transaction.atomic():
        series = TaskSeries.objects.select_for_update().get(pk=task.series_id)
        old_schedule = series.schedule()
        old_key = task.occurrence
        old_template = _template_values(series)
        updated = services.task_update(task=task, user=user, data=data, version=version, snapshot=snapshot,
                                       tags=tags, entity=entity)
        if scope == "this":
            if schedule is not None and not schedule.same_rule_as(old_schedule):
                raise ValidationError({"repeat_scope": (
                    "You changed how the task repeats: apply the change to this and the following occurrences, "
                    "or to the whole series.")})
            if schedule is None:
                raise ValidationError({"repeat_scope": (
                    "To stop repeating, apply the change to this and the following occurrences, or to the whole "
                    "series.")})
            _detach(updated, series, user)
            return updated
        if series.status == SeriesStatus.CANCELLED:
            raise ValidationError({"repeat_scope": "This series was stopped; only this task can be changed."})
        if schedule is None:
            _stop_from(series, old_schedule, old_key, updated, user, scope, now)
            return updated
        if updated.due_at is None:
            raise ValidationError({"due_date": "A repeating task needs a due date: it is this occurrence."})
        new_local = local_due(updated.due_at, updated.all_day, schedule.zone)
        kept = old_schedule.count_before(old_key) if scope == "following" else 0
        if scope == "following" and kept:
            target = _split(series, old_schedule, old_key, kept, schedule, new_local, updated, user)
        else:
            target = _reschedule_whole(series, old_schedule, old_key, schedule, new_local, updated)
        # The instances that follow the change: not started, not detached, after this occurrence
        # ("following") or from now on ("all": past ones, even overdue, are history).
        pool = list(_not_started(series, old_key if scope == "following" else old_schedule.now_key(now))
                    .exclude(pk=updated.pk))
        _rehome(source=series, source_schedule=old_schedule, target=target, pool=pool, edited=updated,
                edited_date=new_local if updated.all_day else new_local.date(), old_template=old_template,
                after_key=old_key if scope == "following" else old_schedule.now_key(now), now=now)
    return updated


def _stop_from(series, schedule, key, updated, user, scope, now):
    if scope == "all" or schedule.count_before(key) == 0:
        ids = list(_not_started(series, schedule.now_key(now)).exclude(pk=updated.pk).values_list("pk", flat=True))
        _cancel_instances(ids, now)
        TaskSeries.objects.filter(pk=series.pk).update(status=SeriesStatus.CANCELLED, cancelled_at=now,
                                                       cancelled_by=user, updated_at=now)
    else:
        _end_before(series, schedule, key)
        ids = list(_not_started(series, key).exclude(pk=updated.pk).values_list("pk", flat=True))
        _cancel_instances(ids, now)
    _detach(updated, series, user)


def _split(series, old_schedule, old_key, kept, schedule, new_local, updated, user):
    """End `series` before this occurrence and start a new series at it. Returns the new series."""
    count = None
    if schedule.count is not None:
        count = schedule.count - kept
        if count < 1:
            raise ValidationError({"repeat_count": (
                f"{kept} occurrence(s) came before this one, so the series cannot end after {schedule.count} "
                "in all. Choose a larger number.")})
    new_schedule = replace(schedule, start=new_local, count=count,
                           exdates=tuple(d for d in schedule.exdates if d >= (
                               new_local if updated.all_day else new_local.date())))
    new_schedule.validate()
    first = check_first_occurrence(new_schedule)
    _end_before(series, old_schedule, old_key)
    new = TaskSeries(previous=series, created_by=user, horizon_days=series.horizon_days,
                     reminders=list(series.reminders), generated_until=max(series.generated_until or first.key,
                                                                           first.key))
    new.set_schedule(new_schedule)
    _template_from_task(new, updated, new_schedule)
    new.full_clean()
    new.save()
    return new


def _reschedule_whole(series, old_schedule, old_key, schedule, new_local, updated):
    """Give the whole series the new rule, shifted as this occurrence was moved. Returns the series."""
    old_local = old_schedule.local_of_key(old_key)
    old_date = old_local if old_schedule.all_day else old_local.date()
    new_date = new_local if updated.all_day else new_local.date()
    start_date = old_schedule.start_datetime.date() + (new_date - old_date)
    start = start_date if updated.all_day else datetime.combine(start_date, new_local.time())
    new_schedule = replace(schedule, start=start)
    new_schedule.validate()
    occ = new_schedule.occurs_on(new_date)
    if occ is None or occ.key != updated.due_at:
        raise ValidationError({"due_date": (
            f"The new due date ({_fmt_local(new_local)}) is not one of the repeat dates. Change the due date or "
            "how it repeats, or apply the change to this occurrence only.")})
    series.set_schedule(new_schedule)
    _template_from_task(series, updated, replace(new_schedule, start=new_local))
    series.status = SeriesStatus.ACTIVE
    series.full_clean()
    series.save()
    return series


def _rehome(*, source, source_schedule, target, pool, edited, edited_date, old_template, after_key, now):
    """Move the not-started instances `pool` (and the edited one) onto `target`'s dates.

    An instance keeps its local date when the new rule still has it (its time, fields and
    reminders follow the series); one whose date the rule no longer has is cancelled
    (history stays). Dates the rule now has and no instance covers are made, after
    `after_key` and up to what was already generated.
    """
    schedule = target.schedule()
    new_template = _template_values(target)
    changed = {name for name, value in new_template.items() if old_template.get(name) != value}
    bound = max([k for k in (source.generated_until, target.generated_until) if k is not None]
                + [i.occurrence for i in pool] + [schedule.horizon_key(now, target.horizon_days)])
    wanted = {occ.local_date: occ for occ in schedule.between(after_key, bound)}
    others = Task.objects.filter(series__in={source.pk, target.pk}, occurrence__gt=after_key).exclude(
        pk__in=[i.pk for i in pool] + [edited.pk])
    taken = {source_schedule.local_of_key(k) if source_schedule.all_day else source_schedule.local_of_key(k).date()
             for k in others.values_list("occurrence", flat=True) if k is not None}
    ids = [i.pk for i in pool] + [edited.pk]
    Task.objects.filter(pk__in=ids).update(occurrence=None)  # free the keys before re-keying
    edited_occ = schedule.occurs_on(edited_date)
    wanted.pop(edited_date, None)
    Task.objects.filter(pk=edited.pk).update(series=target, occurrence=edited_occ.key)
    edited.series, edited.occurrence = target, edited_occ.key
    cancelled = []
    for inst in pool:
        old_local = source_schedule.local_of_key(inst.occurrence)
        day = old_local if source_schedule.all_day else old_local.date()
        occ = wanted.pop(day, None)
        if occ is None or day in taken:
            cancelled.append(inst.pk)
            continue
        inst.series, inst.occurrence = target, occ.key
        for name, value in _instance_dates(target, schedule, occ).items():
            setattr(inst, name, value)
        for name in changed - {"tags", "begin_offset", "scheduled_offset"}:
            setattr(inst, name, new_template[name])
        inst.version += 1
        inst.save()
        if "tags" in changed:
            inst.tags.set(new_template["tags"])
        reminders.reminders_rearm(task=inst, now=now)
    _cancel_instances(cancelled, now)
    for day, occ in sorted(wanted.items()):
        if day not in taken and occ.key > after_key:
            _create_instance(target, schedule, occ)
    TaskSeries.objects.filter(pk=target.pk).update(generated_until=bound)


# ---- reminders on every occurrence -------------------------------------------------------------


def series_reminder_add(*, series, reminder, now=None):
    """Give every future occurrence of the series a reminder like `reminder` (relative ones only).

    Adds it to the series' template (instances made later get it) and to the instances
    not started yet. One transaction. Returns how many instances got it.
    """
    now = now or timezone.now()
    if reminder.kind not in (reminders.K.RELATIVE_DUE, reminders.K.RELATIVE_SCHEDULED):
        raise ValidationError({"kind": "Only reminders before the due or scheduled time can repeat with the task."})
    spec = reminders.reminder_spec(reminder)
    with transaction.atomic():
        series = TaskSeries.objects.select_for_update().get(pk=series.pk)
        if spec not in series.reminders:
            series.reminders = [*series.reminders, spec]
            TaskSeries.objects.filter(pk=series.pk).update(reminders=series.reminders)
        given = 0
        schedule = series.schedule()
        for task in _not_started(series, schedule.now_key(now)).exclude(pk=reminder.task_id).select_related(
                "assignee"):
            given += len(reminders.reminders_from_specs(task=task, specs=[spec], created_by=reminder.created_by))
    return given


# ---- reading ----------------------------------------------------------------------------------


def series_panel(task, *, now=None, upcoming=5):
    """What the task page's "Repeats" panel shows: the rule in words, the next dates, the instances ahead."""
    now = now or timezone.now()
    series = task.series
    schedule = series.schedule()
    after = max(schedule.now_key(now) - _EPSILON, task.occurrence or schedule.now_key(now))
    next_dates = schedule.take(upcoming, after_key=after) if series.status != SeriesStatus.CANCELLED else []
    ahead = list(Task.objects.filter(series=series, occurrence__gt=task.occurrence or now)
                 .exclude(status=S.CANCELLED).order_by("occurrence").only("pk", "title", "due_at", "all_day",
                                                                          "status", "occurrence")[:upcoming])
    return {
        "series": series, "schedule": schedule, "description": rrules.describe(schedule),
        "next_dates": [o.local for o in next_dates], "ahead": ahead,
        "detached": DetachedInstance.objects.filter(task=task).exists(),
        "previous": series.previous_id,
    }

