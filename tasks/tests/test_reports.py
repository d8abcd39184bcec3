"""The reports page /reports/: every figure against a hand-built set of tasks with known answers.

`owner` (Europe/Berlin) reads the report on Wednesday 12 March 2025 at 10:00 Berlin time.
This week runs Monday 10 to Sunday 16 March; the period asked for is 24 February to 12 March
(three weeks: 24 Feb, 3 Mar, 10 Mar).

Completion times (hours from creation to completion) of the tasks completed in the period:
    calls by owner      1, 2, 3, 4, 10   -> median 3,  90th percentile 7.6
    emails by teammate  5, 7             -> median 6,  90th percentile 6.8
    all                 1,2,3,4,5,7,10   -> median 4,  90th percentile 8.2
(90th percentile as PERCENTILE_CONT: rank 0.9 * (n - 1), linear between neighbours.)
"""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, IntegerField, Value
from django.test.utils import CaptureQueriesContext

from crm.tests import html
from crm.tests.factories import MembershipFactory, UserFactory, set_time_zone
from tasks import reports
from tasks.dates import date_as_utc_midnight
from tasks.models import Task
from tasks.models_time import TimeEntry
from tasks.tests.factories import TaskFactory

User = get_user_model()
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=BERLIN)
PERIOD = "date_from=2025-02-24&date_to=2025-03-12"


def at(*args):
    return datetime(*args, tzinfo=BERLIN)


def make(title, *, created, **fields):
    with time_machine.travel(created, tick=False):
        return TaskFactory(title=title, **fields)


def done(title, *, hours, completed, assignee, task_type, due=None, all_day_due=None, minutes=None):
    """A task owner created, completed at `completed`, `hours` after it was created."""
    fields = {}
    if due is not None:
        fields["due_at"] = due
    if all_day_due is not None:
        fields.update(due_at=date_as_utc_midnight(all_day_due), all_day=True)
    if minutes is not None:
        fields["expected_duration"] = timedelta(minutes=minutes)
    return make(title, created=completed - timedelta(hours=hours), status="completed", completed_at=completed,
                status_changed_at=completed, assignee=assignee, created_by=User.objects.get(username="owner"),
                task_type=task_type, **fields)


@pytest.fixture
def board(owner, teammate, outsider, team):
    set_time_zone(owner, "Europe/Berlin")
    # Open tasks (status_changed_at gives the time in status; Demo C never had it set).
    make("Call A", created=NOW - timedelta(days=30), assignee=owner, team=team, task_type="call", priority="high",
         due_at=at(2025, 3, 11, 9, 0), status_changed_at=NOW - timedelta(days=11), created_by=owner)
    make("Email B", created=NOW - timedelta(days=30), assignee=teammate, team=team, task_type="email",
         priority="low", status="in_progress", due_at=date_as_utc_midnight(date(2025, 3, 12)), all_day=True,
         expected_duration=timedelta(minutes=90), status_changed_at=NOW - timedelta(days=2), created_by=owner)
    make("Demo C", created=NOW - timedelta(days=20), assignee=owner, task_type="demo", priority="urgent",
         status="waiting", due_at=at(2025, 3, 14, 15, 0), expected_duration=timedelta(minutes=60),
         status_changed_at=None, created_by=owner)
    make("Meeting D", created=NOW - timedelta(days=30), team=team, task_type="meeting", priority="medium",
         status="blocked", due_at=date_as_utc_midnight(date(2025, 3, 10)), all_day=True,
         status_changed_at=NOW - timedelta(days=10), created_by=owner)
    # Completed in the period.
    done("call 1h", hours=1, completed=at(2025, 2, 25, 10, 0), due=at(2025, 2, 25, 12, 0), assignee=owner,
         task_type="call", minutes=30)                                                   # on time
    done("call 2h", hours=2, completed=at(2025, 2, 26, 10, 0), due=at(2025, 2, 26, 9, 0), assignee=owner,
         task_type="call")                                                               # late
    done("call 3h", hours=3, completed=at(2025, 3, 7, 12, 0), assignee=owner, task_type="call")  # no deadline
    done("call 4h", hours=4, completed=at(2025, 3, 4, 23, 30), all_day_due=date(2025, 3, 4), assignee=owner,
         task_type="call")                              # 23:30 on its all-day date in Berlin: on time
    done("call 10h", hours=10, completed=at(2025, 3, 6, 0, 30), all_day_due=date(2025, 3, 5), assignee=owner,
         task_type="call")                              # 00:30 the day after (23:30 UTC on the date): late
    done("email 5h", hours=5, completed=at(2025, 3, 10, 15, 0), due=at(2025, 3, 11, 10, 0), assignee=teammate,
         task_type="email", minutes=30)                                                  # on time
    done("email 7h", hours=7, completed=at(2025, 3, 11, 18, 0), assignee=teammate, task_type="email")
    # Not in the figures: completed before the period, cancelled, and a task owner may not see.
    done("old call", hours=100, completed=at(2025, 2, 20, 10, 0), assignee=owner, task_type="call")
    make("Dropped", created=NOW - timedelta(days=5), status="cancelled", assignee=owner, created_by=owner)
    make("Secret", created=NOW - timedelta(days=40), assignee=outsider, created_by=outsider, task_type="call",
         due_at=at(2025, 3, 1, 9, 0), status_changed_at=NOW - timedelta(days=40),
         expected_duration=timedelta(hours=8))


