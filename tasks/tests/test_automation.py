"""Automation rules: each trigger and action, conditions, once per event, escalation, the loop limit, bad input, pages.

Jobs run eagerly here (the `eager` fixture) once the test's transaction "commits"
(django_capture_on_commit_callbacks); tests/test_automation_worker.py runs one
through a real worker.
"""

from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Notification
from crm.testing.concurrency import run_at_once
from crm.tests import html
from crm.tests.factories import (
    IndividualFactory, MembershipFactory, OpportunityFactory, OrganizationFactory, TeamFactory, TicketFactory,
    UserFactory,
)
from tasks import automation, jobs, services
from tasks.models import Task, TaskTemplate
from tasks.models_automation import AutomationRule, AutomationRun
from tasks.tests.factories import TaskFactory

UTC = dt_timezone.utc
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def eager():
    """Celery jobs run in-process when queued (settings keep CELERY_TASK_ALWAYS_EAGER off)."""
    from crm.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def kickoff(manager, team):
    return TaskTemplate.objects.create(name="Kick-off", owner=manager, shared_with_team=team, title="Kick-off call",
                                       task_type="call", priority="high")


def _rule(manager, team, trigger, action="create_task", template=None, **fields):
    notify_users = fields.pop("notify_users", [])
    rule = AutomationRule(name=fields.pop("name", f"On {trigger}"), created_by=manager, team=team, trigger=trigger,
                          action=action, template=template, **fields)
    rule.full_clean()
    rule.save()
    rule.notify_users.set(notify_users)
    return rule


def _runs():
    return [(r.rule.name, r.status, r.object_label, r.depth, r.result)
            for r in AutomationRun.objects.select_related("rule").order_by("pk")]


def _notes():
    return sorted((n.recipient.username, n.verb, n.text) for n in Notification.objects.select_related("recipient"))


# ---- triggers --------------------------------------------------------------------------------

CREATED = {
    "individual_created": lambda: IndividualFactory(first_name="Ada", last_name="Lovelace"),
    "organization_created": lambda: OrganizationFactory(name="Acme"),
    "ticket_created": lambda: TicketFactory(subject="Printer broken"),
    "opportunity_created": lambda: OpportunityFactory(name="Big deal"),
}


@pytest.mark.parametrize("trigger", list(CREATED))
def test_a_created_record_gets_a_task_from_the_template_linked_to_it(
        eager, django_capture_on_commit_callbacks, manager, team, kickoff, trigger):
    rule = _rule(manager, team, trigger, template=kickoff, name="Welcome")

    with django_capture_on_commit_callbacks(execute=True):
        record = CREATED[trigger]()

    task = Task.objects.get()
    assert (task.title, task.entity, task.task_type, task.priority, task.created_by) == (
        "Kick-off call", record, "call", "high", manager)
    assert _runs() == [("Welcome", "done", str(record), 0,
                        f"Created task “Kick-off call” (#{task.pk}), unassigned.")]
    assert list(AutomationRun.objects.get().tasks.all()) == [task]
    assert rule.runs.count() == 1


def test_an_opportunity_stage_change_acts_only_when_the_conditions_hold(
        eager, django_capture_on_commit_callbacks, manager, team, kickoff):
    _rule(manager, team, "opportunity_stage_changed", template=kickoff, name="Won from negotiation",
          conditions={"stage": ["won"], "previous_stage": "negotiation"}, distribute_to=team)
    won = OpportunityFactory(name="Won deal", stage="negotiation")
    skipped = OpportunityFactory(name="Lead to won", stage="lead")
    lost = OpportunityFactory(name="Lost deal", stage="negotiation")

    with django_capture_on_commit_callbacks(execute=True):
        for opportunity, stage in ((won, "won"), (skipped, "won"), (lost, "lost")):
            opportunity.stage = stage
            opportunity.save()
        won.name = "Won deal (renamed)"  # no stage change: no event
        won.save()

    assert [(t.title, t.entity, t.team) for t in Task.objects.all()] == [("Kick-off call", won, team)]
    assert [(name, status, label) for name, status, label, *_ in _runs()] == [
        ("Won from negotiation", "done", "Won deal (renamed)")]  # the record as the job found it


