"""A task's history in plain words: who changed what from what to what, in the reader's time zone."""

from datetime import datetime
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.history_text import describe
from crm.tests.factories import OrganizationFactory, UserFactory, set_time_zone
from crm.tests.html import main, parse
from tasks import services
from tasks.models import ChecklistItem, Participant, Task
from tasks.tests.factories import TaskFactory

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=dt_timezone.utc)

pytestmark = pytest.mark.django_db


def history_texts(response):
    """The sentences of each entry shown in the page's history list, newest first."""
    items = main(response).find_all("li", cls="history-entry")
    return [" ".join(node.text() for node in item.find_all("div", cls="history-sentence")) for item in items]


def latest_words(task, about=True):
    record = Task.history.filter(id=task.pk).order_by("-history_id").first()
    return describe(record, about=("tasks.task", task.pk) if about else None)


@pytest.fixture
def ana(db):
    return set_time_zone(UserFactory(username="ana", first_name="Ana", last_name="Fischer"), "Europe/Berlin")


@pytest.fixture
def ben(db):
    return set_time_zone(UserFactory(username="ben", first_name="Ben", last_name="Carter"), "America/New_York")


@time_machine.travel(NOW, tick=False)
def test_due_date_change_reads_in_plain_words_in_each_readers_time_zone(client, ana, ben):
    task = services.task_create(created_by=ben, title="Call Acme", assignee=ana,
                                due_at=datetime(2026, 3, 3, 17, 0, tzinfo=BERLIN))
    services.task_update(task=task, user=ana, data={"due_at": datetime(2026, 3, 5, 9, 0, tzinfo=BERLIN)},
                         version=task.version)

    client.force_login(ana)
    in_berlin = client.get(f"/tasks/{task.pk}/history/")
    client.force_login(ben)
    in_new_york = client.get(f"/tasks/{task.pk}/history/")

    assert in_berlin.status_code == 200
    assert history_texts(in_berlin) == [
        "Ana Fischer changed the due date from 3 Mar 17:00 to 5 Mar 09:00.",
        "Ben Carter created the task.",
    ]
    assert history_texts(in_new_york) == [
        "Ana Fischer changed the due date from 3 Mar 11:00 to 5 Mar 03:00.",
        "Ben Carter created the task.",
    ]


@time_machine.travel(NOW, tick=False)
def test_each_kind_of_change_has_its_sentence(ana, ben, team):
    org = OrganizationFactory(name="Acme")
    task = services.task_create(created_by=ana, title="Call Acme", entity=org, tags=["vip"])
    v = task.version
    steps = [
        ({"title": "Call Acme back"}, "Ana Fischer changed the title from “Call Acme” to “Call Acme back”"),
        ({"priority": "high"}, "Ana Fischer changed the priority from Medium to High"),
        ({"assignee": ben}, "Ana Fischer assigned the task to Ben Carter"),
        ({"location": "Berlin office"}, "Ana Fischer set the location to “Berlin office”"),
        ({"location": ""}, "Ana Fischer cleared the location (was “Berlin office”)"),
        ({"team": team}, "Ana Fischer set the team to Sales"),
        ({"description": "Ask about the renewal."}, "Ana Fischer added the description"),
        ({"all_day": True, "due_at": datetime(2026, 3, 9, tzinfo=dt_timezone.utc)},
         "Ana Fischer set the due date to 9 Mar"),
        ({"content_type": None, "object_id": None}, "Ana Fischer unlinked the task from Organization “Acme”"),
    ]
    said = []
    for data, _expected in steps:
        task = services.task_update(task=task, user=ana, data=data, version=v)
        v = task.version
        said.append(latest_words(task))
    task = services.task_update(task=task, user=ana, data={}, version=v, tags=["vip", "renewal"])
    said.append(latest_words(task))
    task = services.task_start(task=task, user=ana)
    said.append(latest_words(task))
    task = services.task_complete(task=task, user=ana, outcome="Renewed.")
    said.append(latest_words(task))
    task = services.task_reopen(task=task, user=ben)
    said.append(latest_words(task))

    assert said == [expected for _data, expected in steps] + [
        "Ana Fischer tagged the task with “renewal”",
        "Ana Fischer changed the status from Pending to In progress",
        "Ana Fischer completed the task Ana Fischer added the outcome",
        "Ben Carter reopened the task",
    ]


