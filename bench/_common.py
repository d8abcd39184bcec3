"""The throw-away database the benchmarks in bench/ run against, and Django set up on it.

A SQLite file under /tmp by default (deleted first, with its -wal and -shm files), or, when
DATABASE_URL points at PostgreSQL, a database of the given name on that server, dropped and
created again. Django runs with the test settings, the test environment (locmem email) and
every migration applied.
"""

import os
from pathlib import Path


def configure(db_name, sqlite_file):
    """Point DATABASE_URL at the benchmark's own database; return the vendor ("postgresql" or "sqlite")."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        base, _, _name = url.rpartition("/")
        os.environ["DATABASE_URL"] = f"{base}/{db_name}"
        return "postgresql"
    db = Path(sqlite_file)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    return "sqlite"


def pg_database(db_name, action):
    """Drop the PostgreSQL database `db_name`, and with action="create" make it again (empty)."""
    import psycopg2

    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db_name}")
        if action == "create":
            cur.execute(f"CREATE DATABASE {db_name}")
    conn.close()


def setup(db_name, sqlite_file):
    """Make the fresh database, set Django up on it and migrate; return the vendor."""
    vendor = configure(db_name, sqlite_file)
    if vendor == "postgresql":
        pg_database(db_name, "create")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings_test")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # locmem email backend, like the tests
    call_command("migrate", verbosity=0)
    return vendor


def analyze(vendor):
    """Refresh PostgreSQL's planner statistics after seeding (SQLite: nothing to do)."""
    if vendor == "postgresql":
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("ANALYZE")