def test_a_ticket_status_change_notifies_the_chosen_people(
        eager, django_capture_on_commit_callbacks, manager, team, owner, teammate):
    _rule(manager, team, "ticket_status_changed", action="notify", conditions={"status": ["resolved"]},
          notify_users=[owner, teammate], name="Resolved tickets")
    ticket = TicketFactory(subject="Printer broken")

    with django_capture_on_commit_callbacks(execute=True):
        ticket.status = "resolved"
        ticket.save()

    label = str(ticket)
    assert _notes() == [("owner", "automation", f"A ticket changes status: {label}."),
                        ("teammate", "automation", f"A ticket changes status: {label}.")]
    assert _runs() == [("Resolved tickets", "done", label, 0, "Notified Olga Owner, Tom Mate.")]


def test_a_completed_call_chains_the_next_task_on_the_same_record(
        eager, django_capture_on_commit_callbacks, manager, team, owner):
    follow_up = TaskTemplate.objects.create(name="Follow-up", owner=manager, shared_with_team=team,
                                            title="Send the summary", task_type="email")
    _rule(manager, team, "task_completed", template=follow_up, conditions={"task_type": ["call"]},
          assign_to=owner, name="After a call")
    acme = OrganizationFactory(name="Acme")
    call = TaskFactory(title="Call Acme", task_type="call", team=team, assignee=owner, created_by=owner,
                       status="in_progress")
    call.set_entity(acme)
    call.save()
    email = TaskFactory(title="Email Acme", task_type="email", team=team, assignee=owner, created_by=owner,
                        status="in_progress")

    with django_capture_on_commit_callbacks(execute=True):
        services.task_complete(task=call, user=owner)
        services.task_complete(task=email, user=owner)

    made = Task.objects.exclude(pk__in=[call.pk, email.pk]).get()
    assert (made.title, made.entity, made.assignee, made.team) == ("Send the summary", acme, owner, None)
    assert [(name, status, label, depth) for name, status, label, depth, _ in _runs()] == [
        ("After a call", "done", "Call Acme", 0)]


def test_task_rules_of_a_team_only_hear_that_teams_tasks(eager, django_capture_on_commit_callbacks, manager, team,
                                                         owner, kickoff):
    _rule(manager, team, "task_completed", template=kickoff, name="Sales only")
    other = TaskFactory(title="Other team's call", team=TeamFactory(name="Support"), assignee=owner,
                        created_by=owner, status="in_progress")

    with django_capture_on_commit_callbacks(execute=True):
        services.task_complete(task=other, user=owner)

    assert (_runs(), Task.objects.count()) == ([], 1)


def test_a_rule_acts_once_per_event_even_if_the_job_runs_twice(manager, team, kickoff):
    _rule(manager, team, "organization_created", template=kickoff)
    acme = OrganizationFactory(name="Acme")
    event = automation.describe_event(trigger="organization_created", obj=acme)

    first = jobs.automation_event(**event)
    second = jobs.automation_event(**event)

    assert (len(first), second, Task.objects.count(), AutomationRun.objects.count()) == (1, [], 1, 1)


def test_disabled_rules_and_unmatched_conditions_do_nothing(manager, team, kickoff):
    _rule(manager, team, "ticket_created", template=kickoff, is_active=False)
    _rule(manager, team, "ticket_created", template=kickoff, conditions={"priority": ["urgent"]})
    ticket = TicketFactory(priority="low")

    jobs.automation_event(**automation.describe_event(trigger="ticket_created", obj=ticket))

    assert (Task.objects.count(), AutomationRun.objects.count()) == (0, 0)


def test_the_record_deleted_before_the_job_ran_means_nothing_to_do(manager, team, kickoff):
    _rule(manager, team, "organization_created", template=kickoff)
    acme = OrganizationFactory(name="Acme")
    event = automation.describe_event(trigger="organization_created", obj=acme)
    acme.delete()

    assert jobs.automation_event(**event) == []
    assert AutomationRun.objects.count() == 0


# ---- overdue escalation -------------------------------------------------------------------------


@pytest.fixture
def late_task(team, owner):
    return TaskFactory(title="Send the quote", team=team, assignee=owner, created_by=owner, priority="high",
                       due_at=datetime(2026, 3, 9, 17, 0, tzinfo=UTC))


