"""A job queued with .delay() goes through the real broker and is run by a real worker process."""

import os
import time

import pytest
from django.conf import settings
from django.utils import timezone

from crm.celery import app
from crm.jobs import heartbeat
from crm.models import WorkerHeartbeat

pytestmark = pytest.mark.celery_worker


def _require_ci_services():
    """In CI the worker must run against PostgreSQL and Redis; a silent fallback would hide a gap."""
    if os.environ.get("CI") == "true":
        missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
        if missing:
            pytest.fail(f"CI=true but {', '.join(missing)} not set: the worker test must run on PostgreSQL and Redis.")
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
        assert app.conf.broker_url.startswith("redis://")


def _wait_for(fetch, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = fetch()
        if result:
            return result
        time.sleep(interval)
    return fetch()


def test_worker_runs_a_queued_heartbeat(celery_worker_process):
    _require_ci_services()
    before = timezone.now()

    heartbeat.delay(name="integration-test")

    row = _wait_for(lambda: WorkerHeartbeat.objects.filter(name="integration-test").first())
    assert row is not None, f"The worker did not record the heartbeat within 30 s. Worker output:\n{celery_worker_process.output}"
    assert before <= row.last_seen <= timezone.now()
    assert list(WorkerHeartbeat.objects.values_list("name", flat=True)) == ["integration-test"]
    assert "crm.heartbeat" in celery_worker_process.output
