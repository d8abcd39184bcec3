"""Repeating tasks: which instances the generator makes, when, and with what (DST, month ends, ends, skips)."""

from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from crm.tests.factories import MembershipFactory, OrganizationFactory, TeamFactory, UserFactory
from tasks import dates, recurrence, rrules, services
from tasks.models import Task, TaskSeries
from tasks.models_reminders import Reminder

UTC = dt_timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(zone, *parts):
    return datetime(*parts, tzinfo=zone)


def make_series(user, *, pattern, due_at, all_day=False, zone="Europe/Berlin", until=None, count=None, exdates=(),
                month_end="skip", now, title="Weekly report", **fields):
    schedule = recurrence.schedule_from_due(due_at=due_at, all_day=all_day, pattern=pattern, time_zone=zone,
                                            until=until, count=count, exdates=exdates, month_end=month_end)
    return recurrence.series_create(created_by=user, schedule=schedule, title=title, due_at=due_at, all_day=all_day,
                                    now=now, **fields)


def instances(series):
    return list(Task.objects.filter(series=series).order_by("occurrence"))


def due_list(series):
    return [t.due_at for t in instances(series)]


def local_list(series, zone):
    return [t.due_at.astimezone(zone).replace(tzinfo=None) for t in instances(series)]


def run_generator(now):
    """What beat does over time: run the generation job until it has caught up (a run makes at most 200)."""
    with time_machine.travel(now, tick=False):
        while recurrence.series_generate_due(now=now).created:
            pass


# ---- time zones ----------------------------------------------------------------------------


def test_a_weekly_9am_berlin_meeting_stays_at_9_berlin_across_both_dst_changes(owner):
    now = at(BERLIN, 2025, 3, 20, 12)
    first = make_series(owner, pattern="FREQ=WEEKLY;BYDAY=MO", due_at=at(BERLIN, 2025, 3, 24, 9), now=now)
    run_generator(at(BERLIN, 2025, 10, 22, 12))  # long after: the generator catches up to its horizon

    series = first.series
    spring = [t for t in instances(series) if t.due_at < datetime(2025, 4, 15, tzinfo=UTC)]
    autumn = [t for t in instances(series) if datetime(2025, 10, 15, tzinfo=UTC) < t.due_at]
    assert [t.due_at for t in spring] == [datetime(2025, 3, 24, 8, tzinfo=UTC), datetime(2025, 3, 31, 7, tzinfo=UTC),
                                          datetime(2025, 4, 7, 7, tzinfo=UTC), datetime(2025, 4, 14, 7, tzinfo=UTC)]
    assert [t.due_at for t in autumn] == [datetime(2025, 10, 20, 7, tzinfo=UTC), datetime(2025, 10, 27, 8, tzinfo=UTC),
                                          datetime(2025, 11, 3, 8, tzinfo=UTC)]
    assert {t.due_at.astimezone(BERLIN).time() for t in instances(series)} == {time(9)}
    assert len(instances(series)) == 33  # every Monday from 24 Mar to 3 Nov, none twice


def test_a_daily_new_york_task_stays_at_9_new_york_across_both_dst_changes(owner):
    set_zone(owner, "America/New_York")
    first = make_series(owner, pattern="FREQ=DAILY", due_at=at(NEW_YORK, 2025, 3, 7, 9), zone="America/New_York",
                        now=at(NEW_YORK, 2025, 3, 7, 8))
    run_generator(at(NEW_YORK, 2025, 10, 25, 8))  # the first runs make 200 each; the next ones catch up

    times = {t.due_at.date(): t.due_at.time() for t in instances(first.series)}
    assert [times[date(2025, 3, d)] for d in (7, 8, 9, 10)] == [time(14), time(14), time(13), time(13)]
    assert [times[date(2025, 11, d)] for d in (1, 2, 3)] == [time(13), time(14), time(14)]
    assert {t.due_at.astimezone(NEW_YORK).time() for t in instances(first.series)} == {time(9)}