def test_an_overdue_task_is_escalated_once_per_due_date(manager, team, teammate, owner, late_task):
    _rule(manager, team, "task_overdue", action="escalate", raise_priority=True, notify_manager=True,
          reassign_to=teammate, name="Escalate")
    TaskFactory(title="Not yet due", team=team, assignee=owner, due_at=datetime(2026, 3, 11, tzinfo=UTC))
    TaskFactory(title="Done late", team=team, assignee=owner, status="completed",
                due_at=datetime(2026, 3, 1, tzinfo=UTC))

    with time_machine.travel(NOW, tick=False):
        first = jobs.automation_overdue()
        second = jobs.automation_overdue()

    late_task.refresh_from_db()
    assert (first, second, late_task.priority, late_task.assignee) == (1, 0, "urgent", teammate)
    assert _runs() == [("Escalate", "done", "Send the quote", 0,
                        "Escalated “Send the quote”: priority high → urgent, reassigned to Tom Mate, "
                        "told Mona Ger (manager of Sales).")]
    assert sorted(n for n in _notes() if n[1] == "escalated") == [
        ("manager", "escalated", "“Send the quote” is overdue and was escalated by the rule “Escalate”.")]

    # A new deadline that passes again is a new event.
    late_task.due_at = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    late_task.save()
    with time_machine.travel(NOW, tick=False):
        third = jobs.automation_overdue()
    assert (third, [r[4] for r in _runs()][-1]) == (
        1, "Escalated “Send the quote”: priority already urgent, told Mona Ger (manager of Sales).")


def test_overdue_rules_filter_by_conditions_and_team(manager, team, owner, late_task):
    _rule(manager, team, "task_overdue", action="escalate", raise_priority=True, conditions={"task_type": ["call"]})
    TaskFactory(title="Late call elsewhere", task_type="call", team=TeamFactory(name="Support"),
                due_at=datetime(2026, 3, 1, tzinfo=UTC))
    late_call = TaskFactory(title="Late call", task_type="call", team=team, assignee=owner, created_by=owner,
                            due_at=datetime(2026, 3, 1, tzinfo=UTC))

    with time_machine.travel(NOW, tick=False):
        assert jobs.automation_overdue() == 1

    assert [label for _, _, label, _, _ in _runs()] == ["Late call"]
    late_call.refresh_from_db()
    assert late_call.priority == "high"


def test_two_overdue_scans_at_the_same_moment_escalate_once(transactional_db, manager, team, owner):
    _rule(manager, team, "task_overdue", action="escalate", raise_priority=True, name="Escalate")
    tasks = [TaskFactory(title=f"Late {i}", team=team, assignee=owner, created_by=owner, priority="low",
                         due_at=datetime(2026, 3, 1, tzinfo=UTC)) for i in range(5)]

    outcomes = run_at_once(lambda: automation.scan_overdue(now=NOW), lambda: automation.scan_overdue(now=NOW))

    errors = [value for kind, value in outcomes if kind == "error"]
    assert errors == []
    assert sum(value for _, value in outcomes) == 5
    priorities = Task.objects.filter(pk__in=[t.pk for t in tasks]).values_list("priority", flat=True)
    assert sorted(priorities) == ["medium"] * 5
    assert AutomationRun.objects.count() == 5


# ---- actions that fail, the loop limit ------------------------------------------------------------


def test_a_rule_whose_author_left_logs_a_failed_run_and_does_nothing(manager, team, kickoff):
    _rule(manager, team, "organization_created", template=kickoff, name="Welcome")
    manager.is_active = False
    manager.save()
    acme = OrganizationFactory(name="Acme")

    jobs.automation_event(**automation.describe_event(trigger="organization_created", obj=acme))

    assert _runs() == [("Welcome", "failed", "Acme", 0,
                        "Failed: The rule's author is no longer an active user; the rule needs a new owner.")]
    assert Task.objects.count() == 0


