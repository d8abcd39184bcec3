"""Project templates: saving (bad plans refused), "new project from template" (count, order, relative
dates in the user's zone, stages, holds, dependencies), and the template pages."""

from datetime import date, datetime, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from crm.tests import html
from crm.tests.factories import OrganizationFactory, TeamFactory, set_time_zone
from projects import demo, project_templates
from projects.models import Project, ProjectTemplate, StageHold, TaskDependency
from tasks.models import Task
from tasks.models_templates import TaskTemplate, TaskTemplateChecklistItem, TaskTemplateSubtask

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
Line = project_templates.Line


@pytest.fixture
def teams(db):
    return {"Sales": TeamFactory(name="Sales desk"), "Support": TeamFactory(name="Support desk")}


@pytest.fixture
def telecom(owner, teams):
    return demo.seed_telecom_template(owner=owner, teams=teams)


def test_new_project_from_the_telecom_template_makes_every_task_in_order_with_dates_from_the_start(
        owner, teams, telecom):
    set_time_zone(owner, "Europe/Berlin")
    acme = OrganizationFactory(name="Acme Telecom Customer")

    with time_machine.travel(datetime(2025, 3, 1, 10, 0, tzinfo=BERLIN), tick=False):
        project = project_templates.project_from_template(template=telecom, user=owner, start_date=date(2025, 3, 3),
                                                          entity=acme)

    tasks = list(Task.objects.filter(project=project).order_by("pk"))
    assert [(t.title, t.stage.position, t.task_type, t.due_at.date(), t.all_day, t.team.name, t.status)
            for t in tasks] == [
        ("Check the signed order and contract", 1, "contract", date(2025, 3, 4), True, "Sales desk", "pending"),
        ("Prepare the line settings", 1, "other", date(2025, 3, 5), True, "Support desk", "pending"),
        ("Lay the cable to the client's premises", 2, "other", date(2025, 3, 8), True, "Support desk", "blocked"),
        ("Install and test the router", 2, "meeting", date(2025, 3, 9), True, "Support desk", "blocked"),
        ("Enter the client in billing", 3, "other", date(2025, 3, 10), True, "Sales desk", "blocked"),
        ("Welcome call with the client", 3, "call", date(2025, 3, 11), True, "Sales desk", "blocked"),
    ]
    assert set(StageHold.objects.values_list("task__title", flat=True)) == {t.title for t in tasks[2:]}
    assert sorted(TaskDependency.objects.values_list("successor__title", "predecessor__title")) == [
        ("Enter the client in billing", "Install and test the router"),
        ("Install and test the router", "Lay the cable to the client's premises"),
        ("Lay the cable to the client's premises", "Prepare the line settings"),
        ("Welcome call with the client", "Enter the client in billing"),
    ]
    assert (project.name, project.start_date, project.due_date, project.entity, project.template) == (
        "Connect a telecom client: Acme Telecom Customer", date(2025, 3, 3), date(2025, 3, 11), acme, telecom)
    assert list(project.stages.values_list("position", "name")) == [
        (1, "Order and line settings"), (2, "Physical connection"), (3, "Billing and handover")]
    assert {t.object_id for t in tasks} == {acme.pk}


def test_the_start_date_defaults_to_today_in_the_users_zone_and_hours_count_from_9_there(owner):
    set_time_zone(owner, "Europe/Berlin")
    template = project_templates.template_save(
        user=owner, data={"name": "Quick"}, stages=["Only"],
        lines=[Line(stage=1, title="Kick-off", relative_due="+4h"), Line(stage=1, title="Same day", relative_due="+0d"),
               Line(stage=1, title="No deadline")])

    # 23:30 UTC on 2 March is already 00:30 on 3 March in Berlin.
    with time_machine.travel(datetime(2025, 3, 2, 23, 30, tzinfo=dt_timezone.utc), tick=False):
        project = project_templates.project_from_template(template=template, user=owner)

    assert project.start_date == date(2025, 3, 3)
    assert list(Task.objects.filter(project=project).order_by("pk").values_list("title", "due_at", "all_day")) == [
        ("Kick-off", datetime(2025, 3, 3, 12, 0, tzinfo=dt_timezone.utc), False),  # 13:00 in Berlin
        ("Same day", datetime(2025, 3, 3, tzinfo=dt_timezone.utc), True),
        ("No deadline", None, False),
    ]


