"""Median server time and SQL query count of the task pages at 10,000 and 100,000 tasks.

Usage:  .venv/bin/python bench/task_pages.py [--sizes 10000 100000] [--repeat 15]

Runs against a throw-away database: a SQLite file under /tmp by default, or the
PostgreSQL server in DATABASE_URL (a database named crm_bench is created and
dropped). Requests go through the full Django stack (middleware, templates) with
the test client, signed in as a non-staff user who sees the tasks of their teams.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _common  # noqa: E402 - needs ROOT on the path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    vendor = _common.setup("crm_bench", "/tmp/crm-bench.sqlite3")
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from django.contrib.auth import get_user_model
    from crm.models import Organization, Team, TeamMembership
    from tasks.demo import seed_tasks
    from tasks.models import Task

    User = get_user_model()
    users = [User.objects.create_user(f"bench{i}", password="x") for i in range(6)]
    teams = [Team.objects.create(name=f"Bench team {i}", manager=users[i]) for i in range(2)]
    for i, user in enumerate(users):
        TeamMembership.objects.create(team=teams[i % 2], user=user)
    orgs = [Organization.objects.create(name=f"Bench Org {i}") for i in range(200)]
    reader = users[2]
    client = Client()
    client.force_login(reader)

    print(f"database: {vendor}; user sees own, created, participating and team tasks (not staff)")
    for size in args.sizes:
        t0 = time.perf_counter()
        seed_tasks(count=size, users=users, teams=teams)
        seed_seconds = time.perf_counter() - t0
        _common.analyze(vendor)
        task = Task.objects.filter(team=teams[0], parent__isnull=True).order_by("pk").first()
        org = Organization.objects.filter(pk__in=Task.objects.filter(content_type__model="organization")
                                          .values("object_id")).first() or orgs[0]
        pages = [
            ("task list, default view", "/tasks/"),
            ("task list, filtered (high+urgent, mine, overdue)", "/tasks/?priority=high&priority=urgent&assignee=me&overdue=on"),
            ("task list, search", "/tasks/?q=renewal"),
            ("task list, sorted by priority, page 20", "/tasks/?o=-priority&page=20"),
            ("task detail", f"/tasks/{task.pk}/"),
            ("entity tab (organization tasks)", f"/organizations/{org.pk}/tabs/tasks/"),
            ("my day", "/"),
            ("calendar", "/tasks/calendar/"),
        ]
        print(f"\n{Task.objects.count():,} tasks (seeded in {seed_seconds:.1f} s)")
        print(f"{'page':52} {'median ms':>10} {'p90 ms':>8} {'queries':>8} {'status':>6}")
        for label, url in pages:
            times = []
            queries = 0
            status = None
            for _ in range(args.repeat):
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - start) * 1000)
                queries = len(ctx.captured_queries)
                status = response.status_code
            times.sort()
            p90 = times[int(len(times) * 0.9) - 1]
            print(f"{label:52} {statistics.median(times):10.1f} {p90:8.1f} {queries:8d} {status:6d}")


if __name__ == "__main__":
    main()
