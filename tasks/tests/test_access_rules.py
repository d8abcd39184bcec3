"""Who sees, changes and claims which task (tasks/access.py)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from crm.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks import access
from tasks.models import Participant, Task
from tasks.tests.factories import ParticipantFactory, TaskFactory

ALL = {"own", "assigned", "subscribed", "co_working", "reviewing", "sales_queue", "sales_taken",
       "teammate_private", "other_team", "stranger_private"}


@pytest.fixture
def tasks(team, owner, teammate):
    """One task per reason to see it, all created by a stranger unless said otherwise."""
    stranger = UserFactory(username="stranger")
    other_team = TeamFactory(name="Support", manager=stranger)
    t = {
        "own": TaskFactory(title="own", created_by=owner),
        "assigned": TaskFactory(title="assigned", created_by=stranger, assignee=owner),
        "subscribed": TaskFactory(title="subscribed", created_by=stranger),
        "co_working": TaskFactory(title="co_working", created_by=stranger),
        "reviewing": TaskFactory(title="reviewing", created_by=stranger),
        "sales_queue": TaskFactory(title="sales_queue", created_by=stranger, team=team),
        "sales_taken": TaskFactory(title="sales_taken", created_by=stranger, team=team, assignee=teammate),
        "teammate_private": TaskFactory(title="teammate_private", created_by=teammate),
        "other_team": TaskFactory(title="other_team", created_by=stranger, team=other_team),
        "stranger_private": TaskFactory(title="stranger_private", created_by=stranger),
    }
    ParticipantFactory(task=t["subscribed"], user=owner, role=Participant.Role.SUBSCRIBER)
    ParticipantFactory(task=t["co_working"], user=owner, role=Participant.Role.CO_WORKER)
    ParticipantFactory(task=t["reviewing"], user=owner, role=Participant.Role.REVIEWER)
    assert set(t) == ALL
    return t


def _visible(user):
    return set(access.visible_tasks(user).values_list("title", flat=True))


def _editable(user, tasks):
    return {name for name, task in tasks.items() if access.can_edit(user, task)}


def _claimable(user, tasks):
    return {name for name, task in tasks.items() if access.can_claim(user, task)}


@pytest.mark.parametrize("who,expected", [
    ("owner", {"own", "assigned", "subscribed", "co_working", "reviewing", "sales_queue", "sales_taken"}),
    ("teammate", {"sales_queue", "sales_taken", "teammate_private"}),
    ("manager", {"sales_queue", "sales_taken"}),
    ("outsider", set()),
    ("staff", ALL),
])
def test_visible_tasks(request, tasks, who, expected):
    user = request.getfixturevalue(who)

    assert _visible(user) == expected


@pytest.mark.parametrize("who,expected", [
    ("owner", {"own", "assigned", "co_working", "reviewing"}),
    ("teammate", {"sales_taken", "teammate_private"}),
    ("manager", {"sales_queue", "sales_taken"}),
    ("outsider", set()),
    ("staff", ALL),
])
def test_who_can_edit(request, tasks, who, expected):
    user = request.getfixturevalue(who)

    assert _editable(user, tasks) == expected
    # The list-level rule (bulk actions, "editable" filters) agrees with the per-task one.
    assert set(Task.objects.filter(access.editable_q(user)).values_list("title", flat=True)) == expected


@pytest.mark.parametrize("who,expected", [
    ("owner", {"sales_queue", "own", "subscribed", "co_working", "reviewing"}),
    ("teammate", {"sales_queue", "teammate_private"}),
    ("manager", {"sales_queue"}),
    ("outsider", set()),
    ("staff", {"own", "subscribed", "co_working", "reviewing", "teammate_private", "stranger_private"}),
])
def test_who_can_claim(request, tasks, who, expected):
    """Unassigned team tasks: members and the manager; unassigned tasks without a team: whoever sees them."""
    user = request.getfixturevalue(who)

    assert _claimable(user, tasks) == expected


def test_closed_tasks_cannot_be_claimed(team, owner, manager):
    done = TaskFactory(title="done", team=team, created_by=manager, status="completed")
    dropped = TaskFactory(title="dropped", team=team, created_by=manager, status="cancelled")

    assert (access.can_claim(owner, done), access.can_claim(owner, dropped)) == (False, False)


def test_subscriber_reads_but_does_not_edit(tasks, owner):
    task = tasks["subscribed"]

    assert (access.can_view(owner, task), access.can_edit(owner, task)) == (True, False)


def test_get_task_for_user_answers_404_to_an_outsider(tasks, outsider):
    with pytest.raises(Http404):
        access.get_task_for_user(outsider, tasks["sales_queue"].pk)


def test_get_task_for_user_returns_a_visible_task(tasks, teammate):
    assert access.get_task_for_user(teammate, tasks["sales_queue"].pk) == tasks["sales_queue"]


def test_get_task_for_user_answers_404_for_a_missing_task(tasks, staff):
    missing = max(t.pk for t in tasks.values()) + 1000

    with pytest.raises(Http404):
        access.get_task_for_user(staff, missing)


def test_anonymous_user_sees_and_edits_nothing(tasks):
    anonymous = AnonymousUser()

    assert (set(access.visible_tasks(anonymous)), _editable(anonymous, tasks)) == (set(), set())


def test_inactive_member_still_sees_the_team_tasks_but_cannot_claim(tasks, team):
    resting = UserFactory(username="resting")
    MembershipFactory(team=team, user=resting, is_active=False)

    assert (_visible(resting), _claimable(resting, tasks)) == ({"sales_queue", "sales_taken"}, set())


def test_leaving_the_team_hides_its_tasks(tasks, team, teammate):
    team.memberships.filter(user=teammate).delete()
    fresh = type(teammate).objects.get(pk=teammate.pk)  # team ids are cached per user object (per request)

    assert _visible(fresh) == {"sales_taken", "teammate_private"}
