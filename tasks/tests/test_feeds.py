"""Calendar feeds: the personal feed parsed back with icalendar, its token, and one task as .ics.

Time is frozen at Wednesday 12 March 2025, 10:00 UTC. Berlin is on CET (+1) until 30 March
2025 and on CEST (+2) after; New York moved to EDT (-4) on 9 March.
"""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from icalendar import Calendar

from crm.tests import html
from crm.tests.factories import UserFactory, set_time_zone
from tasks import feeds
from tasks.dates import date_as_utc_midnight
from tasks.models import CalendarFeedToken
from tasks.tests.factories import ParticipantFactory, TaskFactory

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt_timezone.utc
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://crm.example.com"


def events(body):
    cal = Calendar.from_ical(body)
    return cal, {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}


def feed_for(client, user):
    token = feeds.feed_token_regenerate(user=user)
    return client.get(f"/calendar/feed/{token.token}.ics")


def test_the_feed_holds_my_open_tasks_with_a_time_in_my_zone(client, owner, outsider, site):
    set_time_zone(owner, "Europe/Berlin")
    call = TaskFactory(title="Call Ada", assignee=owner, due_at=datetime(2025, 3, 20, 15, 0, tzinfo=BERLIN),
                       description="Ask about the renewal.", location="Phone", task_type="call")
    TaskFactory(title="Workshop", assignee=owner, scheduled_at=datetime(2025, 4, 2, 9, 30, tzinfo=BERLIN),
                due_at=date_as_utc_midnight(date(2025, 4, 4)), all_day=True, expected_duration=timedelta(minutes=45))
    TaskFactory(title="Renewal day", assignee=owner, due_at=date_as_utc_midnight(date(2025, 3, 30)), all_day=True)
    shared = TaskFactory(title="Co-worked", assignee=outsider, created_by=outsider,
                         due_at=datetime(2025, 3, 13, 8, 0, tzinfo=UTC))
    ParticipantFactory(task=shared, user=owner, role="co_worker")
    watched = TaskFactory(title="Only watching", assignee=outsider, created_by=outsider,
                          due_at=datetime(2025, 3, 13, 8, 0, tzinfo=UTC))
    ParticipantFactory(task=watched, user=owner, role="subscriber")
    TaskFactory(title="Done already", assignee=owner, status="completed", due_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    TaskFactory(title="No date", assignee=owner)
    TaskFactory(title="Someone else's", assignee=outsider, created_by=outsider, due_at=NOW)

    response = feed_for(client, owner)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    cal, by_title = events(response.content)
    assert set(by_title) == {"Call Ada", "Workshop", "Renewal day", "Co-worked"}
    assert str(cal["X-WR-CALNAME"]) == "Taskdesk: Olga Owner"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.content
    assert b"X-PUBLISHED-TTL:PT1H" in response.content
    assert [tz.tz_name for tz in cal.timezones] == ["Europe/Berlin"]
    assert cal.get_missing_tzids() == set()

    ada = by_title["Call Ada"]
    assert str(ada["UID"]) == f"task-{call.pk}@crm.example.com"
    assert ada["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert ada.start == datetime(2025, 3, 20, 15, 0, tzinfo=BERLIN)
    assert ada.start.utcoffset() == timedelta(hours=1)
    assert ada.end - ada.start == timedelta(minutes=30)
    assert str(ada["URL"]) == f"https://crm.example.com/tasks/{call.pk}/"
    assert str(ada["DESCRIPTION"]) == (
        f"Ask about the renewal.\n\nOpen in Taskdesk: https://crm.example.com/tasks/{call.pk}/")
    assert (str(ada["LOCATION"]), str(ada["STATUS"])) == ("Phone", "CONFIRMED")
    assert ada["DTSTAMP"].dt == call.updated_at and ada["LAST-MODIFIED"].dt == call.updated_at

    workshop = by_title["Workshop"]  # scheduled after the switch to summer time
    assert (workshop.start, workshop.start.utcoffset()) == (datetime(2025, 4, 2, 9, 30, tzinfo=BERLIN),
                                                           timedelta(hours=2))
    assert workshop.end == datetime(2025, 4, 2, 10, 15, tzinfo=BERLIN)
    assert "Due 04 Apr 2025." in str(workshop["DESCRIPTION"])

    renewal = by_title["Renewal day"]  # all day, on the very day the clocks change
    assert (renewal.start, renewal.end) == (date(2025, 3, 30), date(2025, 3, 31))
    assert b"DTSTART;VALUE=DATE:20250330" in response.content
    assert b"DTEND;VALUE=DATE:20250331" in response.content


def test_new_york_times_are_right_across_the_us_clock_change(client, owner, site):
    set_time_zone(owner, "America/New_York")
    TaskFactory(title="Before", assignee=owner, due_at=datetime(2025, 3, 8, 9, 0, tzinfo=NEW_YORK))
    TaskFactory(title="After", assignee=owner, due_at=datetime(2025, 3, 10, 9, 0, tzinfo=NEW_YORK))
    TaskFactory(title="All day", assignee=owner, due_at=date_as_utc_midnight(date(2025, 3, 9)), all_day=True)

    cal, by_title = events(feed_for(client, owner).content)

    assert [tz.tz_name for tz in cal.timezones] == ["America/New_York"]
    assert by_title["Before"]["DTSTART"].params["TZID"] == "America/New_York"
    assert by_title["Before"].start.astimezone(UTC) == datetime(2025, 3, 8, 14, 0, tzinfo=UTC)
    assert by_title["After"].start.astimezone(UTC) == datetime(2025, 3, 10, 13, 0, tzinfo=UTC)
    assert by_title["All day"].start == date(2025, 3, 9)  # not shifted to the 8th west of UTC


def test_a_utc_user_gets_utc_times_and_no_time_zone_component(client, owner, site):
    TaskFactory(title="Call", assignee=owner, due_at=datetime(2025, 3, 20, 15, 0, tzinfo=UTC))

    response = feed_for(client, owner)
    cal, by_title = events(response.content)

    assert cal.timezones == []
    assert by_title["Call"].start == datetime(2025, 3, 20, 15, 0, tzinfo=UTC)
    assert b"DTSTART:20250320T150000Z" in response.content


def test_the_uid_stays_the_same_when_the_task_moves(client, owner, site):
    task = TaskFactory(title="Call", assignee=owner, due_at=datetime(2025, 3, 20, 15, 0, tzinfo=UTC))
    token = feeds.feed_token_regenerate(user=owner)
    first = events(client.get(f"/calendar/feed/{token.token}.ics").content)[1]["Call"]
    task.due_at = datetime(2025, 3, 21, 15, 0, tzinfo=UTC)
    task.save()

    second = events(client.get(f"/calendar/feed/{token.token}.ics").content)[1]["Call"]

    assert str(first["UID"]) == str(second["UID"]) == f"task-{task.pk}@crm.example.com"
    assert second.start == datetime(2025, 3, 21, 15, 0, tzinfo=UTC)


# ---- the token ------------------------------------------------------------------------------


def test_regenerating_stops_the_old_address_and_revoking_stops_the_new(client, owner):
    TaskFactory(title="Call", assignee=owner, due_at=datetime(2025, 3, 20, 15, 0, tzinfo=UTC))
    old = feeds.feed_token_regenerate(user=owner)
    new = feeds.feed_token_regenerate(user=owner)

    assert client.get(f"/calendar/feed/{old.token}.ics").status_code == 404
    assert client.get(f"/calendar/feed/{new.token}.ics").status_code == 200
    assert feeds.feed_token_revoke(user=owner) == 1
    assert client.get(f"/calendar/feed/{new.token}.ics").status_code == 404
    assert feeds.feed_token_revoke(user=owner) == 0
    assert list(CalendarFeedToken.objects.filter(user=owner).values_list("token", "revoked_at")) == [
        (new.token, NOW), (old.token, NOW),
    ]


@pytest.mark.parametrize("path", [
    "/calendar/feed/unknown-token-that-does-not-exist.ics",
    "/calendar/feed/.ics",
    "/calendar/feed/" + "a" * 101 + ".ics",
])
def test_an_unknown_token_is_404(client, owner, path):
    feeds.feed_token_regenerate(user=owner)

    assert client.get(path).status_code == 404


def test_the_feed_of_a_deactivated_user_is_404(client, owner):
    token = feeds.feed_token_regenerate(user=owner)
    owner.is_active = False
    owner.save()

    assert client.get(f"/calendar/feed/{token.token}.ics").status_code == 404


def test_tokens_are_long_random_and_stored_with_their_digest(owner, teammate):
    a = feeds.feed_token_regenerate(user=owner)
    b = feeds.feed_token_regenerate(user=teammate)

    assert len(a.token) >= 43 and a.token != b.token
    assert feeds.user_for_token(a.token) == owner
    assert feeds.user_for_token(a.token[:-1] + ("A" if a.token[-1] != "A" else "B")) is None


def test_the_settings_page_shows_the_absolute_address_and_its_actions(client, owner, site):
    client.force_login(owner)

    empty = client.get("/settings/calendar/")
    assert html.main(empty).find("p", data_testid="no-feed").text() == "You have no feed address."
    created = client.post("/settings/calendar/", {"action": "create"}, follow=True)
    token = CalendarFeedToken.objects.get(user=owner, revoked_at=None)
    url = html.main(created).find("input", data_testid="feed-url").attrs["value"]

    assert url == f"https://crm.example.com/calendar/feed/{token.token}.ics"
    assert html.messages(created) == ["Your calendar feed address is ready."]
    assert ("Subscribe in my calendar app", f"webcal://crm.example.com/calendar/feed/{token.token}.ics") in \
        html.links(html.main(created))

    regenerated = client.post("/settings/calendar/", {"action": "regenerate"}, follow=True)
    assert html.messages(regenerated) == ["Your calendar feed has a new address; the old one no longer works."]
    assert CalendarFeedToken.objects.get(user=owner, revoked_at=None).token != token.token

    revoked = client.post("/settings/calendar/", {"action": "revoke"}, follow=True)
    assert html.messages(revoked) == ["Your calendar feed address is revoked: calendars using it get nothing now."]
    assert html.main(revoked).find("p", data_testid="no-feed").text() == (
        "You have no feed address (your previous one was turned off)."
    )
    assert CalendarFeedToken.objects.filter(user=owner, revoked_at=None).count() == 0


def test_a_bad_action_answers_400_and_changes_nothing(client, owner):
    token = feeds.feed_token_regenerate(user=owner)
    client.force_login(owner)

    response = client.post("/settings/calendar/", {"action": "explode"})

    assert response.status_code == 400
    assert html.messages(response) == ["Choose to create, regenerate or revoke your calendar feed address."]
    assert list(CalendarFeedToken.objects.filter(user=owner).values_list("token", "revoked_at")) == [
        (token.token, None)]


def test_the_settings_page_needs_a_signed_in_user(client):
    response = client.get("/settings/calendar/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# ---- one task as .ics -----------------------------------------------------------------------


def test_a_task_downloads_as_ics_in_the_readers_zone(client, owner, teammate, team, site):
    set_time_zone(teammate, "America/New_York")
    task = TaskFactory(title="Team call", created_by=owner, team=team,
                       due_at=datetime(2025, 3, 20, 15, 0, tzinfo=UTC), expected_duration=timedelta(hours=1))
    client.force_login(teammate)

    response = client.get(f"/tasks/{task.pk}/ics/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="task-{task.pk}.ics"'
    cal, by_title = events(response.content)
    event = by_title["Team call"]
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert (event.start, event.end) == (datetime(2025, 3, 20, 11, 0, tzinfo=NEW_YORK),
                                        datetime(2025, 3, 20, 12, 0, tzinfo=NEW_YORK))
    assert str(event["UID"]) == f"task-{task.pk}@crm.example.com"


def test_an_outsider_gets_404_for_a_task_ics(client, owner, outsider):
    task = TaskFactory(title="Private", created_by=owner, assignee=owner, due_at=NOW)
    client.force_login(outsider)

    assert client.get(f"/tasks/{task.pk}/ics/").status_code == 404


def test_a_task_without_a_date_has_no_ics(client, owner):
    task = TaskFactory(title="Someday", created_by=owner)
    client.force_login(owner)

    assert client.get(f"/tasks/{task.pk}/ics/").status_code == 404


def test_the_feed_needs_no_sign_in_but_the_task_file_does(client, owner):
    task = TaskFactory(title="Call", created_by=owner, assignee=owner, due_at=NOW)
    token = feeds.feed_token_regenerate(user=owner)

    assert client.get(f"/calendar/feed/{token.token}.ics").status_code == 200
    assert client.get(f"/tasks/{task.pk}/ics/").status_code == 302


def test_the_feed_runs_the_same_queries_for_1_and_30_tasks(client, owner):
    set_time_zone(owner, "Europe/Berlin")
    token = feeds.feed_token_regenerate(user=owner)
    TaskFactory(title="T", assignee=owner, due_at=NOW + timedelta(days=1))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(f"/calendar/feed/{token.token}.ics")
    for n in range(29):
        TaskFactory(title=f"T{n}", assignee=owner, due_at=NOW + timedelta(days=n), location="Here")
    with CaptureQueriesContext(connection) as thirty:
        response = client.get(f"/calendar/feed/{token.token}.ics")

    assert len(events(response.content)[1]) == 30
    assert len(one.captured_queries) == len(thirty.captured_queries)


def test_other_users_are_unaffected_by_my_token(owner, teammate):
    mine = feeds.feed_token_regenerate(user=owner)
    theirs = feeds.feed_token_regenerate(user=teammate)
    feeds.feed_token_revoke(user=owner)

    assert feeds.user_for_token(mine.token) is None
    assert feeds.user_for_token(theirs.token) == teammate
    assert UserFactory._meta.model.objects.filter(calendar_feed_tokens__revoked_at=None).get() == teammate


# ---- the Calendar card on the task page ------------------------------------------------------


def test_a_dated_task_page_offers_its_ics_and_the_feed(client, owner):
    task = TaskFactory(title="Call", created_by=owner, assignee=owner, due_at=NOW + timedelta(days=1))
    client.force_login(owner)

    card = html.main(client.get(f"/tasks/{task.pk}/")).find("section", id="calendar")

    assert html.links(card) == [("Download .ics", f"/tasks/{task.pk}/ics/"),
                                ("subscribe to your calendar feed", "/settings/calendar/")]


def test_a_task_without_a_date_has_no_calendar_card(client, owner):
    task = TaskFactory(title="Someday", created_by=owner, assignee=owner)
    client.force_login(owner)

    assert html.main(client.get(f"/tasks/{task.pk}/")).find("section", id="calendar") is None