def get(client, user, query=""):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(f"/reports/?{query}")


def table(response, testid):
    """Rows of the table marked data-testid=..., as the cells' text."""
    node = html.main(response).find("table", data_testid=testid)
    return [[cell.text() for cell in tr.find_all() if cell.tag in ("td", "th")]
            for tr in node.find("tbody").find_all("tr")]


def stat(response, name):
    return html.main(response).find("span", data_testid=f"stat-{name}").text()


def test_open_and_overdue_by_assignee_team_priority_and_type(client, owner, board):
    response = get(client, owner, PERIOD)

    assert response.status_code == 200
    assert (stat(response, "open"), stat(response, "overdue")) == ("4", "2")
    assert table(response, "open-by-assignee") == [
        ["Olga Owner", "2", "1"], ["Tom Mate", "1", "0"], ["Unassigned", "1", "1"],
    ]
    assert table(response, "open-by-team") == [["Sales", "3", "2"], ["No team", "1", "0"]]
    assert table(response, "open-by-priority") == [
        ["Urgent", "1", "0"], ["High", "1", "1"], ["Medium", "1", "1"], ["Low", "1", "0"],
    ]
    assert table(response, "open-by-type") == [
        ["Call", "1", "1"], ["Email", "1", "0"], ["Meeting", "1", "1"], ["Demo", "1", "0"],
    ]


def test_completion_speed_median_p90_and_on_time_share_by_type_user_and_week(client, owner, board):
    response = get(client, owner, PERIOD)

    assert stat(response, "completed") == "7"
    assert stat(response, "median") == "4.0 h"
    assert stat(response, "on-time") == "60%"
    assert html.main(response).find("p", data_testid="speed-summary").text() == (
        "7 tasks completed: half within 4.0 h of being created, 90% within 8.2 h. "
        "3 of the 5 with a deadline were done on time (60%)."
    )
    assert table(response, "speed-by-type") == [
        ["Call", "5", "3.0 h", "7.6 h", "50% (2/4)"],
        ["Email", "2", "6.0 h", "6.8 h", "100% (1/1)"],
    ]
    assert table(response, "speed-by-user") == [
        ["Olga Owner", "5", "3.0 h", "7.6 h", "50% (2/4)"],
        ["Tom Mate", "2", "6.0 h", "6.8 h", "100% (1/1)"],
    ]
    assert table(response, "speed-by-week") == [
        ["24 Feb 2025", "2", "1.5 h", "1.9 h", "50%"],
        ["3 Mar 2025", "3", "4.0 h", "8.8 h", "50%"],
        ["10 Mar 2025", "2", "6.0 h", "6.8 h", "100%"],
    ]


def test_workload_per_member_with_the_hours_due_this_week(client, owner, board):
    response = get(client, owner, PERIOD)

    # Call A (overdue, due Tuesday, no estimate) and Demo C (Friday, 1 h) for owner; Email B (today, 1.5 h).
    assert table(response, "workload") == [
        ["Olga Owner", "2", "1", "2", "1.0 h", "1"],
        ["Tom Mate", "1", "0", "1", "1.5 h", "0"],
    ]


