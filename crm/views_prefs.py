"""The notification settings page: which events come by email."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .forms_discussion import NotificationSettingsForm
from .notifications import email_preferences, notification_preferences_set


@require_http_methods(["GET", "POST"])
def notification_settings(request):
    current = email_preferences(request.user)
    form = NotificationSettingsForm(request.POST or None, initial=current)
    if request.method == "POST":
        if form.is_valid():
            notification_preferences_set(user=request.user, email_events=form.email_events())
            messages.success(request, "Your notification settings are saved.")
            return redirect("activity:notification_settings")
        messages.error(request, "Please correct the errors below.")
    return render(request, "crm/notification_settings.html",
                  {"form": form, "has_email": bool(request.user.email)},
                  status=400 if request.method == "POST" else 200)
