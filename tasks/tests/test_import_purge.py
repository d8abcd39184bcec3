"""Unconfirmed CSV import previews are purged after two days; imported ones stay."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import time_machine

from tasks.jobs import purge_stale_imports
from tasks.models import TaskImport

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=dt_timezone.utc)


def test_old_previews_go_and_everything_else_stays(owner):
    with time_machine.travel(T0, tick=False):
        old_preview = TaskImport.objects.create(user=owner, filename="old.csv")
        old_done = TaskImport.objects.create(user=owner, filename="done.csv", status=TaskImport.Status.IMPORTED)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        recent = TaskImport.objects.create(user=owner, filename="recent.csv")

    with time_machine.travel(T0 + timedelta(days=2, minutes=1), tick=False):
        first = purge_stale_imports()
        second = purge_stale_imports()

    assert (first, second) == (1, 0)
    assert set(TaskImport.objects.values_list("pk", flat=True)) == {old_done.pk, recent.pk}
    assert not TaskImport.objects.filter(pk=old_preview.pk).exists()
