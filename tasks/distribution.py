"""Team queues and automatic distribution.

A task given to a team without an assignee waits in the team's queue. The team's
strategy (`Team.distribution_strategy`, a name registered here) may pick its
assignee when the task is created, given to the team by an edit, or released
back to the team (`services.task_create`, `task_update`, `task_unassign` call
`task_distribute`).

Strategies are classes registered under a name; a team's settings page and the
admin offer every registered strategy:

    from tasks import distribution

    @distribution.register("most_senior")
    class MostSenior(distribution.Strategy):
        label = "Most senior member"
        description = "The member who joined the team first."

        def pick(self, *, task, team, members):
            return [members[0].user] if members else []

`pick()` receives the task, the team (its row locked while `locks_team` is
true) and the eligible members: the team's active memberships of active users,
in the order they joined, without anyone excluded (the person who released the
task). It returns the users to assign: none leaves the task in the queue, one
assigns it, several are only meaningful for a strategy with `copies = True`
(each gets a copy as a subtask). `take_turn()` gives "in turn" behaviour with a
pointer stored on the team.
"""

import logging
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count

from crm.models import Team, TeamMembership
from crm.notifications import notify

from .models import OPEN_STATUSES, Task

log = logging.getLogger(__name__)

DEFAULT_STRATEGY = "claim"


class Strategy:
    """Base class of a distribution strategy. Subclasses set `label`, `description` and `pick()`."""

    name = ""                 # set by @register
    label = ""
    description = ""
    automatic = True          # False: tasks wait in the queue by design (nobody is told)
    copies = False            # True: every picked user gets a copy (a subtask) of the task
    locks_team = True         # lock the team row while picking (strategies that take turns need it)

    def pick(self, *, task, team, members):
        raise NotImplementedError

    def __str__(self):
        return self.label or self.name


_REGISTRY: dict[str, Strategy] = {}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def register(name):
    """Class decorator: register a Strategy subclass under `name` (lower case, digits, underscores)."""
    if not _NAME_RE.match(name):
        raise ValueError(f"Invalid strategy name {name!r}: use lower-case letters, digits and underscores.")

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, Strategy)):
            raise TypeError("Only Strategy subclasses can be registered.")
        cls.name = name
        _REGISTRY[name] = cls()
        return cls

    return decorator


def unregister(name):
    """Forget a strategy (tests register their own and clean up). Teams using it fall back to claiming."""
    _REGISTRY.pop(name, None)


def get(name):
    return _REGISTRY.get(name)


def strategy_names():
    return list(_REGISTRY)


def choices():
    """(name, label) pairs for forms and the admin, in registration order."""
    return [(name, strategy.label or name) for name, strategy in _REGISTRY.items()]


def strategy_for(team):
    """The team's strategy; an unknown name (a strategy removed from the code) means claiming."""
    strategy = _REGISTRY.get(team.distribution_strategy)
    if strategy is None:
        log.warning("Team %s uses unknown distribution strategy %r; tasks wait in its queue.",
                    team.pk, team.distribution_strategy)
        strategy = _REGISTRY[DEFAULT_STRATEGY]
    return strategy


# ---- turn taking -----------------------------------------------------------------------------


def take_turn(team, members, *, key=None, eligible=None):
    """The next member in turn, advancing the team's stored pointer past them.

    The pointer is `team.rr_position` (key None) or `team.type_positions[key]`.
    Walks the members from the pointer (modulo their number) and returns the
    first one `eligible(membership)` accepts, or None. Call it only with the team
    row locked (`task_distribute` locks it for strategies with `locks_team`),
    which is what makes two concurrent distributions take different turns.
    """
    count = len(members)
    if count == 0:
        return None
    position = team.rr_position if key is None else int(team.type_positions.get(key, 0))
    start = position % count
    for step in range(count):
        membership = members[(start + step) % count]
        if eligible is None or eligible(membership):
            if key is None:
                team.rr_position = position + step + 1
            else:
                team.type_positions = {**team.type_positions, key: position + step + 1}
            return membership
    return None


# ---- the built-in strategies ----------------------------------------------------------------


