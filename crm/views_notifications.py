"""In-app notifications: the list, opening one (marks it read), marking all read."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .models import Notification
from .views import paginate


def notification_list(request):
    qs = Notification.objects.filter(recipient=request.user).select_related("actor")
    if request.GET.get("unread") == "1":
        qs = qs.filter(read_at__isnull=True)
    return render(request, "crm/notifications.html", {"page": paginate(request, qs),
                                                       "only_unread": request.GET.get("unread") == "1"})


@require_POST
def notification_open(request, pk):
    """Mark one notification read and go to what it is about. Only its recipient may."""
    note = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk, read_at__isnull=True).update(read_at=timezone.now())
    target = note.url if note.url and url_has_allowed_host_and_scheme(note.url, allowed_hosts=None) else None
    return redirect(target or "notifications")


@require_POST
def notification_read_all(request):
    count = Notification.objects.filter(recipient=request.user, read_at__isnull=True).update(read_at=timezone.now())
    messages.success(request, f"Marked {count} notification(s) read.")
    return redirect("notifications")