def set_zone(user, name):
    user.profile.time_zone = name
    user.profile.save()


def test_a_time_that_does_not_exist_moves_forward_and_an_ambiguous_one_is_the_first():
    spring = rrules.Schedule(pattern="FREQ=DAILY", start=datetime(2025, 3, 29, 2, 30), time_zone="Europe/Berlin")
    autumn = rrules.Schedule(pattern="FREQ=DAILY", start=datetime(2025, 10, 25, 2, 30), time_zone="Europe/Berlin")

    assert [o.key.astimezone(BERLIN).strftime("%d %H:%M %Z") for o in spring.take(3)] == [
        "29 02:30 CET", "30 03:30 CEST", "31 02:30 CEST"]
    assert [o.key for o in autumn.take(3)] == [
        datetime(2025, 10, 25, 0, 30, tzinfo=UTC), datetime(2025, 10, 26, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first
        datetime(2025, 10, 27, 1, 30, tzinfo=UTC)]


@pytest.mark.parametrize("reader_zone", ["Pacific/Auckland", "America/Los_Angeles", "UTC"])
def test_all_day_instances_are_the_same_calendar_date_for_readers_east_and_west(owner, reader_zone):
    set_zone(owner, "Pacific/Auckland")
    first = make_series(owner, pattern="FREQ=WEEKLY;BYDAY=FR", due_at=datetime(2025, 3, 7, tzinfo=UTC), all_day=True,
                        zone="Pacific/Auckland", now=at(ZoneInfo("Pacific/Auckland"), 2025, 3, 6, 23))

    with timezone.override(ZoneInfo(reader_zone)):
        seen = [dates.due_date_local(t) for t in instances(first.series)]
    assert seen == [date(2025, 3, 7), date(2025, 3, 14)]  # the next 14 days of the series' zone
    assert {(t.all_day, t.due_at.time(), t.occurrence == t.due_at) for t in instances(first.series)} == {
        (True, time(0), True)}


# ---- month ends ------------------------------------------------------------------------------


def test_monthly_on_the_31st_skipping_months_without_it_follows_rfc_5545(owner):
    first = make_series(owner, pattern="FREQ=MONTHLY;BYMONTHDAY=31", due_at=at(BERLIN, 2024, 1, 31, 10),
                        now=at(BERLIN, 2024, 1, 30, 12))
    run_generator(at(BERLIN, 2024, 12, 20, 12))

    assert [d.date() for d in local_list(first.series, BERLIN)] == [
        date(2024, 1, 31), date(2024, 3, 31), date(2024, 5, 31), date(2024, 7, 31), date(2024, 8, 31),
        date(2024, 10, 31), date(2024, 12, 31)]


def test_monthly_on_the_31st_on_the_last_day_of_shorter_months_never_drifts(owner):
    first = make_series(owner, pattern="FREQ=MONTHLY;BYMONTHDAY=31", due_at=at(BERLIN, 2024, 1, 31, 10),
                        month_end="last_day", now=at(BERLIN, 2024, 1, 30, 12))
    run_generator(at(BERLIN, 2024, 6, 20, 12))

    assert [d.date() for d in local_list(first.series, BERLIN)] == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31),
        date(2024, 6, 30)]
    assert first.series.describe() == ("Every month on day 31 (the last day in shorter months) at 10:00 "
                                       "(Europe/Berlin)")


def test_yearly_on_29_february_is_leap_years_only_or_28_february_when_asked():
    rfc = rrules.Schedule(pattern="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", start=date(2024, 2, 29),
                          time_zone="Europe/Berlin")
    last = rrules.Schedule(pattern="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", start=date(2024, 2, 29),
                           time_zone="Europe/Berlin", month_end="last_day")

    assert [o.local for o in rfc.take(3)] == [date(2024, 2, 29), date(2028, 2, 29), date(2032, 2, 29)]
    assert [o.local for o in last.take(5)] == [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28),
                                               date(2027, 2, 28), date(2028, 2, 29)]


