"""Team queues and automatic distribution: each strategy, fairness, eligibility, releases, custom strategies."""

from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.models import Notification, Team
from crm.testing.concurrency import run_at_once
from crm.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks import distribution, services
from tasks.forms_teams import TeamDistributionForm
from tasks.models import ChecklistItem, Task
from tasks.tests.factories import TaskFactory


def _notifications():
    return sorted((n.recipient.username, n.verb, n.text) for n in Notification.objects.select_related("recipient"))


def _crew(strategy, names=("ann", "bob", "cid"), manager_name="mia"):
    manager = UserFactory(username=manager_name, first_name=manager_name.title(), last_name="Lead")
    team = TeamFactory(name="Support", manager=manager, distribution_strategy=strategy)
    users = [UserFactory(username=n, first_name=n.title(), last_name="Crew") for n in names]
    for user in users:
        MembershipFactory(team=team, user=user)
    return team, manager, users


def _create(team, creator, title="Ticket follow-up", **fields):
    return services.task_create(created_by=creator, title=title, team=team, **fields)


# ---- round robin --------------------------------------------------------------------------


def test_round_robin_gives_100_tasks_to_3_members_34_33_33_in_turn(db):
    team, manager, (ann, bob, cid) = _crew("round_robin")

    tasks = [_create(team, manager, f"Task {i}") for i in range(100)]

    assert [t.assignee.username for t in tasks[:6]] == ["ann", "bob", "cid", "ann", "bob", "cid"]
    counts = Counter(Task.objects.values_list("assignee__username", flat=True))
    assert counts == {"ann": 34, "bob": 33, "cid": 33}
    team.refresh_from_db()
    assert team.rr_position == 100


def test_round_robin_skips_inactive_members_and_deactivated_users(db):
    team, manager, (ann, bob, cid) = _crew("round_robin")
    team.memberships.filter(user=bob).update(is_active=False)
    cid.is_active = False
    cid.save()

    tasks = [_create(team, manager, f"Task {i}") for i in range(3)]

    assert [t.assignee for t in tasks] == [ann, ann, ann]


def test_the_assignee_is_told_after_commit_and_the_task_row_holds_the_assignee(db, django_capture_on_commit_callbacks):
    team, manager, (ann, bob, cid) = _crew("round_robin")

    with django_capture_on_commit_callbacks(execute=True):
        task = _create(team, manager, "Call Acme back")

    assert Task.objects.get(pk=task.pk).assignee == ann
    assert _notifications() == [("ann", "assigned", "You got “Call Acme back” from the Support queue.")]


# ---- least loaded -------------------------------------------------------------------------


def test_least_loaded_evens_out_an_uneven_start(db):
    team, manager, (ann, bob, cid) = _crew("least_loaded")
    for _ in range(5):
        TaskFactory(assignee=ann)
    for _ in range(2):
        TaskFactory(assignee=bob)
    TaskFactory(assignee=cid, status="completed")  # closed tasks are no load

    new = [_create(team, manager, f"Task {i}") for i in range(10)]

    assert Counter(t.assignee.username for t in new) == {"ann": 1, "bob": 4, "cid": 5}
    open_load = Counter(Task.objects.filter(status="pending").values_list("assignee__username", flat=True))
    assert open_load == {"ann": 6, "bob": 6, "cid": 5}


def test_least_loaded_breaks_ties_in_turn(db):
    team, manager, users = _crew("least_loaded")

    new = [_create(team, manager, f"Task {i}") for i in range(6)]

    assert [t.assignee.username for t in new] == ["ann", "bob", "cid", "ann", "bob", "cid"]


# ---- by task type -------------------------------------------------------------------------


def test_by_task_type_goes_in_turn_among_the_members_who_handle_the_type(db):
    team, manager, (ann, bob, cid) = _crew("by_task_type")
    team.memberships.filter(user=ann).update(task_types=["call"])
    team.memberships.filter(user=bob).update(task_types=["email", "meeting"])
    # cid handles every type (empty list)

    made = [(t, _create(team, manager, f"{t} {i}", task_type=t).assignee.username)
            for i, t in enumerate(["call", "email", "call", "call", "email", "demo", "email"])]

    assert made == [("call", "ann"), ("email", "bob"), ("call", "cid"), ("call", "ann"), ("email", "cid"),
                    ("demo", "cid"), ("email", "bob")]
    team.refresh_from_db()
    assert team.type_positions == {"call": 3, "email": 3, "demo": 1}