def test_a_team_member_without_open_tasks_is_listed_with_zeros(client, owner, board, team):
    MembershipFactory(team=team, user=UserFactory(username="idle", first_name="Ida", last_name="Idle"))

    response = get(client, owner, f"{PERIOD}&team={team.pk}")

    assert table(response, "workload") == [
        ["Olga Owner", "1", "1", "1", "0.0 h", "1"],
        ["Tom Mate", "1", "0", "1", "1.5 h", "0"],
        ["Ida Idle", "0", "0", "0", "0.0 h", "0"],
    ]


def test_bottlenecks_list_tasks_stuck_longer_than_the_threshold_and_where_tasks_wait(client, owner, board):
    response = get(client, owner, PERIOD)

    assert stat(response, "stuck") == "3"
    assert table(response, "status-wait") == [
        ["Pending", "1", "1", "11.0 d", "11.0 d"],
        ["In progress", "1", "0", "2.0 d", "2.0 d"],
        ["Waiting", "1", "1", "20.0 d", "20.0 d"],   # never changed status: counted from its creation
        ["Blocked", "1", "1", "10.0 d", "10.0 d"],
    ]
    assert html.main(response).find("p", data_testid="slowest-status").text() == (
        "Tasks wait longest in waiting: half of them have been there for 20.0 days or more."
    )
    assert table(response, "stuck-tasks") == [
        ["Demo C", "Waiting", "Olga Owner", "—", "20"],
        ["Call A", "Pending", "Olga Owner", "Sales", "11"],
        ["Meeting D", "Blocked", "Unassigned", "Sales", "10"],
    ]


def test_the_threshold_filter_changes_what_counts_as_stuck(client, owner, board):
    response = get(client, owner, f"{PERIOD}&threshold=15")

    assert [row[0] for row in table(response, "stuck-tasks")] == ["Demo C"]
    assert stat(response, "stuck") == "1"


def test_expected_hours_by_assignee_and_type_when_no_time_was_tracked(client, owner, board):
    response = get(client, owner, PERIOD)

    # Completed in the period: count, expected, tracked, difference, ratio, estimated without time, and
    # tasks without an estimate (time tracked on them). Nothing is tracked on this board: see
    # test_reports_time.py for tracked time.
    assert table(response, "time-by-assignee") == [
        ["Olga Owner", "5", "0.5 h", "0.0 h", "-0.5 h", "0%", "1", "4 (0.0 h)"],
        ["Tom Mate", "2", "0.5 h", "0.0 h", "-0.5 h", "0%", "1", "1 (0.0 h)"],
    ]
    assert table(response, "time-by-type") == [
        ["Call", "5", "0.5 h", "0.0 h", "-0.5 h", "0%", "1", "4 (0.0 h)"],
        ["Email", "2", "0.5 h", "0.0 h", "-0.5 h", "0%", "1", "1 (0.0 h)"],
    ]
    # Open now: count, expected, tracked so far, ratio, tasks without an estimate (time tracked on them).
    assert table(response, "open-time-by-assignee") == [
        ["Tom Mate", "1", "1.5 h", "0.0 h", "0%", "0"],
        ["Olga Owner", "2", "1.0 h", "0.0 h", "0%", "1 (0.0 h)"],
        ["Unassigned", "1", "0.0 h", "0.0 h", "—", "1 (0.0 h)"],
    ]
    assert table(response, "open-time-by-type") == [
        ["Call", "1", "0.0 h", "0.0 h", "—", "1 (0.0 h)"],
        ["Email", "1", "1.5 h", "0.0 h", "0%", "0"],
        ["Meeting", "1", "0.0 h", "0.0 h", "—", "1 (0.0 h)"],
        ["Demo", "1", "1.0 h", "0.0 h", "0%", "0"],
    ]


