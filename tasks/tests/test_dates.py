"""Overdue, "due today" and "this week" in the reader's time zone; all-day deadlines never shift."""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from tasks import dates
from tasks.models import Task
from tasks.tests.factories import TaskFactory

UTC = dt_timezone.utc
LA = "America/Los_Angeles"
AUCKLAND = "Pacific/Auckland"
TOKYO = "Asia/Tokyo"


def _all_day(day, **kwargs):
    return TaskFactory(due_at=dates.date_as_utc_midnight(day), all_day=True, **kwargs)


def _at(zone, *args):
    return datetime(*args, tzinfo=ZoneInfo(zone))


def _overdue_titles():
    return set(Task.objects.filter(dates.overdue_q()).values_list("title", flat=True))


# ---- all-day deadlines --------------------------------------------------------------------

@pytest.mark.parametrize("zone,local_now,overdue", [
    # Los Angeles is behind UTC: late on the due date it is already the next day in UTC.
    (LA, (2025, 3, 10, 0, 5), False),
    (LA, (2025, 3, 10, 23, 55), False),
    (LA, (2025, 3, 11, 0, 5), True),
    # Auckland is ahead of UTC: early on the due date it is still the day before in UTC.
    (AUCKLAND, (2025, 3, 10, 0, 5), False),
    (AUCKLAND, (2025, 3, 10, 23, 55), False),
    (AUCKLAND, (2025, 3, 11, 0, 5), True),
    (TOKYO, (2025, 3, 10, 0, 5), False),
    (TOKYO, (2025, 3, 10, 23, 55), False),
    (TOKYO, (2025, 3, 11, 0, 5), True),
    (TOKYO, (2025, 3, 9, 23, 55), False),
])
def test_all_day_task_is_overdue_only_after_its_date_in_the_readers_zone(db, zone, local_now, overdue):
    task = _all_day(date(2025, 3, 10), title="Renew contract")

    with timezone.override(zone), time_machine.travel(_at(zone, *local_now), tick=False):
        assert (task.is_overdue(), _overdue_titles()) == (overdue, {"Renew contract"} if overdue else set())


@pytest.mark.parametrize("zone", [LA, AUCKLAND, TOKYO, "UTC"])
def test_all_day_due_date_reads_the_same_everywhere(db, zone):
    task = _all_day(date(2025, 3, 10))

    with timezone.override(zone):
        assert dates.due_date_local(task) == date(2025, 3, 10)


def test_timed_due_date_is_the_readers_local_date(db):
    task = TaskFactory(due_at=datetime(2025, 3, 10, 22, 30, tzinfo=UTC))

    with timezone.override(LA):
        in_la = dates.due_date_local(task)
    with timezone.override(AUCKLAND):
        in_auckland = dates.due_date_local(task)

    assert (in_la, in_auckland) == (date(2025, 3, 10), date(2025, 3, 11))


# ---- timed deadlines ----------------------------------------------------------------------

@pytest.mark.parametrize("local_now,overdue", [
    ((2025, 3, 10, 16, 59), False),
    ((2025, 3, 10, 17, 0), False),
    ((2025, 3, 10, 17, 1), True),
])
def test_timed_task_is_overdue_once_its_instant_has_passed(db, local_now, overdue):
    task = TaskFactory(title="Call Ada", due_at=_at(LA, 2025, 3, 10, 17, 0))

    with timezone.override(AUCKLAND), time_machine.travel(_at(LA, *local_now), tick=False):
        assert (task.is_overdue(), _overdue_titles()) == (overdue, {"Call Ada"} if overdue else set())