def test_by_task_type_without_a_handler_leaves_the_task_queued_and_tells_the_manager(
        db, django_capture_on_commit_callbacks):
    team, manager, (ann, bob, cid) = _crew("by_task_type")
    team.memberships.update(task_types=["call"])

    with django_capture_on_commit_callbacks(execute=True):
        task = _create(team, ann, "Send the contract", task_type="contract")

    assert Task.objects.get(pk=task.pk).assignee is None
    assert _notifications() == [("mia", "queue_stuck",
                                 "Nobody in Support can take “Send the contract” (by task type): "
                                 "it waits in the team queue.")]


# ---- all members, claim, no one eligible ------------------------------------------------------


def test_all_members_gives_every_active_member_a_copy_under_one_parent(db, django_capture_on_commit_callbacks):
    team, manager, (ann, bob, cid) = _crew("all_members")
    team.memberships.filter(user=cid).update(is_active=False)
    creator = UserFactory(username="carl")

    with django_capture_on_commit_callbacks(execute=True):
        parent = services.task_create(created_by=creator, title="Read the new policy", team=team, priority="high",
                                      checklist=["Read", "Sign"], tags=["policy"])

    parent.refresh_from_db()
    copies = list(Task.objects.filter(parent=parent).order_by("assignee__username"))
    assert parent.assignee == manager
    assert [(c.title, c.assignee.username, c.team, c.priority, c.tree_path) for c in copies] == [
        ("Read the new policy", "ann", team, "high", f"/{parent.pk}/"),
        ("Read the new policy", "bob", team, "high", f"/{parent.pk}/"),
    ]
    assert [list(c.checklist.values_list("text", flat=True)) for c in copies] == [["Read", "Sign"], ["Read", "Sign"]]
    assert [sorted(c.tags.names()) for c in copies] == [["policy"], ["policy"]]
    assert _notifications() == [
        ("ann", "assigned", "You got “Read the new policy” from the Support queue."),
        ("bob", "assigned", "You got “Read the new policy” from the Support queue."),
    ]


def test_claim_keeps_the_task_in_the_queue_and_tells_nobody(db, django_capture_on_commit_callbacks):
    team, manager, users = _crew("claim")

    with django_capture_on_commit_callbacks(execute=True):
        task = _create(team, manager)

    assert (Task.objects.get(pk=task.pk).assignee, _notifications()) == (None, [])


