"""The recurrence builder of the task form: creating a repeating task, the preview of the next dates, refusals."""

from datetime import date, datetime
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine

from crm.tests import html
from crm.tests.factories import set_time_zone
from tasks.models import Task, TaskSeries

UTC = dt_timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 5, 2, 10, tzinfo=BERLIN)  # a Friday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def berlin_owner(owner):
    return set_time_zone(owner, "Europe/Berlin")


def form_data(**overrides):
    data = {
        "title": "Weekly report", "description": "", "task_type": "other", "priority": "medium",
        "due_date": "2025-05-05", "due_time": "09:00", "begin_at": "", "scheduled_at": "", "expected_duration": "",
        "location": "", "entity_0": "", "entity_1": "", "assignee": "", "team": "", "parent": "", "tags": "",
        "repeat_frequency": "weekly", "repeat_interval": "1", "repeat_weekdays": ["0", "2"],
        "repeat_monthly_mode": "day", "repeat_month_day": "", "repeat_set_pos": "1", "repeat_set_weekday": "0",
        "repeat_month_end": "skip", "repeat_rrule": "", "repeat_end": "count", "repeat_until": "",
        "repeat_count": "10", "repeat_exdates": "", "repeat_time_zone": "Europe/Berlin",
    }
    data.update(overrides)
    return data


def _preview(response):
    """The preview block of the form page, or the whole fragment the htmx endpoint returns."""
    root = html.parse(response)
    return root.find("div", id="recurrence-preview") or root


def preview_items(response):
    return [li.text() for li in _preview(response).find_all("li")]


def preview_text(response):
    return _preview(response).text()


# ---- the page --------------------------------------------------------------------------------


def test_the_new_task_form_has_the_builder_and_says_which_month_end_rule_applies(client, berlin_owner):
    client.force_login(berlin_owner)

    page = html.main(client.get("/tasks/new/"))

    builder = page.find("fieldset", id="repeat-builder")
    frequency = builder.find("select", name="repeat_frequency")
    assert [(o.attrs["value"], o.text()) for o in frequency.find_all("option")] == [
        ("", "Does not repeat"), ("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly"),
        ("yearly", "Yearly"), ("custom", "Custom rule (RRULE)")]
    assert [o.attrs["value"] for o in frequency.find_all("option") if "selected" in o.attrs] == [""]
    month_end = builder.find("div", cls="repeat-month-end")
    assert [label.text() for label in month_end.find_all("label")] == [
        "Skip months without that day (RFC 5545)", "Use the last day of shorter months"]
    assert "“skip” follows RFC 5545 and leaves out months without that day" in month_end.text()
    zones = builder.find("select", name="repeat_time_zone").find_all("option")
    assert [o.attrs["value"] for o in zones if "selected" in o.attrs] == ["Europe/Berlin"]
    assert preview_text(client.get("/tasks/new/")) == "Choose how the task repeats to see its next dates here."
    assert page.find("button", name="preview").text() == "Preview dates"


# ---- creating ----------------------------------------------------------------------------------


def test_creating_a_repeating_task_makes_the_series_and_the_next_instances(client, berlin_owner):
    client.force_login(berlin_owner)

    response = client.post("/tasks/new/", form_data())

    first = Task.objects.get(occurrence=datetime(2025, 5, 5, 7, tzinfo=UTC))
    series = TaskSeries.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tasks/{first.pk}/"
    assert (series.rrule, series.start_date, series.start_time.isoformat(), series.time_zone, series.count,
            series.all_day, series.created_by) == (
        "FREQ=WEEKLY;BYDAY=MO,WE", date(2025, 5, 5), "09:00:00", "Europe/Berlin", 10, False, berlin_owner)
    assert [t.due_at.astimezone(BERLIN).strftime("%a %d %b %H:%M") for t in Task.objects.order_by("due_at")] == [
        "Mon 05 May 09:00", "Wed 07 May 09:00", "Mon 12 May 09:00", "Wed 14 May 09:00"]
    follow = client.get(response["Location"])
    assert html.messages(follow) == [
        "Task “Weekly report” created. It repeats: Every week on Monday and Wednesday at 09:00 (Europe/Berlin), "
        "10 times."]
    panel = html.main(follow).find("section", id="repeat")
    assert panel.find("p", cls="repeat-rule").text() == (
        "Every week on Monday and Wednesday at 09:00 (Europe/Berlin), 10 times.")
    assert [li.text() for li in panel.find("ul", cls="repeat-next").find_all("li")] == [
        "Wed 7 May 2025, 09:00", "Mon 12 May 2025, 09:00", "Wed 14 May 2025, 09:00", "Mon 19 May 2025, 09:00",
        "Wed 21 May 2025, 09:00"]


