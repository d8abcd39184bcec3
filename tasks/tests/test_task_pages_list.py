"""The task list page /tasks/: what a user sees with each filter, quick view, search, sort and page.

The board is read by `owner` (Los Angeles) on Wednesday 12 March 2025, 10:00.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.tests import html
from crm.tests.factories import IndividualFactory, OrganizationFactory, UserFactory, set_time_zone
from tasks import dates
from tasks.models import Task
from tasks.tests.factories import ParticipantFactory, TaskFactory

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=LA)
ALL_STATUSES = "status=pending&status=in_progress&status=waiting&status=blocked&status=completed&status=cancelled"


def all_day(day):
    return {"due_at": dates.date_as_utc_midnight(day), "all_day": True}


def listed(response):
    """Titles of the rows of the task table, in order."""
    table = html.main(response).find("table", cls="task-table")
    return [td.find("a").text() for td in table.find_all("td", cls="task-title")]


def get(client, user, url):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(url)


@pytest.fixture
def board(owner, teammate, outsider, team):
    set_time_zone(owner, "America/Los_Angeles")
    acme = OrganizationFactory(name="Acme")
    globex = OrganizationFactory(name="Globex")
    ida = IndividualFactory(first_name="Ida", last_name="Ives")
    made = {"acme": acme, "globex": globex, "ida": ida}

    def add(title, entity=None, **kwargs):
        kwargs.setdefault("created_by", owner)
        task = TaskFactory(title=title, **kwargs)
        if entity is not None:
            task.set_entity(entity)
            task.save()
        made[title] = task

    with time_machine.travel(datetime(2025, 3, 1, 12, 0, tzinfo=LA), tick=False):
        add("Call Ada", task_type="call", priority="high", assignee=owner, entity=acme, tags=["VIP"],
            due_at=datetime(2025, 3, 12, 23, 30, tzinfo=LA))
        add("Email Bob", task_type="email", priority="low", status="in_progress", assignee=teammate, team=team,
            description="Mention the invoice.", **all_day(date(2025, 3, 12)))
        add("Demo for Acme", task_type="demo", priority="urgent", status="waiting", team=team, entity=acme,
            due_at=datetime(2025, 3, 11, 9, 0, tzinfo=LA))
        add("Contract draft", task_type="contract", status="blocked", entity=ida, **all_day(date(2025, 3, 16)))
        add("Follow up Zed", task_type="follow_up", assignee=owner, outcome="Zed asked for pricing.",
            **all_day(date(2025, 3, 9)))
        add("Someday", priority="low")
        add("Done call", task_type="call", priority="high", status="completed", assignee=owner,
            outcome="Pricing agreed.", due_at=datetime(2025, 3, 1, 9, 0, tzinfo=LA))
        add("Dropped", status="cancelled", entity=globex)
        add("Not mine to see", created_by=outsider, assignee=outsider, tags=["VIP"],
            due_at=datetime(2025, 3, 12, 9, 0, tzinfo=LA))
    return made


OPEN = {"Call Ada", "Email Bob", "Demo for Acme", "Contract draft", "Follow up Zed", "Someday"}


def test_the_list_shows_open_tasks_by_default_with_every_column(client, owner, board):
    response = get(client, owner, "/tasks/?o=title")

    assert response.status_code == 200
    assert html.column_headers(response) == [
        "", "Title ▲", "Type", "Status", "Priority", "Due", "Assignee", "Team", "Linked to"]
    assert html.rows(response) == [
        ["", "Call Ada VIP", "Call", "Pending", "High", "12 Mar 2025, 23:30", "Olga Owner", "", "Acme Organization"],
        ["", "Contract draft", "Contract", "Blocked", "Medium", "16 Mar 2025", "Unassigned Claim", "",
         "Ida Ives Individual"],
        ["", "Demo for Acme", "Demo", "Waiting", "Urgent", "11 Mar 2025, 09:00 overdue", "Unassigned Claim", "Sales",
         "Acme Organization"],
        ["", "Email Bob", "Email", "In progress", "Low", "12 Mar 2025", "Tom Mate", "Sales", "Global"],
        ["", "Follow up Zed", "Follow-up", "Pending", "Medium", "9 Mar 2025 overdue", "Olga Owner", "", "Global"],
        ["", "Someday", "Other", "Pending", "Low", "—", "Unassigned Claim", "", "Global"],
    ]


@pytest.mark.parametrize("query, expected", [
    ("status=completed", {"Done call"}),
    ("status=cancelled", {"Dropped"}),
    ("status=waiting&status=blocked", {"Demo for Acme", "Contract draft"}),
    (ALL_STATUSES, OPEN | {"Done call", "Dropped"}),
    ("priority=high&priority=urgent", {"Call Ada", "Demo for Acme"}),
    ("task_type=call", {"Call Ada"}),
    ("task_type=email&task_type=demo", {"Email Bob", "Demo for Acme"}),
    ("assignee=me", {"Call Ada", "Follow up Zed"}),
    ("assignee=unassigned", {"Demo for Acme", "Contract draft", "Someday"}),
    ("assignee=anyone", OPEN),
    ("entity_type=organization", {"Call Ada", "Demo for Acme"}),
    ("entity_type=individual", {"Contract draft"}),
    ("entity_type=none", {"Email Bob", "Follow up Zed", "Someday"}),
    ("tag=vip", {"Call Ada"}),
    ("due_after=2025-03-12&due_before=2025-03-12", {"Call Ada", "Email Bob"}),
    ("due_after=2025-03-13", {"Contract draft"}),
    ("due_before=2025-03-10", {"Follow up Zed"}),
    ("overdue=true", {"Demo for Acme", "Follow up Zed"}),
    ("view=mine", {"Call Ada", "Follow up Zed"}),
    ("view=team_queue", {"Demo for Acme"}),
    ("view=overdue", {"Demo for Acme", "Follow up Zed"}),
    ("view=today", {"Call Ada", "Email Bob"}),
    ("view=week", {"Call Ada", "Email Bob", "Demo for Acme", "Contract draft"}),
    ("q=invoice", {"Email Bob"}),
    ("q=PRICING&" + ALL_STATUSES, {"Follow up Zed", "Done call"}),
    ("q=ada", {"Call Ada"}),
])
def test_each_filter_shows_exactly_the_matching_visible_tasks(client, owner, board, query, expected):
    response = get(client, owner, f"/tasks/?{query}")

    assert response.status_code == 200
    assert set(listed(response)) == expected


def test_filters_by_a_named_user_team_and_entity(client, owner, teammate, team, board):
    by_user = get(client, owner, f"/tasks/?assignee={teammate.pk}")
    by_team = get(client, owner, f"/tasks/?team={team.pk}")
    by_entity = get(client, owner, f"/tasks/?entity_type=organization&entity={board['acme'].pk}&{ALL_STATUSES}")

    assert set(listed(by_user)) == {"Email Bob"}
    assert set(listed(by_team)) == {"Email Bob", "Demo for Acme"}
    assert set(listed(by_entity)) == {"Call Ada", "Demo for Acme"}
    assert "Only tasks linked to Acme." in html.main(by_entity).find("form", cls="task-filters").text()


def test_status_links_are_one_click_away_and_keep_the_other_filters(client, owner, board):
    response = get(client, owner, "/tasks/?priority=high")
    links = dict(html.links(html.main(response).find("div", cls="status-links")))

    assert list(links) == ["Open", "Completed", "Cancelled", "All"]
    assert set(listed(get(client, owner, "/tasks/" + links["Completed"]))) == {"Done call"}
    assert set(listed(get(client, owner, "/tasks/" + links["All"]))) == {"Call Ada", "Done call"}
    assert set(listed(get(client, owner, "/tasks/" + links["Open"]))) == {"Call Ada"}


def test_quick_views_are_pill_links_marking_the_current_one(client, owner, board):
    response = get(client, owner, "/tasks/?view=overdue")
    pills = html.main(response).find("ul", cls="quick-views")

    assert html.links(pills) == [
        ("All", "?"), ("My tasks", "?view=mine"), ("Unassigned in my teams", "?view=team_queue"),
        ("Overdue", "?view=overdue"), ("Due today", "?view=today"), ("This week", "?view=week"),
    ]
    assert [a.text() for a in pills.find_all("a", cls="active")] == ["Overdue"]


def test_the_url_carries_the_filters_so_the_form_shows_them_again(client, owner, board):
    response = get(client, owner,
                   "/tasks/?q=acme&priority=urgent&status=waiting&tag=vip&due_after=2025-03-01&view=week")
    form = html.main(response).find("form", cls="task-filters")

    assert form.find("input", name="q").attrs["value"] == "acme"
    assert form.find("input", name="tag").attrs["value"] == "vip"
    assert form.find("input", name="due_after").attrs["value"] == "2025-03-01"
    assert form.find("input", type="hidden", name="view").attrs["value"] == "week"
    assert [i.attrs["value"] for i in form.find_all("input", name="priority") if "checked" in i.attrs] == ["urgent"]
    assert [i.attrs["value"] for i in form.find_all("input", name="status") if "checked" in i.attrs] == ["waiting"]


def test_sorting_by_a_column_and_back(client, owner, board):
    by_title = get(client, owner, "/tasks/?o=title")
    by_priority_desc = get(client, owner, "/tasks/?o=-priority")
    header_links = dict(html.links(html.main(by_title).find("table").find("thead")))

    assert listed(by_title) == sorted(OPEN)
    assert listed(by_priority_desc)[:2] == ["Demo for Acme", "Call Ada"]
    assert listed(by_priority_desc)[-2:] == ["Email Bob", "Someday"]
    assert header_links["Title ▲"] == "?o=-title"
    assert header_links["Due"] == "?o=due"


def test_default_order_is_by_due_date_with_undated_last(client, owner, board):
    response = get(client, owner, "/tasks/")

    assert listed(response) == ["Follow up Zed", "Demo for Acme", "Email Bob", "Call Ada", "Contract draft",
                                "Someday"]


def test_bad_filters_answer_400_with_a_message_and_no_rows(client, owner, board):
    bad_status = get(client, owner, "/tasks/?status=bogus")
    bad_sort = get(client, owner, "/tasks/?o=password")

    assert bad_status.status_code == 400
    assert listed(bad_status) == []
    assert "Select a valid choice. bogus is not one of the available choices." in html.main(bad_status).text()
    assert bad_sort.status_code == 400
    assert "Sort:" in html.main(bad_sort).find("form", cls="task-filters").text()


def test_pages_of_25_keep_the_filters_in_their_links(client, owner, settings):
    settings.PAGE_SIZE = 25
    for n in range(27):
        TaskFactory(title=f"Batch {n:02d}", created_by=owner, priority="high")
    TaskFactory(title="Low one", created_by=owner, priority="low")

    first = get(client, owner, "/tasks/?priority=high&o=title")
    second = get(client, owner, "/tasks/?priority=high&o=title&page=2")

    assert listed(first) == [f"Batch {n:02d}" for n in range(25)]
    assert listed(second) == ["Batch 25", "Batch 26"]
    pages = html.main(first).find("nav", **{"aria-label": "Pages"})
    assert ("Next ›", "?priority=high&o=title&page=2") in html.links(pages)


def test_each_user_lists_only_the_tasks_they_may_see(client, owner, teammate, outsider, staff, board):
    as_teammate = get(client, teammate, "/tasks/")
    as_outsider = get(client, outsider, "/tasks/")
    as_staff = get(client, staff, "/tasks/")

    assert set(listed(as_teammate)) == {"Email Bob", "Demo for Acme"}
    assert set(listed(as_outsider)) == {"Not mine to see"}
    assert set(listed(as_staff)) == OPEN | {"Not mine to see"}


def test_claim_buttons_show_only_where_the_user_may_claim(client, owner, teammate, outsider, team):
    TaskFactory(title="Team queue", created_by=outsider, team=team)
    TaskFactory(title="Outsider's own", created_by=outsider)
    ParticipantFactory(task=Task.objects.get(title="Outsider's own"), user=teammate)

    response = get(client, teammate, "/tasks/?o=title")
    claimable = [tr.find("td", cls="task-title").text() for tr in html.main(response).find("tbody").find_all("tr")
                 if tr.find("button", type="submit")]

    assert listed(response) == ["Outsider's own", "Team queue"]
    assert claimable == ["Outsider's own", "Team queue"]


def test_bulk_checkboxes_are_disabled_for_tasks_the_user_may_not_change(client, teammate, outsider, team):
    TaskFactory(title="Mine", created_by=teammate)
    TaskFactory(title="Team task", created_by=outsider, team=team)

    response = get(client, teammate, "/tasks/?o=title")
    boxes = {tr.find("td", cls="task-title").text(): "disabled" in tr.find("input", name="ids").attrs
             for tr in html.main(response).find("tbody").find_all("tr")}

    assert boxes == {"Mine": False, "Team task": True}


def _list_queries(client, user, count, settings):
    settings.PAGE_SIZE = 100
    organization_tasks = []
    for n in range(count):
        org = OrganizationFactory()
        parent = TaskFactory(title=f"Row {n}", created_by=user, assignee=UserFactory(), team=None,
                             tags=["alpha", f"t{n}"], **all_day(date(2025, 3, 20)))
        parent.set_entity(org)
        parent.save()
        TaskFactory(title=f"Sub {n}", created_by=user, parent=parent, status="completed")
        organization_tasks.append(parent)
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/tasks/?entity_type=organization")
    assert len(listed(response)) == count
    return len(ctx.captured_queries)


def test_the_list_runs_the_same_number_of_queries_for_1_and_50_rows(client, owner, settings, team):
    one = _list_queries(client, owner, 1, settings)
    Task.objects.all().delete()

    fifty = _list_queries(client, owner, 50, settings)

    assert fifty == one, (one, fifty)
