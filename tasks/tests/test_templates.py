"""Task templates: the relative due parser, making a task (with subtasks and checklist), and the pages.

Dates: the user works in Berlin; time is frozen on Tuesday 10 March 2026.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.tests import html
from crm.tests.factories import OrganizationFactory, UserFactory, set_time_zone
from tasks import task_templates
from tasks.models import Task, TaskTemplate, TaskTemplateChecklistItem, TaskTemplateSubtask
from tasks.models_automation import AutomationRule
from tasks.models_templates import RelativeDue, parse_relative_due

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=BERLIN)
UTC = dt_timezone.utc


def _template(owner, **fields):
    checklist = fields.pop("checklist", [])
    subtasks = fields.pop("subtasks", [])
    fields.setdefault("name", "Onboarding")
    fields.setdefault("title", "Onboard the customer")
    template = TaskTemplate.objects.create(owner=owner, **fields)
    for i, text in enumerate(checklist):
        TaskTemplateChecklistItem.objects.create(template=template, text=text, position=i)
    for i, (title, task_type, due) in enumerate(subtasks):
        TaskTemplateSubtask.objects.create(template=template, title=title, task_type=task_type, relative_due=due,
                                           position=i)
    return template


# ---- relative due ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("+2 days", RelativeDue(2, "days")), ("+3h", RelativeDue(3, "hours")), ("+1w", RelativeDue(1, "weeks")),
    ("+0d", RelativeDue(0, "days")), ("+30m", RelativeDue(30, "minutes")), ("+ 1 Day", RelativeDue(1, "days")),
    ("  +12 hours ", RelativeDue(12, "hours")), ("", None),
])
def test_relative_due_texts_the_parser_accepts(text, expected):
    assert parse_relative_due(text) == expected


@pytest.mark.parametrize("text", ["2 days", "+2", "+2 fortnights", "-1d", "+1.5h", "tomorrow", "+d", "+2 days ago"])
def test_malformed_relative_due_texts_are_refused_with_a_readable_message(text):
    with pytest.raises(ValidationError) as exc:
        parse_relative_due(text)

    assert exc.value.messages == [f"“{text}” is not a relative due date. Write a plus sign, a number and a unit, "
                                  "for example +30m, +3h, +2 days, +1w or +0d."]


def test_a_relative_due_more_than_ten_years_ahead_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_relative_due("+600w")

    assert exc.value.messages == ["“+600w” is too far ahead: at most ten years."]


# ---- template_instantiate ----------------------------------------------------------------------


@pytest.fixture
def berlin_owner(owner):
    return set_time_zone(owner, "Europe/Berlin")


def test_a_template_makes_the_task_with_its_subtasks_checklist_tags_and_entity(berlin_owner, team):
    acme = OrganizationFactory(name="Acme")
    template = _template(
        berlin_owner, description="Welcome pack", task_type="meeting", priority="high", location="Video call",
        expected_duration=timedelta(minutes=90), relative_due="+2 days", tags="onboarding, vip",
        checklist=["Send the welcome pack", "Book the kick-off"],
        subtasks=[("Create the account", "other", "+3h"), ("Kick-off call", "call", "+1w"),
                  ("Say thanks", "email", "")],
    )

    with time_machine.travel(NOW, tick=False):
        task = task_templates.template_instantiate(template=template, user=berlin_owner, entity=acme)

    task.refresh_from_db()
    assert (task.title, task.description, task.task_type, task.priority, task.location, task.expected_duration,
            task.due_at, task.all_day, task.entity, task.created_by, task.assignee, task.team) == (
        "Onboard the customer", "Welcome pack", "meeting", "high", "Video call", timedelta(minutes=90),
        datetime(2026, 3, 12, tzinfo=UTC), True, acme, berlin_owner, None, None)
    assert list(task.checklist.values_list("text", "position")) == [("Send the welcome pack", 0),
                                                                   ("Book the kick-off", 1)]
    assert sorted(task.tags.names()) == ["onboarding", "vip"]
    subtasks = [(s.title, s.task_type, s.priority, s.due_at, s.all_day, s.entity, s.tree_path)
                for s in Task.objects.filter(parent=task).order_by("pk")]
    assert subtasks == [
        ("Create the account", "other", "high", datetime(2026, 3, 10, 11, 0, tzinfo=UTC), False, acme, f"/{task.pk}/"),
        ("Kick-off call", "call", "high", datetime(2026, 3, 17, tzinfo=UTC), True, acme, f"/{task.pk}/"),
        ("Say thanks", "email", "high", None, False, acme, f"/{task.pk}/"),
    ]


def test_plus_zero_days_is_today_in_the_users_time_zone(berlin_owner):
    template = _template(berlin_owner, relative_due="+0d")

    # 23:30 UTC on 10 March is already 11 March in Berlin.
    with time_machine.travel(datetime(2026, 3, 10, 23, 30, tzinfo=UTC), tick=False):
        task = task_templates.template_instantiate(template=template, user=berlin_owner)

    assert (task.due_at, task.all_day) == (datetime(2026, 3, 11, tzinfo=UTC), True)


def test_a_template_with_a_default_team_goes_through_distribution_and_subtasks_follow(berlin_owner, team, teammate):
    team.distribution_strategy = "round_robin"
    team.save()
    template = _template(berlin_owner, team=team, subtasks=[("Prepare", "other", "")])

    task = task_templates.template_instantiate(template=template, user=berlin_owner)

    sub = Task.objects.get(parent=task)
    assert (task.team, task.assignee, sub.team, sub.assignee) == (team, berlin_owner, team, berlin_owner)
    second = task_templates.template_instantiate(template=template, user=berlin_owner)
    assert second.assignee == teammate


def test_overrides_set_task_fields_and_unknown_ones_are_refused(berlin_owner, teammate):
    template = _template(berlin_owner)

    task = task_templates.template_instantiate(template=template, user=berlin_owner,
                                               overrides={"assignee": teammate, "title": "Onboard Acme"})
    with pytest.raises(ValidationError) as exc:
        task_templates.template_instantiate(template=template, user=berlin_owner, overrides={"colour": "red"})

    assert (task.title, task.assignee) == ("Onboard Acme", teammate)
    assert exc.value.messages == ["Unknown task fields: colour."]
    assert Task.objects.count() == 1


def test_a_malformed_relative_due_stored_behind_the_forms_back_creates_nothing(berlin_owner):
    template = _template(berlin_owner, relative_due="+2 fortnights", checklist=["Step"],
                         subtasks=[("Sub", "other", "")])

    with pytest.raises(ValidationError) as exc:
        task_templates.template_instantiate(template=template, user=berlin_owner)

    assert exc.value.message_dict == {"relative_due": [
        "“+2 fortnights” is not a relative due date. Write a plus sign, a number and a unit, "
        "for example +30m, +3h, +2 days, +1w or +0d."]}
    assert Task.objects.count() == 0


def test_a_malformed_subtask_due_also_creates_nothing(berlin_owner):
    template = _template(berlin_owner, subtasks=[("Sub", "other", "soon")])

    with pytest.raises(ValidationError):
        task_templates.template_instantiate(template=template, user=berlin_owner)

    assert Task.objects.count() == 0


def test_who_may_use_a_template(owner, teammate, manager, outsider, staff, team):
    personal = _template(owner, name="Mine")
    shared = _template(owner, name="Ours", shared_with_team=team)

    usable = {u.username: sorted(t.name for t in task_templates.visible_templates(u))
              for u in (owner, teammate, manager, outsider, staff)}

    assert usable == {"owner": ["Mine", "Ours"], "teammate": ["Ours"], "manager": ["Ours"], "outsider": [],
                      "staffer": ["Mine", "Ours"]}
    with pytest.raises(PermissionDenied):
        task_templates.template_instantiate(template=personal, user=teammate)
    assert task_templates.template_instantiate(template=shared, user=teammate).created_by == teammate


# ---- template_save -----------------------------------------------------------------------------


def test_template_save_replaces_checklist_and_subtasks(owner):
    template = task_templates.template_save(
        user=owner, data={"name": "Renewal", "title": "Renew the contract", "relative_due": "+1w"},
        checklist=["Check the price", " ", "Send the offer"],
        subtasks=[{"title": "Call", "task_type": "call", "relative_due": "+2d"}, {"title": "", "task_type": "call"}],
    )
    task_templates.template_save(user=owner, template=template, data={"name": "Renewal 2"}, checklist=["Only one"],
                                 subtasks=[{"title": "Email", "task_type": "email", "relative_due": ""}])

    template.refresh_from_db()
    assert (template.name, template.title, template.relative_due, template.owner) == (
        "Renewal 2", "Renew the contract", "+1w", owner)
    assert list(template.checklist_items.values_list("text", flat=True)) == ["Only one"]
    assert list(template.subtasks.values_list("title", "task_type", "relative_due")) == [("Email", "email", "")]


def test_template_save_refuses_a_team_the_user_is_not_in_and_saves_nothing(owner, outsider, team):
    with pytest.raises(ValidationError) as exc:
        task_templates.template_save(user=outsider, data={"name": "X", "title": "Y", "shared_with_team": team})

    assert exc.value.message_dict == {"shared_with_team": ["You can only share a template with a team you belong to."]}
    assert TaskTemplate.objects.count() == 0


def test_a_bad_subtask_due_rolls_back_the_whole_save(owner):
    template = _template(owner, checklist=["Keep me"])

    with pytest.raises(ValidationError) as exc:
        task_templates.template_save(user=owner, template=template, data={"name": "Changed"}, checklist=["New"],
                                     subtasks=[{"title": "Sub", "task_type": "call", "relative_due": "next week"}])

    assert exc.value.message_dict["subtasks"][0].startswith("Subtask “Sub”: “next week” is not a relative due date.")
    template.refresh_from_db()
    assert (template.name, list(template.checklist_items.values_list("text", flat=True))) == ("Onboarding", ["Keep me"])


# ---- pages -----------------------------------------------------------------------------------------


def test_the_list_shows_my_templates_and_my_teams_shared_ones(client, owner, teammate, outsider, team):
    _template(owner, name="Mine", relative_due="+2 days")
    _template(owner, name="Ours", shared_with_team=team, team=team)
    _template(outsider, name="Theirs")

    client.force_login(teammate)
    response = client.get("/tasks/templates/")

    page = html.main(response)
    mine = page.find("table", data_testid="my-templates")
    shared = page.find("table", data_testid="shared-templates")

    def cells(table):
        return [[td.text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]

    assert cells(mine) == [["You have no templates yet. Make one for the tasks you create again and again."]]
    assert cells(shared) == [["Ours by Olga Owner", "Onboard the customer", "Other", "—", "Sales", "Sales",
                              "0 subtasks · 0 checklist items", "New task"]]


def test_the_list_query_count_does_not_grow_with_templates(client, owner, team):
    client.force_login(owner)
    _template(owner, name="First", checklist=["a"], subtasks=[("s", "call", "")])
    client.get("/tasks/templates/")  # warm up per-process caches and the session
    with CaptureQueriesContext(connection) as one:
        client.get("/tasks/templates/")
    for i in range(15):
        _template(owner, name=f"T{i}", shared_with_team=team, team=team, checklist=["a", "b"],
                  subtasks=[("s", "call", "")])
    with CaptureQueriesContext(connection) as many:
        response = client.get("/tasks/templates/")

    assert len(html.main(response).find("table", data_testid="my-templates").find("tbody").find_all("tr")) == 16
    assert len(many) == len(one)


def test_create_a_template_with_checklist_and_subtasks_on_the_page(client, owner, team):
    client.force_login(owner)
    response = client.post("/tasks/templates/new/", {
        "name": "Demo prep", "shared_with_team": team.pk, "title": "Prepare the demo", "description": "",
        "task_type": "demo", "priority": "high", "expected_duration": "1:30", "location": "", "team": "",
        "relative_due": "+3 days", "tags": "demo", "checklist": "Book the room\n\nTest the laptop\n",
        "subtasks-TOTAL_FORMS": "3", "subtasks-INITIAL_FORMS": "0",
        "subtasks-0-title": "Send the invite", "subtasks-0-task_type": "email", "subtasks-0-relative_due": "+1d",
        "subtasks-1-title": "", "subtasks-1-task_type": "other", "subtasks-1-relative_due": "",
        "subtasks-2-title": "Rehearse", "subtasks-2-task_type": "other", "subtasks-2-relative_due": "",
    })

    assert response.status_code == 302
    template = TaskTemplate.objects.get()
    assert (template.name, template.owner, template.shared_with_team, template.task_type, template.expected_duration,
            template.relative_due) == ("Demo prep", owner, team, "demo", timedelta(minutes=90), "+3 days")
    assert list(template.checklist_items.values_list("text", flat=True)) == ["Book the room", "Test the laptop"]
    assert list(template.subtasks.values_list("title", "task_type", "relative_due")) == [
        ("Send the invite", "email", "+1d"), ("Rehearse", "other", "")]


def test_a_malformed_relative_due_on_the_page_is_a_400_with_the_reason_and_nothing_saved(client, owner):
    client.force_login(owner)
    response = client.post("/tasks/templates/new/", {
        "name": "Bad", "title": "Bad", "task_type": "call", "priority": "medium", "relative_due": "in two days",
        "subtasks-TOTAL_FORMS": "1", "subtasks-INITIAL_FORMS": "0",
        "subtasks-0-title": "Sub", "subtasks-0-task_type": "call", "subtasks-0-relative_due": "+2 fortnights",
    })

    assert response.status_code == 400
    assert html.field_errors(response) == {"relative_due": [
        "“in two days” is not a relative due date. Write a plus sign, a number and a unit, "
        "for example +30m, +3h, +2 days, +1w or +0d."]}
    assert "“+2 fortnights” is not a relative due date." in response.content.decode()
    assert TaskTemplate.objects.count() == 0


@pytest.mark.parametrize("who, status", [("owner", 200), ("manager", 200), ("staff", 200), ("teammate", 403),
                                         ("outsider", 404)])
def test_who_may_edit_a_shared_template(client, request, team, owner, who, status):
    template = _template(owner, shared_with_team=team)
    client.force_login(request.getfixturevalue(who))

    assert client.get(f"/tasks/templates/{template.pk}/edit/").status_code == status


def test_the_owner_deletes_a_template_but_not_while_a_rule_uses_it(client, owner, manager, team):
    template = _template(owner, name="Used", shared_with_team=team)
    spare = _template(owner, name="Spare")
    AutomationRule.objects.create(name="Won deals", created_by=manager, team=team, trigger="opportunity_created",
                                  action="create_task", template=template)
    client.force_login(owner)

    refused = client.post(f"/tasks/templates/{template.pk}/delete/")
    deleted = client.post(f"/tasks/templates/{spare.pk}/delete/")

    assert refused.status_code == 409
    assert html.messages(refused) == ["Automation rules use this template: “Won deals”. Change or delete them first."]
    assert deleted.status_code == 302
    assert list(TaskTemplate.objects.values_list("name", flat=True)) == ["Used"]


def test_new_from_template_is_one_post_that_opens_the_new_task(client, owner):
    template = _template(owner, checklist=["Step"], subtasks=[("Sub", "call", "")])
    acme = OrganizationFactory(name="Acme")
    client.force_login(owner)

    assert client.get(f"/tasks/templates/{template.pk}/use/").status_code == 405
    response = client.post(f"/tasks/templates/{template.pk}/use/",
                           {"entity_type": "organization", "entity": str(acme.pk)})

    task = Task.objects.get(parent=None)
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    assert (task.title, task.entity, list(task.checklist.values_list("text", flat=True)),
            list(Task.objects.filter(parent=task).values_list("title", flat=True))) == (
        "Onboard the customer", acme, ["Step"], ["Sub"])


@pytest.mark.parametrize("data, message", [
    ({"entity_type": "planet", "entity": "3"},
     "Choose an individual, organization, ticket or opportunity to link the task to."),
    ({"entity_type": "organization", "entity": "999999"}, "There is no organization #999999."),
])
def test_new_from_template_with_a_bad_entity_is_a_400_and_creates_nothing(client, owner, data, message):
    template = _template(owner, name="Tpl")
    client.force_login(owner)

    response = client.post(f"/tasks/templates/{template.pk}/use/", data)

    assert response.status_code == 400
    assert html.messages(response) == [f"No task was created from “Tpl”: {message}"]
    assert Task.objects.count() == 0


def test_new_from_a_template_with_a_malformed_due_is_a_400(client, owner):
    template = _template(owner, name="Broken", relative_due="+2 fortnights")
    client.force_login(owner)

    response = client.post(f"/tasks/templates/{template.pk}/use/")

    assert response.status_code == 400
    assert html.messages(response)[0].startswith("No task was created from “Broken”: “+2 fortnights” is not")
    assert Task.objects.count() == 0


def test_an_outsider_cannot_use_or_see_a_template(client, owner, outsider):
    template = _template(owner)
    client.force_login(outsider)

    assert client.post(f"/tasks/templates/{template.pk}/use/").status_code == 404
    assert client.get(f"/tasks/templates/{template.pk}/edit/").status_code == 404
    assert Task.objects.count() == 0


def test_a_user_named_in_no_team_still_has_personal_templates(db, client):
    solo = UserFactory(username="solo")
    _template(solo, name="Solo")
    client.force_login(solo)

    response = client.get("/tasks/templates/")

    table = html.main(response).find("table", data_testid="my-templates")
    assert [tr.find("td").text() for tr in table.find("tbody").find_all("tr")] == ["Solo"]