@time_machine.travel(NOW, tick=True)  # the clock runs: the list is ordered by time across tables
def test_checklist_and_participant_changes_are_in_the_task_history(ana, ben):
    task = services.task_create(created_by=ana, title="Call Acme", assignee=ana)
    item = services.checklist_add(task=task, user=ana, text="Send quote")
    services.checklist_toggle(item=item, user=ana, done=True)
    services.participant_add(task=task, by=ana, user=ben, role=Participant.Role.CO_WORKER)
    services.participant_add(task=task, by=ana, user=ben, role=Participant.Role.REVIEWER)
    services.participant_remove(task=task, by=ana, user=ben)
    services.checklist_delete(item=ChecklistItem.objects.get(pk=item.pk), user=ana)

    from crm import history

    from tasks.history_panels import task_history_querysets

    entries = history.latest_entries(task_history_querysets(task), about=("tasks.task", task.pk), limit=20)
    assert [e.text for e in entries] == [
        "Ana Fischer deleted the checklist item “Send quote”",
        "Ana Fischer removed Ben Carter",
        "Ana Fischer changed Ben Carter’s role from co-worker to reviewer",
        "Ana Fischer added Ben Carter as co-worker",
        "Ana Fischer ticked “Send quote”",
        "Ana Fischer added the checklist item “Send quote”",
        "Ana Fischer created the task",
    ]


def test_on_an_entity_page_the_task_is_named(ana):
    org = OrganizationFactory(name="Acme")
    task = services.task_create(created_by=ana, title="Call Acme", entity=org)
    services.task_update(task=task, user=ana, data={"priority": "urgent"}, version=task.version)

    assert latest_words(task, about=False) == (
        "Ana Fischer changed the priority of the task “Call Acme” from Medium to Urgent")


def test_a_claim_made_with_a_conditional_update_is_recorded(ana, team, owner):
    task = TaskFactory(title="Queue task", team=team, created_by=ana)

    services.task_claim(task=task, user=owner)

    record = Task.history.filter(id=task.pk).order_by("-history_id").first()
    assert (record.history_type, record.history_user, record.assignee_id) == ("~", owner, owner.pk)
    assert describe(record, about=("tasks.task", task.pk)) == "Olga Owner took the task"


def test_tasks_kept_when_their_entity_is_deleted_record_the_unlinking(client, manager, ana):
    from crm.tests.factories import grant

    manager = grant(manager, "crm.delete_organization")
    org = OrganizationFactory(name="Acme")
    task = services.task_create(created_by=ana, title="Call Acme", entity=org)
    client.force_login(manager)

    client.post(f"/organizations/{org.pk}/delete/", {"linked": "keep"})

    assert latest_words(Task.objects.get(pk=task.pk)) == "Mona Ger unlinked the task from Organization “Acme”"


def test_history_page_and_panel_are_for_readers_only(client, owner, teammate, outsider, team):
    task = TaskFactory(title="Team task", team=team, created_by=owner)

    client.force_login(teammate)
    as_teammate = client.get(f"/tasks/{task.pk}/history/")
    panel = parse(client.get(f"/tasks/{task.pk}/")).find("section", id="history")
    client.force_login(outsider)
    as_outsider = client.get(f"/tasks/{task.pk}/history/")

    assert as_teammate.status_code == 200
    assert panel is not None and "Full history" in panel.text()
    assert as_outsider.status_code == 404


def test_the_history_page_runs_the_same_number_of_queries_for_few_and_many_changes(client, ana, ben):
    task = services.task_create(created_by=ana, title="Busy task", assignee=ana)
    task = services.task_update(task=task, user=ana, data={"title": "Busy task 0"}, version=task.version)
    services.checklist_add(task=task, user=ana, text="Step 0")
    services.participant_add(task=task, by=ana, user=ben)
    client.force_login(ana)
    client.get(f"/tasks/{task.pk}/history/")

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/tasks/{task.pk}/history/")
        return len(queries), len(history_texts(response))

    few = count()
    for n in range(1, 12):
        task = services.task_update(task=task, user=ana, data={"title": f"Busy task {n}"}, version=task.version)
        services.checklist_add(task=task, user=ana, text=f"Step {n}")
    many = count()

    assert few[1] == 4 and many[1] == 25  # one page
    assert many[0] == few[0]
