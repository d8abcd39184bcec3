"""Real races: two threads, each with its own database connection, act on the same task at once.

Written for PostgreSQL (CI sets DATABASE_URL), where row locks and conditional
updates decide the winner. They also run on SQLite: the test database is a file
and transactions start IMMEDIATE with a 20 s busy timeout, so the two
connections serialise instead of failing.
"""

import pytest

from crm.testing.concurrency import run_at_once
from crm.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks import services
from tasks.models import Task
from tasks.tests.factories import TaskFactory

ROUNDS = 5


@pytest.fixture
def people(transactional_db):
    team = TeamFactory(name="Sales")
    ann = UserFactory(username="ann", first_name="Ann", last_name="Able")
    ben = UserFactory(username="ben", first_name="Ben", last_name="Baker")
    MembershipFactory(team=team, user=ann)
    MembershipFactory(team=team, user=ben)
    return team, ann, ben


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_claims_exactly_one_wins(people, round_):
    team, ann, ben = people
    task = TaskFactory(title="Call back Acme", team=team, created_by=ann)
    loaded = [Task.objects.get(pk=task.pk), Task.objects.get(pk=task.pk)]

    results = run_at_once(
        lambda: services.task_claim(task=loaded[0], user=ann),
        lambda: services.task_claim(task=loaded[1], user=ben),
    )

    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["error", "ok"], results
    winner = next(value.assignee for kind, value in results if kind == "ok")
    loss = next(value for kind, value in results if kind == "error")
    assert isinstance(loss, services.AlreadyClaimed)
    assert (str(loss), loss.by) == (f"{winner.get_full_name()} already took this task.", winner)
    task.refresh_from_db()
    assert (task.assignee, task.version) == (winner, 2)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_edits_of_the_same_version_exactly_one_is_saved(people, round_):
    team, ann, ben = people
    task = TaskFactory(title="Original", team=team, created_by=ann, assignee=ben)
    loaded = [Task.objects.get(pk=task.pk), Task.objects.get(pk=task.pk)]
    snapshot = services.task_snapshot(loaded[0])

    results = run_at_once(
        lambda: services.task_update(task=loaded[0], user=ann, version=1, snapshot=snapshot,
                                     data={"title": "Ann's title"}),
        lambda: services.task_update(task=loaded[1], user=ben, version=1, snapshot=snapshot,
                                     data={"title": "Ben's title"}),
    )

    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["error", "ok"], results
    saved = next(value.title for kind, value in results if kind == "ok")
    loss = next(value for kind, value in results if kind == "error")
    assert isinstance(loss, services.StaleEdit)
    assert loss.changes == [("title", "Original", saved)]
    task.refresh_from_db()
    assert (task.title, task.version) == (saved, 2)
