"""Demo time entries, rates and one issued invoice for `seed_demo`.

Runs once: when the database already holds time entries it does nothing, so
seeding twice creates nothing twice. Values are fixed (no randomness).
"""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

DEFAULT_RATES = {"ana": Decimal("95.00"), "ben": Decimal("80.00"), "cara": Decimal("70.00")}
NOTES = ["Call preparation", "", "Follow-up notes"]


def seed_billing(*, users, admin, stdout=None):
    """Billing group (ana in it), hourly rates, ~30 time entries on linked tasks, one issued invoice.

    Returns a dict of what was created (empty when the data was already there).
    """
    from billables import services
    from billables.customers import customer_q
    from billables.models import BillableItem
    from tasks.models import Task, TimeEntry

    group = services.billing_group_ensure()
    users["ana"].groups.add(group)
    if TimeEntry.objects.exists():
        return {}
    for name, rate in DEFAULT_RATES.items():
        profile = users[name].profile
        if not profile.default_hourly_rate:
            profile.default_hourly_rate = rate
            profile.save(update_fields=["default_hourly_rate"])

    now = timezone.now().replace(second=0, microsecond=0)
    linked = list(Task.objects.exclude(content_type=None).filter(parent=None).order_by("pk")[:10])
    workers = [users["ana"], users["ben"], users["cara"]]
    entries = 0
    for n, task in enumerate(linked):
        for k, who in enumerate(workers):
            start = now - timedelta(days=n % 9 + 1, hours=k * 2 + 3)
            minutes = 20 + 13 * n + 7 * k
            TimeEntry.objects.create(
                task=task, user=who, started_at=start, ended_at=start + timedelta(minutes=minutes),
                duration=timedelta(minutes=minutes), note=NOTES[k], billable=(n + k) % 5 != 0,
            )
            entries += 1
    services.rate_create(by=admin, user=users["ana"], hourly_rate=Decimal("120.00"),
                         valid_from=date(now.year, 1, 1), task_type="demo")
    converted = services.time_convert(by=admin, date_from=(now - timedelta(days=30)).date(), date_to=now.date())
    invoice = None
    first = BillableItem.objects.order_by("pk").first()
    if first is not None:
        customer = first.customer
        services.fixed_item_create(by=admin, customer=customer, description="Onboarding workshop (flat fee)",
                                   quantity=Decimal("1"), unit_price=Decimal("1250.00"), work_date=now.date())
        items = list(BillableItem.objects.filter(customer_q(customer), invoice=None).values_list("pk", flat=True))
        invoice = services.invoice_create(by=admin, customer=customer, item_ids=items, tax_rate=Decimal("19"),
                                          notes="Payable by bank transfer within 14 days.")
        invoice = services.invoice_issue(by=admin, invoice=invoice)
    return {"time entries": entries, "billable items": len(converted.created) + (1 if first else 0),
            "invoices": 1 if invoice else 0}