def test_a_line_from_a_task_template_takes_its_description_checklist_and_subtasks(owner, teams):
    source = TaskTemplate.objects.create(name="Router", owner=owner, title="Router", description="Bring two.",
                                         task_type="meeting", priority="high")
    TaskTemplateChecklistItem.objects.create(template=source, text="Test the signal", position=0)
    TaskTemplateSubtask.objects.create(template=source, title="Photograph the install", relative_due="+3d")
    template = project_templates.template_save(
        user=owner, data={"name": "Install"}, stages=["Prepare", "Install"],
        lines=[Line(stage=1, title="Plan"), Line(stage=2, title="Install the router", task_template=source,
                                                   task_type="meeting", relative_due="+2d")])

    project = project_templates.project_from_template(template=template, user=owner, start_date=date(2025, 3, 3))

    router = Task.objects.get(title="Install the router")
    assert (router.description, router.priority, list(router.checklist.values_list("text", flat=True))) == (
        "Bring two.", "high", ["Test the signal"])
    assert list(Task.objects.filter(parent=router).values_list("title", "project", "stage__position", "status",
                                                               "due_at")) == [
        ("Photograph the install", project.pk, 2, "blocked", datetime(2025, 3, 6, tzinfo=dt_timezone.utc))]


@pytest.mark.parametrize("stages, lines, message", [
    (["Order", "Connection"], [Line(stage=1, title="Check")],
     "Stage 2 “Connection” has no tasks: add a task to it or remove the stage."),
    (["Order"], [Line(stage=2, title="Check")], [
        "Task 1 “Check”: there is no stage 2 (stages 1 to 1).",
        "Stage 1 “Order” has no tasks: add a task to it or remove the stage."]),
    ([], [], "Add at least one stage."),
    (["Order", "Connection"], [Line(stage=1, title="Settings", depends_on=[1]), Line(stage=2, title="Cable")],
     "Task 1 “Settings” (stage 1) cannot wait for task 2 “Cable”, which is in the later stage 2."),
    (["Order"], [Line(stage=1, title="A", depends_on=[0])], "Task 1 “A” cannot wait for itself."),
    (["Order"], [Line(stage=1, title="A", relative_due="tomorrow")],
     "Task 1 “A”: “tomorrow” is not a relative due date. Write a plus sign, a number and a unit, for example +30m, "
     "+3h, +2 days, +1w or +0d."),
    (["Order"], [Line(stage=1, title="A", depends_on=[2]), Line(stage=1, title="B", depends_on=[0]),
                 Line(stage=1, title="C", depends_on=[1])],
     "The tasks wait for each other in a loop: “A” → “C” → “B” → “A”. No task in it could ever start."),
])
def test_a_bad_plan_is_refused_with_a_message_and_nothing_is_saved(owner, stages, lines, message):
    with pytest.raises(ValidationError) as refused:
        project_templates.template_save(user=owner, data={"name": "Bad"}, stages=stages, lines=lines)

    assert refused.value.messages == (message if isinstance(message, list) else [message])
    assert ProjectTemplate.objects.count() == 0


def test_someone_who_cannot_see_a_template_cannot_use_it(owner, outsider, telecom):
    with pytest.raises(PermissionDenied):
        project_templates.project_from_template(template=telecom, user=outsider)
    assert Project.objects.count() == 0


def test_a_template_shared_with_a_team_is_used_by_its_members(owner, teammate, team, teams):
    template = demo.seed_telecom_template(owner=owner, teams=teams, shared_with=team)

    project = project_templates.project_from_template(template=template, user=teammate, start_date=date(2025, 3, 3))

    assert (project.owner, Task.objects.filter(project=project).count()) == (teammate, 6)


# ---- pages -------------------------------------------------------------------------------------


