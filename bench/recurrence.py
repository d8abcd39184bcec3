"""Time to generate the instances of 10,000 active repeating tasks and to send 10,000 due reminders.

Usage:  .venv/bin/python bench/recurrence.py [--series 10000] [--reminders 10000]

Runs against a throw-away database: a SQLite file under /tmp by default, or the
PostgreSQL server in DATABASE_URL (a database named crm_bench_recurrence is created and
dropped). Email goes to Django's locmem backend, so the figures are the application's
own work (rendering, claiming, recording), not an SMTP server's.

What is timed (the beat jobs' services, called as the worker calls them):
- generation, first run: 10,000 new series (60% weekly, 30% monthly, 10% daily, in a
  few time zones) get every occurrence of the next 14 days, made through task_create;
- generation, the next day: the run that adds what came into the horizon overnight;
- generation, nothing to do: a run right after (the cost of every 15-minute tick);
- reminders: 10,000 due reminders (200 users, 2,000 tasks), each claimed, delivered in
  the app and by email, and marked sent.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "crm_bench_recurrence"

from bench import _common  # noqa: E402 - needs ROOT on the path


def timed(label, func):
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    return result, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--reminders", type=int, default=10_000)
    args = parser.parse_args()

    vendor = _common.setup(DB_NAME, f"/tmp/{DB_NAME}.sqlite3")
    from datetime import date, datetime, time as dtime, timedelta
    from zoneinfo import ZoneInfo

    from django.core import mail
    from django.db import connection

    from django.contrib.auth import get_user_model

    from tasks import recurrence, reminders, rrules
    from tasks.models import Task, TaskSeries
    from tasks.models_reminders import Reminder

    User = get_user_model()
    users = [User.objects.create_user(f"bench{i}", email=f"bench{i}@example.com", password="x",
                                      first_name="Bench", last_name=str(i)) for i in range(200)]
    zones = ["Europe/Berlin", "America/New_York", "Europe/London", "Asia/Tokyo"]
    for i, user in enumerate(users):
        user.profile.time_zone = zones[i % len(zones)]
        user.profile.save()
    now = datetime(2025, 5, 5, 6, 0, tzinfo=ZoneInfo("UTC"))
    patterns = (["FREQ=WEEKLY;BYDAY=MO"] * 6) + (["FREQ=MONTHLY;BYMONTHDAY=5"] * 3) + ["FREQ=DAILY"]

    print(f"database: {vendor}; email: locmem; {args.series:,} series, {args.reminders:,} reminders")

    # ---- generation ---------------------------------------------------------------------
    series_rows = []
    for i in range(args.series):
        zone = zones[i % len(zones)]
        schedule = rrules.Schedule(pattern=patterns[i % len(patterns)], start=datetime(2025, 5, 5, 9, 0),
                                   time_zone=zone)
        row = TaskSeries(title=f"Repeating task {i}", assignee=users[i % len(users)], created_by=users[0],
                         checklist=["Prepare", "Do it"] if i % 4 == 0 else [],
                         reminders=[{"kind": "relative_due", "offset_minutes": 15, "for_all": True,
                                     "user_id": None}] if i % 2 == 0 else [])
        row.set_schedule(schedule)
        series_rows.append(row)
    TaskSeries.objects.bulk_create(series_rows, batch_size=1000)
    _common.analyze(vendor)

    first, first_s = timed("first", lambda: recurrence.series_generate_due(now=now))
    next_day, next_s = timed("next day", lambda: recurrence.series_generate_due(now=now + timedelta(days=1)))
    idle, idle_s = timed("idle", lambda: recurrence.series_generate_due(now=now + timedelta(days=1, minutes=15)))
    made = Task.objects.count()

    print(f"\n{'generation run':44} {'series':>8} {'instances':>10} {'seconds':>9} {'per instance ms':>16}")
    for label, report, seconds in (("first run (14-day horizon)", first, first_s),
                                   ("next day", next_day, next_s),
                                   ("15 minutes later (nothing to do)", idle, idle_s)):
        per = (seconds * 1000 / report.created) if report.created else 0
        print(f"{label:44} {report.series:8,} {report.created:10,} {seconds:9.2f} {per:16.2f}")
    assert first.failed == next_day.failed == idle.failed == 0
    print(f"{made:,} instances in the database, {Reminder.objects.count():,} reminders made with them")

    # ---- reminders ------------------------------------------------------------------------
    Reminder.objects.all().delete()
    tasks = [Task(title=f"Call {i}", assignee=users[i % len(users)], created_by=users[0],
                  due_at=now + timedelta(hours=1), tree_path="/") for i in range(max(1, args.reminders // 5))]
    Task.objects.bulk_create(tasks, batch_size=1000)
    rows = []
    for i in range(args.reminders):
        task = tasks[i % len(tasks)]
        rows.append(Reminder(task=task, user_id=task.assignee_id, kind="relative_due",
                             offset=timedelta(minutes=60 + i // len(tasks)), remind_at=now - timedelta(minutes=1)))
    Reminder.objects.bulk_create(rows, batch_size=1000)
    _common.analyze(vendor)
    mail.outbox = []

    report, send_s = timed("send", lambda: reminders.reminders_send_due(now=now))
    again, again_s = timed("again", lambda: reminders.reminders_send_due(now=now))
    print(f"\n{'reminder run':44} {'sent':>8} {'emails':>10} {'seconds':>9} {'per reminder ms':>16}")
    print(f"{'10,000 due at once' if args.reminders == 10_000 else 'due at once':44} {report.sent:8,} "
          f"{len(mail.outbox):10,} {send_s:9.2f} {send_s * 1000 / max(report.sent, 1):16.2f}")
    print(f"{'the next minute (nothing due)':44} {again.sent:8,} {len(mail.outbox):10,} {again_s:9.2f}")
    assert report.sent == args.reminders == len(mail.outbox) and report.failed == 0

    if vendor == "postgresql":
        connection.close()
        _common.pg_database(DB_NAME, "drop")


if __name__ == "__main__":
    main()
