"""How each CRM entity is listed, shown and edited: one spec per entity, read by the generic views."""

from dataclasses import dataclass

from . import filters, forms
from .models import Individual, Opportunity, Organization, Ticket


@dataclass(frozen=True)
class EntitySpec:
    key: str
    plural_key: str
    model: type
    form_class: type
    filterset_class: type
    label: str
    plural_label: str
    # (header, ordering key for ?o= or "", template snippet name)
    columns: tuple
    select_related: tuple = ()

    @property
    def url_prefix(self):
        return self.plural_key


SPECS = {
    "organization": EntitySpec(
        key="organization", plural_key="organizations", model=Organization,
        form_class=forms.OrganizationForm, filterset_class=filters.OrganizationFilter,
        label="Organization", plural_label="Organizations",
        columns=(("Name", "name"), ("Email", "email"), ("Phone", ""), ("Website", ""), ("Created", "created")),
    ),
    "individual": EntitySpec(
        key="individual", plural_key="individuals", model=Individual,
        form_class=forms.IndividualForm, filterset_class=filters.IndividualFilter,
        label="Individual", plural_label="Individuals",
        columns=(("Name", "name"), ("Organization", "organization"), ("Job title", "job_title"),
                 ("Email", "email"), ("Phone", "")),
        select_related=("organization",),
    ),
    "ticket": EntitySpec(
        key="ticket", plural_key="tickets", model=Ticket,
        form_class=forms.TicketForm, filterset_class=filters.TicketFilter,
        label="Ticket", plural_label="Tickets",
        columns=(("Subject", "subject"), ("Status", "status"), ("Priority", "priority"),
                 ("Organization", "organization"), ("Requester", ""), ("Created", "created")),
        select_related=("organization", "requester"),
    ),
    "opportunity": EntitySpec(
        key="opportunity", plural_key="opportunities", model=Opportunity,
        form_class=forms.OpportunityForm, filterset_class=filters.OpportunityFilter,
        label="Opportunity", plural_label="Opportunities",
        columns=(("Name", "name"), ("Organization", "organization"), ("Stage", "stage"), ("Amount", "amount"),
                 ("Expected close", "close"), ("Owner", "")),
        select_related=("organization", "contact", "owner"),
    ),
}


def spec_for_model(model):
    for spec in SPECS.values():
        if spec.model is model:
            return spec
    return None
