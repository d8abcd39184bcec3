"""`seed_demo` loads a usable demo, is idempotent, and refuses to run on a non-DEBUG site."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from crm.models import Individual, Opportunity, Organization, Profile, Team, TeamMembership, Ticket

User = get_user_model()

COUNTED = (User, Profile, Team, TeamMembership, Group, Organization, Individual, Ticket, Opportunity)


def _counts():
    counts = {model.__name__: model.objects.count() for model in COUNTED}
    counts["Task"] = apps.get_model("tasks", "Task").objects.count()
    return counts


def _seed(tasks=0):
    out = StringIO()
    call_command("seed_demo", "--tasks", str(tasks), "--force", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_running_twice_creates_nothing_twice():
    first_output = _seed(tasks=5)
    first = _counts()

    second_output = _seed(tasks=5)

    assert _counts() == first
    first.pop("Task")  # tasks.demo.seed_tasks decides how many (with subtasks); it must only be idempotent
    assert first == {
        "User": 4, "Profile": 4, "Team": 2, "TeamMembership": 4, "Group": 2,
        "Organization": 24, "Individual": 30, "Ticket": 24, "Opportunity": 24,
    }
    assert "24 organizations" in first_output
    assert "Created 0 users, 0 teams" in second_output and "0 organizations" in second_output
    assert "invoice" not in second_output


@pytest.mark.django_db
def test_demo_users_teams_and_managers():
    output = _seed()

    assert {
        u.username: (u.get_full_name(), u.profile.time_zone, u.is_superuser) for u in User.objects.all()
    } == {
        "admin": ("Alex Morgan", "UTC", True),
        "ana": ("Ana Fischer", "Europe/Berlin", False),
        "ben": ("Ben Carter", "America/New_York", False),
        "cara": ("Cara Walsh", "Europe/London", False),
    }
    assert {
        (m.team.name, m.team.manager.username, m.user.username) for m in TeamMembership.objects.select_related("team__manager", "user")
    } == {("Sales", "ana", "ben"), ("Sales", "ana", "cara"), ("Support", "ben", "ana"), ("Support", "ben", "cara")}
    assert set(Group.objects.get(name="Managers").user_set.values_list("username", flat=True)) == {"ana", "ben"}
    assert set(Group.objects.get(name="Billing").user_set.values_list("username", flat=True)) == {"ana"}
    ana, cara = User.objects.get(username="ana"), User.objects.get(username="cara")
    assert ana.has_perm("crm.delete_organization") and ana.has_perm("crm.delete_opportunity")
    assert not cara.has_perm("crm.delete_organization")
    for username in ("admin", "ana", "ben", "cara"):
        assert f"  {username} " in output
    assert "password for all: demo" in output


@pytest.mark.django_db
def test_entities_are_linked():
    _seed()

    assert Individual.objects.filter(organization=None).count() == 0
    assert Ticket.objects.filter(requester=None).count() == 0
    assert all(t.requester.organization_id == t.organization_id for t in Ticket.objects.select_related("requester"))
    assert Opportunity.objects.filter(owner=None).count() == 0
    assert Opportunity.objects.filter(contact__organization=None).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["admin", "ana", "ben", "cara"])
def test_demo_users_can_sign_in_with_demo(username):
    _seed()
    client = Client()

    response = client.post("/accounts/login/", {"username": username, "password": "demo"})

    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(User.objects.get(username=username).pk)


@pytest.mark.django_db
def test_refuses_without_force_when_debug_is_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="refuses to run while DEBUG is off"):
        call_command("seed_demo", "--tasks", "0", stdout=StringIO())

    assert Organization.objects.count() == 0
    assert not User.objects.filter(username="ana").exists()


@pytest.mark.django_db
def test_runs_without_force_when_debug_is_on(settings):
    settings.DEBUG = True

    call_command("seed_demo", "--tasks", "0", stdout=StringIO())

    assert Organization.objects.count() == 24


@pytest.mark.django_db
def test_passes_the_task_count_users_and_teams_to_the_task_seeder(monkeypatch):
    calls = []
    monkeypatch.setattr("tasks.demo.seed_tasks", lambda **kwargs: calls.append(kwargs) or kwargs["count"])

    call_command("seed_demo", "--tasks", "7", "--force", stdout=StringIO())

    assert [(c["count"], [u.username for u in c["users"]], [t.name for t in c["teams"]]) for c in calls] == [
        (7, ["ana", "ben", "cara"], ["Sales", "Support"])
    ]


@pytest.mark.django_db
def test_demo_billing_data_is_made_once():
    from billables.models import BillableItem, Invoice
    from tasks.models import TimeEntry

    output = _seed(tasks=60)
    counts = (TimeEntry.objects.count(), BillableItem.objects.count(), Invoice.objects.count())
    _seed(tasks=60)

    assert (TimeEntry.objects.count(), BillableItem.objects.count(), Invoice.objects.count()) == counts
    assert counts[0] == 30
    assert list(Invoice.objects.values_list("status", flat=True)) == ["issued"]
    assert "30 time entries" in output and "1 invoice" in output


@pytest.mark.django_db
def test_demo_has_repeating_tasks_projects_and_memos_once():
    from memos.models import Memo
    from projects.models import Project
    from tasks.models_recurrence import TaskSeries

    _seed(tasks=60)
    counts = (TaskSeries.objects.count(), Project.objects.count(), Memo.objects.count())
    _seed(tasks=60)

    assert (TaskSeries.objects.count(), Project.objects.count(), Memo.objects.count()) == counts
    assert set(TaskSeries.objects.values_list("title", flat=True)) == {
        "Weekly sales pipeline call", "Check expiring licences"}
    assert counts[1] >= 2 and counts[2] == 4
