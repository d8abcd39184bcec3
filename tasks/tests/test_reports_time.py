"""The reports page's "time tracked against expected duration": a hand-built board with known answers.

`owner` (Europe/Berlin) reads the report on Wednesday 12 March 2025 at 10:00 Berlin time; the period
is 24 February to 12 March. Times below are Berlin times.

Completed in the period (expected, tracked on it):
    Call Acme   call   Olga, Sales   2 h   1.5 h by Olga + 1 h by Tom (Mona's timer still runs: not counted)
    Email Beta  email  Tom, Sales    1 h   0.5 h on 20 Feb (before the period: counted) + 1 h
    Demo Gamma  demo   Olga          3 h   nothing tracked (Olga's timer on it still runs: not counted)
    Call Delta  call   Olga          none  0.5 h; completed 24 Feb 00:30 (23 Feb in UTC): in the period
Open now:
    Email Open  email  Tom, Sales    4 h   1 h (Tom's timer still runs: not counted)
    Call Open   call   Olga          none  0.5 h
Never counted for owner: Old call (completed 23 Feb 23:30, just before the period; 1 h expected,
4 h tracked), Dropped (cancelled, 1 h tracked), and Secret (the outsider's: 2 h expected, 3 h tracked).
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from crm.tests import html
from crm.tests.factories import set_time_zone
from tasks import reports
from tasks.models_time import TimeEntry
from tasks.tests.factories import TaskFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=BERLIN)
PERIOD = "date_from=2025-02-24&date_to=2025-03-12"


def at(month, day, hour, minute=0):
    return datetime(2025, month, day, hour, minute, tzinfo=BERLIN)


def task(title, *, created_by, hours=None, completed=None, **fields):
    """A task created ten days before NOW (or before its completion), `hours` expected."""
    created = min(NOW, completed or NOW) - timedelta(days=10)
    fields.setdefault("status_changed_at", created)
    if completed is not None:
        fields.update(status="completed", completed_at=completed, status_changed_at=completed)
    with time_machine.travel(created, tick=False):
        return TaskFactory(title=title, created_by=created_by,
                           expected_duration=timedelta(hours=hours) if hours is not None else None, **fields)


def track(task, user, start, minutes=None):
    """A finished time entry of `minutes` from `start`, or a running timer (minutes=None)."""
    if minutes is None:
        return TimeEntry.objects.create(task=task, user=user, started_at=start)
    return TimeEntry.objects.create(task=task, user=user, started_at=start,
                                    ended_at=start + timedelta(minutes=minutes), duration=timedelta(minutes=minutes))


@pytest.fixture
def board(owner, teammate, manager, outsider, team):
    set_time_zone(owner, "Europe/Berlin")
    acme = task("Call Acme", created_by=owner, assignee=owner, team=team, task_type="call", hours=2,
                completed=at(3, 5, 16))
    track(acme, owner, at(3, 3, 9), 90)
    track(acme, teammate, at(3, 4, 14), 60)               # a colleague's help counts against Olga's estimate
    track(acme, manager, at(3, 11, 18))                    # a timer left running on a completed task
    beta = task("Email Beta", created_by=owner, assignee=teammate, team=team, task_type="email", hours=1,
                completed=at(3, 10, 12))
    track(beta, teammate, at(2, 20, 10), 30)               # before the period, on a task completed in it
    track(beta, teammate, at(3, 10, 9), 60)
    gamma = task("Demo Gamma", created_by=owner, assignee=owner, task_type="demo", hours=3, completed=at(3, 7, 17))
    track(gamma, owner, at(3, 12, 9))                      # running: Gamma still has no time tracked
    delta = task("Call Delta", created_by=owner, assignee=owner, task_type="call", completed=at(2, 24, 0, 30))
    track(delta, owner, at(2, 23, 21), 30)
    email_open = task("Email Open", created_by=owner, assignee=teammate, team=team, task_type="email", hours=4,
                      status="in_progress")
    track(email_open, teammate, at(3, 11, 9), 60)
    track(email_open, teammate, at(3, 12, 8))              # running: two hours so far, not counted
    call_open = task("Call Open", created_by=owner, assignee=owner, task_type="call")
    track(call_open, owner, at(3, 11, 14), 30)
    old = task("Old call", created_by=owner, assignee=owner, task_type="call", hours=1, completed=at(2, 23, 23, 30))
    track(old, owner, at(2, 23, 19), 240)
    dropped = task("Dropped", created_by=owner, assignee=owner, task_type="call", hours=1, status="cancelled")
    track(dropped, owner, at(3, 5, 9), 60)
    secret = task("Secret", created_by=outsider, assignee=outsider, task_type="call", hours=2,
                  completed=at(3, 6, 12))
    track(secret, outsider, at(3, 6, 9), 180)


def get(client, user, query=""):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(f"/reports/?{query}")


def table(response, testid):
    node = html.main(response).find("table", data_testid=testid)
    return [[cell.text() for cell in tr.find_all() if cell.tag in ("td", "th")]
            for tr in node.find("tbody").find_all("tr")]


def summary(response):
    return html.main(response).find("p", data_testid="time-summary").text()


# Completed in the period: assignee or type, completed, expected, tracked, difference, tracked / expected,
# estimated tasks with no time, tasks without an estimate (time tracked on them).
OLGA = ["Olga Owner", "3", "5.0 h", "2.5 h", "-2.5 h", "50%", "1", "1 (0.5 h)"]
TOM = ["Tom Mate", "1", "1.0 h", "1.5 h", "+0.5 h", "150%", "0", "0"]


def test_tracked_hours_next_to_expected_hours_per_assignee_and_type(client, owner, board):
    response = get(client, owner, PERIOD)

    assert response.status_code == 200
    assert table(response, "time-by-assignee") == [OLGA, TOM]
    assert table(response, "time-by-type") == [
        ["Call", "2", "2.0 h", "2.5 h", "+0.5 h", "125%", "0", "1 (0.5 h)"],
        ["Email", "1", "1.0 h", "1.5 h", "+0.5 h", "150%", "0", "0"],
        ["Demo", "1", "3.0 h", "0.0 h", "-3.0 h", "0%", "1", "0"],
    ]
    assert summary(response) == (
        "4 tasks completed in the period. With an estimate: 3 tasks, 6.0 h expected, 4.0 h tracked "
        "(67% of the estimate), 1 with no time tracked. Without an estimate: 1 task, 0.5 h tracked."
    )


def test_open_tasks_show_the_time_tracked_so_far_without_running_timers(client, owner, board):
    response = get(client, owner, PERIOD)

    # Open: count, expected, tracked so far, tracked / expected, tasks without an estimate (their time).
    assert table(response, "open-time-by-assignee") == [
        ["Tom Mate", "1", "4.0 h", "1.0 h", "25%", "0"],
        ["Olga Owner", "1", "0.0 h", "0.0 h", "—", "1 (0.5 h)"],
    ]
    assert table(response, "open-time-by-type") == [
        ["Call", "1", "0.0 h", "0.0 h", "—", "1 (0.5 h)"],
        ["Email", "1", "4.0 h", "1.0 h", "25%", "0"],
    ]


def test_the_report_figures_behind_the_tables(owner, board):
    filters = reports.ReportFilters(date_from=date(2025, 2, 24), date_to=date(2025, 3, 12))
    with time_machine.travel(NOW, tick=False), timezone.override(BERLIN):
        hours = reports.build_report(user=owner, filters=filters)["hours"]

    assert hours["total"] == {
        "open": 2, "open_hours": 4.0, "open_tracked": 1.0, "open_ratio": 25, "open_unestimated": 1,
        "open_unestimated_tracked": 0.5, "completed": 4, "estimated": 3, "completed_hours": 6.0, "tracked": 4.0,
        "difference": -2.0, "ratio": 67, "completed_unestimated": 1, "unestimated_tracked": 0.5, "no_time": 1,
    }
    demo = [row for row in hours["by_type"] if row["key"] == "demo"]
    assert [(r["completed_hours"], r["tracked"], r["difference"], r["ratio"], r["no_time"]) for r in demo] == [
        (3.0, 0.0, -3.0, 0, 1)]  # an estimate with no time: all of it missing, counted under "no time"


def test_an_outsider_sees_only_the_time_on_their_own_tasks(client, outsider, board):
    response = get(client, outsider, PERIOD)

    assert table(response, "time-by-assignee") == [["Otto Side", "1", "2.0 h", "3.0 h", "+1.0 h", "150%", "0", "0"]]
    assert table(response, "open-time-by-assignee") == [["No open tasks."]]
    assert summary(response) == (
        "1 task completed in the period. With an estimate: 1 task, 2.0 h expected, 3.0 h tracked "
        "(150% of the estimate)."
    )


def test_the_manager_sees_the_time_on_the_team_tasks_only(client, manager, board):
    response = get(client, manager, PERIOD)

    # Call Acme and Email Beta; Mona's own running timer on Call Acme is not counted.
    assert table(response, "time-by-assignee") == [
        ["Olga Owner", "1", "2.0 h", "2.5 h", "+0.5 h", "125%", "0", "0"], TOM,
    ]


@pytest.mark.parametrize("query, rows", [
    # The assignee filter keeps Tom's tasks: his hour on Olga's Call Acme stays with Call Acme.
    ("user={teammate}", [TOM]),
    ("task_type=call", [["Olga Owner", "2", "2.0 h", "2.5 h", "+0.5 h", "125%", "0", "1 (0.5 h)"]]),
    ("team={team}", [["Olga Owner", "1", "2.0 h", "2.5 h", "+0.5 h", "125%", "0", "0"], TOM]),
], ids=["user", "type", "team"])
def test_the_team_user_and_type_filters_apply_to_tracked_time(client, owner, teammate, team, board, query, rows):
    response = get(client, owner, f"{PERIOD}&" + query.format(teammate=teammate.pk, team=team.pk))

    assert table(response, "time-by-assignee") == rows


@pytest.mark.parametrize("period, rows", [
    # Demo Gamma (7 Mar) and Email Beta (10 Mar), with Beta's half hour of 20 February.
    ("date_from=2025-03-06&date_to=2025-03-12", [
        ["Olga Owner", "1", "3.0 h", "0.0 h", "-3.0 h", "0%", "1", "0"], TOM]),
    # Old call, completed at 23:30 on Sunday 23 February in Berlin; Call Delta (00:30 on the 24th, still the
    # 23rd in UTC) belongs to the next day.
    ("date_from=2025-02-17&date_to=2025-02-23", [["Olga Owner", "1", "1.0 h", "4.0 h", "+3.0 h", "400%", "0", "0"]]),
    ("date_from=2025-01-01&date_to=2025-01-31", [["No task was completed in this period."]]),
], ids=["second-half", "week-before-in-berlin", "nothing"])
def test_the_period_picks_the_tasks_completed_in_it_with_all_their_time(client, owner, board, period, rows):
    response = get(client, owner, period)

    assert table(response, "time-by-assignee") == rows


def test_the_time_charts_are_drawn_with_their_tables(client, owner, board):
    response = get(client, owner, PERIOD)
    section = html.main(response).find("section", id="hours")

    charts = section.find_all("svg")
    assert [svg.attrs.get("aria-label") for svg in charts] == [
        "Expected and tracked hours by assignee", "Expected and tracked hours by type",
    ]
    legend = [node.text() for node in charts[0].find_all("text") if node.text() in ("Expected", "Tracked")]
    assert legend == ["Expected", "Tracked"]
    assert [table.attrs.get("data-testid") for table in section.find_all("table")] == [
        "time-by-assignee", "time-by-type", "open-time-by-assignee", "open-time-by-type",
    ]
    assert ("time sheets", "/time/?from=2025-02-24&to=2025-03-12") in html.links(section)
    assert "once time entries are recorded" not in response.content.decode()


def test_without_time_entries_or_estimates_there_is_no_chart(client, owner):
    set_time_zone(owner, "Europe/Berlin")
    task("Quick call", created_by=owner, assignee=owner, task_type="call", completed=at(3, 5, 16))

    response = get(client, owner, PERIOD)

    assert html.main(response).find("section", id="hours").find_all("svg") == []
    assert table(response, "time-by-assignee") == [["Olga Owner", "1", "0.0 h", "0.0 h", "—", "—", "0",
                                                    "1 (0.0 h)"]]
    assert summary(response) == "1 task completed in the period. Without an estimate: 1 task, 0.0 h tracked."