def test_filters_by_user_and_type_narrow_every_figure(client, owner, teammate, board):
    response = get(client, owner, f"{PERIOD}&user={teammate.pk}&task_type=email")

    assert (stat(response, "open"), stat(response, "completed"), stat(response, "median")) == ("1", "2", "6.0 h")
    assert table(response, "open-by-assignee") == [["Tom Mate", "1", "0"]]
    assert table(response, "workload") == [["Tom Mate", "1", "0", "1", "1.5 h", "0"]]


def test_an_outsider_only_counts_their_own_tasks(client, outsider, board):
    response = get(client, outsider, PERIOD)

    assert (stat(response, "open"), stat(response, "overdue"), stat(response, "completed")) == ("1", "1", "0")
    assert table(response, "open-by-assignee") == [["Otto Side", "1", "1"]]
    assert table(response, "open-time-by-assignee") == [["Otto Side", "1", "8.0 h", "0.0 h", "0%", "0"]]
    assert table(response, "time-by-assignee") == [["No task was completed in this period."]]
    assert [row[0] for row in table(response, "stuck-tasks")] == ["Secret"]
    for title in ("Call A", "Email B", "Demo C", "Meeting D", "call 1h", "email 5h"):
        assert title not in response.content.decode()


def test_the_manager_sees_the_team_figures_but_not_tasks_outside_the_team(client, manager, board):
    response = get(client, manager, PERIOD)

    # Sales tasks only: Call A, Email B, Meeting D (Demo C has no team and the completed ones neither).
    assert table(response, "open-by-team") == [["Sales", "3", "2"]]
    assert stat(response, "completed") == "0"


def test_the_default_period_is_the_last_eight_weeks(client, owner, board):
    response = get(client, owner)

    weeks = [row[0] for row in table(response, "speed-by-week")]
    assert weeks == ["20 Jan 2025", "27 Jan 2025", "3 Feb 2025", "10 Feb 2025", "17 Feb 2025", "24 Feb 2025",
                     "3 Mar 2025", "10 Mar 2025"]
    assert stat(response, "completed") == "8"  # the "old call" of 20 February is in it now


@pytest.mark.parametrize("query, field, message", [
    ("date_from=2025-13-01", "date_from", "Enter a valid date."),
    ("date_from=2025-03-10&date_to=2025-03-01", "date_to", "The end of the period cannot be before its start."),
    ("date_from=2020-01-01&date_to=2025-03-01", "date_from", "Choose a period of at most two years."),
    ("date_to=0001-01-01", "date_to", "Choose a date between 1900 and 2999."),
    ("threshold=0", "threshold", "Ensure this value is greater than or equal to 1."),
    ("threshold=soon", "threshold", "Enter a whole number of days, e.g. 7."),
    ("team=999999", "team", "Select a valid choice. That choice is not one of the available choices."),
    ("user=abc", "user", "Select a valid choice. That choice is not one of the available choices."),
    ("task_type=lunch", "task_type", "Select a valid choice. lunch is not one of the available choices."),
])
def test_bad_filters_answer_400_with_a_readable_message(client, owner, board, query, field, message):
    response = get(client, owner, query)

    assert response.status_code == 400
    assert html.field_errors(response) == {field: [message]}
    assert html.main(response).find("div", data_testid="report-errors").text() == (
        "The report could not be made: please correct the filters above."
    )


def test_charts_are_inline_svg_with_a_name_and_no_script_or_style(client, owner, board):
    response = get(client, owner, PERIOD)
    page = response.content.decode()
    main = html.main(response)

    charts = main.find_all("svg")
    assert [svg.attrs.get("aria-label") for svg in charts] == [
        "Open tasks by assignee", "Open tasks by type", "Hours from creation to completion, per week",
        "Completed on time, per week (%)", "Open tasks per member", "Expected hours due this week",
        "Days in the current status (median)", "Expected and tracked hours by assignee",
        "Expected and tracked hours by type",
    ]
    assert all(svg.attrs.get("role") == "img" for svg in charts)
    assert main.find_all("script") == [] and main.find_all("style") == []
    assert "style=" not in page.split("<main", 1)[1]
    assert "<script>" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert '<link rel="stylesheet" href="/reports/charts.css">' in page


def test_the_chart_stylesheet_is_pygal_css_scoped_to_the_charts(client):
    response = client.get("/reports/charts.css")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    css = response.content.decode()
    assert "svg.pygal-chart .color-0" in css and "#chart-" not in css and "http" not in css


