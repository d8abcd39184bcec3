"""Demo data for projects: the seeds' telecom example as a project template, and one project made from it.

`seed_projects(users=..., teams=...)` (called by `manage.py seed_demo` after its users and teams)
is idempotent: the template is looked up by owner and name, the project by name, so running it
again creates nothing twice. The data is fixed (no randomness); dates count from today.

The template: connecting a telecom client. Cable laying waits for the line settings, and
billing entry waits for the physical connection (the router installed and tested).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from crm.models import Organization

from . import project_templates
from .models import Project, ProjectTemplate

TELECOM_NAME = "Connect a telecom client"
TELECOM_DESCRIPTION = ("From the signed order to the first invoice: line settings, cable, router, billing. "
                       "Each stage starts when the one before is done.")
TELECOM_STAGES = ["Order and line settings", "Physical connection", "Billing and handover"]
# (stage number, title, type, relative due from the project start, team name, waits for: line numbers)
TELECOM_LINES = [
    (1, "Check the signed order and contract", "contract", "+1d", "Sales", []),
    (1, "Prepare the line settings", "other", "+2d", "Support", []),
    (2, "Lay the cable to the client's premises", "other", "+5d", "Support", [2]),
    (2, "Install and test the router", "meeting", "+6d", "Support", [3]),
    (3, "Enter the client in billing", "other", "+7d", "Sales", [4]),
    (3, "Welcome call with the client", "call", "+8d", "Sales", [5]),
]
# name, organization, start (days from today), status, first stage done
DEMO_PROJECTS = [
    ("Connect Northwind Logistics", "Northwind Logistics GmbH", -3, "active", True),
    ("Connect Helios Solar Madrid office", "Helios Solar Systems S.L.", 5, "planned", False),
]
DEMO_PROJECT, DEMO_ORGANIZATION = DEMO_PROJECTS[0][:2]


def telecom_lines(teams):
    """TELECOM_LINES as project_templates.Line, teams looked up by name in `teams` ({name: Team})."""
    return [project_templates.Line(stage=stage, title=title, task_type=kind, relative_due=due,
                                   team=teams.get(team), depends_on=[n - 1 for n in waits])
            for stage, title, kind, due, team, waits in TELECOM_LINES]


def seed_telecom_template(*, owner, teams, shared_with=None):
    """The telecom project template of `owner` (created once)."""
    template = ProjectTemplate.objects.filter(owner=owner, name=TELECOM_NAME).first()
    if template is None:
        template = project_templates.template_save(
            user=owner, data={"name": TELECOM_NAME, "description": TELECOM_DESCRIPTION,
                              "shared_with_team": shared_with, "team": shared_with},
            stages=TELECOM_STAGES, lines=telecom_lines(teams))
    return template


def seed_projects(*, users, teams, stdout=None):
    """Create the telecom template (ana's, shared with Sales) and two projects from it: Northwind Logistics
    (started three days ago, its first stage done) and Helios Solar (starts in five days). Returns how many
    records it created."""
    users = users if isinstance(users, dict) else {u.username: u for u in users}
    teams = teams if isinstance(teams, dict) else {t.name: t for t in teams}
    ana, cara = users.get("ana"), users.get("cara")
    if ana is None:
        return 0
    created = 0
    with transaction.atomic():
        had_template = ProjectTemplate.objects.filter(owner=ana, name=TELECOM_NAME).exists()
        template = seed_telecom_template(owner=ana, teams=teams, shared_with=teams.get("Sales"))
        created += not had_template
        for name, organization_name, offset, status, first_stage_done in DEMO_PROJECTS:
            if Project.objects.filter(name=name).exists():
                continue
            organization = Organization.objects.filter(name=organization_name).first()
            project = project_templates.project_from_template(
                template=template, user=ana, name=name, start_date=timezone.localdate() + timedelta(days=offset),
                entity=organization, members=[cara] if cara else [])
            project.status = status
            project.save(update_fields=["status"])
            created += 1
            if first_stage_done:
                _play_first_stage(project, ana, users)
    if stdout is not None:
        stdout.write(f"Projects: {created} created.")
    return created


def _play_first_stage(project, manager, users):
    """Stage 1 done, so stage 2 is open: the demo shows every state (done, open, waiting)."""
    from tasks import services as task_services

    ben = users.get("ben")
    for task in project.tasks.filter(stage__position=1).order_by("pk"):
        if task.assignee_id is None and ben is not None:
            task = task_services.task_assign(task=task, user=manager, assignee=ben)
        task = task_services.task_start(task=task, user=manager)
        task_services.task_complete(task=task, user=manager, outcome="Done in the demo.")
