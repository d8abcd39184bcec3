from django.urls import NoReverseMatch, reverse
from django.utils import timezone

# Main navigation after "My day"; an entry appears once its app provides the URL.
NAV = [
    ("Tasks", "tasks:list"),
    ("Calendar", "calendar"),
    ("Projects", "projects:list"),
    ("Memos", "memos:list"),
    ("Billables", "billables:list"),
    ("Reports", "reports:index"),
]


def navigation(request):
    """Values the base layout needs on every page."""
    items = []
    for label, name in NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path.startswith(url)})
    unread = 0
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from .models import Notification

        unread = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
    return {"current_time_zone": timezone.get_current_timezone_name(), "nav_items": items,
            "unread_notifications": unread}