@pytest.mark.parametrize("overrides, field, message", [
    ({"due_date": "2025-05-06"}, "due_date",
     "The due date (Tue 6 May 2025, 09:00) is not one of the repeat dates; the first would be Wed 7 May 2025, "
     "09:00. Change the due date or how it repeats."),
    ({"due_date": "", "due_time": ""}, "due_date", "A repeating task needs a due date: it is the first occurrence."),
    ({"repeat_frequency": "custom", "repeat_rrule": "FREQ=HOURLY;INTERVAL=2"}, "repeat_rrule",
     "FREQ=HOURLY repeats more than once a day, which tasks do not support: use DAILY, WEEKLY, MONTHLY or YEARLY."),
    ({"repeat_frequency": "custom", "repeat_rrule": "FREQ=WEEKLY;BYDAY=XX"}, "repeat_rrule",
     "“FREQ=WEEKLY;BYDAY=XX” is not a valid RRULE: invalid 'BYDAY': XX."),
    ({"repeat_frequency": "custom", "repeat_rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "repeat_frequency",
     "This rule never occurs in the 10 years after the start."),
    ({"repeat_end": "until", "repeat_until": "2025-05-01"}, "repeat_until",
     "The series cannot end before its first occurrence."),
    ({"repeat_end": "count", "repeat_count": ""}, "repeat_count", "Give the number of occurrences."),
    ({"repeat_exdates": "2025-05-07, next friday"}, "repeat_exdates",
     "“next” is not a date: write dates as YYYY-MM-DD, separated by commas."),
    ({"repeat_interval": "0"}, "repeat_interval", "Ensure this value is greater than or equal to 1."),
    ({"repeat_time_zone": "Mars/Olympus"}, "repeat_time_zone",
     "Select a valid choice. Mars/Olympus is not one of the available choices."),
])
def test_a_refused_rule_saves_nothing_and_says_why(client, berlin_owner, overrides, field, message):
    client.force_login(berlin_owner)

    response = client.post("/tasks/new/", form_data(**overrides))

    assert response.status_code == 400
    assert html.field_errors(response).get(field) == [message]
    assert (Task.objects.count(), TaskSeries.objects.count()) == (0, 0)


def test_monthly_on_the_31st_with_the_last_day_policy_from_the_form(client, berlin_owner):
    client.force_login(berlin_owner)

    client.post("/tasks/new/", form_data(due_date="2025-01-31", due_time="", repeat_frequency="monthly",
                                         repeat_month_end="last_day", repeat_end="never"))

    series = TaskSeries.objects.get()
    assert (series.rrule, series.month_end_policy, series.all_day) == ("FREQ=MONTHLY;BYMONTHDAY=31", "last_day", True)
    assert [t.due_at.date() for t in Task.objects.order_by("due_at")] == [
        date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)]


