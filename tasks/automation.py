"""Automation rules: from an event to what the matching rules do.

Flow:
1. tasks.signals hears an event (an entity created, a stage or status changed,
   a task completed) and calls `queue_event`, which describes it with primitive
   values and, after commit, queues the `tasks.automation_event` job if any
   active rule listens for that trigger. "A task becomes overdue" is found by
   the `tasks.automation_overdue` beat job (`scan_overdue`).
2. `handle_event` (in the worker) finds the active rules of the trigger whose
   conditions and team match, and `rule_run` lets each act.
3. `rule_run` writes the AutomationRun row first; (rule, event_key) is unique,
   so a rule acts once per event even when the job runs twice or two scans run
   at once. The action runs in a savepoint: if it fails, the run is logged as
   failed with the reason and nothing of the action is kept.

Rules act with their author's rights (a rule cannot do what its author could
not). Notifications they send come from nobody (actor None), so an author is
told too.

Depth: an event a person caused has depth 0; a task a rule created while
handling an event of depth d has depth d + 1, and so do the events about that
task (its completion, its becoming overdue). Rules do not act on events of
depth AUTOMATION_MAX_DEPTH or more: the run is logged as stopped, so rules that
feed each other cannot loop forever.
"""

import logging

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from crm.choices import Priority
from crm.notifications import notify

from . import access
from .dates import overdue_q
from .models import OPEN_STATUSES, Task
from .models_automation import (
    TRIGGER_MODELS, Action, AutomationRule, AutomationRun, RunStatus, Trigger, normalize_conditions,
)

log = logging.getLogger(__name__)

AUTOMATION_MAX_DEPTH = 5
OVERDUE_BATCH = 500  # tasks per rule per scan; the rest wait for the next scan

PRIORITY_STEPS = [Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]


def _name(user):
    return (user.get_full_name() or user.username) if user else "nobody"


# ---- events ------------------------------------------------------------------------------


def _stamp(value):
    return value.isoformat() if value else "-"


def describe_event(*, trigger, obj, previous=None):
    """The job's keyword arguments for an event: primitives only."""
    trigger = Trigger(trigger)
    kind = TRIGGER_MODELS[trigger].split(".")[1]
    values = {}
    if kind == "task":
        values = {"task_type": obj.task_type, "priority": obj.priority}
        if trigger == Trigger.TASK_COMPLETED:
            key = f"task:{obj.pk}:completed:{_stamp(obj.completed_at)}"
        else:
            key = f"task:{obj.pk}:overdue:{_stamp(obj.due_at)}"
    elif kind == "ticket":
        values = {"status": obj.status, "priority": obj.priority}
        if trigger == Trigger.TICKET_STATUS_CHANGED:
            values["previous_status"] = previous
            key = f"ticket:{obj.pk}:status:{previous}->{obj.status}:{_stamp(obj.updated_at)}"
        else:
            key = f"ticket:{obj.pk}:created"
    elif kind == "opportunity":
        values = {"stage": obj.stage}
        if trigger == Trigger.OPPORTUNITY_STAGE_CHANGED:
            values["previous_stage"] = previous
            key = f"opportunity:{obj.pk}:stage:{previous}->{obj.stage}:{_stamp(obj.updated_at)}"
        else:
            key = f"opportunity:{obj.pk}:created"
    else:
        key = f"{kind}:{obj.pk}:created"
    return {"trigger": trigger.value, "object_id": obj.pk, "event_key": key[:255], "values": values}


def queue_event(*, trigger, obj, previous=None):
    """Queue the automation job for this event once the current transaction commits.

    Nothing is queued when no active rule listens for the trigger (checked after
    commit, so a request that creates records pays nothing when there are no rules).
    """
    event = describe_event(trigger=trigger, obj=obj, previous=previous)
    # robust: the record is already saved; a broker hiccup is logged, not shown to the user as an error.
    transaction.on_commit(lambda: _enqueue(event), robust=True)


