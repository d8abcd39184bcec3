"""Template helpers for links to the team pages (queue, workload, settings) and automation."""

from django import template

from tasks import access, automation

register = template.Library()


@register.filter
def team_role(team, user):
    """"manager" (or staff), "member", or "" — what `user` may open of `team`'s pages. No query per team."""
    if not getattr(user, "is_authenticated", False):
        return ""
    if user.is_staff or user.is_superuser or team.manager_id == user.pk:
        return "manager"
    return "member" if team.pk in access.member_team_ids(user) else ""


@register.filter
def manages_rules(user):
    return automation.can_manage_rules(user)


@register.filter
def strategy_label(team):
    from tasks import distribution

    strategy = distribution.get(team.distribution_strategy)
    return strategy.label if strategy else team.distribution_strategy