def test_monthly_on_the_second_tuesday_and_a_custom_rule(client, berlin_owner):
    client.force_login(berlin_owner)

    client.post("/tasks/new/", form_data(title="Board", due_date="2025-05-13", repeat_frequency="monthly",
                                         repeat_monthly_mode="weekday", repeat_set_pos="2", repeat_set_weekday="1"))
    client.post("/tasks/new/", form_data(title="Payroll", due_date="2025-05-30", repeat_frequency="custom",
                                         repeat_rrule="rrule:freq=monthly;byday=MO,TU,WE,TH,FR;bysetpos=-1",
                                         repeat_end="never"))

    assert sorted(TaskSeries.objects.values_list("title", "rrule", "count")) == [
        ("Board", "FREQ=MONTHLY;BYDAY=+2TU", 10), ("Payroll", "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR", None)]


# ---- preview -----------------------------------------------------------------------------------


def test_the_preview_button_shows_the_next_five_dates_and_saves_nothing(client, berlin_owner):
    client.force_login(berlin_owner)

    response = client.post("/tasks/new/", form_data(title="", preview="1", repeat_exdates="2025-05-12"))

    assert response.status_code == 200
    assert preview_items(response) == ["Mon 5 May 2025, 09:00", "Wed 7 May 2025, 09:00", "Wed 14 May 2025, 09:00",
                                       "Mon 19 May 2025, 09:00", "Wed 21 May 2025, 09:00"]
    assert html.field_errors(response) == {}  # the empty title is not an error yet: nothing was saved
    assert (Task.objects.count(), TaskSeries.objects.count()) == (0, 0)


def test_the_htmx_preview_is_in_the_readers_zone_and_notes_the_series_zone(client, owner):
    client.force_login(set_time_zone(owner, "America/New_York"))
    query = {k: v for k, v in form_data(due_date="2025-05-05", due_time="03:00", repeat_frequency="daily",
                                        repeat_time_zone="Europe/Berlin").items() if k.startswith(("repeat_", "due_"))}

    response = client.get("/tasks/recurrence/preview/", query, headers={"HX-Request": "true"})

    # 03:00 typed in New York is 09:00 in Berlin: the series keeps 09:00 Berlin time.
    assert response.status_code == 200
    assert preview_items(response) == [f"{d} May 2025, 03:00 (09:00 Europe/Berlin)" for d in
                                       ("Mon 5", "Tue 6", "Wed 7", "Thu 8", "Fri 9")]
    assert html.parse(response).find("div", cls="fw-semibold").text() == (
        "Every day at 09:00 (Europe/Berlin), 10 times")


def test_the_htmx_preview_explains_a_bad_rule_and_a_plain_request_gets_400(client, berlin_owner):
    client.force_login(berlin_owner)
    query = {"due_date": "2025-05-05", "due_time": "09:00", "repeat_frequency": "custom",
             "repeat_rrule": "FREQ=DAILY;BYHOUR=9"}

    hx = client.get("/tasks/recurrence/preview/", query, headers={"HX-Request": "true"})
    plain = client.get("/tasks/recurrence/preview/", query)

    assert (hx.status_code, plain.status_code) == (200, 400)
    assert preview_text(hx) == ("No dates to show yet. BYHOUR is not supported: a repeating task happens at its due "
                                "time, at most once a day.")


def test_editing_a_single_task_to_repeat_makes_it_the_first_occurrence(client, berlin_owner):
    from tasks import services

    task = services.task_create(created_by=berlin_owner, title="Water plants",
                                due_at=datetime(2025, 5, 3, tzinfo=UTC), all_day=True)
    client.force_login(berlin_owner)
    data = form_data(title="Water plants", due_date="2025-05-03", due_time="", version=str(task.version),
                     repeat_frequency="weekly", repeat_weekdays=[], repeat_end="never")

    response = client.post(f"/tasks/{task.pk}/edit/", data)

    task.refresh_from_db()
    assert response.status_code == 302
    assert (task.series.rrule, task.occurrence, task.series.all_day) == (
        "FREQ=WEEKLY;BYDAY=SA", datetime(2025, 5, 3, tzinfo=UTC), True)
    assert [t.due_at.date() for t in Task.objects.order_by("due_at")] == [date(2025, 5, 3), date(2025, 5, 10)]