def _enqueue(event):
    if not AutomationRule.objects.filter(is_active=True, trigger=event["trigger"]).exists():
        return
    from .jobs import automation_event

    automation_event.delay(**event)


def _model_for(trigger):
    return apps.get_model(TRIGGER_MODELS[Trigger(trigger)])


def event_depth(obj):
    """How many automated steps led to `obj`: 0 unless a rule created it (then that run's depth + 1)."""
    if not isinstance(obj, Task):
        return 0
    deepest = AutomationRun.objects.filter(tasks=obj).aggregate(d=Max("depth"))["d"]
    return 0 if deepest is None else deepest + 1


def handle_event(*, trigger, object_id, event_key, values=None, depth=None):
    """Let every active rule of `trigger` whose conditions match act on the event. Returns the new runs.

    Safe to run twice for one event: each rule acts at most once (see `rule_run`).
    A record deleted before the job ran means nothing to do.
    """
    values = values or {}
    obj = _model_for(trigger).objects.filter(pk=object_id).first()
    if obj is None:
        log.info("Automation: %s #%s is gone; nothing to do for %s.", trigger, object_id, event_key)
        return []
    if depth is None:
        depth = event_depth(obj)
    rules = AutomationRule.objects.filter(is_active=True, trigger=trigger).select_related(
        "created_by", "template", "assign_to", "distribute_to", "reassign_to").order_by("pk")
    runs = []
    for rule in rules:
        if rule.team_id and isinstance(obj, Task) and obj.team_id != rule.team_id:
            continue
        if not rule.matches(values):
            continue
        run = rule_run(rule=rule, obj=obj, event_key=event_key, depth=depth,
                       event_at=obj.due_at if trigger == Trigger.TASK_OVERDUE else None)
        if run is not None:
            runs.append(run)
    return runs


