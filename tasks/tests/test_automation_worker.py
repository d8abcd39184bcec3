"""Through a real broker and worker: an opportunity moving to "won" creates a task through a rule."""

import pytest

from crm.testing.celery_worker import require_ci_services, wait_for
from crm.tests.factories import MembershipFactory, OpportunityFactory, TeamFactory, UserFactory
from tasks.models import Task, TaskTemplate
from tasks.models_automation import AutomationRule, AutomationRun

pytestmark = pytest.mark.celery_worker


def test_an_opportunity_stage_change_creates_a_task_through_a_rule_in_the_worker(celery_worker_process):
    require_ci_services()
    manager = UserFactory(username="mona", first_name="Mona", last_name="Ger")
    ann = UserFactory(username="ann", first_name="Ann", last_name="Able")
    team = TeamFactory(name="Sales", manager=manager, distribution_strategy="round_robin")
    MembershipFactory(team=team, user=ann)
    template = TaskTemplate.objects.create(name="Onboarding", owner=manager, shared_with_team=team,
                                           title="Onboard the customer", task_type="meeting", relative_due="+2 days")
    AutomationRule.objects.create(name="Won deals", created_by=manager, team=team,
                                  trigger="opportunity_stage_changed", conditions={"stage": ["won"]},
                                  action="create_task", template=template, distribute_to=team)
    deal = OpportunityFactory(name="Big deal", stage="negotiation")

    deal.stage = "won"
    deal.save()  # autocommit: the on_commit hook queues the job through the real broker at once

    task = wait_for(lambda: Task.objects.filter(title="Onboard the customer").first())
    assert task is not None, f"No task within 30 s. Worker output:\n{celery_worker_process.output}"
    assert (task.entity, task.team, task.assignee, task.all_day, task.created_by) == (deal, team, ann, True, manager)
    run = AutomationRun.objects.get()
    assert (run.rule.name, run.status, run.object_label, list(run.tasks.all())) == (
        "Won deals", "done", "Big deal", [task])
    assert "tasks.automation_event" in celery_worker_process.output
