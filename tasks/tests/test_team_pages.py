"""Team pages: the queue with claim buttons, the members' workload, distribution settings, links from Teams.

Read on Wednesday 11 March 2026, 10:00 UTC (the readers' time zone): this week is 9–15 March.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Team, TeamMembership
from crm.tests import html
from crm.tests.factories import MembershipFactory, OrganizationFactory, TeamFactory, UserFactory
from tasks.models import Task
from tasks.tests.factories import TaskFactory

UTC = dt_timezone.utc
NOW = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)


def get(client, user, url):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(url)


# ---- queue -----------------------------------------------------------------------------------


@pytest.fixture
def queue(team, owner, manager):
    acme = OrganizationFactory(name="Acme")
    first = TaskFactory(title="Call Acme back", team=team, created_by=manager, task_type="call", priority="high",
                        due_at=datetime(2026, 3, 12, 15, 0, tzinfo=UTC))
    first.set_entity(acme)
    first.save()
    TaskFactory(title="Tidy the wiki", team=team, created_by=manager)
    TaskFactory(title="Taken", team=team, assignee=owner, created_by=manager)
    TaskFactory(title="Done", team=team, status="completed", created_by=manager)
    TaskFactory(title="Another team's", team=TeamFactory(name="Support"), created_by=manager)
    return first


def test_the_queue_lists_the_teams_open_unassigned_tasks_with_claim_buttons(client, queue, owner):
    response = get(client, owner, f"/teams/{queue.team_id}/queue/")

    assert response.status_code == 200
    assert html.rows(response) == [
        ["Call Acme back", "Call", "High", "12 Mar 2026, 15:00", "Acme Organization", "Mona Ger", "Claim"],
        ["Tidy the wiki", "Other", "Medium", "—", "Global", "Mona Ger", "Claim"],
    ]
    assert html.main(response).find("form", action=f"/tasks/{queue.pk}/claim/") is not None


@pytest.mark.parametrize("who, status", [("owner", 200), ("teammate", 200), ("manager", 200), ("staff", 200),
                                         ("outsider", 404)])
def test_who_sees_the_queue(client, request, queue, who, status):
    assert get(client, request.getfixturevalue(who), f"/teams/{queue.team_id}/queue/").status_code == status


def test_staff_who_is_not_in_the_team_sees_the_queue_without_claim_buttons(client, queue, staff):
    response = get(client, staff, f"/teams/{queue.team_id}/queue/")

    assert [row[-1] for row in html.rows(response)] == ["members only", "members only"]


def test_claiming_from_the_queue_comes_back_to_the_queue(client, queue, owner):
    client.force_login(owner)
    url = f"/teams/{queue.team_id}/queue/"

    response = client.post(f"/tasks/{queue.pk}/claim/", {"next": url})

    assert (response.status_code, response["Location"]) == (302, url)
    assert Task.objects.get(pk=queue.pk).assignee == owner
    assert [row[0] for row in html.rows(client.get(url))] == ["Tidy the wiki"]


def test_a_lost_claim_race_is_a_409_naming_who_took_it(client, queue, owner, teammate):
    Task.objects.filter(pk=queue.pk).update(assignee=teammate)
    client.force_login(owner)

    response = client.post(f"/tasks/{queue.pk}/claim/", {"next": f"/teams/{queue.team_id}/queue/"})

    assert response.status_code == 409
    assert any("Tom Mate" in text for text in html.messages(response))
    assert Task.objects.get(pk=queue.pk).assignee == teammate


def test_an_empty_queue_says_so(client, team, owner):
    response = get(client, owner, f"/teams/{team.pk}/queue/")

    assert html.rows(response) == [["The queue is empty: every open task of Sales has someone on it."]]


def test_the_queue_query_count_does_not_grow_with_rows(client, team, owner, manager):
    only = TaskFactory(title="Only one", team=team, created_by=manager)
    only.set_entity(OrganizationFactory(name="First org"))
    only.save()
    client.force_login(owner)
    client.get(f"/teams/{team.pk}/queue/")  # warm up per-process caches (content types, session)
    with CaptureQueriesContext(connection) as one:
        client.get(f"/teams/{team.pk}/queue/")
    orgs = [OrganizationFactory(name=f"Org {i}") for i in range(5)]
    for i in range(20):
        task = TaskFactory(title=f"Task {i}", team=team, created_by=manager,
                           parent=Task.objects.first() if i % 3 == 0 else None)
        task.set_entity(orgs[i % 5])
        task.save()
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/teams/{team.pk}/queue/")

    assert len(html.rows(response)) == 21
    assert len(many) == len(one)


# ---- workload --------------------------------------------------------------------------------


@pytest.fixture
def loads(team, owner, teammate):
    resting = UserFactory(username="resting", first_name="Rita", last_name="Rest")
    MembershipFactory(team=team, user=resting, is_active=False)
    TeamMembership.objects.filter(team=team, user=teammate).update(task_types=["call", "email"])
    support = TeamFactory(name="Support")
    TaskFactory(title="Today", team=team, assignee=owner, due_at=datetime(2026, 3, 11, 16, 0, tzinfo=UTC),
                expected_duration=timedelta(hours=2))
    TaskFactory(title="Yesterday", team=team, assignee=owner, due_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
                expected_duration=timedelta(minutes=60))
    TaskFactory(title="Next week", team=team, assignee=owner, due_at=datetime(2026, 3, 17, 9, 0, tzinfo=UTC),
                expected_duration=timedelta(hours=3))
    TaskFactory(title="Elsewhere", team=support, assignee=owner)
    TaskFactory(title="Finished", team=team, assignee=owner, status="completed",
                due_at=datetime(2026, 3, 11, 9, 0, tzinfo=UTC), expected_duration=timedelta(hours=5))
    TaskFactory(title="All day Sunday", team=team, assignee=teammate, all_day=True,
                due_at=datetime(2026, 3, 15, tzinfo=UTC), expected_duration=timedelta(minutes=30))
    TaskFactory(title="Waiting", team=team)
    return team


def test_the_workload_shows_each_members_open_overdue_and_week_load(client, loads, manager):
    response = get(client, manager, f"/teams/{loads.pk}/workload/")

    assert html.column_headers(response) == ["Member", "Open", "In Sales", "Overdue", "Due this week",
                                             "Est. hours this week", "Handles"]
    assert html.rows(response) == [
        ["Olga Owner busiest", "4", "3", "1", "2", "3.0", "all types"],
        ["Tom Mate", "1", "1", "0", "1", "0.5", "Call, Email"],
        ["Rita Rest inactive", "0", "0", "0", "0", "0.0", "all types"],
    ]
    footer = html.main(response).find("tfoot")
    assert [c.text() for c in footer.find_all() if c.tag in {"td", "th"}] == ["Total", "5", "4", "1", "3", "3.5", ""]
    owner_links = dict((text, href) for text, href in html.links(html.main(response).find("tbody").find("tr")))
    owner_id = TeamMembership.objects.get(team=loads, user__username="owner").user_id
    assert owner_links["Olga Owner"] == f"/tasks/?assignee={owner_id}"
    assert "1 task waiting in the queue" in html.main(response).text()


@pytest.mark.parametrize("who, status", [("owner", 200), ("manager", 200), ("staff", 200), ("outsider", 404)])
def test_who_sees_the_workload(client, request, loads, who, status):
    assert get(client, request.getfixturevalue(who), f"/teams/{loads.pk}/workload/").status_code == status


def test_the_workload_query_count_does_not_grow_with_members_or_tasks(client, team, owner, manager):
    TaskFactory(title="One", team=team, assignee=owner, due_at=NOW)
    get(client, manager, f"/teams/{team.pk}/workload/")  # warm up per-process caches and the session
    with CaptureQueriesContext(connection) as one:
        get(client, manager, f"/teams/{team.pk}/workload/")
    for i in range(6):
        user = UserFactory(username=f"member{i}")
        MembershipFactory(team=team, user=user)
        for j in range(4):
            TaskFactory(title=f"T{i}{j}", team=team, assignee=user, due_at=NOW + timedelta(hours=j - 2),
                        expected_duration=timedelta(minutes=30))
    with CaptureQueriesContext(connection) as many:
        response = get(client, manager, f"/teams/{team.pk}/workload/")

    assert len(html.rows(response)) == 8
    assert len(many) == len(one)


# ---- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [("manager", 200), ("staff", 200), ("owner", 403), ("outsider", 404)])
def test_who_opens_the_team_settings(client, request, team, who, status):
    assert get(client, request.getfixturevalue(who), f"/teams/{team.pk}/settings/").status_code == status


def _settings_post(team, strategy, **members):
    data = {"strategy": strategy}
    for membership in team.memberships.all():
        types, active = members.get(membership.user.username, ([], True))
        data[f"types_{membership.pk}"] = types
        if active:
            data[f"active_{membership.pk}"] = "on"
    return data


def test_the_manager_chooses_the_strategy_and_the_members_types(client, team, manager):
    client.force_login(manager)

    response = client.post(f"/teams/{team.pk}/settings/",
                           _settings_post(team, "by_task_type", owner=(["call", "demo"], True), teammate=([], False)),
                           follow=True)

    assert html.messages(response) == ["The settings of Sales are saved."]
    team.refresh_from_db()
    assert team.distribution_strategy == "by_task_type"
    assert sorted(team.memberships.values_list("user__username", "task_types", "is_active")) == [
        ("owner", ["call", "demo"], True), ("teammate", [], False)]


@pytest.mark.parametrize("strategy, members, field, message", [
    ("lottery", {}, "strategy", "Select a valid choice. lottery is not one of the available choices."),
    ("round_robin", {"owner": (["juggling"], True)}, "types",
     "Select a valid choice. juggling is not one of the available choices."),
])
def test_bad_settings_are_a_400_with_the_reason_and_nothing_saved(client, team, manager, strategy, members, field,
                                                                  message):
    client.force_login(manager)

    response = client.post(f"/teams/{team.pk}/settings/", _settings_post(team, strategy, **members))

    assert response.status_code == 400
    assert html.messages(response) == ["Nothing was saved: please correct the errors below."]
    assert [n.text() for n in html.main(response).find_all("div", cls="invalid-feedback")] == [message]
    team.refresh_from_db()
    assert (team.distribution_strategy, sorted(team.memberships.values_list("task_types", flat=True))) == (
        "claim", [[], []])


def test_a_member_cannot_post_settings(client, team, owner):
    client.force_login(owner)

    response = client.post(f"/teams/{team.pk}/settings/", _settings_post(team, "round_robin"))

    assert response.status_code == 403
    assert Team.objects.get(pk=team.pk).distribution_strategy == "claim"


# ---- links from the Teams page -------------------------------------------------------------------


@pytest.mark.parametrize("who, links", [
    ("owner", ["Queue", "Workload"]), ("manager", ["Queue", "Workload", "Settings"]), ("outsider", []),
])
def test_the_teams_page_links_to_the_pages_each_person_may_open(client, request, team, who, links):
    response = get(client, request.getfixturevalue(who), "/teams/")

    footers = html.main(response).find_all("div", data_testid="team-links")
    assert [text for footer in footers for text, _ in html.links(footer)] == links
