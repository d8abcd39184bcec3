"""Editing an occurrence of a repeating task: this one only, this and the following ones, or the whole series."""

from datetime import date, datetime, time
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine

from crm.tests import html
from crm.tests.factories import set_time_zone
from tasks import recurrence, services
from tasks.models import DetachedInstance, Task, TaskSeries

UTC = dt_timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 5, 4, 12, tzinfo=BERLIN)  # a Sunday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def berlin_owner(owner):
    return set_time_zone(owner, "Europe/Berlin")


@pytest.fixture
def series(berlin_owner):
    """Mondays and Thursdays at 09:00 Berlin from 5 May: instances on 5, 8, 12 and 15 May."""
    schedule = recurrence.schedule_from_due(due_at=datetime(2025, 5, 5, 9, tzinfo=BERLIN), all_day=False,
                                            pattern="FREQ=WEEKLY;BYDAY=MO,TH", time_zone="Europe/Berlin")
    first = recurrence.series_create(created_by=berlin_owner, schedule=schedule, title="Stand-up",
                                     due_at=datetime(2025, 5, 5, 9, tzinfo=BERLIN), assignee=berlin_owner, now=NOW)
    return first.series


def on(day, series=None):
    qs = Task.objects.filter(occurrence__isnull=False)
    if series is not None:
        qs = qs.filter(series=series)
    return next(t for t in qs if t.due_at.astimezone(BERLIN).date() == date(2025, 5, day))


def browser_form(client, url):
    """The form's values as a browser posts them untouched (checked boxes and radios included)."""
    form = html.main(client.get(url)).find("form", method="post")
    data = {}
    for node in form.iter():
        name = node.attrs.get("name")
        if not name or name == "csrfmiddlewaretoken":
            continue
        kind = node.attrs.get("type")
        if node.tag == "input" and kind in ("checkbox", "radio"):
            if "checked" in node.attrs:
                data.setdefault(name, []).append(node.attrs.get("value", "on"))
        elif node.tag == "input" and kind != "submit":
            data[name] = node.attrs.get("value", "")
        elif node.tag == "textarea":
            raw = "".join(c for c in node.children if isinstance(c, str))
            data[name] = raw[1:] if raw.startswith("\n") else raw
        elif node.tag == "select":
            options = [o.attrs.get("value", "") for o in node.find_all("option")]
            chosen = [o.attrs.get("value", "") for o in node.find_all("option") if "selected" in o.attrs]
            data[name] = chosen[0] if chosen else (options[0] if options else "")  # a browser sends the first
    return data


def edit(client, task, **changes):
    data = browser_form(client, f"/tasks/{task.pk}/edit/")
    data.update(changes)
    return client.post(f"/tasks/{task.pk}/edit/", data)


def rows(*series_list):
    """(local date, local time, title, status, series index) of every instance, by date."""
    out = []
    for t in Task.objects.order_by("due_at", "pk"):
        local = t.due_at.astimezone(BERLIN)
        index = series_list.index(t.series) if t.series in series_list else None
        out.append((local.day, local.strftime("%H:%M"), t.title, t.status, index))
    return out


def test_the_edit_form_of_an_occurrence_shows_the_series_rule_and_the_three_choices(client, berlin_owner, series):
    client.force_login(berlin_owner)

    data = browser_form(client, f"/tasks/{on(8).pk}/edit/")
    page = html.main(client.get(f"/tasks/{on(8).pk}/edit/"))

    assert {k: v for k, v in data.items() if k.startswith("repeat_")} == {
        "repeat_scope": ["this"], "repeat_frequency": "weekly", "repeat_interval": "1",
        "repeat_weekdays": ["0", "3"], "repeat_monthly_mode": ["day"], "repeat_month_day": "", "repeat_set_pos": "1",
        "repeat_set_weekday": "0", "repeat_month_end": ["skip"], "repeat_rrule": "", "repeat_end": ["never"],
        "repeat_until": "", "repeat_count": "", "repeat_exdates": "", "repeat_time_zone": "Europe/Berlin"}
    scope = page.find("div", cls="repeat-scope")
    assert [label.text() for label in scope.find_all("label")] == [
        "This occurrence only", "This and the following occurrences", "All occurrences (the whole series)"]
    assert scope.find("div", id="repeat-scope-label").text() == (
        "This task repeats: Every week on Monday and Thursday at 09:00 (Europe/Berlin).")


