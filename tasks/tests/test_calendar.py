"""The month calendar of due and scheduled tasks, with the task list's filters."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Profile
from tasks.dates import date_as_utc_midnight
from tasks.tests.factories import TaskFactory

TOKYO = ZoneInfo("Asia/Tokyo")
NY = ZoneInfo("America/New_York")


def _day_titles(html, day):
    match = re.search(rf'data-date="{day}">(.*?)</td>', html, re.S)
    assert match, f"day {day} not in the grid"
    return [t.strip() for t in re.findall(r'title="([^"]+)"', match.group(1))]


@time_machine.travel(datetime(2026, 5, 15, 12, 0, tzinfo=NY), tick=False)
def test_tasks_appear_on_their_local_due_and_scheduled_days(client, owner, outsider):
    Profile.objects.filter(user=owner).update(time_zone="America/New_York")
    # 02:00 UTC on 21 May is 22:00 on 20 May in New York.
    TaskFactory(title="Evening call", assignee=owner, due_at=datetime(2026, 5, 21, 2, 0, tzinfo=ZoneInfo("UTC")))
    TaskFactory(title="Contract day", assignee=owner, all_day=True, due_at=date_as_utc_midnight(date(2026, 5, 1)))
    TaskFactory(title="Scheduled demo", assignee=owner, scheduled_at=datetime(2026, 5, 7, 10, 0, tzinfo=NY),
                due_at=datetime(2026, 5, 28, 10, 0, tzinfo=NY))
    TaskFactory(title="Not mine", created_by=outsider, assignee=outsider, due_at=datetime(2026, 5, 7, 10, 0, tzinfo=NY))
    TaskFactory(title="Next month", assignee=owner, due_at=datetime(2026, 6, 3, 10, 0, tzinfo=NY))
    client.force_login(owner)

    html = client.get("/tasks/calendar/").content.decode()

    assert "May 2026" in html
    assert _day_titles(html, "2026-05-20") == ["Evening call"]
    assert _day_titles(html, "2026-05-21") == []
    assert _day_titles(html, "2026-05-01") == ["Contract day"]
    assert _day_titles(html, "2026-05-07") == ["Scheduled demo"]
    assert _day_titles(html, "2026-05-28") == ["Scheduled demo"]
    assert "Not mine" not in html
    assert "Next month" not in html


@time_machine.travel(datetime(2026, 5, 15, 12, 0, tzinfo=TOKYO), tick=False)
def test_all_day_tasks_keep_their_date_east_of_utc(client, owner):
    Profile.objects.filter(user=owner).update(time_zone="Asia/Tokyo")
    TaskFactory(title="Renewal", assignee=owner, all_day=True, due_at=date_as_utc_midnight(date(2026, 5, 31)))
    client.force_login(owner)

    html = client.get("/tasks/calendar/?month=2026-05").content.decode()

    assert _day_titles(html, "2026-05-31") == ["Renewal"]


@time_machine.travel(datetime(2026, 5, 15, 12, 0, tzinfo=NY), tick=False)
def test_calendar_applies_the_list_filters_and_month_navigation(client, owner):
    TaskFactory(title="Urgent one", assignee=owner, priority="urgent", due_at=datetime(2026, 7, 2, 9, tzinfo=NY))
    TaskFactory(title="Low one", assignee=owner, priority="low", due_at=datetime(2026, 7, 2, 10, tzinfo=NY))
    TaskFactory(title="Finished", assignee=owner, status="completed", due_at=datetime(2026, 7, 3, 10, tzinfo=NY))
    client.force_login(owner)

    html = client.get("/tasks/calendar/?month=2026-07&priority=urgent").content.decode()
    all_statuses = client.get("/tasks/calendar/?month=2026-07&status=completed").content.decode()

    assert _day_titles(html, "2026-07-02") == ["Urgent one"]
    assert 'href="?month=2026-08&amp;priority=urgent"' in html
    assert 'href="?month=2026-06&amp;priority=urgent"' in html
    assert _day_titles(all_statuses, "2026-07-03") == ["Finished"]
    assert _day_titles(all_statuses, "2026-07-02") == []


def test_a_malformed_month_is_a_400_with_a_message(client, owner):
    client.force_login(owner)

    response = client.get("/tasks/calendar/?month=2026-13")

    assert response.status_code == 400
    assert "That month could not be read" in response.content.decode()


def test_a_malformed_filter_is_a_400(client, owner):
    client.force_login(owner)

    response = client.get("/tasks/calendar/?priority=extreme")

    assert response.status_code == 400


def _calendar_rows(owner, start, count):
    for i in range(start, start + count):
        TaskFactory(title=f"T{i}", assignee=owner, due_at=datetime(2026, 5, 1 + i % 28, 9, tzinfo=NY),
                    scheduled_at=datetime(2026, 5, 1 + (i + 3) % 28, 9, tzinfo=NY))


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


@time_machine.travel(datetime(2026, 5, 15, 12, 0, tzinfo=NY), tick=False)
def test_calendar_query_count_does_not_grow_with_rows(client, owner):
    client.force_login(owner)
    _calendar_rows(owner, 0, 1)
    client.get("/tasks/calendar/")
    with_one, html_one = _queries(client, "/tasks/calendar/")

    _calendar_rows(owner, 1, 49)
    with_fifty, html_fifty = _queries(client, "/tasks/calendar/")

    assert html_one.count('class="cal-task') == 2
    assert html_fifty.count('class="cal-task') == 100
    assert with_fifty == with_one
