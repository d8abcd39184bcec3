"""Tasks linked to a CRM entity: renaming keeps the link; deleting asks to keep (detach) or delete them."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.http import QueryDict
from django.utils import timezone

from crm import links
from crm.models import Individual, Organization
from crm.tests.factories import IndividualFactory, OrganizationFactory, UserFactory, grant
from tasks import selectors, services
from tasks.models import Task
from tasks.tests.factories import TaskFactory

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2025, 3, 10, 11, 0, tzinfo=LA)


def _linked(task, entity):
    task.set_entity(entity)
    task.save()
    return task


@pytest.fixture
def linked(owner):
    """Acme has two tasks (one with a subtask that is not linked itself); Globex and an individual
    with the same id as Acme have one each; one task is global."""
    acme = OrganizationFactory(name="Acme")
    globex = OrganizationFactory(name="Globex")
    same_id_person = IndividualFactory(id=acme.pk, first_name="Ada", last_name="Same")
    call = _linked(TaskFactory(title="Call Acme", created_by=owner), acme)
    TaskFactory(title="Prepare the call", created_by=owner, parent=call)
    _linked(TaskFactory(title="Offer for Acme", created_by=owner, status="completed"), acme)
    _linked(TaskFactory(title="Call Globex", created_by=owner), globex)
    _linked(TaskFactory(title="Call Ada", created_by=owner), same_id_person)
    TaskFactory(title="Global", created_by=owner)
    return {"acme": acme, "globex": globex, "person": same_id_person}


def _links():
    return {
        t.title: (t.content_type.model if t.content_type else None, t.object_id, t.former_link)
        for t in Task.objects.select_related("content_type")
    }


def test_renaming_the_entity_keeps_its_tasks_linked(linked, owner):
    acme = linked["acme"]

    Organization.objects.filter(pk=acme.pk).update(name="Acme Industries")
    acme.refresh_from_db()
    acme.name = "Acme Holding"
    acme.save()

    task = Task.objects.get(title="Call Acme")
    _fs, qs = selectors.task_list(user=owner, params=QueryDict(f"entity_type=organization&entity={acme.pk}"))
    assert (str(task.entity), [t.title for t in qs]) == ("Acme Holding", ["Call Acme"])


def test_tasks_register_as_dependents_of_entities(linked):
    dependent = next(d for d in links.dependents() if d.label == "tasks")

    assert (dependent.count(linked["acme"]), dependent.count(linked["globex"]), dependent.count(linked["person"])) == (
        2, 1, 1,
    )


def test_detach_keeps_the_tasks_as_global_with_a_note(linked, owner):
    versions = dict(Task.objects.values_list("title", "version"))

    with timezone.override(LA), time_machine.travel(NOW, tick=False):
        services.tasks_detach_from_entity(entity=linked["acme"], user=owner)

    note = "Organization “Acme” (deleted 10 Mar 2025)"
    acme_id, person_id = linked["acme"].pk, linked["person"].pk
    assert _links() == {
        "Call Acme": (None, None, note),
        "Prepare the call": (None, None, ""),
        "Offer for Acme": (None, None, note),
        "Call Globex": ("organization", linked["globex"].pk, ""),
        "Call Ada": ("individual", person_id, ""),
        "Global": (None, None, ""),
    }
    assert person_id == acme_id
    # The version moves on, so a form opened before the deletion cannot silently re-link the task.
    assert {t: v - versions[t] for t, v in Task.objects.values_list("title", "version")} == {
        "Call Acme": 1, "Prepare the call": 0, "Offer for Acme": 1, "Call Globex": 0, "Call Ada": 0, "Global": 0,
    }


def test_detach_note_carries_the_deleters_local_date(linked, owner):
    # 10 March 20:00 in Los Angeles is already 11 March in UTC.
    with timezone.override(LA), time_machine.travel(datetime(2025, 3, 10, 20, 0, tzinfo=LA), tick=False):
        services.tasks_detach_from_entity(entity=linked["acme"], user=owner)

    assert Task.objects.get(title="Call Acme").former_link == "Organization “Acme” (deleted 10 Mar 2025)"


def test_delete_removes_the_entitys_tasks_and_their_subtasks_only(linked, owner):
    services.tasks_delete_for_entity(entity=linked["acme"], user=owner)

    assert set(Task.objects.values_list("title", flat=True)) == {"Call Globex", "Call Ada", "Global"}


# ---- through the entity's delete page ------------------------------------------------------

@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_delete_page_keeping_the_tasks(client, linked, superuser):
    acme = linked["acme"]
    client.force_login(superuser)

    with time_machine.travel(NOW, tick=False):
        response = client.post(f"/organizations/{acme.pk}/delete/", {"linked": "keep"})

    assert (response.status_code, response["Location"]) == (302, "/organizations/")
    assert not Organization.objects.filter(pk=acme.pk).exists()
    note = "Organization “Acme” (deleted 10 Mar 2025)"
    assert {t: former for t, (_ct, _id, former) in _links().items()} == {
        "Call Acme": note, "Prepare the call": "", "Offer for Acme": note, "Call Globex": "", "Call Ada": "",
        "Global": "",
    }
    assert set(Task.objects.filter(content_type=None).values_list("title", flat=True)) == {
        "Call Acme", "Prepare the call", "Offer for Acme", "Global",
    }


def test_delete_page_deleting_the_tasks_by_staff_with_the_permission(client, linked, staff):
    acme = linked["acme"]
    client.force_login(grant(staff, "crm.delete_organization"))

    response = client.post(f"/organizations/{acme.pk}/delete/", {"linked": "delete"})

    assert response.status_code == 302
    assert not Organization.objects.filter(pk=acme.pk).exists()
    assert set(Task.objects.values_list("title", flat=True)) == {"Call Globex", "Call Ada", "Global"}
    assert Individual.objects.filter(pk=linked["person"].pk).exists()


def test_delete_page_refuses_a_user_without_the_permission(client, linked, owner):
    acme = linked["acme"]
    client.force_login(owner)
    before = _links()

    response = client.post(f"/organizations/{acme.pk}/delete/", {"linked": "delete"})

    assert response.status_code == 403
    assert (Organization.objects.filter(pk=acme.pk).exists(), _links()) == (True, before)


def test_delete_page_refuses_an_unknown_choice_and_deletes_nothing(client, linked, superuser):
    acme = linked["acme"]
    client.force_login(superuser)
    before = _links()

    response = client.post(f"/organizations/{acme.pk}/delete/", {"linked": "maybe"})

    assert response.status_code == 400
    assert (Organization.objects.filter(pk=acme.pk).exists(), _links()) == (True, before)


def test_deleting_an_individual_detaches_only_its_tasks(client, linked, superuser):
    person = linked["person"]
    client.force_login(superuser)

    with time_machine.travel(NOW, tick=False):
        response = client.post(f"/individuals/{person.pk}/delete/", {"linked": "keep"})

    assert response.status_code == 302
    ct = ContentType.objects.get_for_model(Organization)
    assert set(Task.objects.filter(content_type=ct).values_list("title", flat=True)) == {
        "Call Acme", "Offer for Acme", "Call Globex",
    }
    assert Task.objects.get(title="Call Ada").former_link == "Individual “Ada Same” (deleted 10 Mar 2025)"
