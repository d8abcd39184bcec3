"""Demo memos for `seed_demo`: office memos in every state, one turned into a task.

`seed_memos(users=...)` is idempotent (memos are looked up by author and subject) and
deterministic (fixed texts). It needs the demo users ana (manages Sales), ben (manages
Support) and cara, and links memos to the demo deals when they exist.
"""

from django.db import transaction

from crm.models import Opportunity

from . import services
from .models import Memo

# author, recipient, subject, body, deal name (or None), what happens: draft / sent / reviewed / postponed / task
MEMOS = [
    ("cara", "ana", "Northwind asks for a faster line",
     "Northwind Logistics called twice this week: their warehouse needs a faster line before the peak season. "
     "They would sign an upgrade if we can connect them in March.", None, "task"),
    ("cara", "ben", "Holiday rota for support",
     "Three of us are away in the last week of the month. Could we share the hotline with Sales for those days?",
     None, "postponed"),
    ("ben", "ana", "Customers confused by the new invoice layout",
     "Support had eleven calls about the new invoice layout this week. Most ask where the contract number went.",
     None, "sent"),
    ("ana", "ana", "Ideas for the spring campaign", "Bundle the router with the fibre upgrade; ask Cara to draft.",
     None, "draft"),
]


def seed_memos(*, users, stdout=None):
    """Create the demo memos once. Returns how many were created."""
    users = users if isinstance(users, dict) else {u.username: u for u in users}
    if not all(name in users for name in ("ana", "ben", "cara")):
        return 0
    created = 0
    deal = Opportunity.objects.order_by("pk").first()
    with transaction.atomic():
        for author, recipient, subject, body, _deal, outcome in MEMOS:
            author, recipient = users[author], users[recipient]
            if Memo.objects.filter(author=author, subject=subject).exists():
                continue
            memo = services.memo_create(author=author, recipient=recipient, subject=subject, body=body,
                                        entity=deal if outcome == "task" else None, send=outcome != "draft")
            if outcome in ("reviewed", "postponed"):
                services.memo_review(memo=memo, user=recipient, decision=outcome,
                                     note="Let's talk about it after the budget meeting.")
            elif outcome == "task":
                services.memo_convert_to_task(memo=memo, user=recipient, title="Offer Northwind the fibre upgrade",
                                              task_type="proposal", priority="high", assignee=users["cara"])
            created += 1
    if stdout is not None:
        stdout.write(f"Memos: {created} created.")
    return created
