"""Test helpers for code that queues Celery jobs after commit.

`eager_jobs`: jobs queued with `.delay()` run at once in the test process (the
settings keep CELERY_TASK_ALWAYS_EAGER off, as in production). Combine with
`django_capture_on_commit_callbacks(execute=True)` to run what a commit would
queue. Import the fixture into a test module: `from crm.testing.jobs import eager_jobs`.
"""

import pytest


@pytest.fixture
def eager_jobs():
    from crm.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield app
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = before
