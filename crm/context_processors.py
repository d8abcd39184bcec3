from django.urls import NoReverseMatch, reverse
from django.utils import timezone

# Main navigation after "My day"; an entry appears once its app provides the URL.
NAV = [
    ("Tasks", "tasks:list", None),
    ("Calendar", "calendar", None),
    ("Projects", "projects:list", None),
    ("Memos", "memos:list", None),
    ("Time", "time:index", None),
    ("Billing", "billables:list", "can_bill"),
    ("Reports", "reports:index", None),
    ("Automation", "automation:list", "can_manage_rules"),
]


def _allowed(user, rule):
    """Entries only some people may use are shown only to them (the views still check)."""
    if rule is None:
        return True
    if rule == "can_bill":
        from billables.services import can_bill

        return can_bill(user)
    if rule == "can_manage_rules":
        from tasks.automation import can_manage_rules

        return can_manage_rules(user)
    return False


def navigation(request):
    """Values the base layout needs on every page."""
    items = []
    user = getattr(request, "user", None)
    for label, name, rule in NAV:
        if rule is not None and not (user is not None and user.is_authenticated and _allowed(user, rule)):
            continue
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
