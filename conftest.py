"""Fixtures shared by every app's tests: named people for access tests."""

pytest_plugins = ["crm.testing.celery_worker"]

import pytest

from crm.tests.factories import MembershipFactory, TeamFactory, UserFactory


@pytest.fixture
def owner(db):
    return UserFactory(username="owner", first_name="Olga", last_name="Owner")


@pytest.fixture
def teammate(db):
    return UserFactory(username="teammate", first_name="Tom", last_name="Mate")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider", first_name="Otto", last_name="Side")


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", first_name="Mona", last_name="Ger")


@pytest.fixture
def staff(db):
    return UserFactory(username="staffer", is_staff=True)


@pytest.fixture
def team(db, owner, teammate, manager):
    """A team managed by `manager` with `owner` and `teammate` as members; `outsider` is not in it."""
    team = TeamFactory(name="Sales", manager=manager)
    MembershipFactory(team=team, user=owner)
    MembershipFactory(team=team, user=teammate)
    return team