def test_no_active_member_leaves_the_task_queued_and_tells_the_manager(db, django_capture_on_commit_callbacks):
    team, manager, users = _crew("round_robin")
    team.memberships.update(is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        task = _create(team, manager, "Call Acme back")

    assert Task.objects.get(pk=task.pk).assignee is None
    # The manager is told even though they created the task (a system notice).
    assert _notifications() == [("mia", "queue_stuck", "Nobody in Support can take “Call Acme back” (round robin): "
                                                       "it waits in the team queue.")]


def test_a_task_created_with_an_assignee_is_not_distributed(db):
    team, manager, (ann, bob, cid) = _crew("round_robin")

    task = _create(team, manager, assignee=cid)

    team.refresh_from_db()
    assert (task.assignee, team.rr_position) == (cid, 0)


# ---- released or given back to a team ---------------------------------------------------------


def test_a_released_task_goes_to_the_next_member_never_back_to_who_released_it(db):
    team, manager, (ann, bob) = _crew("round_robin", names=("ann", "bob"))
    task = TaskFactory(title="Visit Acme", team=team, assignee=ann, created_by=manager)

    released = services.task_unassign(task=task, user=ann)

    assert (released.assignee, Task.objects.get(pk=task.pk).assignee) == (bob, bob)


def test_a_released_task_with_nobody_else_stays_queued_and_the_manager_is_told(
        db, django_capture_on_commit_callbacks):
    team, manager, (ann,) = _crew("round_robin", names=("ann",))
    task = TaskFactory(title="Visit Acme", team=team, assignee=ann, created_by=manager)

    with django_capture_on_commit_callbacks(execute=True):
        services.task_unassign(task=task, user=ann)

    assert Task.objects.get(pk=task.pk).assignee is None
    assert _notifications() == [("mia", "queue_stuck", "Nobody in Support can take “Visit Acme” (round robin): "
                                                       "it waits in the team queue.")]


def test_a_released_copy_of_an_all_members_task_waits_in_the_queue(db):
    team, manager, (ann, bob, cid) = _crew("all_members")
    copy = TaskFactory(title="Read the policy", team=team, assignee=ann, created_by=manager)

    services.task_unassign(task=copy, user=ann)

    assert (Task.objects.get(pk=copy.pk).assignee, Task.objects.filter(parent=copy).count()) == (None, 0)


def test_an_edit_that_gives_the_task_to_a_team_distributes_it(db):
    team, manager, (ann, bob, cid) = _crew("round_robin")
    task = TaskFactory(title="Quote for Acme", created_by=manager, assignee=manager)

    services.task_update(task=task, user=manager, version=task.version, data={"team": team, "assignee": None})

    assert Task.objects.get(pk=task.pk).assignee == ann


# ---- pluggable strategies ------------------------------------------------------------------


@pytest.fixture
def newest_member_strategy():
    @distribution.register("newest_member")
    class NewestMember(distribution.Strategy):
        label = "Newest member"
        description = "The member who joined last."

        def pick(self, *, task, team, members):
            return [members[-1].user] if members else []

    yield NewestMember
    distribution.unregister("newest_member")


def test_a_custom_strategy_registered_in_a_test_is_offered_and_used(db, newest_member_strategy):
    team, manager, (ann, bob, cid) = _crew("claim")
    team.distribution_strategy = "newest_member"
    team.full_clean()
    team.save()

    task = _create(team, manager)

    assert task.assignee == cid
    form = TeamDistributionForm(team=team, memberships=[])
    assert ("newest_member", "Newest member") in form.fields["strategy"].choices


def test_an_unknown_strategy_name_is_refused_with_the_names_that_exist(db):
    team = TeamFactory(name="Support")
    team.distribution_strategy = "lottery"

    with pytest.raises(ValidationError) as exc:
        team.full_clean()

    assert exc.value.message_dict == {"distribution_strategy": [
        "“lottery” is not a distribution strategy. Choose one of: claim, round_robin, least_loaded, all_members, "
        "by_task_type."]}


def test_registering_something_that_is_not_a_strategy_or_a_bad_name_fails_loudly():
    with pytest.raises(ValueError):
        distribution.register("Bad Name")
    with pytest.raises(TypeError):
        distribution.register("not_a_class")(object)
    assert "not_a_class" not in distribution.strategy_names()


def test_a_team_whose_strategy_was_removed_from_the_code_falls_back_to_claiming(db):
    team, manager, users = _crew("claim")
    Team.objects.filter(pk=team.pk).update(distribution_strategy="retired_strategy")
    team.refresh_from_db()

    task = _create(team, manager)

    assert task.assignee is None


# ---- team settings service ------------------------------------------------------------------


def test_only_the_manager_or_staff_change_the_distribution_settings(db, staff):
    team, manager, (ann, bob, cid) = _crew("claim")
    membership = team.memberships.get(user=bob)

    with pytest.raises(PermissionDenied):
        distribution.team_set_distribution(team=team, user=ann, strategy="round_robin")
    distribution.team_set_distribution(team=team, user=manager, strategy="by_task_type",
                                       memberships=[(membership, ["call"], False)])

    team.refresh_from_db()
    membership.refresh_from_db()
    assert (team.distribution_strategy, membership.task_types, membership.is_active) == (
        "by_task_type", ["call"], False)


def test_a_bad_task_type_in_the_settings_saves_nothing(db):
    team, manager, (ann, bob, cid) = _crew("claim")
    first, second = team.memberships.get(user=ann), team.memberships.get(user=bob)

    with pytest.raises(ValidationError):
        distribution.team_set_distribution(team=team, user=manager, strategy="round_robin",
                                           memberships=[(first, ["call"], True), (second, ["juggling"], True)])

    team.refresh_from_db()
    first.refresh_from_db()
    assert (team.distribution_strategy, first.task_types) == ("claim", [])


# ---- concurrency ------------------------------------------------------------------------------

THREADS = 10
PER_THREAD = 10


def test_parallel_creation_never_gives_two_tasks_the_same_turn(transactional_db):
    """Ten threads, each with its own connection, create ten tasks each at the same moment.

    On PostgreSQL (CI) the team row lock serialises the turns; on SQLite the
    IMMEDIATE write transactions do. Either way: 100 turns, 34/33/33.
    """
    team, manager, users = _crew("round_robin")

    def work(index):
        for i in range(PER_THREAD):
            services.task_create(created_by=manager, title=f"T{index}-{i}", team=Team.objects.get(pk=team.pk))

    results = run_at_once(*[lambda i=i: work(i) for i in range(THREADS)], timeout=120)

    errors = [value for kind, value in results if kind == "error"]
    assert errors == []
    team.refresh_from_db()
    counts = Counter(Task.objects.values_list("assignee__username", flat=True))
    assert (team.rr_position, sorted(counts.values()), set(counts)) == (100, [33, 33, 34], {"ann", "bob", "cid"})
    assert Task.objects.filter(assignee__isnull=True).count() == 0
    assert ChecklistItem.objects.count() == 0