def test_this_occurrence_only_changes_that_task_and_a_later_series_edit_leaves_it_alone(client, berlin_owner, series):
    client.force_login(berlin_owner)

    response = edit(client, on(8), title="Stand-up with the CEO", due_time="11:00", repeat_scope="this")

    assert response.status_code == 302
    assert rows(series) == [(5, "09:00", "Stand-up", "pending", 0), (8, "11:00", "Stand-up with the CEO", "pending", 0),
                            (12, "09:00", "Stand-up", "pending", 0), (15, "09:00", "Stand-up", "pending", 0)]
    assert list(DetachedInstance.objects.values_list("task_id", flat=True)) == [on(8).pk]

    edit(client, on(12), title="Daily sync", repeat_scope="all")

    assert rows(series) == [(5, "09:00", "Daily sync", "pending", 0),
                            (8, "11:00", "Stand-up with the CEO", "pending", 0),
                            (12, "09:00", "Daily sync", "pending", 0), (15, "09:00", "Daily sync", "pending", 0)]


def test_this_occurrence_only_refuses_a_changed_rule_and_saves_nothing(client, berlin_owner, series):
    client.force_login(berlin_owner)

    response = edit(client, on(8), title="Changed", repeat_interval="2", repeat_scope="this")

    assert response.status_code == 400
    assert html.field_errors(response)["repeat_scope"] == [
        "You changed how the task repeats: apply the change to this and the following occurrences, or to the whole "
        "series."]
    assert on(8).title == "Stand-up"


def test_this_and_following_splits_the_series(client, berlin_owner, series):
    client.force_login(berlin_owner)

    response = edit(client, on(12), title="Stand-up (new room)", due_time="10:00", location="Room 4",
                    repeat_scope="following")

    new = TaskSeries.objects.exclude(pk=series.pk).get()
    series.refresh_from_db()
    assert response.status_code == 302
    assert rows(series, new) == [
        (5, "09:00", "Stand-up", "pending", 0), (8, "09:00", "Stand-up", "pending", 0),
        (12, "10:00", "Stand-up (new room)", "pending", 1), (15, "10:00", "Stand-up (new room)", "pending", 1)]
    assert (series.until, series.status) == (date(2025, 5, 11), "ended")
    assert (new.rrule, new.start_date, new.start_time, new.previous, new.location, new.status) == (
        "FREQ=WEEKLY;BYDAY=MO,TH", date(2025, 5, 12), time(10), series, "Room 4", "active")
    assert on(15).location == "Room 4"


def test_this_and_following_shares_out_the_count(berlin_owner):
    schedule = recurrence.schedule_from_due(due_at=datetime(2025, 5, 5, 9, tzinfo=BERLIN), all_day=False,
                                            pattern="FREQ=DAILY", time_zone="Europe/Berlin", count=10)
    first = recurrence.series_create(created_by=berlin_owner, schedule=schedule, title="Course", now=NOW,
                                     due_at=datetime(2025, 5, 5, 9, tzinfo=BERLIN))
    third = Task.objects.get(series=first.series, occurrence=datetime(2025, 5, 7, 9, tzinfo=BERLIN))

    recurrence.task_save_in_series(task=third, user=berlin_owner, scope="following", data={"title": "Course II"},
                                   version=third.version, schedule=schedule, now=NOW)
    while recurrence.series_generate_due(now=datetime(2025, 6, 1, tzinfo=BERLIN)).created:
        pass

    old, new = TaskSeries.objects.order_by("pk")
    assert (old.count, new.count) == (2, 8)
    assert [(t.due_at.astimezone(BERLIN).day, t.title) for t in Task.objects.order_by("due_at")] == [
        (5, "Course"), (6, "Course")] + [(d, "Course II") for d in range(7, 15)]