def test_the_nav_shows_reports(client, owner, board):
    response = get(client, owner)

    assert ("Reports", "/reports/") in html.links(html.parse(response).find("nav"))


def test_the_page_needs_a_signed_in_user(client):
    response = client.get("/reports/")

    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/reports/")


def _report_queries(client, user, count, team):
    Task.objects.all().delete()
    for n in range(count):
        task = make(f"T{n}", created=NOW - timedelta(days=n % 20 + 1), assignee=user, team=team,
                    task_type=["call", "email", "demo"][n % 3], status=["pending", "completed", "waiting"][n % 3],
                    completed_at=NOW - timedelta(hours=n + 1) if n % 3 == 1 else None,
                    due_at=NOW + timedelta(days=n % 5 - 2),
                    expected_duration=timedelta(minutes=30) if n % 4 else None, created_by=user)
        # Two finished time entries per task (by the assignee and a teammate), and one running timer.
        for worker, hours_ago in ((user, n + 30), (team.manager, n + 40)):
            start = NOW - timedelta(hours=hours_ago)
            TimeEntry.objects.create(task=task, user=worker, started_at=start, ended_at=start + timedelta(minutes=20),
                                     duration=timedelta(minutes=20))
    TimeEntry.objects.create(task=task, user=user, started_at=NOW - timedelta(hours=1))
    client.force_login(user)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/reports/?{PERIOD}")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_report_runs_the_same_number_of_queries_for_1_and_50_tasks_and_their_time(client, owner, team):
    set_time_zone(owner, "Europe/Berlin")
    one = _report_queries(client, owner, 1, team)
    fifty = _report_queries(client, owner, 50, team)

    assert one == fifty


# ---- the percentile machinery on its own -------------------------------------------------------

METHODS = ["window"] + (["aggregate"] if connection.vendor == "postgresql" else [])


@pytest.mark.parametrize("method", METHODS)
def test_percentiles_give_percentile_cont_answers_with_either_method(owner, method):
    base = datetime(2025, 1, 1, tzinfo=dt_timezone.utc)
    for task_type, hours in (("call", [10, 1, 4, 2, 3]), ("email", [7, 5]), ("demo", [9])):
        for h in hours:
            TaskFactory(task_type=task_type, status="completed", created_by=owner, completed_at=base)
            Task.objects.filter(pk=Task.objects.latest("pk").pk).update(created_at=base - timedelta(hours=h))
    seconds = reports.SecondsBetween(F("completed_at"), F("created_at"))
    qs = Task.objects.all()

    by_type = reports.percentiles(qs, group=F("task_type"), seconds=seconds, fractions=(0.5, 0.9, 0.25),
                                  method=method)
    overall = reports.percentiles(qs, group=Value(0, output_field=IntegerField()), seconds=seconds, method=method)

    hour = 3600
    assert by_type == {
        "call": {"n": 5, 0.5: 3 * hour, 0.9: pytest.approx(7.6 * hour), 0.25: 2 * hour},
        "email": {"n": 2, 0.5: 6 * hour, 0.9: pytest.approx(6.8 * hour), 0.25: pytest.approx(5.5 * hour)},
        "demo": {"n": 1, 0.5: 9 * hour, 0.9: 9 * hour, 0.25: 9 * hour},
    }
    assert overall == {0: {"n": 8, 0.5: 4.5 * hour, 0.9: pytest.approx(9.3 * hour)}}


def test_a_percentile_fraction_outside_0_to_1_is_refused():
    with pytest.raises(ValueError):
        reports.PercentileCont(F("pk"), 1.5)


def test_report_builds_for_a_staff_user_over_every_task(staff, board):
    filters = reports.ReportFilters(date_from=date(2025, 2, 24), date_to=date(2025, 3, 12))
    with time_machine.travel(NOW, tick=False):
        from django.utils import timezone

        with timezone.override(BERLIN):
            report = reports.build_report(user=staff, filters=filters)

    assert (report["open_overdue"]["open"], report["open_overdue"]["overdue"]) == (5, 3)  # Secret included