def _formset(rows, extra_empty=1):
    data = {"lines-TOTAL_FORMS": str(len(rows) + extra_empty), "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "100"}
    for i, row in enumerate(rows):
        for key, value in {"task_type": "other", **row}.items():
            data[f"lines-{i}-{key}"] = value
    for i in range(len(rows), len(rows) + extra_empty):
        data[f"lines-{i}-task_type"] = "other"
    return data


def test_the_template_form_saves_stages_and_lines_with_their_dependencies(client, owner):
    client.force_login(owner)
    data = {"name": "Fibre", "stages": "Survey\nBuild", **_formset([
        {"stage": "1", "title": "Survey the street", "relative_due": "+1d"},
        {"stage": "2", "title": "Dig", "relative_due": "+4d", "depends_on": "1"},
        {"stage": "2", "title": "Pull the fibre", "relative_due": "+5d", "depends_on": "#2"},
    ])}

    response = client.post("/projects/templates/new/", data, follow=True)

    template = ProjectTemplate.objects.get()
    assert html.messages(response) == ["Project template “Fibre” is saved."]
    assert [(line.number, line.stage.position, line.title, line.relative_due, line.waits_for)
            for line in project_templates.template_lines(template)] == [
        (1, 1, "Survey the street", "+1d", []), (2, 2, "Dig", "+4d", [1]), (3, 2, "Pull the fibre", "+5d", [2])]


def test_the_template_form_refuses_a_stage_without_tasks_with_400(client, owner):
    client.force_login(owner)
    data = {"name": "Fibre", "stages": "Survey\nBuild", **_formset([{"stage": "1", "title": "Survey"}])}

    response = client.post("/projects/templates/new/", data)

    assert response.status_code == 400
    assert html.parse(response).find("div", cls="form-errors").text() == \
        "Stage 2 “Build” has no tasks: add a task to it or remove the stage."
    assert ProjectTemplate.objects.count() == 0


def test_the_template_form_refuses_a_wait_for_an_empty_row(client, owner):
    client.force_login(owner)
    data = {"name": "Fibre", "stages": "Survey", **_formset([{"stage": "1", "title": "Survey", "depends_on": "4"}])}

    response = client.post("/projects/templates/new/", data)

    assert response.status_code == 400
    assert html.parse(response).find("div", cls="form-errors").text() == \
        "Task 1 “Survey” waits for task 4, which is empty or does not exist."


def test_use_template_makes_the_project_in_one_click(client, owner, teams, telecom):
    client.force_login(owner)

    response = client.post(f"/projects/templates/{telecom.pk}/use/", {}, follow=True)

    project = Project.objects.get()
    assert response.redirect_chain[-1][0] == f"/projects/{project.pk}/"
    assert html.messages(response) == [
        "Project “Connect a telecom client” was created from “Connect a telecom client” with 6 tasks."]


def test_use_template_with_a_bad_entity_creates_nothing_and_answers_400(client, owner, telecom):
    client.force_login(owner)

    response = client.post(f"/projects/templates/{telecom.pk}/use/", {"entity_0": "organization",
                                                                       "entity_1": "#999999"})

    assert response.status_code == 400
    assert html.messages(response) == ["No project was created from “Connect a telecom client”: see below."]
    assert Project.objects.count() == Task.objects.count() == 0


def test_an_outsider_gets_404_for_a_template_and_a_reader_403_for_editing(client, owner, teammate, outsider, team,
                                                                          teams):
    template = demo.seed_telecom_template(owner=owner, teams=teams, shared_with=team)
    client.force_login(outsider)
    hidden = [client.get(f"/projects/templates/{template.pk}/").status_code,
              client.post(f"/projects/templates/{template.pk}/use/").status_code]
    client.force_login(teammate)
    reader = [client.get(f"/projects/templates/{template.pk}/").status_code,
              client.get(f"/projects/templates/{template.pk}/edit/").status_code]

    assert (hidden, reader) == ([404, 404], [200, 403])
    assert Project.objects.count() == 0


def test_seed_projects_is_idempotent(owner, teams):
    from crm.tests.factories import UserFactory

    users = {"ana": UserFactory(username="ana"), "ben": UserFactory(username="ben"),
             "cara": UserFactory(username="cara")}
    for team in teams.values():
        team.manager = users["ana"]
        team.save()
    OrganizationFactory(name=demo.DEMO_ORGANIZATION)

    first = demo.seed_projects(users=users, teams=teams)
    second = demo.seed_projects(users=users, teams=teams)

    project = Project.objects.get(name=demo.DEMO_PROJECT)
    assert (first, second) == (3, 0)
    assert sorted(Project.objects.values_list("name", "status")) == [
        ("Connect Helios Solar Madrid office", "planned"), ("Connect Northwind Logistics", "active")]
    assert sorted(Task.objects.filter(project=project).values_list("stage__position", "status")) == [
        (1, "completed"), (1, "completed"), (2, "pending"), (2, "pending"), (3, "blocked"), (3, "blocked")]


def test_the_edit_form_starts_from_the_templates_stages_and_lines(client, owner, teams, telecom):
    client.force_login(owner)

    page = html.parse(client.get(f"/projects/templates/{telecom.pk}/edit/"))

    assert page.find("input", name="name").attrs["value"] == "Connect a telecom client"
    assert page.find("textarea", name="stages").text() == \
        "Order and line settings Physical connection Billing and handover"
    assert [(page.find("input", name=f"lines-{i}-title").attrs.get("value"),
             page.find("input", name=f"lines-{i}-depends_on").attrs.get("value")) for i in (2, 6)] == [
        ("Lay the cable to the client's premises", "2"), (None, None)]