def test_the_whole_series_moves_the_not_started_occurrences_and_keeps_history(client, berlin_owner, series):
    services.task_complete(task=services.task_start(task=on(5), user=berlin_owner), user=berlin_owner)
    client.force_login(berlin_owner)

    response = edit(client, on(8), title="Stand-up", description="Five minutes each.", due_time="10:00",
                    repeat_weekdays=["1", "3"], repeat_scope="all")

    series.refresh_from_db()
    assert response.status_code == 302
    assert rows(series) == [
        (5, "09:00", "Stand-up", "completed", 0),  # history stays
        (6, "10:00", "Stand-up", "pending", 0),  # Tuesdays now
        (8, "10:00", "Stand-up", "pending", 0),
        (12, "09:00", "Stand-up", "cancelled", 0),  # no longer a date of the rule
        (13, "10:00", "Stand-up", "pending", 0),
        (15, "10:00", "Stand-up", "pending", 0)]
    assert (series.rrule, series.start_time, series.status) == ("FREQ=WEEKLY;BYDAY=TU,TH", time(10), "active")
    assert sorted(t.description for t in Task.objects.filter(status="pending")) == ["Five minutes each."] * 4
    assert Task.objects.get(due_at__day=5).description == ""


def test_a_whole_series_change_that_does_not_fit_this_occurrence_is_refused(client, berlin_owner, series):
    client.force_login(berlin_owner)

    response = edit(client, on(8), due_date="2025-05-09", repeat_scope="all")

    assert response.status_code == 400
    assert html.field_errors(response)["due_date"] == [
        "The new due date (Fri 9 May 2025, 09:00) is not one of the repeat dates. Change the due date or how it "
        "repeats, or apply the change to this occurrence only."]
    assert rows(series) == [(d, "09:00", "Stand-up", "pending", 0) for d in (5, 8, 12, 15)]


def test_does_not_repeat_from_here_on_ends_the_series_and_cancels_the_later_ones(client, berlin_owner, series):
    client.force_login(berlin_owner)

    response = edit(client, on(8), repeat_frequency="", repeat_scope="following")

    series.refresh_from_db()
    assert response.status_code == 302
    assert rows(series) == [(5, "09:00", "Stand-up", "pending", 0), (8, "09:00", "Stand-up", "pending", 0),
                            (12, "09:00", "Stand-up", "cancelled", 0), (15, "09:00", "Stand-up", "cancelled", 0)]
    assert (series.until, series.status) == (date(2025, 5, 7), "ended")


def test_stop_repeating_from_the_task_page(client, berlin_owner, series):
    client.force_login(berlin_owner)

    response = client.post(f"/tasks/{on(8).pk}/repeat/stop/", follow=True)

    assert html.messages(response) == [
        "“Stand-up” no longer repeats; this task stays. 3 other upcoming occurrences not started yet were "
        "cancelled."]
    assert rows(series) == [(5, "09:00", "Stand-up", "cancelled", 0), (8, "09:00", "Stand-up", "pending", 0),
                            (12, "09:00", "Stand-up", "cancelled", 0), (15, "09:00", "Stand-up", "cancelled", 0)]
    panel = html.main(response).find("section", id="repeat")
    assert "Stopped on 4 May 2025: no more occurrences are made." in panel.text()


def test_outsiders_cannot_stop_a_series_and_readers_may_not(client, series, outsider, teammate):
    from tasks.tests.factories import ParticipantFactory

    ParticipantFactory(task=on(8), user=teammate, role="subscriber")

    client.force_login(outsider)
    assert client.post(f"/tasks/{on(8).pk}/repeat/stop/").status_code == 404
    client.force_login(teammate)
    assert client.post(f"/tasks/{on(8).pk}/repeat/stop/").status_code == 403
    assert TaskSeries.objects.get().status == "active"
