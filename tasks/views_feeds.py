"""Calendar pages: the personal feed (/calendar/feed/<token>.ics), its settings page, one task as .ics.

The feed is read by calendar apps that cannot sign in: the secret token in its
URL is the credential. An unknown or revoked token answers 404, exactly like a
URL that never existed. Everything else needs a signed-in user; the task file
is fetched through tasks.access (404 for a task the user may not see).

Importing this module registers the Calendar card of the task page (tasks.panels).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from . import access, feeds, panels

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"


@login_not_required
@require_http_methods(["GET", "HEAD"])
def calendar_feed(request, token):
    user = feeds.user_for_token(token)
    if user is None:
        raise Http404("No such calendar feed.")
    response = HttpResponse(feeds.user_feed(user), content_type=CALENDAR_CONTENT_TYPE)
    response["Content-Disposition"] = 'inline; filename="taskdesk-tasks.ics"'
    # Calendar apps poll; a revoked token must stop working at once, so nothing may cache it for long.
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_http_methods(["GET", "HEAD"])
def task_ics(request, pk):
    task = access.get_task_for_user(request.user, pk)
    if task.due_at is None and task.scheduled_at is None:
        raise Http404("This task has no date to put in a calendar.")
    body = feeds.task_ics(task, zone=timezone.get_current_timezone())
    response = HttpResponse(body, content_type=CALENDAR_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="task-{task.pk}.ics"'
    return response


ACTIONS = {"create", "regenerate", "revoke"}


@require_http_methods(["GET", "HEAD", "POST"])
def calendar_settings(request):
    """See the feed URL; create it, regenerate it (the old URL stops working) or revoke it."""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            messages.error(request, "Choose to create, regenerate or revoke your calendar feed address.")
            status = 400
        elif action == "revoke":
            if feeds.feed_token_revoke(user=request.user):
                messages.success(request, "Your calendar feed address is revoked: calendars using it get nothing now.")
            else:
                messages.info(request, "You have no calendar feed address to revoke.")
            return redirect("calendar_feed_settings")
        else:
            had_one = feeds.active_token(request.user) is not None
            feeds.feed_token_regenerate(user=request.user)
            messages.success(request, "Your calendar feed has a new address; the old one no longer works."
                             if had_one else "Your calendar feed address is ready.")
            return redirect("calendar_feed_settings")
    token = feeds.active_token(request.user)
    url = feeds.feed_url(token) if token else ""
    webcal = ("webcal://" + url.split("://", 1)[1]) if url else ""
    return render(request, "tasks/feeds/settings.html", {
        "token": token, "feed_url": url, "webcal_url": webcal,
        "event_count": feeds.feed_tasks(request.user).count() if token else None,
        "revoked_count": request.user.calendar_feed_tokens.filter(revoked_at__isnull=False).count(),
    }, status=status)


# ---- the Calendar card on the task page ------------------------------------------------------


def calendar_panel_context(request, task, can_edit):
    """A task with a date gets "Add to calendar" (its .ics) and a pointer to the personal feed. No query."""
    if task.due_at is None and task.scheduled_at is None:
        return None
    return {"ics_url": reverse("task_ics", args=[task.pk]), "settings_url": reverse("calendar_feed_settings")}


panels.register(panels.Panel(slug="calendar", label="Calendar", order=60, column=panels.SIDE,
                             template="tasks/feeds/panel.html", context=calendar_panel_context))