def rule_run(*, rule, obj, event_key, depth, event_at=None):
    """Let one rule act on one event, at most once. Returns the AutomationRun, or None if it already acted.

    One transaction: the run row is inserted first (unique per rule and event, so
    a second job for the same event stops there); the action runs in a savepoint
    and its outcome (done, failed with the reason, or stopped at the depth limit)
    is written on the run.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = AutomationRun.objects.create(
                    rule=rule, trigger=rule.trigger, event_key=event_key,
                    content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk,
                    object_label=str(obj)[:300], event_at=event_at, depth=depth,
                )
        except IntegrityError:
            return None
        created = []
        if depth >= AUTOMATION_MAX_DEPTH:
            run.status = RunStatus.STOPPED
            run.result = (f"Stopped: this event comes after {depth} automated steps; rules stop at "
                          f"{AUTOMATION_MAX_DEPTH} so they cannot loop forever.")
        else:
            try:
                with transaction.atomic():
                    run.result, created = ACTIONS[rule.action](rule=rule, obj=obj)
                run.status = RunStatus.DONE
            except (ValidationError, PermissionDenied) as exc:
                reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                run.status = RunStatus.FAILED
                run.result = f"Failed: {reason}"
        run.save(update_fields=["status", "result"])
        if created:
            run.tasks.set(created)
    log.info("Automation rule %s on %s: %s", rule.pk, event_key, run.result)
    return run


# ---- actions -----------------------------------------------------------------------------
# Each takes the rule and the triggering record, raises ValidationError/PermissionDenied to
# refuse, and returns (what it did, in words; the tasks it created).


def _author(rule):
    author = rule.created_by
    if author is None or not author.is_active:
        raise ValidationError("The rule's author is no longer an active user; the rule needs a new owner.")
    return author


def _entity_of(obj):
    if isinstance(obj, Task):
        return obj.entity if obj.content_type_id else None
    return obj


def act_create_task(*, rule, obj):
    from .task_templates import template_instantiate

    author = _author(rule)
    overrides = {}
    if rule.distribute_to_id:
        overrides["team"] = rule.distribute_to
    if rule.assign_to_id:
        if not rule.assign_to.is_active:
            raise ValidationError(f"{_name(rule.assign_to)} is not an active user.")
        overrides["assignee"] = rule.assign_to
    task = template_instantiate(template=rule.template, user=author, entity=_entity_of(obj), overrides=overrides)
    created = [task, *Task.objects.filter(tree_path__startswith=task.subtree_prefix()).order_by("pk")]
    if task.assignee_id:
        where = f"assigned to {_name(task.assignee)}"
    elif task.team_id:
        where = f"waiting in the {task.team.name} queue"
    else:
        where = "unassigned"
    extra = f" with {len(created) - 1} subtask(s)" if len(created) > 1 else ""
    return f"Created task “{task.title}” (#{task.pk}){extra}, {where}.", created


def act_notify(*, rule, obj):
    recipients = [u for u in rule.notify_users.all() if u.is_active]
    if not recipients:
        raise ValidationError("Nobody to notify: choose at least one active person.")
    text = rule.message or f"{Trigger(rule.trigger).label}: {obj}."
    for user in recipients:
        notify(recipient=user, actor=None, verb="automation", text=text, target=obj)
    return f"Notified {', '.join(_name(u) for u in recipients)}.", []


def act_escalate(*, rule, obj):
    from . import services

    task = Task.objects.select_related("team__manager", "assignee").get(pk=obj.pk)
    if task.status not in OPEN_STATUSES:
        return f"Nothing to do: “{task.title}” is {task.get_status_display().lower()}.", []
    author = _author(rule)
    if not access.can_edit(author, task):
        raise PermissionDenied(f"{_name(author)} may not change “{task.title}”.")
    done = []
    if rule.raise_priority:
        index = PRIORITY_STEPS.index(task.priority)
        if index + 1 < len(PRIORITY_STEPS):
            new = PRIORITY_STEPS[index + 1]
            services.tasks_bulk(user=author, task_ids=[task.pk], action="priority", value=new)
            done.append(f"priority {task.get_priority_display().lower()} → {Priority(new).label.lower()}")
        else:
            done.append("priority already urgent")
    if rule.reassign_to_id and rule.reassign_to_id != task.assignee_id:
        services.task_assign(task=task, user=author, assignee=rule.reassign_to)
        done.append(f"reassigned to {_name(rule.reassign_to)}")
    if rule.notify_manager:
        manager = task.team.manager if task.team_id else None
        if manager is not None and manager.is_active:
            notify(recipient=manager, actor=None, verb="escalated",
                   text=f"“{task.title}” is overdue and was escalated by the rule “{rule.name}”.", target=task)
            done.append(f"told {_name(manager)} (manager of {task.team.name})")
        else:
            done.append("no team manager to tell")
    return f"Escalated “{task.title}”: {', '.join(done)}.", []


ACTIONS = {
    Action.CREATE_TASK: act_create_task,
    Action.NOTIFY: act_notify,
    Action.ESCALATE: act_escalate,
}


# ---- overdue ---------------------------------------------------------------------------------


def scan_overdue(*, now=None, batch=OVERDUE_BATCH):
    """Fire "task becomes overdue" rules once per task and due date. Returns how many runs it wrote.

    For each active rule, the open overdue tasks matching its team and conditions
    that it has not yet acted on for their current due date (a new due date is a
    new event) are handed to `rule_run`, oldest deadline first, at most `batch`
    per rule. Safe to run twice at once: the run's unique (rule, event_key)
    lets exactly one of them act.
    """
    now = now or timezone.now()
    rules = list(AutomationRule.objects.filter(is_active=True, trigger=Trigger.TASK_OVERDUE).select_related(
        "created_by", "template", "assign_to", "distribute_to", "reassign_to").order_by("pk"))
    if not rules:
        return 0
    task_type = ContentType.objects.get_for_model(Task)
    written = 0
    for rule in rules:
        qs = Task.objects.filter(overdue_q(now))
        if rule.team_id:
            qs = qs.filter(team_id=rule.team_id)
        for name, accepted in (rule.conditions or {}).items():
            qs = qs.filter(**{f"{name}__in": accepted})
        acted = AutomationRun.objects.filter(rule=rule, content_type=task_type, object_id=OuterRef("pk"),
                                             event_at=OuterRef("due_at"))
        for task in qs.filter(~Exists(acted)).order_by("due_at", "pk")[:batch]:
            event = describe_event(trigger=Trigger.TASK_OVERDUE, obj=task)
            run = rule_run(rule=rule, obj=task, event_key=event["event_key"], depth=event_depth(task),
                           event_at=task.due_at)
            written += run is not None
    return written


# ---- rules: who manages them, saving -----------------------------------------------------------


def can_manage_rules(user):
    """Managers (of at least one team) and staff see the rules page."""
    if not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or access.managed_team_ids(user))


def visible_rules(user):
    if user.is_staff or user.is_superuser:
        return AutomationRule.objects.all()
    managed = access.managed_team_ids(user)
    return AutomationRule.objects.filter(Q(created_by=user) | Q(team_id__in=managed))


def can_edit_rule(user, rule):
    return visible_rules(user).filter(pk=rule.pk).exists()


RULE_FIELDS = ("name", "is_active", "team", "trigger", "conditions", "action", "template", "assign_to",
               "distribute_to", "message", "raise_priority", "notify_manager", "reassign_to")


def rule_save(*, user, data, notify_users=(), rule=None):
    """Create (rule=None) or change a rule, all or nothing.

    Only managers and staff; a manager's rule belongs to a team they manage
    (staff may leave it global). The template must be one the author may use;
    the "notify" action needs at least one person. Refusals: PermissionDenied,
    or ValidationError naming the field.
    """
    from .task_templates import can_use

    if not can_manage_rules(user) or (rule is not None and not can_edit_rule(user, rule)):
        raise PermissionDenied("Only team managers and staff can change automation rules.")
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown rule fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        if rule is None:
            rule = AutomationRule(created_by=user)
        else:
            rule = AutomationRule.objects.select_for_update().get(pk=rule.pk)
        for name, value in data.items():
            setattr(rule, name, value)
        errors = {}
        staff = user.is_staff or user.is_superuser
        if not staff:
            if rule.team_id is None:
                errors["team"] = "Choose the team the rule belongs to."
            elif rule.team_id not in access.managed_team_ids(user):
                errors["team"] = "You can only make rules for teams you manage."
        if rule.action == Action.CREATE_TASK and rule.template_id and not can_use(rule.created_by or user,
                                                                                  rule.template):
            errors["template"] = "The rule's author may not use this template."
        notify_users = list(notify_users)
        if rule.action == Action.NOTIFY and not notify_users:
            errors["notify_users"] = "Choose at least one person to notify."
        try:
            rule.full_clean()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, messages)
        if errors:
            raise ValidationError(errors)
        if rule.action != Action.CREATE_TASK:
            rule.template = None
        rule.save()
        rule.notify_users.set(notify_users if rule.action == Action.NOTIFY else [])
    return rule


def rule_set_active(*, rule, user, is_active):
    """Enable or disable a rule (its author, its team's manager, staff)."""
    if not can_edit_rule(user, rule):
        raise PermissionDenied("You may not change this rule.")
    AutomationRule.objects.filter(pk=rule.pk).update(is_active=bool(is_active), updated_at=timezone.now())
    rule.is_active = bool(is_active)
    return rule


__all__ = ["AUTOMATION_MAX_DEPTH", "queue_event", "handle_event", "rule_run", "scan_overdue", "rule_save",
           "rule_set_active", "normalize_conditions"]