# ---- ends and skipped dates ------------------------------------------------------------------


def test_nothing_is_made_past_the_count(owner):
    first = make_series(owner, pattern="FREQ=DAILY", due_at=at(BERLIN, 2025, 5, 1, 9), count=3,
                        now=at(BERLIN, 2025, 5, 1, 8))
    run_generator(at(BERLIN, 2025, 5, 2, 8))
    run_generator(at(BERLIN, 2025, 9, 1, 8))

    assert [d.date() for d in local_list(first.series, BERLIN)] == [date(2025, 5, 1), date(2025, 5, 2),
                                                                     date(2025, 5, 3)]
    assert TaskSeries.objects.get().status == "ended"


def test_the_end_date_is_the_last_day_with_an_occurrence(owner):
    first = make_series(owner, pattern="FREQ=WEEKLY;BYDAY=MO,TH", due_at=at(BERLIN, 2025, 5, 1, 9),
                        until=date(2025, 5, 12), now=at(BERLIN, 2025, 4, 30, 8))
    run_generator(at(BERLIN, 2025, 7, 1, 8))

    assert [d.date() for d in local_list(first.series, BERLIN)] == [date(2025, 5, 1), date(2025, 5, 5),
                                                                     date(2025, 5, 8), date(2025, 5, 12)]
    assert TaskSeries.objects.get().status == "ended"


def test_skipped_dates_get_no_instance(owner):
    first = make_series(owner, pattern="FREQ=DAILY", due_at=at(BERLIN, 2025, 12, 22, 9),
                        exdates=[date(2025, 12, 24), date(2025, 12, 25), date(2025, 12, 26)],
                        now=at(BERLIN, 2025, 12, 22, 8))

    assert [d.date() for d in local_list(first.series, BERLIN)] == [
        date(2025, 12, 22), date(2025, 12, 23), date(2025, 12, 27), date(2025, 12, 28), date(2025, 12, 29),
        date(2025, 12, 30), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3),
        date(2026, 1, 4)]


# ---- horizon and idempotency -------------------------------------------------------------------


def test_instances_come_14_days_ahead_and_always_the_next_one(owner):
    now = at(BERLIN, 2025, 5, 1, 8)
    weekly = make_series(owner, pattern="FREQ=WEEKLY;BYDAY=TH", due_at=at(BERLIN, 2025, 5, 1, 9), now=now)
    monthly = make_series(owner, pattern="FREQ=MONTHLY;BYMONTHDAY=1", due_at=at(BERLIN, 2025, 5, 1, 9), now=now,
                          title="Monthly invoice")

    # 15 May 09:00 is 14 days and one hour away: not yet.
    assert [d.date() for d in local_list(weekly.series, BERLIN)] == [date(2025, 5, 1), date(2025, 5, 8)]
    assert [d.date() for d in local_list(monthly.series, BERLIN)] == [date(2025, 5, 1)]  # today's is the next one

    run_generator(at(BERLIN, 2025, 5, 1, 9, 15))  # today's has passed: the next one is made at once
    assert [d.date() for d in local_list(monthly.series, BERLIN)] == [date(2025, 5, 1), date(2025, 6, 1)]

    run_generator(at(BERLIN, 2025, 5, 9, 8))
    assert [d.date() for d in local_list(weekly.series, BERLIN)] == [date(2025, 5, 1), date(2025, 5, 8),
                                                                      date(2025, 5, 15), date(2025, 5, 22)]
    assert [d.date() for d in local_list(monthly.series, BERLIN)] == [date(2025, 5, 1), date(2025, 6, 1)]


def test_running_twice_makes_nothing_twice_and_a_deleted_instance_is_not_made_again(owner):
    now = at(BERLIN, 2025, 5, 1, 8)
    first = make_series(owner, pattern="FREQ=DAILY", due_at=at(BERLIN, 2025, 5, 1, 9), now=now)
    before = due_list(first.series)
    Task.objects.filter(series=first.series, due_at=before[3]).delete()

    run_generator(now)
    run_generator(now)

    assert due_list(first.series) == before[:3] + before[4:]