def test_rules_that_feed_each_other_stop_at_the_depth_limit(
        eager, django_capture_on_commit_callbacks, manager, team, owner):
    step = TaskTemplate.objects.create(name="Next", owner=manager, shared_with_team=team, title="Next step")
    rule = _rule(manager, team, "task_completed", template=step, assign_to=owner, distribute_to=team, name="Chain")
    current = TaskFactory(title="Start", team=team, assignee=owner, created_by=owner)

    for _ in range(automation.AUTOMATION_MAX_DEPTH + 1):
        with django_capture_on_commit_callbacks(execute=True):
            services.task_start(task=current, user=owner)
            services.task_complete(task=current, user=owner)
        current = Task.objects.filter(status="pending").order_by("-pk").first() or current

    runs = list(rule.runs.order_by("pk").values_list("depth", "status"))
    assert runs == [(0, "done"), (1, "done"), (2, "done"), (3, "done"), (4, "done"), (5, "stopped")]
    assert rule.runs.order_by("pk").last().result == (
        "Stopped: this event comes after 5 automated steps; rules stop at 5 so they cannot loop forever.")
    assert Task.objects.count() == 1 + automation.AUTOMATION_MAX_DEPTH


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fields, errors", [
    ({"trigger": "ticket_created", "action": ""},
     {"action": ["Choose what the rule does: create a task, notify people or escalate."]}),
    ({"trigger": "ticket_created", "action": "create_task"},
     {"template": ["Choose the template the new task is made from."]}),
    ({"trigger": "ticket_created", "action": "escalate", "raise_priority": True},
     {"action": ["Only an overdue task can be escalated: use it with “A task becomes overdue”."]}),
    ({"trigger": "task_overdue", "action": "escalate"},
     {"raise_priority": ["Choose how to escalate: raise the priority, notify the team manager or reassign."]}),
    ({"trigger": "task_completed", "action": "notify", "conditions": {"stage": ["won"]}},
     {"conditions": ["“stage” is not a condition for “A task is completed”: use task type, priority."]}),
    ({"trigger": "organization_created", "action": "notify", "conditions": {"stage": ["won"]}},
     {"conditions": ["“An organization is created” takes no conditions."]}),
    ({"trigger": "opportunity_created", "action": "notify", "conditions": {"stage": ["closed"]}},
     {"conditions": ["“closed” is not a value of opportunity stage: use lead, qualified, proposal, negotiation, "
                     "won, lost."]}),
    ({"trigger": "sometime", "action": "notify"},
     {"trigger": ["Value 'sometime' is not a valid choice.", "Choose when the rule acts."]}),
])
def test_a_rule_the_model_refuses_says_why(db, fields, errors):
    rule = AutomationRule(name="Bad", **fields)

    with pytest.raises(ValidationError) as exc:
        rule.full_clean()

    assert exc.value.message_dict == errors


def test_rule_save_refuses_a_notify_rule_without_people_and_saves_nothing(manager, team):
    with pytest.raises(ValidationError) as exc:
        automation.rule_save(user=manager, data={"name": "Tell", "team": team, "trigger": "ticket_created",
                                                 "action": "notify"})

    assert exc.value.message_dict == {"notify_users": ["Choose at least one person to notify."]}
    assert AutomationRule.objects.count() == 0


def test_only_managers_and_staff_make_rules_and_managers_only_for_their_teams(manager, owner, staff, team):
    other = TeamFactory(name="Support")
    data = {"name": "Tell", "trigger": "ticket_created", "action": "notify"}

    with pytest.raises(PermissionDenied):
        automation.rule_save(user=owner, data={**data, "team": team}, notify_users=[owner])
    with pytest.raises(ValidationError) as exc:
        automation.rule_save(user=manager, data={**data, "team": other}, notify_users=[owner])
    rule = automation.rule_save(user=staff, data={**data, "team": None}, notify_users=[owner])

    assert exc.value.message_dict == {"team": ["You can only make rules for teams you manage."]}
    assert list(AutomationRule.objects.values_list("name", "team", "created_by")) == [("Tell", None, staff.pk)]
    assert list(rule.notify_users.all()) == [owner]


# ---- pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [("manager", 200), ("staff", 200), ("owner", 404), ("outsider", 404)])
def test_the_rules_page_is_for_managers_and_staff(client, request, who, status, team):
    client.force_login(request.getfixturevalue(who))

    assert client.get("/automation/").status_code == status
    assert client.get("/automation/runs/").status_code == status
    assert client.get("/automation/new/").status_code == status


