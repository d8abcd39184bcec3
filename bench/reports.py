"""Server time of each reports section, the whole reports page, the CSV export and a 10,000-row import.

Usage:  .venv/bin/python bench/reports.py [--sizes 100000] [--repeat 7] [--entries-per-task 0.5]

Runs against a throw-away database like bench/task_pages.py: a SQLite file under /tmp by
default, or the PostgreSQL server in DATABASE_URL (a database named crm_bench_reports is
created and dropped). The reader is a non-staff team member (who sees the tasks of their
team, their own and those they take part in), in Europe/Berlin, over the default period
(the last 8 weeks). Time entries are seeded with bulk_create (half as many as tasks by
default, on random tasks, by random users, plus one running timer per user) for the
tracked-time query.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "crm_bench_reports"

from bench import _common  # noqa: E402 - needs ROOT on the path


QUERY_LABELS = [
    "per assignee and team: open, overdue, workload, hours, on time",
    "per type and priority: open, overdue, hours, on time",
    "tracked time per assignee and type (tasks joined to entries)",
    "completion time percentiles, overall",
    "completion time percentiles, per type",
    "completion time percentiles, per assignee",
    "completion time percentiles, per week",
    "completions per week: counts, on time",
    "bottlenecks: per open status",
    "bottlenecks: median time in status",
    "bottlenecks: the 20 longest-stuck tasks",
    "names of the people in the tables",
]


def seed_time_entries(count, users):
    """`count` finished entries of 10 minutes to 3 hours on random tasks by random users, started
    within a week before the task's completion (or before now), and one running timer per user."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from tasks.models import Task
    from tasks.models_time import TimeEntry

    rng = random.Random(7)
    now = timezone.now()
    tasks = list(Task.objects.values_list("pk", "completed_at"))
    entries = []
    for task_id, completed_at in rng.choices(tasks, k=count):
        duration = timedelta(minutes=rng.randint(10, 180))
        start = min(completed_at or now, now) - duration - timedelta(minutes=rng.randint(0, 7 * 24 * 60))
        entries.append(TimeEntry(task_id=task_id, user=rng.choice(users), started_at=start,
                                 ended_at=start + duration, duration=duration))
    for user in users:
        task_id, _ = rng.choice(tasks)
        entries.append(TimeEntry(task_id=task_id, user=user, started_at=now - timedelta(hours=1)))
    TimeEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)


def timed(fn, repeat):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        queries = len(ctx.captured_queries)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.9) - 1)], queries


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--entries-per-task", type=float, default=0.5)
    args = parser.parse_args()

    vendor = _common.setup(DB_NAME, "/tmp/crm-bench-reports.sqlite3")
    from zoneinfo import ZoneInfo

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from django.contrib.auth import get_user_model

    from crm.models import Organization, Profile, Team, TeamMembership
    from tasks import csv_io, reports
    from tasks.demo import seed_tasks
    from tasks.models import Task
    from tasks.views_reports import _members, build_charts

    User = get_user_model()
    users = [User.objects.create_user(f"bench{i}", password="x", first_name=f"Bench {i}") for i in range(6)]
    teams = [Team.objects.create(name=f"Bench team {i}", manager=users[i]) for i in range(2)]
    for i, user in enumerate(users):
        TeamMembership.objects.create(team=teams[i % 2], user=user)
    for i in range(200):
        Organization.objects.create(name=f"Bench Org {i}")
    reader = users[2]
    Profile.objects.update_or_create(user=reader, defaults={"time_zone": "Europe/Berlin"})
    reader = User.objects.get(pk=reader.pk)
    client = Client()
    client.force_login(reader)
    berlin = ZoneInfo("Europe/Berlin")

    print(f"database: {vendor}; reader sees own, created, participating and team tasks (not staff); "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for size in args.sizes:
        t0 = time.perf_counter()
        seed_tasks(count=size, users=users, teams=teams)
        entries = seed_time_entries(int(size * args.entries_per_task), users)
        seed_seconds = time.perf_counter() - t0
        _common.analyze(vendor)
        visible = reports.report_tasks(reader, reports.ReportFilters(date_from=None, date_to=None)).count()
        print(f"\n{Task.objects.count():,} tasks, {visible:,} visible to the reader, {entries:,} time entries "
              f"(seeded in {seed_seconds:.1f} s)")
        print(f"{'query of the report (median of the runs)':64} {'median ms':>10} {'p90 ms':>8}")
        with timezone.override(berlin):
            today = timezone.localdate()
            date_from, date_to = reports.default_period(today)
            filters = reports.ReportFilters(date_from=date_from, date_to=date_to)
            members = _members(reader, filters)
            per_query = [[] for _ in QUERY_LABELS]
            totals, report = [], None
            for _ in range(args.repeat):
                with CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    report = reports.build_report(user=reader, filters=filters, members=members)
                    totals.append((time.perf_counter() - t0) * 1000)
                assert len(ctx.captured_queries) == len(QUERY_LABELS), len(ctx.captured_queries)
                for index, query in enumerate(ctx.captured_queries):
                    per_query[index].append(float(query["time"]) * 1000)
            for label, times in zip(QUERY_LABELS, per_query):
                times.sort()
                p90 = times[max(0, int(len(times) * 0.9) - 1)]
                print(f"{label:64} {statistics.median(times):10.1f} {p90:8.1f}")
            totals.sort()
            print(f"{f'all sections (build_report, {len(QUERY_LABELS)} queries)':64} {statistics.median(totals):10.1f} "
                  f"{totals[max(0, int(len(totals) * 0.9) - 1)]:8.1f}")
            median, p90, queries = timed(lambda: build_charts(report), args.repeat)
            print(f"{'charts (pygal, 9 inline SVGs)':64} {median:10.1f} {p90:8.1f}")

        def page():
            response = client.get("/reports/")
            assert response.status_code == 200, response.status_code

        median, p90, queries = timed(page, args.repeat)
        label = f"whole page GET /reports/ (test client; {queries} queries in all)"
        print(f"{label:64} {median:10.1f} {p90:8.1f}")

        def export_all():
            response = client.get("/tasks/export.csv?status=pending&status=in_progress&status=waiting"
                                  "&status=blocked&status=completed&status=cancelled")
            return b"".join(response.streaming_content)

        start_t = time.perf_counter()
        body = export_all()
        export_ms = (time.perf_counter() - start_t) * 1000
        label = "CSV export of every visible task (streamed)"
        print(f"{label:64} {export_ms:10.1f}   ({len(body) // 1024:,} KB)")

        # Import: the first N exported rows, back in as new tasks.
        lines = body.decode("utf-8").splitlines(keepends=True)
        sample = "".join(lines[: args.import_rows + 1]).encode("utf-8")
        upload = SimpleUploadedFile("bench.csv", sample, content_type="text/csv")
        t0 = time.perf_counter()
        task_import = csv_io.task_import_preview(user=reader, uploaded=upload)
        preview_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = csv_io.tasks_import(task_import=task_import, user=reader, mode="valid")
        import_s = time.perf_counter() - t0
        print(f"CSV import of {task_import.row_count:,} rows: preview (read + check) {preview_s:.2f} s, "
              f"confirm (check again + bulk_create {result.created:,}) {import_s:.2f} s")


if __name__ == "__main__":
    main()
