"""A job queued with .delay() goes through the real broker and is run by a real worker process."""

import pytest
from django.utils import timezone

from crm.jobs import heartbeat
from crm.models import WorkerHeartbeat
from crm.testing.celery_worker import require_ci_services, wait_for

pytestmark = pytest.mark.celery_worker


def test_worker_runs_a_queued_heartbeat(celery_worker_process):
    require_ci_services()
    before = timezone.now()

    heartbeat.delay(name="integration-test")

    row = wait_for(lambda: WorkerHeartbeat.objects.filter(name="integration-test").first())
    assert row is not None, f"The worker did not record the heartbeat within 30 s. Worker output:\n{celery_worker_process.output}"
    assert before <= row.last_seen <= timezone.now()
    assert list(WorkerHeartbeat.objects.values_list("name", flat=True)) == ["integration-test"]
    assert "crm.heartbeat" in celery_worker_process.output