def test_a_run_that_died_before_recording_its_progress_makes_nothing_twice(owner):
    now = at(BERLIN, 2025, 5, 1, 8)
    first = make_series(owner, pattern="FREQ=DAILY", due_at=at(BERLIN, 2025, 5, 1, 9), now=now)
    before = due_list(first.series)
    TaskSeries.objects.filter(pk=first.series_id).update(generated_until=None)  # as if it died mid-way

    made = recurrence.series_generate_instances(series=first.series, now=now)

    assert (made, due_list(first.series)) == ([], before)


# ---- what an instance carries -------------------------------------------------------------------


def test_an_instance_carries_the_series_fields_checklist_participants_tags_and_reminders(owner, teammate, manager):
    acme = OrganizationFactory(name="Acme")
    now = at(BERLIN, 2025, 5, 1, 8)
    first = services.task_create(
        created_by=owner, title="Call Acme", description="Ask about seats.", task_type="call", priority="high",
        due_at=at(BERLIN, 2025, 5, 1, 9), scheduled_at=at(BERLIN, 2025, 5, 1, 8, 30), assignee=teammate,
        expected_duration=timedelta(minutes=30), location="Phone", entity=acme, tags=["vip"],
        checklist=["Prepare numbers", "Call"], participants=[(manager, "subscriber")])
    from tasks import reminders

    reminders.reminder_add(task=first, by=owner, kind="relative_due", offset=timedelta(hours=1), for_all=True)
    schedule = recurrence.schedule_from_due(due_at=first.due_at, all_day=False, pattern="FREQ=WEEKLY;BYDAY=TH",
                                            time_zone="Europe/Berlin")
    series = recurrence.series_start(task=first, user=owner, schedule=schedule, now=now)

    second = Task.objects.get(series=series, occurrence=at(BERLIN, 2025, 5, 8, 9))
    assert {
        "title": second.title, "description": second.description, "task_type": second.task_type,
        "priority": second.priority, "status": second.status, "due_at": second.due_at,
        "scheduled_at": second.scheduled_at, "assignee": second.assignee, "created_by": second.created_by,
        "expected_duration": second.expected_duration, "location": second.location, "entity": second.entity,
        "tags": [t.name for t in second.tags.all()], "checklist": [(i.text, i.is_done) for i in second.checklist.all()],
        "participants": [(p.user, p.role) for p in second.participants.all()],
        "reminders": sorted((r.user.username, r.kind, r.offset, r.remind_at) for r in second.reminders.all()),
    } == {
        "title": "Call Acme", "description": "Ask about seats.", "task_type": "call", "priority": "high",
        "status": "pending", "due_at": at(BERLIN, 2025, 5, 8, 9), "scheduled_at": at(BERLIN, 2025, 5, 8, 8, 30),
        "assignee": teammate, "created_by": owner, "expected_duration": timedelta(minutes=30), "location": "Phone",
        "entity": acme, "tags": ["vip"], "checklist": [("Prepare numbers", False), ("Call", False)],
        "participants": [(manager, "subscriber")],
        "reminders": [("manager", "relative_due", timedelta(hours=1), at(BERLIN, 2025, 5, 8, 8)),
                      ("teammate", "relative_due", timedelta(hours=1), at(BERLIN, 2025, 5, 8, 8))],
    }


def test_an_instance_for_a_team_goes_through_its_distribution(owner):
    team = TeamFactory(name="Support", distribution_strategy="round_robin")
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    MembershipFactory(team=team, user=ann)
    MembershipFactory(team=team, user=bob)

    first = make_series(owner, pattern="FREQ=DAILY", due_at=at(BERLIN, 2025, 5, 1, 9), team=team,
                        now=at(BERLIN, 2025, 5, 1, 8))

    assignees = [t.assignee.username for t in instances(first.series)]
    assert len(assignees) == 14 and set(assignees) == {"ann", "bob"}
    assert all(a != b for a, b in zip(assignees, assignees[1:]))  # in turn


