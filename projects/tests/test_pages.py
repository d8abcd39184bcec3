"""Project pages: the list (progress, next due, filters, constant queries), a project's page (stages,
progress, timeline, members, files, discussion), create/edit/delete, stages, adding a task to a stage,
the entity Projects tab, the task page's Project panel, /tasks/?project=, and who may do what."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Comment
from crm.tests import html
from crm.tests.factories import OrganizationFactory, set_time_zone
from projects import services
from projects.models import Project, ProjectMember, Stage
from tasks.dates import date_as_utc_midnight
from tasks.models import Task

from .helpers import add, finish, statuses

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=BERLIN)


def due(day):
    return {"due_at": date_as_utc_midnight(day), "all_day": True}


def get(client, user, url):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(url)


def list_rows(response):
    table = html.main(response).find("table", cls="project-table")
    return [[td.text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr", cls="project-row")]


# ---- the list ---------------------------------------------------------------------------------


def test_the_list_shows_status_owner_progress_and_next_due(client, owner, project, stages):
    set_time_zone(owner, "Europe/Berlin")
    project.due_date = date(2025, 3, 20)
    project.save()
    a = add(project, stages[0], "Check the order", **due(date(2025, 3, 10)))
    add(project, stages[0], "Set up the line", **due(date(2025, 3, 14)))
    add(project, stages[1], "Lay the cable", **due(date(2025, 3, 18)))
    with time_machine.travel(datetime(2025, 3, 9, 9, 0, tzinfo=BERLIN), tick=False):
        finish(a, owner)
    other = services.project_create(user=owner, name="Empty plan")

    response = get(client, owner, "/projects/")

    assert list_rows(response) == [
        ["Connect Acme", "Planned", "Olga Owner", "", "1/3 done", "14 Mar 2025 Set up the line", "20 Mar 2025"],
        ["Empty plan", "Planned", "Olga Owner", "", "No tasks yet", "—", "—"],
    ]
    assert other.pk


def test_the_list_shows_only_projects_the_user_may_see(client, owner, teammate, outsider, team, manager):
    services.project_create(user=owner, name="Owned")
    services.project_create(user=manager, name="Team project", team=team)
    services.project_create(user=outsider, name="Member project", members=[teammate])
    services.project_create(user=outsider, name="Private")

    seen = {user.username: [row[0] for row in list_rows(get(client, user, "/projects/?o=name"))]
            for user in (owner, teammate, outsider, manager)}

    assert seen == {
        "owner": ["Owned", "Team project"],
        "teammate": ["Member project", "Team project"],
        "outsider": ["Member project", "Private"],
        "manager": ["Team project"],
    }


def test_the_list_filters_by_status_owner_and_team(client, owner, manager, team):
    services.project_create(user=owner, name="Planned one")
    done = services.project_create(user=owner, name="Done one", status="completed")
    services.project_create(user=manager, name="Sales one", team=team, owner=owner)

    default = [r[0] for r in list_rows(get(client, owner, "/projects/?o=name"))]
    completed = [r[0] for r in list_rows(get(client, owner, "/projects/?status=completed"))]
    by_team = [r[0] for r in list_rows(get(client, owner, f"/projects/?team={team.pk}"))]
    bad = get(client, owner, "/projects/?status=nonsense")

    assert (default, completed, by_team) == (["Planned one", "Sales one"], ["Done one"], ["Sales one"])
    assert bad.status_code == 400
    assert done.pk


def test_the_list_runs_the_same_number_of_queries_for_one_and_for_many_projects(client, owner):
    def count_queries():
        client.force_login(owner)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/projects/").status_code == 200
        return len(ctx.captured_queries)

    org = OrganizationFactory()
    first = services.project_create(user=owner, name="P0", stages=["A"], entity=org)
    add(first, first.stages.get(), "T0")
    one = count_queries()
    for i in range(1, 12):
        p = services.project_create(user=owner, name=f"P{i}", stages=["A", "B"], entity=OrganizationFactory())
        add(p, p.stages.get(position=1), f"T{i}", **due(date(2025, 3, 1 + i)))
    many = count_queries()

    assert one == many


# ---- a project's page --------------------------------------------------------------------------


def test_the_page_shows_each_stage_with_its_tasks_progress_and_state(client, owner, teammate, project, stages):
    set_time_zone(owner, "Europe/Berlin")
    order = add(project, stages[0], "Check the order", assignee=owner, **due(date(2025, 3, 10)))
    add(project, stages[0], "Set up the line", assignee=teammate, **due(date(2025, 3, 14)))
    add(project, stages[1], "Lay the cable", **due(date(2025, 3, 18)))
    add(project, None, "Keep the customer informed")
    with time_machine.travel(datetime(2025, 3, 9, 9, 0, tzinfo=BERLIN), tick=False):
        finish(order, owner)

    page = html.parse(get(client, owner, f"/projects/{project.pk}/"))

    cards = page.find_all("section", cls="stage-card")
    assert [c.find("h2").text() for c in cards] == [
        "1 Stage 1: Order · open", "2 Stage 2: Connection · waits for stage 1",
        "3 Stage 3: Handover · waits for stage 1"]
    assert [[td.text() for td in tr.find_all("td")] for tr in cards[0].find("tbody").find_all("tr")] == [
        ["Check the order", "Completed", "Olga Owner", "10 Mar 2025"],
        ["Set up the line", "Pending", "Tom Mate", "14 Mar 2025"],
    ]
    assert [[td.text() for td in tr.find_all("td")] for tr in cards[1].find("tbody").find_all("tr")] == [
        ["Lay the cable", "Blocked waits for stage", "Unassigned", "18 Mar 2025"]]
    assert cards[0].find("span", cls="text-nowrap").text() == "1/2 done"
    assert page.find("section", id="outside").find("td", cls="task-title").text() == "Keep the customer informed"
    assert page.find("div", id="progress").find("div", cls="progress-text").text() == "1/4 done"
    timeline = page.find("svg", cls="timeline")
    labels = timeline.find_all("text", cls="tl-label") + timeline.find_all("text", cls="tl-label-muted")
    assert [t.text() for t in labels] == ["Set up the line", "Lay the cable", "Check the order"]
    assert [r.attrs["class"] for r in timeline.find_all("rect")] == ["tl-done", "tl-open", "tl-waiting"]


def test_members_and_team_members_read_the_page_outsiders_get_404(client, owner, teammate, outsider, manager, team):
    project = services.project_create(user=owner, name="Shared", members=[outsider])
    team_project = services.project_create(user=manager, name="Team", team=team)
    private = services.project_create(user=owner, name="Private")

    codes = {
        "member": get(client, outsider, f"/projects/{project.pk}/").status_code,
        "team member": get(client, teammate, f"/projects/{team_project.pk}/").status_code,
        "outsider": get(client, outsider, f"/projects/{private.pk}/").status_code,
        "outsider edit": get(client, outsider, f"/projects/{private.pk}/edit/").status_code,
        "member edit": get(client, outsider, f"/projects/{project.pk}/edit/").status_code,
        "team manager edit": get(client, manager, f"/projects/{team_project.pk}/edit/").status_code,
    }

    assert codes == {"member": 200, "team member": 200, "outsider": 404, "outsider edit": 404, "member edit": 403,
                     "team manager edit": 200}


def test_a_member_cannot_add_tasks_or_stages(client, owner, outsider):
    project = services.project_create(user=owner, name="Shared", members=[outsider], stages=["One"])
    client.force_login(outsider)

    task = client.post(f"/projects/{project.pk}/tasks/new/", {"title": "Sneaky", "task_type": "other",
                                                               "priority": "medium"})
    stage = client.post(f"/projects/{project.pk}/stages/", {"name": "Extra"})

    assert (task.status_code, stage.status_code) == (403, 403)
    assert (Task.objects.count(), Stage.objects.filter(project=project).count()) == (0, 1)


def test_creating_a_project_with_stages_members_and_an_entity(client, owner, teammate):
    org = OrganizationFactory(name="Acme")
    client.force_login(owner)

    response = client.post("/projects/new/", {
        "name": "Acme onboarding", "status": "active", "start_date": "2025-03-03", "due_date": "2025-03-31",
        "owner": owner.pk, "members": [teammate.pk], "entity_0": "organization", "entity_1": f"#{org.pk}",
        "stages": "Kick-off\n\nSetup\nTraining\n",
    }, follow=True)

    project = Project.objects.get()
    assert html.messages(response) == ["Project “Acme onboarding” created."]
    assert (project.status, project.start_date, project.due_date, project.entity) == (
        "active", date(2025, 3, 3), date(2025, 3, 31), org)
    assert list(project.stages.values_list("position", "name")) == [(1, "Kick-off"), (2, "Setup"), (3, "Training")]
    assert list(ProjectMember.objects.values_list("user__username", flat=True)) == ["teammate"]


def test_bad_project_input_is_refused_with_400_and_nothing_saved(client, owner, outsider):
    client.force_login(owner)

    response = client.post("/projects/new/", {"name": "", "status": "nonsense", "owner": owner.pk,
                                              "start_date": "2025-03-10", "due_date": "2025-03-01"})

    assert response.status_code == 400
    assert html.field_errors(response) == {
        "name": ["This field is required."],
        "status": ["Select a valid choice. nonsense is not one of the available choices."],
        "due_date": ["The due date cannot be before the start date."],
    }
    assert Project.objects.count() == 0


def test_completing_a_project_with_open_tasks_is_refused(client, owner, project, stages):
    add(project, stages[0], "Check the order")
    client.force_login(owner)

    response = client.post(f"/projects/{project.pk}/edit/", {"name": "Connect Acme", "status": "completed",
                                                             "owner": owner.pk})

    assert response.status_code == 400
    assert html.field_errors(response) == {"status": ["1 task is still open: complete or cancel it before "
                                                      "completing the project."]}
    project.refresh_from_db()
    assert project.status == "planned"


def test_adding_a_task_to_stage_2_from_the_project_page(client, owner, teammate, project, stages):
    add(project, stages[0], "Check the order")
    client.force_login(owner)

    form = client.get(f"/projects/{project.pk}/tasks/new/?stage={stages[1].pk}")
    response = client.post(f"/projects/{project.pk}/tasks/new/", {
        "title": "Lay the cable", "stage": stages[1].pk, "task_type": "other", "priority": "high",
        "due_date": "2025-03-18", "assignee": teammate.pk}, follow=True)

    assert [o.attrs["value"] for o in html.parse(form).find("select", name="stage").find_all("option")
            if "selected" in o.attrs] == [str(stages[1].pk)]
    assert html.messages(response) == [
        "Task “Lay the cable” added to stage 2 “Connection”. It waits for an earlier stage."]
    task = Task.objects.get(title="Lay the cable")
    assert (task.project, task.stage, task.status, task.assignee, task.priority) == (
        project, stages[1], "blocked", teammate, "high")


def test_adding_a_task_to_a_stage_of_another_project_is_refused(client, owner, project):
    other = services.project_create(user=owner, name="Other", stages=["X"])
    client.force_login(owner)

    response = client.post(f"/projects/{project.pk}/tasks/new/", {
        "title": "Wrong", "stage": other.stages.get().pk, "task_type": "other", "priority": "medium"})

    assert response.status_code == 400
    assert html.field_errors(response) == {"stage": ["That stage is not part of this project."]}
    assert Task.objects.count() == 0


def test_stages_are_added_renamed_moved_and_empty_ones_deleted(client, owner, project, stages):
    add(project, stages[0], "Check the order")
    client.force_login(owner)

    client.post(f"/projects/{project.pk}/stages/", {"name": "Aftercare"}, follow=True)
    client.post(f"/projects/{project.pk}/stages/{stages[1].pk}/rename/", {"name": "Cabling"}, follow=True)
    client.post(f"/projects/{project.pk}/stages/{stages[2].pk}/move/", {"direction": "up"}, follow=True)
    refused = client.post(f"/projects/{project.pk}/stages/{stages[0].pk}/delete/")
    client.post(f"/projects/{project.pk}/stages/{stages[2].pk}/delete/")
    blank = client.post(f"/projects/{project.pk}/stages/", {"name": "  "})

    assert list(project.stages.values_list("position", "name")) == [(1, "Order"), (2, "Cabling"), (3, "Aftercare")]
    assert (refused.status_code, html.messages(refused)) == (
        400, ["Stage 1 “Order” still has 1 task: move or delete them first."])
    assert blank.status_code == 400


def test_the_page_shows_the_discussion_and_files_and_members_may_post(client, owner, outsider):
    project = services.project_create(user=owner, name="Shared", members=[outsider])
    client.force_login(outsider)

    response = client.post(f"/discussion/projects.project/{project.pk}/", {"body": "Cable arrives Monday",
                                                                           "kind": "comment"}, follow=True)

    page = html.parse(response)
    assert [c.find("div", cls="comment-body").text() for c in page.find("section", id="discussion").find_all(
        "li", cls="comment")] == ["Cable arrives Monday"]
    assert page.find("section", id="attachments") is not None
    assert Comment.objects.get().object_id == project.pk


def test_deleting_a_project_with_its_tasks(client, owner, project, stages):
    add(project, stages[0], "Check the order")
    client.force_login(owner)

    response = client.post(f"/projects/{project.pk}/delete/", {"tasks": "delete"}, follow=True)

    assert html.messages(response) == ["Project “Connect Acme” deleted."]
    assert (Project.objects.count(), Task.objects.count()) == (0, 0)


# ---- the task page, the task list, the entity tab ----------------------------------------------------


def test_the_task_page_panel_shows_the_stage_it_waits_for(client, owner, project, stages):
    add(project, stages[0], "Check the order")
    cable = add(project, stages[1], "Lay the cable")

    panel = html.parse(get(client, owner, f"/tasks/{cable.pk}/")).find("section", id="project")

    assert panel.find("dd", cls="project-name").text() == "Connect Acme"
    assert panel.find("dd", cls="project-stage").text() == "2. Connection"
    assert panel.find("div", cls="stage-waits").text() == (
        "Waits for stage 2 “Connection” to open: stage 1 “Order” still has 1 open task. It opens, and is given to "
        "its team, when that stage is done.")


def test_starting_a_waiting_task_from_its_page_says_why_not(client, owner, project, stages):
    add(project, stages[0], "Check the order")
    cable = add(project, stages[1], "Lay the cable")
    client.force_login(owner)

    response = client.post(f"/tasks/{cable.pk}/status/", {"status": "in_progress"})

    assert response.status_code == 400
    assert html.messages(response) == ["Waits for stage 2 “Connection” to open: stage 1 “Order” still has 1 open "
                                       "task. Until then it can only be cancelled."]


def test_the_panel_puts_a_task_into_a_project_stage(client, owner, project, stages):
    add(project, stages[0], "Check the order")
    loose = Task.objects.create(title="Order the router", created_by=owner)
    client.force_login(owner)

    response = client.post(f"/projects/task/{loose.pk}/project/", {"target": f"s{stages[1].pk}"}, follow=True)
    bad = client.post(f"/projects/task/{loose.pk}/project/", {"target": "s999999"})

    assert html.messages(response) == [
        "“Order the router” is now in “Connect Acme”, stage 2 “Connection”. 1 task waits for an earlier stage."]
    assert statuses(project)["Order the router"] == ("blocked", True)
    assert (bad.status_code, html.messages(bad)) == (400, ["Project: Choose a stage of a project you may change."])


def test_the_task_list_filters_by_project(client, owner, project, stages):
    add(project, stages[0], "In the project")
    Task.objects.create(title="Elsewhere", created_by=owner)

    response = get(client, owner, f"/tasks/?project={project.pk}")
    junk = get(client, owner, "/tasks/?project=99999999999999999999")

    table = html.main(response).find("table", cls="task-table")
    assert [td.find("a").text() for td in table.find_all("td", cls="task-title")] == ["In the project"]
    assert html.main(junk).find("table", cls="task-table").find_all("td", cls="task-title") == []


def test_the_project_task_list_page_uses_the_task_table(client, owner, project, stages):
    add(project, stages[0], "In the project")
    Task.objects.create(title="Elsewhere", created_by=owner)

    response = get(client, owner, f"/projects/{project.pk}/tasks/")

    table = html.main(response).find("table", cls="task-table")
    assert [td.find("a").text() for td in table.find_all("td", cls="task-title")] == ["In the project"]


def test_the_entity_projects_tab_lists_its_visible_projects(client, owner, outsider):
    org = OrganizationFactory(name="Acme")
    services.project_create(user=owner, name="Acme rollout", entity=org)
    services.project_create(user=outsider, name="Acme secret", entity=org)

    response = get(client, owner, f"/organizations/{org.pk}/tabs/projects/")

    main = html.main(response)
    assert [td.text() for td in main.find_all("td", cls="project-name")] == ["Acme rollout"]
    tabs = {a.text(): a.attrs["href"] for a in main.find("ul", cls="nav-tabs").find_all("a")}
    assert tabs["Projects 1"] == f"/organizations/{org.pk}/tabs/projects/"


def test_the_edit_form_starts_from_the_projects_values(client, owner, teammate):
    project = services.project_create(user=owner, name="Acme onboarding", description="Plan", members=[teammate],
                                      start_date=date(2025, 3, 3))
    client.force_login(owner)

    page = html.parse(client.get(f"/projects/{project.pk}/edit/"))

    assert (page.find("input", name="name").attrs["value"], page.find("input", name="start_date").attrs["value"],
            page.find("textarea", name="description").text()) == ("Acme onboarding", "2025-03-03", "Plan")
    assert [o.text() for o in page.find("select", name="members").find_all("option") if "selected" in o.attrs] == [
        "Tom Mate"]


@pytest.mark.parametrize("choice, left", [("keep", [("Acme rollout", None)]), ("delete", [])])
def test_deleting_the_linked_entity_keeps_the_project_unlinked_or_deletes_it(client, owner, choice, left):
    from crm.tests.factories import grant

    org = OrganizationFactory(name="Acme")
    services.project_create(user=owner, name="Acme rollout", entity=org)
    owner = grant(owner, "crm.delete_organization")
    client.force_login(owner)

    page = client.get(f"/organizations/{org.pk}/delete/")
    client.post(f"/organizations/{org.pk}/delete/", {"linked": choice})

    assert "1 projects" in html.main(page).find("ul").text()
    assert list(Project.objects.values_list("name", "object_id")) == left
