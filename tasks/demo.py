"""Demo and scale task data for `seed_demo`.

`seed_tasks(count=N)` tops the task table up to N tasks, so running it twice
creates nothing twice. Rows are built in memory and written with bulk_create
(100,000 tasks take well under a minute on SQLite). Values are drawn from a
seeded random generator: the same command gives the same data.
"""

import random
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from crm.choices import PRIORITY_RANK, TaskType
from crm.history import record_many
from crm.models import Individual, Opportunity, Organization, Ticket

from .dates import date_as_utc_midnight
from .models import ChecklistItem, Participant, Task, TaskStatus

BATCH = 5000

TEMPLATES = {
    "call": ["Call {who} about renewal", "Discovery call with {who}", "Check in with {who}",
             "Call {who} back about the invoice"],
    "email": ["Email {who} the price list", "Send {who} the meeting notes", "Reply to {who} about delivery dates"],
    "meeting": ["Quarterly review with {who}", "On-site visit at {who}", "Kick-off meeting with {who}"],
    "follow_up": ["Follow up with {who} after the demo", "Chase {who} for signed order", "Follow up on {who}'s complaint"],
    "demo": ["Product demo for {who}", "Show the reporting module to {who}"],
    "proposal": ["Prepare proposal for {who}", "Revise the offer for {who}"],
    "contract": ["Send contract to {who}", "Countersign contract with {who}", "Renewal paperwork for {who}"],
    "other": ["Update {who}'s records", "Plan training for {who}", "Collect feedback from {who}"],
}
LOCATIONS = ["", "", "", "Phone", "Video call", "Customer site", "Head office, room 2", "Berlin office"]
TAGS = ["vip", "renewal", "q4", "onboarding", "upsell", "complaint"]
OUTCOMES = ["Agreed next steps.", "Left a voicemail.", "Customer will decide next week.", "Signed."]
CHECKLIST = ["Review account history", "Prepare agenda", "Send summary afterwards"]


def _entities():
    pools = []
    for model in (Organization, Individual, Ticket, Opportunity):
        ids_names = list(model.objects.order_by("pk").values_list("pk", flat=True)[:500])
        if ids_names:
            objs = {o.pk: str(o) for o in model.objects.filter(pk__in=ids_names)}
            pools.append((ContentType.objects.get_for_model(model), objs))
    return pools


def seed_tasks(*, count, users, teams, stdout=None):
    """Top the task table up to `count` tasks. Returns the number created."""
    existing = Task.objects.count()
    missing = max(0, count - existing)
    if missing == 0 or not users:
        return 0
    rng = random.Random(20261121 + existing)
    now = timezone.now().replace(second=0, microsecond=0)
    pools = _entities()
    types = list(TaskType.values)
    priorities = ["low", "medium", "medium", "medium", "high", "high", "urgent"]
    statuses = (["pending"] * 5 + ["in_progress"] * 3 + ["waiting", "blocked"] + ["completed"] * 4 + ["cancelled"])
    team_list = list(teams)
    created = 0
    small = count <= 1000  # demo data: add subtasks, checklists and participants for realism
    while created < missing:
        batch = []
        for _ in range(min(BATCH, missing - created)):
            task_type = rng.choice(types)
            who, ct, obj_id = "the customer", None, None
            if pools and rng.random() < 0.85:
                ct, objs = rng.choice(pools)
                obj_id = rng.choice(list(objs))
                who = objs[obj_id]
            status = rng.choice(statuses)
            priority = rng.choice(priorities)
            all_day = rng.random() < 0.25
            due_days = rng.randint(-20, 45)
            if all_day:
                due_at = date_as_utc_midnight((now + timedelta(days=due_days)).date())
            else:
                due_at = (now + timedelta(days=due_days)).replace(hour=rng.choice([8, 9, 10, 11, 13, 14, 15, 16]),
                                                                 minute=rng.choice([0, 15, 30, 45]))
            if rng.random() < 0.1:
                due_at, all_day = None, False
            team = rng.choice(team_list) if team_list and rng.random() < 0.5 else None
            assignee = rng.choice(users) if rng.random() < 0.8 else None
            created_at = now - timedelta(days=rng.randint(1, 90), minutes=rng.randint(0, 600))
            completed_at = None
            if status == TaskStatus.COMPLETED:
                completed_at = created_at + timedelta(hours=rng.randint(1, 24 * 20))
            batch.append(Task(
                title=rng.choice(TEMPLATES[task_type]).format(who=who)[:200],
                description="" if rng.random() < 0.5 else f"Notes for {who}: keep it short and friendly.",
                task_type=task_type, status=status, priority=priority, priority_rank=PRIORITY_RANK[priority],
                begin_at=None, due_at=due_at, all_day=all_day,
                scheduled_at=(due_at - timedelta(days=1)) if (due_at and not all_day and rng.random() < 0.3) else None,
                expected_duration=timedelta(minutes=rng.choice([15, 30, 45, 60, 90, 120])),
                location=rng.choice(LOCATIONS),
                outcome=rng.choice(OUTCOMES) if status == TaskStatus.COMPLETED else "",
                assignee=assignee, team=team, created_by=rng.choice(users),
                content_type=ct, object_id=obj_id, completed_at=completed_at,
                status_changed_at=completed_at or created_at, tree_path="/", created_at=created_at,
            ))
        with transaction.atomic(), _keep_created_at():
            objs = Task.objects.bulk_create(batch, batch_size=1000)
            # bulk_create skips save(): write the "created" history records ourselves.
            record_many(objs, history_type="+", reason="Demo data")
            created += len(objs)
            if small:
                _decorate(objs, rng, users)
        if stdout is not None and missing > BATCH:
            stdout.write(f"  {existing + created} / {count} tasks")
    _tag_some(rng)
    return created