@pytest.mark.parametrize("status,overdue", [
    ("pending", True), ("in_progress", True), ("waiting", True), ("blocked", True),
    ("completed", False), ("cancelled", False),
])
def test_only_open_tasks_are_overdue(db, status, overdue):
    timed = TaskFactory(title="timed", status=status, due_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    all_day = _all_day(date(2025, 3, 1), title="all-day", status=status)

    with time_machine.travel(datetime(2025, 3, 10, 12, 0, tzinfo=UTC), tick=False):
        assert (timed.is_overdue(), all_day.is_overdue(), _overdue_titles()) == (
            overdue, overdue, {"timed", "all-day"} if overdue else set(),
        )


def test_task_without_deadline_is_never_overdue(db):
    task = TaskFactory(title="someday")

    with time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False):
        assert (task.is_overdue(), _overdue_titles()) == (False, set())


# ---- today and this week ------------------------------------------------------------------

@pytest.fixture
def around_march_10(db):
    """Deadlines around 10 March 2025 as a Los Angeles reader sees them."""
    _all_day(date(2025, 3, 9), title="all-day 9th")
    _all_day(date(2025, 3, 10), title="all-day 10th")
    _all_day(date(2025, 3, 11), title="all-day 11th")
    TaskFactory(title="LA 9th 23:59", due_at=_at(LA, 2025, 3, 9, 23, 59))
    TaskFactory(title="LA 10th 00:00", due_at=_at(LA, 2025, 3, 10, 0, 0))
    TaskFactory(title="LA 10th 23:30", due_at=_at(LA, 2025, 3, 10, 23, 30))  # 11th in UTC
    TaskFactory(title="LA 11th 00:00", due_at=_at(LA, 2025, 3, 11, 0, 0))
    TaskFactory(title="no deadline")


def _due_between(first, last):
    return set(Task.objects.filter(dates.due_between_q(first, last)).values_list("title", flat=True))


def test_due_today_in_los_angeles(around_march_10):
    with timezone.override(LA), time_machine.travel(_at(LA, 2025, 3, 10, 22, 0), tick=False):
        today = dates.local_today()
        found = _due_between(today, today)

    assert (today, found) == (date(2025, 3, 10), {"all-day 10th", "LA 10th 00:00", "LA 10th 23:30"})


def test_due_today_in_tokyo_counts_local_days_of_timed_tasks(around_march_10):
    # 10 March 16:30 in Los Angeles is 11 March 08:30 in Tokyo.
    with timezone.override(TOKYO), time_machine.travel(_at(TOKYO, 2025, 3, 11, 8, 30), tick=False):
        today = dates.local_today()
        found = _due_between(today, today)

    # In Tokyo, 11 March runs from 10 March 08:00 to 11 March 08:00 in Los Angeles.
    assert (today, found) == (date(2025, 3, 11), {"all-day 11th", "LA 10th 23:30", "LA 11th 00:00"})


def test_due_between_several_days_is_inclusive(around_march_10):
    with timezone.override(LA):
        found = _due_between(date(2025, 3, 9), date(2025, 3, 10))

    assert found == {"all-day 9th", "all-day 10th", "LA 9th 23:59", "LA 10th 00:00", "LA 10th 23:30"}


def test_day_bounds_follow_daylight_saving_time(db):
    # Los Angeles springs forward on Sunday 9 March 2025: that day has 23 hours.
    with timezone.override(LA):
        start, end = dates.day_bounds(date(2025, 3, 9))

    assert (start, end, end - start) == (
        datetime(2025, 3, 9, 8, 0, tzinfo=UTC), datetime(2025, 3, 10, 7, 0, tzinfo=UTC), timedelta(hours=23),
    )


def test_overdue_all_day_and_timed_together_at_midnight_in_auckland(db):
    _all_day(date(2025, 3, 10), title="all-day 10th")
    TaskFactory(title="timed 10th 23:00", due_at=_at(AUCKLAND, 2025, 3, 10, 23, 0))
    TaskFactory(title="timed 11th 00:30", due_at=_at(AUCKLAND, 2025, 3, 11, 0, 30))

    with timezone.override(AUCKLAND), time_machine.travel(_at(AUCKLAND, 2025, 3, 11, 0, 10), tick=False):
        found = _overdue_titles()

    assert found == {"all-day 10th", "timed 10th 23:00"}
