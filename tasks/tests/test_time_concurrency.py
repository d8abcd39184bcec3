"""Real races on the timer: two threads, each with its own database connection, start timers at once.

Written for PostgreSQL (CI); on SQLite the write transactions serialise instead.
"""

import pytest

from crm.testing.concurrency import run_at_once
from crm.tests.factories import UserFactory
from tasks import timetracking
from tasks.models import TimeEntry
from tasks.tests.factories import TaskFactory

ROUNDS = 5


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_starts_leave_exactly_one_timer_running(transactional_db, round_):
    ann = UserFactory(username="ann")
    call = TaskFactory(title="Call", created_by=ann)
    mail = TaskFactory(title="Mail", created_by=ann)

    results = run_at_once(lambda: timetracking.timer_start(user=ann, task=call),
                          lambda: timetracking.timer_start(user=ann, task=mail))

    assert [kind for kind, _ in results] == ["ok", "ok"], results
    stopped = [value.stopped for _, value in results if value.stopped is not None]
    running = list(TimeEntry.objects.filter(user=ann, ended_at__isnull=True).values_list("task__title", flat=True))
    assert len(running) == 1
    assert len(stopped) == 1 and stopped[0].task.title != running[0]
    assert TimeEntry.objects.filter(user=ann, ended_at__isnull=False).count() == 1
