"""Generation running twice at the same moment: every occurrence is made once.

Written for PostgreSQL (CI sets DATABASE_URL), where the unique constraint on
(series, occurrence) and the series row lock decide; each thread has its own
connection. Also runs on SQLite (file database, IMMEDIATE transactions), where the
two runs serialise.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.testing.concurrency import run_at_once
from crm.tests.factories import UserFactory
from tasks import recurrence
from tasks.models import Task, TaskSeries

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2025, 5, 5, 9, tzinfo=BERLIN)


def _series(owner, title, pattern="FREQ=DAILY"):
    schedule = recurrence.schedule_from_due(due_at=START, all_day=False, pattern=pattern, time_zone="Europe/Berlin")
    return recurrence.series_create(created_by=owner, schedule=schedule, title=title, due_at=START,
                                    assignee=owner, now=START - timedelta(hours=1)).series


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_generation_runs_at_once_make_each_occurrence_once(round_):
    owner = UserFactory(username="owner")
    series = [_series(owner, f"Series {i}", pattern) for i, pattern in
              enumerate(["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=DAILY;INTERVAL=2"])]
    before = Task.objects.count()
    later = START + timedelta(days=10)

    results = run_at_once(lambda: recurrence.series_generate_due(now=later),
                          lambda: recurrence.series_generate_due(now=later), timeout=120)

    assert [kind for kind, _ in results] == ["ok", "ok"], results
    made = sum(report.created for _, report in results)
    pairs = list(Task.objects.values_list("series_id", "occurrence"))
    assert len(pairs) == len(set(pairs)) == before + made
    expected = {s.pk: [o.key for o in s.schedule().between(None, later + timedelta(days=14))] for s in series}
    assert {s.pk: sorted(Task.objects.filter(series=s).values_list("occurrence", flat=True)) for s in series} == expected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_inserts_of_the_same_occurrence_at_once_make_one_task(round_):
    """The database constraint alone (no series lock): one insert wins, the other is told "already made"."""
    owner = UserFactory(username="owner")
    series = TaskSeries.objects.get(pk=_series(owner, "Daily").pk)
    schedule = series.schedule()
    occurrence = schedule.first_after(START + timedelta(days=30))

    results = run_at_once(lambda: recurrence._create_instance(series, schedule, occurrence),
                          lambda: recurrence._create_instance(series, schedule, occurrence), timeout=120)

    assert [kind for kind, _ in results] == ["ok", "ok"], results
    made = [value for _, value in results if value is not None]
    assert len(made) == 1
    assert list(Task.objects.filter(series=series, occurrence=occurrence.key).values_list("pk", flat=True)) == [
        made[0].pk]
