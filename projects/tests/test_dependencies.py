"""Task dependencies ("blocked by"): blocking, loops refused with the loop named, tasks one cannot see,
stage order, telling successors, and the Project panel's "dependants now late" after a due date moves."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from crm.tests import html
from crm.tests.factories import set_time_zone
from projects import dependencies
from projects.models import TaskDependency
from tasks import services as task_services
from tasks.dates import date_as_utc_midnight
from tasks.tests.factories import TaskFactory

from .helpers import add, finish, notes

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def chain(owner):
    """Three tasks of the owner: settings, cable, billing."""
    return [TaskFactory(title=t, created_by=owner, assignee=owner) for t in ("Settings", "Cable", "Billing")]


def waits(successor, predecessor, user):
    return dependencies.dependency_add(successor=successor, predecessor=predecessor, user=user)


def test_a_task_cannot_start_or_complete_while_a_predecessor_is_open(owner, chain):
    settings_task, cable, _ = chain
    waits(cable, settings_task, owner)

    with pytest.raises(ValidationError) as start:
        task_services.task_start(task=cable, user=owner)
    task_services.task_change_status(task=cable, user=owner, status="waiting")  # other moves stay possible

    assert start.value.messages == ["Blocked by “Settings” (open)."]
    cable.refresh_from_db()
    assert cable.status == "waiting"


def test_completing_the_predecessor_lets_the_successor_start_and_tells_its_assignee(owner, teammate, chain):
    settings_task, cable, _ = chain
    cable.assignee = teammate
    cable.save()
    waits(cable, settings_task, owner)

    finish(settings_task, owner)
    started = task_services.task_start(task=cable, user=owner)

    assert started.status == "in_progress"
    assert notes("unblocked") == [("teammate", "unblocked", "“Settings” is closed: nothing blocks “Cable” any more.")]


def test_a_cancelled_predecessor_no_longer_blocks(owner, chain):
    settings_task, cable, _ = chain
    waits(cable, settings_task, owner)

    task_services.task_cancel(task=settings_task, user=owner)

    assert task_services.task_start(task=cable, user=owner).status == "in_progress"


def test_every_open_predecessor_is_named_with_its_status(owner, chain):
    settings_task, cable, billing = chain
    waits(billing, settings_task, owner)
    waits(billing, cable, owner)
    task_services.task_start(task=cable, user=owner)

    with pytest.raises(ValidationError) as refused:
        finish(billing, owner)

    assert refused.value.messages == ["Blocked by “Settings” (open), “Cable” (in progress)."]


def test_a_loop_is_refused_and_named(owner, chain):
    settings_task, cable, billing = chain
    waits(cable, settings_task, owner)   # Settings → Cable
    waits(billing, cable, owner)         # Cable → Billing

    with pytest.raises(ValidationError) as refused:
        waits(settings_task, billing, owner)  # Billing → Settings would close the loop

    assert refused.value.messages == [
        "That would make a loop: “Billing” → “Settings” → “Cable” → “Billing”. No task in it could ever start."]
    assert TaskDependency.objects.count() == 2


def test_a_two_task_loop_self_and_duplicates_are_refused(owner, chain):
    settings_task, cable, _ = chain
    waits(cable, settings_task, owner)

    messages = []
    for successor, predecessor in ((settings_task, cable), (cable, cable), (cable, settings_task)):
        with pytest.raises(ValidationError) as refused:
            waits(successor, predecessor, owner)
        messages.append(refused.value.messages)

    assert messages == [
        ["That would make a loop: “Cable” → “Settings” → “Cable”. No task in it could ever start."],
        ["A task cannot wait for itself."],
        ["“Cable” already waits for “Settings”."],
    ]


def test_a_dependency_on_a_task_the_user_cannot_see_is_refused_like_a_missing_one(owner, outsider, chain):
    hidden = TaskFactory(title="Outsider's secret", created_by=outsider, assignee=outsider)
    _, cable, _ = chain

    outcomes = []
    for ref in (hidden.pk, f"#{hidden.pk}", 999999):
        with pytest.raises(ValidationError) as refused:
            waits(cable, ref, owner)
        outcomes.append(refused.value.messages)

    assert outcomes == [[f"There is no task #{hidden.pk} you can see."]] * 2 + [
        ["There is no task #999999 you can see."]]
    assert TaskDependency.objects.count() == 0


def test_only_someone_who_may_change_the_successor_adds_a_dependency(owner, outsider, chain):
    settings_task, cable, _ = chain

    with pytest.raises(PermissionDenied):
        waits(cable, settings_task, outsider)


def test_a_predecessor_in_a_later_stage_of_the_same_project_is_refused(owner, project, stages):
    cable = add(project, stages[1], "Lay the cable")
    billing = add(project, stages[2], "Enter in billing")

    with pytest.raises(ValidationError) as refused:
        waits(cable, billing, owner)

    assert refused.value.messages == [
        "“Enter in billing” is in stage 3, after the stage of “Lay the cable” (stage 2): “Lay the cable” could never "
        "finish. Move one of them to another stage first."]


def test_the_task_page_adds_and_removes_dependencies_and_refuses_bad_input_with_400(client, owner, outsider, chain):
    settings_task, cable, _ = chain
    hidden = TaskFactory(title="Hidden", created_by=outsider)
    client.force_login(owner)

    added = client.post(f"/projects/task/{cable.pk}/dependencies/", {"predecessor": f"#{settings_task.pk}"},
                        follow=True)
    bad = client.post(f"/projects/task/{cable.pk}/dependencies/", {"predecessor": "forty-two"})
    hidden_ref = client.post(f"/projects/task/{cable.pk}/dependencies/", {"predecessor": str(hidden.pk)})
    loop = client.post(f"/projects/task/{settings_task.pk}/dependencies/", {"predecessor": str(cable.pk)})
    panel = html.parse(added).find("section", id="project")

    assert html.messages(added) == ["“Cable” now waits for “Settings”."]
    assert [li.find("a").text() for li in panel.find("ul", cls="predecessors").find_all("li")] == ["Settings"]
    assert (bad.status_code, html.messages(bad)) == (400, ["Give the number of the task it waits for, e.g. #42."])
    assert (hidden_ref.status_code, html.messages(hidden_ref)) == (400, [f"There is no task #{hidden.pk} you can see."])
    assert (loop.status_code, html.messages(loop)) == (
        400, ["That would make a loop: “Cable” → “Settings” → “Cable”. No task in it could ever start."])
    dep = TaskDependency.objects.get()
    removed = client.post(f"/projects/dependencies/{dep.pk}/delete/", follow=True)
    assert html.messages(removed) == ["“Cable” no longer waits for “Settings”."]
    assert TaskDependency.objects.count() == 0


def test_an_outsider_cannot_remove_a_dependency_they_cannot_see(client, owner, outsider, chain):
    settings_task, cable, _ = chain
    dep = waits(cable, settings_task, owner)
    client.force_login(outsider)

    response = client.post(f"/projects/dependencies/{dep.pk}/delete/")

    assert response.status_code == 404
    assert TaskDependency.objects.count() == 1


def test_moving_a_predecessors_due_date_shows_which_dependants_are_now_late(client, owner, chain):
    set_time_zone(owner, "Europe/Berlin")
    settings_task, cable, billing = chain
    for task, day in ((settings_task, date(2025, 5, 5)), (cable, date(2025, 5, 8)), (billing, date(2025, 5, 12))):
        task.due_at, task.all_day = date_as_utc_midnight(day), True
        task.save()
    waits(cable, settings_task, owner)
    waits(billing, settings_task, owner)
    client.force_login(owner)
    with time_machine.travel(datetime(2025, 5, 2, 9, 0, tzinfo=BERLIN), tick=False):
        before = html.parse(client.get(f"/tasks/{settings_task.pk}/")).find("div", cls="late-dependants")
        current = type(settings_task).objects.get(pk=settings_task.pk)
        task_services.task_update(task=current, user=owner, version=current.version,
                                  data={"due_at": date_as_utc_midnight(date(2025, 5, 10)), "all_day": True})
        after = html.parse(client.get(f"/tasks/{settings_task.pk}/")).find("div", cls="late-dependants")
        cable_page = html.parse(client.get(f"/tasks/{cable.pk}/")).find("ul", cls="predecessors")

    assert before is None
    assert after.text() == ("Dependants now late: “Cable” (due 8 May 2025) starts or is due before this task is due "
                            "(10 May 2025): move its date or this one.")
    assert cable_page.find("li").text() == "Settings Pending due 10 May 2025 · after this task’s date Remove"