@register("claim")
class Claim(Strategy):
    label = "Claim from the queue"
    description = "Tasks wait in the team queue until a member takes one."
    automatic = False
    locks_team = False

    def pick(self, *, task, team, members):
        return []


@register("round_robin")
class RoundRobin(Strategy):
    label = "Round robin"
    description = "Active members in turn."

    def pick(self, *, task, team, members):
        chosen = take_turn(team, members)
        return [chosen.user] if chosen else []


@register("least_loaded")
class LeastLoaded(Strategy):
    label = "Least loaded"
    description = "The active member with the fewest open tasks (in any team); ties in turn."

    def pick(self, *, task, team, members):
        if not members:
            return []
        ids = [m.user_id for m in members]
        load = dict(
            Task.objects.filter(assignee_id__in=ids, status__in=OPEN_STATUSES).order_by()
            .values("assignee_id").annotate(n=Count("pk")).values_list("assignee_id", "n")
        )
        lowest = min(load.get(i, 0) for i in ids)
        chosen = take_turn(team, members, eligible=lambda m: load.get(m.user_id, 0) == lowest)
        return [chosen.user]


@register("all_members")
class AllMembers(Strategy):
    label = "Every member gets a copy"
    description = ("The task becomes a parent (assigned to the team manager) and every active member "
                   "gets a copy as a subtask.")
    copies = True
    locks_team = False

    def pick(self, *, task, team, members):
        return [m.user for m in members]


@register("by_task_type")
class ByTaskType(Strategy):
    label = "By task type"
    description = "In turn among the active members who handle the task's type (set per member)."

    def pick(self, *, task, team, members):
        handlers = [m for m in members if m.handles(task.task_type)]
        chosen = take_turn(team, handlers, key=task.task_type)
        return [chosen.user] if chosen else []


# ---- the service --------------------------------------------------------------------------


@dataclass
class Distribution:
    """What `task_distribute` did."""

    strategy: str = ""
    assigned: list = field(default_factory=list)   # users who got the task or a copy
    copies: list = field(default_factory=list)     # subtasks created for copying strategies
    queued: bool = False                            # the task waits in the team queue
    stuck: bool = False                             # ... because nobody was eligible (the manager is told)


REASONS = ("created", "given", "released")


def _name(user):
    return (user.get_full_name() or user.username) if user else "nobody"


def eligible_members(team, exclude=()):
    """Active memberships of active users, in the order they joined, without `exclude` (user ids)."""
    qs = (TeamMembership.objects.filter(team=team, is_active=True, user__is_active=True)
          .select_related("user").order_by("pk"))
    excluded = {pk for pk in exclude if pk}
    return [m for m in qs if m.user_id not in excluded]


def task_distribute(*, task, actor, exclude=(), reason="created"):
    """Apply the task's team strategy: assign it, copy it to members, or leave it in the queue.

    Guarantees:
    - does nothing to a task that is closed, has an assignee or has no team;
    - runs in one transaction (joining the caller's); strategies that take turns
      lock the team row first (SELECT ... FOR NO KEY UPDATE on PostgreSQL; SQLite
      write transactions are serialised), so concurrent distributions never take
      the same turn;
    - `exclude` (user ids) are never picked: a member who releases a task does not get it back;
    - copying strategies copy only a task that is new to the team (`reason` "created" or
      "given"); a released copy waits in the queue for someone to claim it;
    - notifications go out after commit: the assignee(s) are told; when nobody is
      eligible the task stays in the queue and the team manager is told.
    """
    if reason not in REASONS:
        raise ValueError(f"Unknown distribution reason {reason!r}.")
    if task.team_id is None or task.assignee_id is not None or task.status not in OPEN_STATUSES:
        return Distribution()
    with transaction.atomic():
        team = Team.objects.get(pk=task.team_id)
        strategy = strategy_for(team)
        result = Distribution(strategy=strategy.name)
        if not strategy.automatic or (strategy.copies and reason == "released"):
            result.queued = True
            return result
        if strategy.locks_team:
            team = Team.objects.select_for_update(no_key=True).get(pk=team.pk)
        before = (team.rr_position, dict(team.type_positions))
        members = eligible_members(team, exclude)
        picked = list(strategy.pick(task=task, team=team, members=members))
        if any(user.pk not in {m.user_id for m in members} for user in picked):
            raise ValueError(f"Strategy {strategy.name!r} picked someone who is not an eligible member.")
        if (team.rr_position, team.type_positions) != before:
            Team.objects.filter(pk=team.pk).update(rr_position=team.rr_position, type_positions=team.type_positions)
        if not picked:
            result.queued = result.stuck = True
            _after_commit_tell_manager(team, task, strategy)
            return result
        if strategy.copies:
            result.copies = _copy_to(task, team, picked, actor)
            result.assigned = picked
            if team.manager_id and team.manager.is_active:
                _set_assignee(task, team.manager)
        else:
            if len(picked) != 1:
                raise ValueError(f"Strategy {strategy.name!r} picked {len(picked)} users; it may pick one.")
            _set_assignee(task, picked[0])
            result.assigned = picked
    for user, target in zip(result.assigned, result.copies or [task] * len(result.assigned)):
        _after_commit_tell_assignee(user, target, team, actor)
    return result


