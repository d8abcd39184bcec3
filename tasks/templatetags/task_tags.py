from datetime import timezone as dt_timezone

from django import template
from django.utils import timezone
from django.utils.html import format_html

from tasks.dates import is_overdue

register = template.Library()

STATUS_CLASSES = {
    "pending": "text-bg-secondary",
    "in_progress": "text-bg-primary",
    "waiting": "text-bg-warning",
    "blocked": "text-bg-danger",
    "completed": "text-bg-success",
    "cancelled": "text-bg-light border",
}
PRIORITY_CLASSES = {"low": "text-body-secondary", "medium": "", "high": "text-warning-emphasis fw-semibold",
                    "urgent": "text-danger fw-bold"}


@register.filter
def due_display(task, fmt="j M Y, H:i"):
    """The deadline in the reader's time zone; an all-day deadline as its date alone."""
    if task.due_at is None:
        return ""
    if task.all_day:
        from django.utils.dateformat import format as dformat

        return dformat(task.due_at.astimezone(dt_timezone.utc).date(), "j M Y")
    from django.utils.dateformat import format as dformat

    return dformat(timezone.localtime(task.due_at), fmt)


@register.filter
def overdue(task):
    return is_overdue(task)


@register.simple_tag
def status_badge(task):
    return format_html('<span class="badge {}">{}</span>', STATUS_CLASSES.get(task.status, ""),
                       task.get_status_display())


@register.simple_tag
def priority_label(task):
    return format_html('<span class="{}">{}</span>', PRIORITY_CLASSES.get(task.priority, ""),
                       task.get_priority_display())


@register.filter
def user_label(user):
    if not user:
        return ""
    return user.get_full_name() or user.username


@register.filter
def duration_display(value):
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"
