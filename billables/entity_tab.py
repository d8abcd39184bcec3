"""The Billing tab on entity pages: unbilled time, billable items and invoices.

Organizations and individuals (customers) show their unbilled time, items and
invoices; tickets and opportunities show the unbilled time of their tasks.
Billing staff see amounts and actions; everyone else sees the time summary only.
A fixed number of queries.
"""

from crm import tabs

from . import selectors
from .services import can_bill

ENTITY_MODELS = ("crm.Individual", "crm.Organization", "crm.Ticket", "crm.Opportunity")


def render_billing_tab(request, obj):
    return "billables/entity_tab.html", selectors.entity_billing(obj, user=request.user,
                                                                  billing=can_bill(request.user))


tabs.register(tabs.Tab(slug="billing", label="Billing", order=40, render=render_billing_tab, models=ENTITY_MODELS))