def test_completing_one_instance_changes_no_other(owner):
    first = make_series(owner, pattern="FREQ=DAILY", due_at=at(BERLIN, 2025, 5, 1, 9), assignee=owner,
                        now=at(BERLIN, 2025, 5, 1, 8))
    before = [(t.pk, t.status, t.version, t.due_at) for t in instances(first.series)][1:]

    services.task_change_status(task=first, user=owner, status="in_progress")
    services.task_complete(task=Task.objects.get(pk=first.pk), user=owner)

    assert [(t.pk, t.status, t.version, t.due_at) for t in instances(first.series)][1:] == before
    assert TaskSeries.objects.get().status == "active"


# ---- stopping ------------------------------------------------------------------------------


def test_stopping_cancels_future_instances_not_started_and_keeps_history(owner):
    first = make_series(owner, pattern="FREQ=DAILY", due_at=at(BERLIN, 2025, 5, 1, 9), assignee=owner,
                        now=at(BERLIN, 2025, 5, 1, 8))
    rows = instances(first.series)
    services.task_complete(task=services.task_start(task=rows[0], user=owner), user=owner)  # 1 May: done
    services.task_start(task=rows[3], user=owner)  # 4 May: started
    now = at(BERLIN, 2025, 5, 2, 12)  # 2 May 09:00 is past: overdue, stays

    with time_machine.travel(now, tick=False):
        cancelled = recurrence.series_cancel(series=first.series, user=owner, keep=rows[2], now=now)
        run_generator(at(BERLIN, 2025, 6, 1, 8))

    statuses = {t.due_at.astimezone(BERLIN).day: t.status for t in instances(first.series)}
    assert cancelled == 10
    assert statuses == {1: "completed", 2: "pending", 3: "pending", 4: "in_progress",
                        **{d: "cancelled" for d in range(5, 15)}}
    assert TaskSeries.objects.get().status == "cancelled"
    assert Task.objects.count() == 14  # nothing new after stopping


def test_stopping_drops_the_reminders_of_the_cancelled_instances(owner):
    first = make_series(owner, pattern="FREQ=DAILY", due_at=at(BERLIN, 2025, 5, 1, 9), assignee=owner,
                        now=at(BERLIN, 2025, 5, 1, 8))
    from tasks import reminders

    for task in instances(first.series):
        reminders.reminder_add(task=task, by=owner, kind="relative_due", offset=timedelta(minutes=15),
                               now=at(BERLIN, 2025, 5, 1, 8))

    recurrence.series_cancel(series=first.series, user=owner, keep=first, now=at(BERLIN, 2025, 5, 1, 8))

    assert sorted(Reminder.objects.values_list("status", flat=True)) == ["dropped"] * 13 + ["pending"]
    assert Reminder.objects.get(status="pending").task_id == first.pk


def test_a_series_is_looked_at_again_only_when_its_next_occurrence_enters_the_horizon(owner):
    make_series(owner, pattern="FREQ=WEEKLY;BYDAY=TH", due_at=at(BERLIN, 2025, 5, 1, 9), now=at(BERLIN, 2025, 5, 1, 8))

    quiet = recurrence.series_generate_due(now=at(BERLIN, 2025, 5, 1, 8, 45))
    due = recurrence.series_generate_due(now=at(BERLIN, 2025, 5, 1, 9, 0))  # 15 May 09:00 is 14 days away now

    assert (quiet.series, quiet.created) == (0, 0)
    assert (due.series, due.created) == (1, 1)
    assert [d.date() for d in local_list(TaskSeries.objects.get(), BERLIN)] == [
        date(2025, 5, 1), date(2025, 5, 8), date(2025, 5, 15)]