def test_a_manager_sees_only_the_rules_of_their_teams(client, manager, team, kickoff):
    _rule(manager, team, "organization_created", template=kickoff, name="Ours")
    boss = UserFactory(username="boss")
    support = TeamFactory(name="Support", manager=boss)
    theirs = _rule(boss, support, "ticket_created", action="notify", notify_users=[boss], name="Theirs")
    client.force_login(manager)

    response = client.get("/automation/")

    assert [row[0] for row in html.rows(response)] == ["Ours by Mona Ger"]
    assert client.get(f"/automation/{theirs.pk}/edit/").status_code == 404
    assert client.post(f"/automation/{theirs.pk}/active/", {"is_active": "false"}).status_code == 404
    assert AutomationRule.objects.get(pk=theirs.pk).is_active is True


def test_create_a_rule_on_the_page(client, manager, team, kickoff, owner):
    client.force_login(manager)

    response = client.post("/automation/new/", {
        "name": "Won deals", "team": team.pk, "trigger": "opportunity_stage_changed", "if_stage": ["won"],
        "action": "create_task", "template": kickoff.pk, "distribute_to": team.pk, "is_active": "on",
    })

    assert response.status_code == 302
    rule = AutomationRule.objects.get()
    assert (rule.name, rule.team, rule.trigger, rule.conditions, rule.action, rule.template, rule.distribute_to,
            rule.created_by, rule.is_active) == (
        "Won deals", team, "opportunity_stage_changed", {"stage": ["won"]}, "create_task", kickoff, team, manager, True)


def test_a_rule_without_an_action_is_a_400_with_the_reason_and_nothing_saved(client, manager, team):
    client.force_login(manager)

    response = client.post("/automation/new/", {"name": "Half a rule", "team": team.pk, "trigger": "ticket_created",
                                                "if_stage": ["won"]})

    assert response.status_code == 400
    assert html.field_errors(response) == {
        "if_stage": ["This condition does not apply to “A ticket is created”."],
    }
    response = client.post("/automation/new/", {"name": "Half a rule", "team": team.pk, "trigger": "ticket_created"})
    assert response.status_code == 400
    assert html.field_errors(response) == {
        "action": ["Choose what the rule does: create a task, notify people or escalate."]}
    assert AutomationRule.objects.count() == 0


def test_disable_and_enable_a_rule(client, manager, team, kickoff):
    rule = _rule(manager, team, "organization_created", template=kickoff, name="Welcome")
    client.force_login(manager)

    disabled = client.post(f"/automation/{rule.pk}/active/", {"is_active": "false"}, follow=True)
    state_after_disable = AutomationRule.objects.get(pk=rule.pk).is_active
    bad = client.post(f"/automation/{rule.pk}/active/", {"is_active": "maybe"})
    enabled = client.post(f"/automation/{rule.pk}/active/", {"is_active": "true"})

    assert html.messages(disabled) == ["Rule “Welcome” is disabled."]
    assert (state_after_disable, bad.status_code, enabled.status_code) == (False, 400, 302)
    assert html.messages(bad) == ["Say whether to enable or disable the rule."]
    assert AutomationRule.objects.get(pk=rule.pk).is_active is True


def test_the_runs_page_lists_what_rules_did_with_a_fixed_number_of_queries(client, manager, team, kickoff):
    rule = _rule(manager, team, "organization_created", template=kickoff, name="Welcome")
    client.force_login(manager)
    jobs.automation_event(**automation.describe_event(trigger="organization_created",
                                                      obj=OrganizationFactory(name="Org 0")))
    client.get("/automation/runs/")  # warm up per-process caches and the session
    with CaptureQueriesContext(connection) as one:
        client.get("/automation/runs/")
    for i in range(1, 8):
        jobs.automation_event(**automation.describe_event(trigger="organization_created",
                                                          obj=OrganizationFactory(name=f"Org {i}")))
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/automation/runs/?rule={rule.pk}")

    rows = html.rows(response)
    assert [r[1:3] for r in rows][-1] == ["Welcome", "An organization is created: Org 0"]
    assert len(rows) == 8
    assert len(many) <= len(one) + 1  # + the rule named in ?rule=
    assert client.get("/automation/runs/?rule=abc").status_code == 400


def test_a_member_without_a_managed_team_gets_404_not_the_form(client, owner, team):
    MembershipFactory(team=TeamFactory(name="Support"), user=owner)
    client.force_login(owner)

    assert client.post("/automation/new/", {"name": "x"}).status_code == 404
    assert AutomationRule.objects.count() == 0
