"""Time tracking in the browser: the Time panel, the timer buttons in lists and the nav, entries, /time/."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.tests import html
from crm.tests.factories import OrganizationFactory, UserFactory, set_time_zone
from tasks.models import TimeEntry
from tasks.tests.factories import TaskFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=BERLIN)


def at(hour, minute=0, day=10):
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


def entry(task, user, start, end, **kw):
    return TimeEntry.objects.create(task=task, user=user, started_at=start, ended_at=end,
                                    duration=None if end is None else end - start, **kw)


@pytest.fixture
def berlin_owner(owner):
    return set_time_zone(owner, "Europe/Berlin")


@pytest.fixture
def call(berlin_owner):
    return TaskFactory(title="Call Acme", created_by=berlin_owner, assignee=berlin_owner,
                       expected_duration=timedelta(hours=2))


def panel(response):
    return html.main(response).find("section", id="time")


@time_machine.travel(NOW, tick=False)
def test_start_from_the_task_page_then_the_nav_and_the_panel_show_the_running_timer(client, berlin_owner, call):
    client.force_login(berlin_owner)

    started = client.post(f"/tasks/{call.pk}/timer/start/", {"next": f"/tasks/{call.pk}/"}, follow=True)

    assert started.redirect_chain == [(f"/tasks/{call.pk}/", 302)]
    assert html.messages(started) == ["Timer started on “Call Acme”."]
    nav = html.parse(started).find("li", cls="running-timer")
    assert nav.text() == "running: Call Acme 0:00 Stop"
    assert panel(started).find("div", cls="timer-state").text() == "Timer running since 10 Mar, 15:00 (0 min)."
    assert list(TimeEntry.objects.values_list("task__title", "started_at", "ended_at")) == [("Call Acme", NOW, None)]


@time_machine.travel(NOW, tick=False)
def test_starting_a_second_timer_says_which_one_it_stopped(client, berlin_owner, call):
    other = TaskFactory(title="Write proposal", created_by=berlin_owner)
    entry(call, berlin_owner, at(13, 45), None)
    client.force_login(berlin_owner)

    response = client.post(f"/tasks/{other.pk}/timer/start/", follow=True)

    assert html.messages(response) == ["Stopped the timer on “Call Acme” (1:15 h).",
                                       "Timer started on “Write proposal”."]
    assert set(TimeEntry.objects.values_list("task__title", "ended_at")) == {("Call Acme", NOW),
                                                                            ("Write proposal", None)}


@time_machine.travel(NOW, tick=False)
def test_stop_from_the_nav_returns_to_the_page_with_the_time_spent(client, berlin_owner, call):
    entry(call, berlin_owner, at(14, 10), None)
    client.force_login(berlin_owner)

    response = client.post("/time/stop/", {"next": "/tasks/"}, follow=True)

    assert response.redirect_chain == [("/tasks/", 302)]
    assert html.messages(response) == ["Stopped the timer on “Call Acme”: 0:50 h."]
    assert html.parse(response).find("li", cls="running-timer") is None


@time_machine.travel(NOW, tick=False)
def test_stopping_when_nothing_runs_is_a_409_with_a_reason(client, berlin_owner):
    client.force_login(berlin_owner)

    response = client.post("/time/stop/")

    assert response.status_code == 409
    assert html.messages(response) == ["No timer of yours is running."]


@time_machine.travel(NOW, tick=False)
def test_a_timer_left_running_overnight_is_flagged_in_the_nav_the_list_and_the_panel(client, berlin_owner, call):
    entry(call, berlin_owner, at(18, 0, day=9), None)
    client.force_login(berlin_owner)

    page = client.get(f"/tasks/{call.pk}/")
    listing = client.get("/tasks/")

    assert "still running?" in html.parse(page).find("li", cls="running-timer").text()
    assert panel(page).find("div", cls="timer-state").text().startswith("Still running?")
    stop = html.main(listing).find("button", cls="timer-stop")
    assert stop.attrs["aria-label"] == ("Stop the timer on Call Acme (running 21:00 h, since before midnight or for "
                                        "many hours)")
    assert "btn-warning" in stop.classes


@time_machine.travel(NOW, tick=False)
def test_list_and_my_day_rows_offer_start_and_stop_without_changing_their_text(client, berlin_owner, call):
    other = TaskFactory(title="Write proposal", created_by=berlin_owner, assignee=berlin_owner, due_at=NOW)
    entry(call, berlin_owner, at(14, 0), None)
    client.force_login(berlin_owner)

    listing = html.main(client.get("/tasks/"))
    my_day = html.main(client.get("/"))

    buttons = {tr.find("td", cls="task-title").find("a").text(): tr.find("button", cls="timer-stop") is not None
               for tr in listing.find("tbody").find_all("tr")}
    assert buttons == {"Call Acme": True, "Write proposal": False}
    assert [td.text() for td in listing.find_all("td", cls="task-title")] == ["Write proposal", "Call Acme"]
    assert [f.attrs["action"] for f in my_day.find_all("form", cls="timer-form")] == [
        f"/tasks/{other.pk}/timer/start/"]


def test_outsiders_get_404_for_the_timer_and_entries_of_tasks_they_cannot_see(client, berlin_owner, outsider, call):
    mine = entry(call, berlin_owner, at(9), at(10))
    client.force_login(outsider)

    responses = [client.post(f"/tasks/{call.pk}/timer/start/").status_code,
                 client.post(f"/tasks/{call.pk}/time/new/", {"date": "2026-03-10", "duration": "30"}).status_code,
                 client.get(f"/time/entries/{mine.pk}/edit/").status_code,
                 client.post(f"/time/entries/{mine.pk}/delete/").status_code]

    assert responses == [404, 404, 404, 404]
    assert list(TimeEntry.objects.values_list("pk", flat=True)) == [mine.pk]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("data, errors", [
    ({"date": "2026-03-10", "start": "10:00", "end": "09:00"}, {"end": ["The end cannot be before the start."]}),
    ({"date": "2026-03-10", "duration": "-30"}, {"duration": ["The duration cannot be negative."]}),
    ({"date": "2026-03-10", "duration": "soon"},
     {"duration": ["Enter minutes (90), hours and minutes (1:30) or e.g. 1h 30m."]}),
    ({"date": "2026-03-10"}, {"duration": ["Enter a start and an end, or a duration."]}),
    ({"date": "2026-13-40", "duration": "30"}, {"date": ["Enter a valid date."]}),
    ({"date": "2025-03-30", "start": "02:30", "duration": "30"},
     {"__all__": ["02:30 does not exist on 30 Mar 2025 in Europe/Berlin (the clocks change)."]}),
])
def test_adding_time_with_bad_input_shows_why_and_saves_nothing(client, berlin_owner, call, data, errors):
    client.force_login(berlin_owner)

    response = client.post(f"/tasks/{call.pk}/time/new/", data)

    assert response.status_code == 400
    shown = html.field_errors(response)
    if "__all__" in errors:
        assert [n.text() for n in html.main(response).find_all("div", cls="alert-danger")] == [
            "The time was not added: please correct the errors below.", errors["__all__"][0]]
    else:
        assert shown == errors
    assert TimeEntry.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_adding_and_editing_time_by_hand_keeps_the_history_visible_in_the_panel(client, berlin_owner, call):
    client.force_login(berlin_owner)

    added = client.post(f"/tasks/{call.pk}/time/new/", {"date": "2026-03-10", "start": "09:00", "end": "10:30",
                                                        "note": "Prep", "billable": "on"}, follow=True)
    made = TimeEntry.objects.get()
    with time_machine.travel(at(15, 30), tick=False):
        client.post(f"/time/entries/{made.pk}/edit/", {"date": "2026-03-10", "start": "09:00", "end": "10:00",
                                                       "note": "Prep call"})
        page = client.get(f"/tasks/{call.pk}/")

    assert html.messages(added) == ["Added 1:30 h to “Call Acme”."]
    item = panel(page).find("li", id=f"time-entry-{made.pk}")
    assert item.find("div", cls="edit-note").text() == ("edited by Olga Owner at 10 Mar 2026 15:30, was 10 Mar 2026 "
                                                        "09:00–10:30 (1:30 h), note “Prep”, billable")
    assert [n.text() for n in panel(page).find("dl", cls="time-totals").find_all()] == [
        "Expected", "2 h", "Spent", "1 h"]
    assert TimeEntry.objects.values_list("duration", "note", "billable").get() == (timedelta(hours=1), "Prep call",
                                                                                   False)


@time_machine.travel(NOW, tick=False)
def test_a_team_member_who_only_reads_the_task_may_not_edit_someone_elses_entry(client, berlin_owner, teammate,
                                                                              team):
    task = TaskFactory(title="Team task", created_by=berlin_owner, team=team)
    theirs = entry(task, berlin_owner, at(9), at(10))
    client.force_login(teammate)

    page = client.get(f"/tasks/{task.pk}/")
    edit = client.post(f"/time/entries/{theirs.pk}/edit/", {"date": "2026-03-10", "duration": "5"})

    assert panel(page).find("li", id=f"time-entry-{theirs.pk}").find("a") is None  # no Edit/Delete links
    assert edit.status_code == 403
    assert TimeEntry.objects.values_list("duration", flat=True).get() == timedelta(hours=1)


def _report_data(owner, teammate, count):
    acme = OrganizationFactory(name="Acme")
    for n in range(count):
        call = TaskFactory(title=f"Call {n}", created_by=owner, task_type="call")
        call.set_entity(acme)
        call.save()
        demo = TaskFactory(title=f"Demo {n}", created_by=owner, task_type="demo", assignee=teammate)
        entry(call, owner, at(9, day=2), at(10, day=2))
        entry(call, owner, at(9, day=9), at(9, 30, day=9), billable=False)
        entry(demo, teammate, at(11, day=9), at(13, day=9))
    return acme


@time_machine.travel(NOW, tick=False)
def test_the_time_report_shows_hours_by_person_entity_type_and_week(client, berlin_owner, teammate, staff):
    _report_data(berlin_owner, teammate, 1)
    set_time_zone(staff, "Europe/Berlin")
    client.force_login(staff)

    response = client.get("/time/?from=2026-03-01&to=2026-03-31&period=week")

    def table(cls):
        return [[td.text() for td in tr.find_all("td")]
                for tr in html.main(response).find("table", cls=cls).find("tbody").find_all("tr")]

    assert response.status_code == 200
    assert table("report-by-user") == [["Tom Mate", "2:00", "2:00"], ["Olga Owner", "1:30", "1:00"]]
    assert table("report-by-entity") == [["Global tasks", "2:00", "2:00"], ["Acme Organization", "1:30", "1:00"]]
    assert table("report-by-type") == [["Demo", "2:00", "2:00"], ["Call", "1:30", "1:00"]]
    assert table("report-by-period") == [["Week of 02 Mar 2026", "1:00", "1:00"],
                                         ["Week of 09 Mar 2026", "2:30", "2:00"]]
    assert [n.text() for n in html.main(response).find("div", cls="report-totals").find_all("div", cls="fs-5")] == [
        "3:30 h", "3:00 h", "3"]


@time_machine.travel(NOW, tick=False)
def test_a_plain_user_sees_only_their_own_time(client, berlin_owner, teammate):
    _report_data(berlin_owner, teammate, 1)
    client.force_login(teammate)

    response = client.get("/time/?from=2026-03-01")

    rows = html.main(response).find("table", cls="time-entries-table").find("tbody").find_all("tr")
    assert [tr.find_all("td")[4].text() for tr in rows] == ["Demo 0"]


@time_machine.travel(NOW, tick=False)
def test_the_time_report_refuses_bad_filters_with_400(client, berlin_owner):
    client.force_login(berlin_owner)

    response = client.get("/time/?from=yesterday&period=year")

    assert response.status_code == 400
    assert [n.text() for n in html.main(response).find_all("div", role="alert")] == [
        "Enter dates as YYYY-MM-DD.", "Group the period by day, week or month."]


def _time_queries(client, user, count):
    _report_data(user, UserFactory(username=f"mate{count}"), count)
    client.force_login(user)
    client.get("/time/?from=2026-03-01")  # warm caches (content types)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/time/?from=2026-03-01")
    assert response.status_code == 200
    return len(ctx.captured_queries)


@time_machine.travel(NOW, tick=False)
def test_the_time_page_runs_the_same_number_of_queries_for_1_and_many_rows(client, staff, settings):
    settings.PAGE_SIZE = 100
    set_time_zone(staff, "Europe/Berlin")
    one = _time_queries(client, staff, 1)
    TimeEntry.objects.all().delete()

    many = _time_queries(client, staff, 20)

    assert many == one, (one, many)


def _task_page_queries(client, user, count):
    task = TaskFactory(title="Busy", created_by=user, assignee=user)
    for n in range(count):
        child = TaskFactory(title=f"Sub {n}", created_by=user, parent=task)
        made = entry(task, user, at(8, day=1 + n % 9), at(9, day=1 + n % 9), note=f"n{n}")
        made.note = "edited"
        made._change_reason = "edited"
        made.save()
        entry(child, user, at(10, day=1 + n % 9), at(11, day=1 + n % 9))
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/tasks/{task.pk}/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


@time_machine.travel(NOW, tick=False)
def test_the_time_panel_adds_a_fixed_number_of_queries(client, berlin_owner):
    one = _task_page_queries(client, berlin_owner, 1)

    many = _task_page_queries(client, berlin_owner, 15)

    assert many == one, (one, many)


def _list_queries(client, user, count):
    for n in range(count):
        TaskFactory(title=f"Row {n}", created_by=user, assignee=user)
    running_on = TaskFactory(title="Timed", created_by=user, assignee=user)
    TimeEntry.objects.filter(user=user).delete()
    entry(running_on, user, at(14), None)
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/tasks/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


@time_machine.travel(NOW, tick=False)
def test_the_timer_buttons_keep_the_task_lists_query_count_constant(client, berlin_owner, settings):
    settings.PAGE_SIZE = 100
    one = _list_queries(client, berlin_owner, 1)

    many = _list_queries(client, berlin_owner, 30)

    assert many == one, (one, many)