def _set_assignee(task, user):
    # Part of the same operation as the create/release that called us: no version bump of its own.
    # save() (not update()) so the task's history records who got it.
    task.assignee = user
    task.save(update_fields=["assignee", "updated_at"])


def _copy_to(task, team, users, actor):
    """A subtask of `task` for each user, with its fields, checklist and tags."""
    from . import services

    checklist = list(task.checklist.order_by("position", "pk").values_list("text", flat=True))
    tags = list(task.tags.names())
    copies = []
    for user in users:
        copy = services.task_create(
            created_by=actor, title=task.title, checklist=checklist, tags=tags, distribute=False,
            description=task.description, task_type=task.task_type, priority=task.priority,
            begin_at=task.begin_at, due_at=task.due_at, all_day=task.all_day, scheduled_at=task.scheduled_at,
            expected_duration=task.expected_duration, location=task.location, team=team, parent=task,
            content_type=task.content_type, object_id=task.object_id,
        )
        _set_assignee(copy, user)
        copies.append(copy)
    return copies


def _after_commit_tell_assignee(user, task, team, actor):
    text = f"You got “{task.title}” from the {team.name} queue."
    transaction.on_commit(lambda: notify(recipient=user, actor=actor, verb="assigned", text=text, target=task))


def _after_commit_tell_manager(team, task, strategy):
    if team.manager_id is None:
        return
    manager = team.manager
    text = (f"Nobody in {team.name} can take “{task.title}” ({strategy.label.lower()}): "
            "it waits in the team queue.")
    # actor=None: a system notice, delivered even when the manager created the task.
    transaction.on_commit(lambda: notify(recipient=manager, actor=None, verb="queue_stuck", text=text, target=task))


# ---- team settings ------------------------------------------------------------------------


def team_set_distribution(*, team, user, strategy, memberships=()):
    """Change a team's strategy and its members' task types and active flags, all or nothing.

    `memberships` is a list of (TeamMembership, task_types, is_active). Only the
    team's manager and staff may do it (PermissionDenied otherwise); a strategy
    name not registered, a membership of another team or an unknown task type is
    refused (ValidationError) and nothing is saved.
    """
    from django.core.exceptions import PermissionDenied, ValidationError

    if not (user.is_staff or user.is_superuser or (team.manager_id and team.manager_id == user.pk)):
        raise PermissionDenied("Only the team's manager can change how its tasks are distributed.")
    with transaction.atomic():
        current = Team.objects.select_for_update(no_key=True).get(pk=team.pk)
        current.distribution_strategy = strategy
        current.full_clean()
        current.save(update_fields=["distribution_strategy"])
        for membership, task_types, is_active in memberships:
            if membership.team_id != current.pk:
                raise ValidationError("A membership of another team cannot be changed here.")
            membership.task_types = list(task_types)
            membership.is_active = bool(is_active)
            membership.full_clean()
            membership.save(update_fields=["task_types", "is_active"])
    return current
