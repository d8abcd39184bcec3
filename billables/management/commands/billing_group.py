"""Create (or complete) the "Billing" group and optionally put users in it.

    manage.py billing_group                 # the group with its permissions (idempotent)
    manage.py billing_group --add ana ben   # ... and these users in it
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from billables.services import billing_group_ensure


class Command(BaseCommand):
    help = "Create the Billing group (billing staff: rates, billable items, invoices, everyone's time)."

    def add_arguments(self, parser):
        parser.add_argument("--add", nargs="*", default=[], metavar="USERNAME", help="Users to put in the group.")

    def handle(self, *args, add, **options):
        group = billing_group_ensure()
        users = get_user_model().objects.filter(username__in=add)
        missing = set(add) - set(users.values_list("username", flat=True))
        if missing:
            raise CommandError(f"No such user: {', '.join(sorted(missing))}.")
        for user in users:
            user.groups.add(group)
        self.stdout.write(f"Group “{group.name}” has {group.permissions.count()} permissions"
                          + (f"; added {', '.join(sorted(add))}." if add else "."))
