"""pytest plugin: a real Celery worker process for integration tests.

`celery_worker_process` starts `celery -A crm worker` in a subprocess whose
database is the current test database, so a job queued with `.delay()` goes
through the real broker (Redis when REDIS_URL is set, else the embedded
SQLAlchemy broker) and is executed by a real worker. The fixture implies
`transactional_db`: the worker is another process and only sees committed rows.

Without REDIS_URL the test session gets its own throwaway embedded broker file
(CELERY_BROKER_URL, which Celery reads before its settings), so a `make run`
worker on the same machine can never take the tests' messages, and the tests'
messages never land in the development queue.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
READY_TIMEOUT = 60

_broker_dir = None


def pytest_configure(config):
    global _broker_dir
    if not os.environ.get("REDIS_URL") and not os.environ.get("CELERY_BROKER_URL"):
        _broker_dir = tempfile.mkdtemp(prefix="crm-test-broker-")
        os.environ["CELERY_BROKER_URL"] = f"sqlalchemy+sqlite:///{_broker_dir}/broker.sqlite3"


def pytest_unconfigure(config):
    global _broker_dir
    if _broker_dir is not None:
        os.environ.pop("CELERY_BROKER_URL", None)
        shutil.rmtree(_broker_dir, ignore_errors=True)
        _broker_dir = None


def database_url_for(settings_dict):
    """A DATABASE_URL (dj-database-url syntax) for the database `settings_dict` points at."""
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine == "django.db.backends.sqlite3":
        if name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
            raise RuntimeError(
                "A Celery worker process cannot share an in-memory SQLite test database; "
                "the settings must give the test database a file name (DATABASES['default']['TEST']['NAME'])."
            )
        return f"sqlite:///{Path(name).resolve()}"
    if engine == "django.db.backends.postgresql":
        credentials = ""
        if settings_dict.get("USER"):
            credentials = quote(settings_dict["USER"], safe="")
            if settings_dict.get("PASSWORD"):
                credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
            credentials += "@"
        host = settings_dict.get("HOST") or "localhost"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{credentials}{host}{port}/{quote(name, safe='')}"
    raise RuntimeError(f"No worker database URL for engine {engine!r}.")


def declare_default_queue(app):
    """Declare the default queue once, before any worker or producer races to create it.

    kombu's SQLAlchemy transport creates its tables and queue rows on first use;
    two processes doing that at the same moment can fail. Harmless on Redis.
    """
    from kombu import Exchange, Queue

    name = app.conf.task_default_queue
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=5)
        Queue(name, Exchange(name, type="direct"), routing_key=name)(conn.default_channel).declare()


def purge_default_queue(app):
    """Drop messages other tests may have queued, so the worker runs only this test's jobs."""
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)


class WorkerProcess:
    """A running `celery worker` subprocess with its collected output."""

    def __init__(self, args, env):
        self.lines = []
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            args, cwd=BASE_DIR, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if " ready." in line:
                self._ready.set()
        self.process.stdout.close()

    @property
    def output(self):
        return "\n".join(self.lines)

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready.wait(0.1):
                return
            if self.process.poll() is not None:
                self._reader.join(2)
                raise RuntimeError(
                    f"The Celery worker exited with code {self.process.returncode} before it was ready:\n{self.output}"
                )
        raise RuntimeError(f"The Celery worker was not ready after {timeout} s:\n{self.output}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: finish the current job
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:  # leave nothing behind from the worker's process group
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self._reader.join(5)


def require_ci_services():
    """In CI a worker test must run against PostgreSQL and Redis; a silent fallback would hide a gap."""
    if os.environ.get("CI") == "true":
        from django.conf import settings

        from crm.celery import app

        missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
        if missing:
            pytest.fail(f"CI=true but {', '.join(missing)} not set: this test must run on PostgreSQL and Redis.")
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
        assert app.conf.broker_url.startswith("redis://")


def wait_for(fetch, timeout=30.0, interval=0.2):
    """Call `fetch` until it returns something true (what the worker did shows up), at most `timeout`
    seconds; return its last result."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = fetch()
        if result:
            return result
        time.sleep(interval)
    return fetch()


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker (solo pool, queue "crm") on the current test database.

    Yields a `WorkerProcess`; its `.output` helps explain a failure.
    """
    from django.db import connection

    from crm.celery import app

    declare_default_queue(app)
    purge_default_queue(app)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings_test",
        "DATABASE_URL": database_url_for(connection.settings_dict),
        "PYTHONUNBUFFERED": "1",
    }
    worker = WorkerProcess(
        [
            sys.executable, "-m", "celery", "-A", "crm", "worker",
            "--pool", "solo", "-Q", app.conf.task_default_queue, "--loglevel", "info",
            "--hostname", f"pytest-{uuid.uuid4().hex[:8]}@%h",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ],
        env,
    )
    try:
        worker.wait_ready(READY_TIMEOUT)
        yield worker
    finally:
        worker.stop()
