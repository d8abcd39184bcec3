"""The signed-in user's running timer on every page (one query), for the nav indicator and the
Start/Stop buttons of task rows."""

from .selectors_time import hours


def running_timer_for(request):
    """The user's running TimeEntry (with its task) or None; read once per request."""
    if not hasattr(request, "_running_timer"):
        user = getattr(request, "user", None)
        entry = None
        if user is not None and user.is_authenticated:
            from .models_time import TimeEntry

            entry = TimeEntry.objects.select_related("task").filter(user=user, ended_at__isnull=True).first()
        request._running_timer = entry
    return request._running_timer


def running_timer(request):
    entry = running_timer_for(request)
    if entry is None:
        return {"running_timer": None}
    return {"running_timer": entry, "running_timer_flagged": entry.is_flagged(),
            "running_timer_elapsed": hours(entry.elapsed())}
