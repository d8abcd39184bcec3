"""Fixtures for billing tests: a member of the Billing group and helpers that make time to bill."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from crm.tests.factories import OrganizationFactory, UserFactory, set_time_zone
from tasks.models import TimeEntry
from tasks.tests.factories import TaskFactory

BERLIN = ZoneInfo("Europe/Berlin")


def at(day, hour, minute=0, month=3):
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def worked(task, user, start, minutes, **kw):
    """A stopped time entry of `minutes` (a float gives seconds too)."""
    end = start + timedelta(minutes=minutes)
    return TimeEntry.objects.create(task=task, user=user, started_at=start, ended_at=end, duration=end - start, **kw)


def linked_task(entity, **kw):
    task = TaskFactory(**kw)
    task.set_entity(entity)
    task.save()
    return task


@pytest.fixture
def biller(db):
    from billables.services import billing_group_ensure

    user = UserFactory(username="bill", first_name="Bea", last_name="Biller")
    set_time_zone(user, "Europe/Berlin")
    user.groups.add(billing_group_ensure())
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def acme(db):
    return OrganizationFactory(name="Acme GmbH", address="Hauptstr. 1\n10115 Berlin")


@pytest.fixture
def worker(db):
    user = UserFactory(username="wanda", first_name="Wanda", last_name="Work")
    set_time_zone(user, "Europe/Berlin")
    user.profile.default_hourly_rate = "80.00"
    user.profile.save()
    return get_user_model().objects.get(pk=user.pk)
