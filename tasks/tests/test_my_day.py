"""My day at `/`: my overdue tasks, due today, the next 7 days, my teams' unassigned tasks."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Profile
from tasks.dates import date_as_utc_midnight
from tasks.tests.factories import TaskFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=BERLIN)


def _section_titles(html, key):
    """Task titles listed in one section of the page, in order."""
    match = re.search(rf'id="section-{key}".*?</section>', html, re.S)
    assert match, f"section {key} missing"
    return re.findall(r'class="fw-semibold">([^<]+)</a>', match.group(0))


@pytest.fixture
def berlin_owner(owner):
    Profile.objects.filter(user=owner).update(time_zone="Europe/Berlin")
    return owner


@time_machine.travel(NOW, tick=False)
def test_my_day_sorts_my_open_tasks_into_sections(client, berlin_owner, teammate, team):
    me = berlin_owner
    TaskFactory(title="Late call", assignee=me, due_at=datetime(2026, 3, 9, 17, 0, tzinfo=BERLIN))
    TaskFactory(title="Late all-day", assignee=me, all_day=True, due_at=date_as_utc_midnight(date(2026, 3, 9)))
    TaskFactory(title="Today 18:00", assignee=me, due_at=datetime(2026, 3, 10, 18, 0, tzinfo=BERLIN))
    TaskFactory(title="Today all-day", assignee=me, all_day=True, due_at=date_as_utc_midnight(date(2026, 3, 10)))
    TaskFactory(title="Tomorrow", assignee=me, due_at=datetime(2026, 3, 11, 9, 0, tzinfo=BERLIN))
    TaskFactory(title="In a week", assignee=me, all_day=True, due_at=date_as_utc_midnight(date(2026, 3, 17)))
    TaskFactory(title="Too far", assignee=me, due_at=datetime(2026, 3, 18, 9, 0, tzinfo=BERLIN))
    TaskFactory(title="Done late", assignee=me, status="completed", due_at=datetime(2026, 3, 1, 9, 0, tzinfo=BERLIN))
    TaskFactory(title="Teammate's", assignee=teammate, due_at=datetime(2026, 3, 10, 15, 0, tzinfo=BERLIN))
    TaskFactory(title="Queue item", team=team, assignee=None, due_at=datetime(2026, 3, 12, 9, 0, tzinfo=BERLIN))
    TaskFactory(title="Other team queue", assignee=None, due_at=datetime(2026, 3, 12, 9, 0, tzinfo=BERLIN))
    client.force_login(me)

    html = client.get("/").content.decode()

    assert _section_titles(html, "overdue") == ["Late all-day", "Late call"]
    assert _section_titles(html, "today") == ["Today all-day", "Today 18:00"]
    assert _section_titles(html, "week") == ["Tomorrow", "In a week"]
    assert _section_titles(html, "queue") == ["Queue item"]


@time_machine.travel(datetime(2026, 3, 10, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles")), tick=False)
def test_all_day_task_is_due_today_on_the_users_own_date(client, owner):
    # 23:30 on 10 March in Los Angeles is already 11 March in UTC: the task due on the 10th is still "today".
    Profile.objects.filter(user=owner).update(time_zone="America/Los_Angeles")
    TaskFactory(title="Send quote", assignee=owner, all_day=True, due_at=date_as_utc_midnight(date(2026, 3, 10)))
    client.force_login(owner)

    html = client.get("/").content.decode()

    assert _section_titles(html, "today") == ["Send quote"]
    assert _section_titles(html, "overdue") == []
    assert "10 Mar 2026" in html


def test_my_day_is_for_signed_in_users_only(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def _make_day_rows(owner, team, org, start, count):
    for i in range(start, start + count):
        for due in (datetime(2026, 3, 9, 9, tzinfo=BERLIN), datetime(2026, 3, 10, 15, tzinfo=BERLIN),
                    datetime(2026, 3, 12, 9, tzinfo=BERLIN)):
            task = TaskFactory(title=f"T{i}", assignee=owner, due_at=due, team=team, tags=["vip"])
            task.set_entity(org)
            task.save()
        TaskFactory(title=f"Q{i}", team=team, assignee=None, due_at=datetime(2026, 3, 12, 9, tzinfo=BERLIN))


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_my_day_query_count_does_not_grow_with_rows(client, berlin_owner, team):
    from crm.tests.factories import OrganizationFactory

    org = OrganizationFactory()
    client.force_login(berlin_owner)
    _make_day_rows(berlin_owner, team, org, 0, 1)
    client.get("/")  # warm per-process caches (content types)
    with_one, html_one = _count_queries(client, "/")

    _make_day_rows(berlin_owner, team, org, 1, 49)
    with_fifty, html_fifty = _count_queries(client, "/")

    assert len(_section_titles(html_one, "overdue")) == 1
    assert len(_section_titles(html_fifty, "overdue")) == 50
    assert with_fifty == with_one
