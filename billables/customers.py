"""Who pays for work on a record: the customer of an entity.

- an organization or an individual is its own customer (an individual is billed
  as a private customer even when they work for an organization);
- a ticket is billed to its organization, else to its requester;
- an opportunity is billed to its organization, else to its contact;
- a task without an entity has no customer: its time is billed only when the
  user says whom to bill ("bill to").

`entity_time_q(entity)` selects the time entries that belong to an entity by the
same rule, for the Billing tab and for converting an entity's time.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from crm.models import Individual, Opportunity, Organization, Ticket


def is_customer(obj):
    return isinstance(obj, (Organization, Individual))


def customer_of(entity):
    if entity is None:
        return None
    if isinstance(entity, (Organization, Individual)):
        return entity
    if isinstance(entity, Ticket):
        return entity.organization or entity.requester
    if isinstance(entity, Opportunity):
        return entity.organization or entity.contact
    return None


def _linked(model, ids_or_pk, prefix):
    ct = ContentType.objects.get_for_model(model)
    if isinstance(ids_or_pk, int):
        return Q(**{f"{prefix}content_type": ct, f"{prefix}object_id": ids_or_pk})
    return Q(**{f"{prefix}content_type": ct, f"{prefix}object_id__in": ids_or_pk})


def entity_task_q(entity, prefix=""):
    """Tasks (with `prefix`, e.g. "task__", any model pointing at tasks) whose time is billed to `entity`,
    or, for a ticket or an opportunity, that are linked to it."""
    if isinstance(entity, Organization):
        return (_linked(Organization, entity.pk, prefix)
                | _linked(Ticket, Ticket.objects.filter(organization=entity).values("pk"), prefix)
                | _linked(Opportunity, Opportunity.objects.filter(organization=entity).values("pk"), prefix))
    if isinstance(entity, Individual):
        return (_linked(Individual, entity.pk, prefix)
                | _linked(Ticket, Ticket.objects.filter(organization__isnull=True, requester=entity).values("pk"),
                          prefix)
                | _linked(Opportunity, Opportunity.objects.filter(organization__isnull=True, contact=entity)
                          .values("pk"), prefix))
    return _linked(type(entity), entity.pk, prefix)


def entity_time_q(entity):
    return entity_task_q(entity, prefix="task__")


def customer_q(customer, prefix=""):
    """Records (items, invoices, rates) linked to exactly this customer."""
    ct = ContentType.objects.get_for_model(customer)
    return Q(**{f"{prefix}content_type": ct, f"{prefix}object_id": customer.pk})


def entity_prefetch(lookup):
    """A GenericPrefetch for `lookup` (e.g. "task__entity") that also loads what customer_of reads."""
    from django.contrib.contenttypes.prefetch import GenericPrefetch

    return GenericPrefetch(lookup, [
        Organization.objects.all(),
        Individual.objects.all(),
        Ticket.objects.select_related("organization", "requester"),
        Opportunity.objects.select_related("organization", "contact"),
    ])


def customer_ref(customer):
    """"organization:5" for a customer (the value of customer pickers and filters)."""
    return f"{customer._meta.model_name}:{customer.pk}"


def customer_from_ref(ref):
    """The customer named by "organization:5" / "individual:7", or None."""
    kind, _sep, pk = (ref or "").partition(":")
    model = {"organization": Organization, "individual": Individual}.get(kind)
    if model is None or not pk.isdigit() or len(pk) > 18:
        return None
    return model.objects.filter(pk=int(pk)).first()
