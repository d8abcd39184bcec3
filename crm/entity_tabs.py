"""The tabs crm itself puts on entity pages: Overview and related records."""

from . import tabs


def _overview(request, obj):
    return "crm/tabs/overview.html", {}


def _org_individuals(request, obj):
    return "crm/tabs/related_list.html", {
        "rows": obj.individuals.all()[:200], "kind": "individuals",
        "columns": ["Name", "Job title", "Email", "Phone"],
    }


def _org_tickets(request, obj):
    return "crm/tabs/related_list.html", {
        "rows": obj.tickets.select_related("requester")[:200], "kind": "tickets",
        "columns": ["Subject", "Status", "Priority", "Requester"],
    }


def _org_opportunities(request, obj):
    return "crm/tabs/related_list.html", {
        "rows": obj.opportunities.select_related("owner")[:200], "kind": "opportunities",
        "columns": ["Name", "Stage", "Amount", "Expected close"],
    }


def _ind_tickets(request, obj):
    return "crm/tabs/related_list.html", {
        "rows": obj.tickets.select_related("requester")[:200], "kind": "tickets",
        "columns": ["Subject", "Status", "Priority", "Requester"],
    }


def _ind_opportunities(request, obj):
    return "crm/tabs/related_list.html", {
        "rows": obj.opportunities.select_related("owner")[:200], "kind": "opportunities",
        "columns": ["Name", "Stage", "Amount", "Expected close"],
    }


tabs.register(tabs.Tab(slug="overview", label="Overview", order=0, render=_overview))
tabs.register(tabs.Tab(
    slug="individuals", label="People", order=10, render=_org_individuals, models=("crm.Organization",),
    count=lambda request, obj: obj.individuals.count(),
))
tabs.register(tabs.Tab(
    slug="tickets", label="Tickets", order=11, render=_org_tickets, models=("crm.Organization",),
    count=lambda request, obj: obj.tickets.count(),
))
tabs.register(tabs.Tab(
    slug="opportunities", label="Opportunities", order=12, render=_org_opportunities, models=("crm.Organization",),
    count=lambda request, obj: obj.opportunities.count(),
))
tabs.register(tabs.Tab(
    slug="requested-tickets", label="Tickets", order=11, render=_ind_tickets, models=("crm.Individual",),
    count=lambda request, obj: obj.tickets.count(),
))
tabs.register(tabs.Tab(
    slug="deals", label="Opportunities", order=12, render=_ind_opportunities, models=("crm.Individual",),
    count=lambda request, obj: obj.opportunities.count(),
))
