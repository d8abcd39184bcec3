"""The Billing group: who may bill."""

from django.core.management import call_command

from billables.services import can_bill
from crm.tests.factories import UserFactory


def test_the_billing_group_command_creates_the_group_and_adds_users(db, owner):
    call_command("billing_group", "--add", "owner", stdout=__import__("io").StringIO())
    call_command("billing_group", stdout=__import__("io").StringIO())  # idempotent

    owner = type(owner).objects.get(pk=owner.pk)
    assert list(owner.groups.values_list("name", flat=True)) == ["Billing"]
    assert can_bill(owner) is True
    assert owner.has_perm("tasks.view_timeentry") is True


def test_superusers_bill_and_plain_or_staff_users_do_not(db, staff):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)

    assert [can_bill(root), can_bill(staff), can_bill(UserFactory(username="plain"))] == [True, False, False]
