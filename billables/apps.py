from django.apps import AppConfig


class BillablesConfig(AppConfig):
    name = "billables"
    verbose_name = "Billing"

    def ready(self):
        from tasks import timetracking

        from . import entity_tab  # noqa: F401  (registers the Billing tab on entity pages)
        from .services import default_tax_rate

        default_tax_rate()  # a malformed BILLING_TAX_RATE stops start-up with a message
        timetracking.register_lock(billed_entry_reason)


def billed_entry_reason(entry):
    """Billed time is frozen: the item recorded it (and maybe an invoice)."""
    from .models import BillableItem

    item = BillableItem.objects.select_related("invoice").filter(source_entry_id=entry.pk).first()
    if item is None:
        return None
    where = f" on {item.invoice}" if item.invoice_id else ""
    return (f"This time is billed (item “{item.description}”{where}), so it cannot be changed or deleted. "
            "Billing staff can delete the unbilled item to release it.")
