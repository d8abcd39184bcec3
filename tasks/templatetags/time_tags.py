"""Template filters for time entries and reports."""

from decimal import ROUND_HALF_UP, Decimal

from django import template

from tasks.selectors_time import hours

register = template.Library()


@register.filter
def hm(value):
    """A timedelta as hours:minutes ("12:05")."""
    return hours(value)


@register.filter
def decimal_hours(value):
    """A timedelta as hours with two decimals ("12.08")."""
    if value is None:
        return "0.00"
    return str((Decimal(int(value.total_seconds())) / Decimal(3600)).quantize(Decimal("0.01"), ROUND_HALF_UP))
