"""The Time panel on the task page (side column): the timer, expected against actual time
(subtasks included), the task's time entries with their edit history, and a form to add time.

Registered in the panel registry when imported (billables' AppConfig.ready imports it; the
tasks app may import it from its own ready() instead). A fixed number of queries.
"""

from django.utils import timezone

from . import panels
from .context_processors import running_timer_for
from .forms_time import TimeEntryForm
from .models_time import TimeEntry
from .selectors_time import annotate_entries, task_time, with_billing_state

PANEL_LIMIT = 20


def can_bill(user):
    return user.is_superuser or user.has_perm("billables.change_invoice")


def time_panel_context(request, task, can_edit):
    user = request.user
    now = timezone.now()
    rows = list(with_billing_state(TimeEntry.objects.filter(task=task).select_related("user"))[:PANEL_LIMIT + 1])
    entries = annotate_entries(rows[:PANEL_LIMIT], user)
    running = running_timer_for(request)
    mine_here = running is not None and running.task_id == task.pk
    return {
        "task": task,
        "entries": entries,
        "more": len(rows) > PANEL_LIMIT,
        "totals": task_time(task, now=now),
        "running": running,
        "running_here": mine_here,
        "running_elsewhere": running is not None and not mine_here,
        "flagged": running is not None and running.is_flagged(now=now),
        "form": TimeEntryForm(initial={"date": timezone.localdate(), "billable": True}, auto_id="time_%s"),
        "can_bill": can_bill(user),
    }


panels.register(panels.Panel(slug="time", label="Time", order=30, column=panels.SIDE,
                             template="tasks/panels/time.html", context=time_panel_context))