class _keep_created_at:
    """Let bulk_create keep the spread-out creation dates (auto_now_add would overwrite them)."""

    def __enter__(self):
        self.field = Task._meta.get_field("created_at")
        self.field.auto_now_add = False

    def __exit__(self, *exc):
        self.field.auto_now_add = True
        return False


def _decorate(tasks, rng, users):
    """Subtasks, checklists and participants on a few demo tasks."""
    tasks = [t for t in tasks if t.pk]
    for parent in tasks[: max(1, len(tasks) // 10)]:
        for n in range(rng.randint(1, 3)):
            Task.objects.create(
                title=f"Step {n + 1}: {parent.title}"[:200], task_type=parent.task_type, priority=parent.priority,
                status=rng.choice(["pending", "completed", "in_progress"]), due_at=parent.due_at,
                all_day=parent.all_day, assignee=parent.assignee, team=parent.team, created_by=parent.created_by,
                parent=parent, tree_path=f"/{parent.pk}/", content_type=parent.content_type,
                object_id=parent.object_id, created_at=parent.created_at,
            )
        for position, text in enumerate(CHECKLIST):
            ChecklistItem.objects.create(task=parent, text=text, position=position, is_done=rng.random() < 0.4)
        others = [u for u in users if u.pk != parent.assignee_id]
        if others:
            Participant.objects.get_or_create(task=parent, user=rng.choice(others),
                                              defaults={"role": rng.choice(Participant.Role.values)})


def _tag_some(rng):
    from taggit.models import Tag, TaggedItem

    ct = ContentType.objects.get_for_model(Task)
    if TaggedItem.objects.filter(content_type=ct).exists():
        return
    tags = [Tag.objects.get_or_create(name=name, defaults={"slug": name})[0] for name in TAGS]
    ids = list(Task.objects.order_by("pk").values_list("pk", flat=True))
    items = [TaggedItem(content_type=ct, object_id=pk, tag=rng.choice(tags)) for pk in ids if pk % 5 == 0]
    TaggedItem.objects.bulk_create(items, batch_size=5000)


def seed_repeating(*, users, teams, stdout=None):
    """Two repeating demo tasks (once): ana's weekly Monday sales call in Berlin time, and the
    Support team's monthly licence check on the last day of the month. Returns how many series it made."""
    from zoneinfo import ZoneInfo

    from . import recurrence, rrules
    from .models_recurrence import TaskSeries

    if TaskSeries.objects.exists() or "ana" not in users:
        return 0
    from datetime import datetime

    ana = users["ana"]
    berlin = ZoneInfo("Europe/Berlin")
    today = timezone.localtime(timezone.now(), berlin).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7)
    due = datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=berlin)
    weekly = recurrence.schedule_from_due(due_at=due, all_day=False, time_zone="Europe/Berlin",
                                          pattern=rrules.compose(freq="weekly", weekdays=[0]))
    first = recurrence.series_create(
        created_by=ana, schedule=weekly, title="Weekly sales pipeline call", task_type="meeting",
        priority="medium", due_at=due, assignee=ana, team=teams.get("Sales"), location="Video call",
        expected_duration=timedelta(minutes=45), checklist=["Update the pipeline", "Agree next week's focus"],
    )
    made = 1
    support = teams.get("Support")
    if support is not None:
        import calendar

        last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
        monthly = recurrence.schedule_from_due(
            due_at=date_as_utc_midnight(last), all_day=True, time_zone="Europe/Berlin",
            pattern=rrules.compose(freq="monthly", month_day=-1))
        recurrence.series_create(
            created_by=users.get("ben", ana), schedule=monthly, title="Check expiring licences",
            task_type="other", priority="high", due_at=date_as_utc_midnight(last), all_day=True, team=support,
        )
        made += 1
    recurrence.series_generate_instances(series=first.series)
    return made
