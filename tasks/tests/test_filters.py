"""The task list's filters, quick views, search and sorting (selectors.task_list + filters.TaskFilter).

Every test reads the list as `owner` in Los Angeles on Wednesday 12 March 2025, 10:00.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.tests.factories import IndividualFactory, OrganizationFactory
from tasks import dates, selectors
from tasks.models import Task
from tasks.tests.factories import TaskFactory

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=LA)


def _all_day(day):
    return {"due_at": dates.date_as_utc_midnight(day), "all_day": True}


@pytest.fixture
def board(owner, teammate, outsider, team):
    acme = OrganizationFactory(name="Acme")
    other_org = OrganizationFactory(name="Globex")
    ida = IndividualFactory(first_name="Ida", last_name="Ives")
    t = {}

    def add(title, **kwargs):
        kwargs.setdefault("created_by", owner)
        entity = kwargs.pop("entity", None)
        tags = kwargs.pop("tags", None)
        task = TaskFactory(title=title, **kwargs)
        if entity is not None:
            task.set_entity(entity)
            task.save()
        if tags:
            task.tags.set(tags)
        t[title] = task

    with time_machine.travel(datetime(2025, 3, 1, 12, 0, tzinfo=LA), tick=False):
        add("Call Ada", task_type="call", priority="high", assignee=owner, entity=acme, tags=["VIP"],
            due_at=datetime(2025, 3, 12, 23, 30, tzinfo=LA))  # 13 March in UTC
        add("Email Bob", task_type="email", priority="low", status="in_progress", assignee=teammate, team=team,
            description="Mention the invoice.", **_all_day(date(2025, 3, 12)))
        add("Demo for Acme", task_type="demo", priority="urgent", status="waiting", team=team, entity=acme,
            due_at=datetime(2025, 3, 11, 9, 0, tzinfo=LA))
        add("Contract draft", task_type="contract", status="blocked", entity=ida, **_all_day(date(2025, 3, 16)))
        add("Follow up Zed", task_type="follow_up", assignee=owner, outcome="Zed asked for pricing.",
            **_all_day(date(2025, 3, 9)))
        add("Late call", task_type="call", created_by=teammate, team=team, assignee=teammate,
            due_at=datetime(2025, 3, 13, 0, 30, tzinfo=LA))
        add("Someday", priority="low")
        add("Done call", task_type="call", priority="high", status="completed", assignee=owner,
            outcome="Pricing agreed.", due_at=datetime(2025, 3, 1, 9, 0, tzinfo=LA))
        add("Dropped", status="cancelled", entity=other_org)
        add("Not mine to see", created_by=outsider, assignee=outsider, tags=["VIP"],
            due_at=datetime(2025, 3, 12, 9, 0, tzinfo=LA))
    t["acme"], t["globex"], t["ida"] = acme, other_org, ida
    return t


OPEN = {"Call Ada", "Email Bob", "Demo for Acme", "Contract draft", "Follow up Zed", "Late call", "Someday"}


def _list(user, query=""):
    with timezone.override(LA), time_machine.travel(NOW, tick=False):
        _filterset, qs = selectors.task_list(user=user, params=QueryDict(query))
        return [task.title for task in qs]


def _titles(user, query=""):
    titles = _list(user, query)
    assert len(titles) == len(set(titles)), "a task is listed twice"
    return set(titles)


def test_default_lists_the_open_tasks_the_user_may_see(board, owner):
    assert _titles(owner) == OPEN


def test_an_empty_query_is_the_default(board, owner):
    assert _titles(owner, "q=&o=&view=&assignee=&team=&entity_type=&entity=&tag=&due_after=&due_before=") == OPEN


@pytest.mark.parametrize("query,expected", [
    ("status=pending", {"Call Ada", "Follow up Zed", "Late call", "Someday"}),
    ("status=completed&status=cancelled", {"Done call", "Dropped"}),
    ("status=waiting&status=blocked", {"Demo for Acme", "Contract draft"}),
])
def test_status_picks_any_of_several(board, owner, query, expected):
    assert _titles(owner, query) == expected


@pytest.mark.parametrize("query,expected", [
    ("priority=high&priority=urgent", {"Call Ada", "Demo for Acme"}),
    ("priority=low", {"Email Bob", "Someday"}),
    ("task_type=call", {"Call Ada", "Late call"}),
    ("task_type=call&status=completed", {"Done call"}),
    ("task_type=email&task_type=demo", {"Email Bob", "Demo for Acme"}),
])
def test_priority_and_type(board, owner, query, expected):
    assert _titles(owner, query) == expected


def test_assignee(board, owner, teammate):
    assert {
        "me": _titles(owner, "assignee=me"),
        "unassigned": _titles(owner, "assignee=unassigned"),
        "anyone": _titles(owner, "assignee=anyone"),
        "teammate": _titles(owner, f"assignee={teammate.pk}"),
        "nonsense": _titles(owner, "assignee=bob"),
    } == {
        "me": {"Call Ada", "Follow up Zed"},
        "unassigned": {"Demo for Acme", "Contract draft", "Someday"},
        "anyone": OPEN,
        "teammate": {"Email Bob", "Late call"},
        "nonsense": set(),
    }


def test_team(board, owner, team):
    assert _titles(owner, f"team={team.pk}") == {"Email Bob", "Demo for Acme", "Late call"}


def test_linked_entity(board, owner):
    acme, globex, ida = board["acme"], board["globex"], board["ida"]

    assert {
        "organization": _titles(owner, "entity_type=organization"),
        "individual": _titles(owner, "entity_type=individual"),
        "global": _titles(owner, "entity_type=none"),
        "acme": _titles(owner, f"entity_type=organization&entity={acme.pk}"),
        "globex, closed too": _titles(owner, f"entity_type=organization&entity={globex.pk}"
                                             "&status=cancelled&status=pending"),
        "ida": _titles(owner, f"entity_type=individual&entity={ida.pk}"),
    } == {
        "organization": {"Call Ada", "Demo for Acme"},
        "individual": {"Contract draft"},
        "global": {"Email Bob", "Follow up Zed", "Late call", "Someday"},
        "acme": {"Call Ada", "Demo for Acme"},
        "globex, closed too": {"Dropped"},
        "ida": {"Contract draft"},
    }


def test_an_unknown_entity_type_is_an_invalid_filter(board, owner):
    filterset, qs = selectors.task_list(user=owner, params=QueryDict("entity_type=planet"))

    assert (list(qs), list(filterset.errors)) == ([], ["entity_type"])


def test_tag_ignores_case(board, owner):
    assert (_titles(owner, "tag=vip"), _titles(owner, "tag=VIP"), _titles(owner, "tag=nothing")) == (
        {"Call Ada"}, {"Call Ada"}, set(),
    )


@pytest.mark.parametrize("query,expected", [
    # Call Ada is due 12 March 23:30 in Los Angeles (13 March in UTC); Email Bob is all day on 12 March.
    ("due_after=2025-03-12", {"Call Ada", "Email Bob", "Contract draft", "Late call"}),
    ("due_after=2025-03-13", {"Contract draft", "Late call"}),
    ("due_before=2025-03-11", {"Demo for Acme", "Follow up Zed"}),
    ("due_before=2025-03-12", {"Demo for Acme", "Follow up Zed", "Call Ada", "Email Bob"}),
    ("due_after=2025-03-12&due_before=2025-03-12", {"Call Ada", "Email Bob"}),
    ("due_after=2025-03-16&due_before=2025-03-16", {"Contract draft"}),
    ("due_after=2025-03-09&due_before=2025-03-09", {"Follow up Zed"}),
])
def test_due_range_is_inclusive_in_local_days(board, owner, query, expected):
    assert _titles(owner, query) == expected


def test_overdue_flag(board, owner):
    assert (_titles(owner, "overdue=true"), _titles(owner, "overdue=false")) == (
        {"Demo for Acme", "Follow up Zed"}, OPEN,
    )


@pytest.mark.parametrize("view,expected", [
    ("mine", {"Call Ada", "Follow up Zed"}),
    ("team_queue", {"Demo for Acme"}),
    ("overdue", {"Demo for Acme", "Follow up Zed"}),
    ("today", {"Call Ada", "Email Bob"}),
    ("week", {"Call Ada", "Email Bob", "Demo for Acme", "Contract draft", "Late call"}),
])
def test_quick_views(board, owner, view, expected):
    assert _titles(owner, f"view={view}") == expected


def test_team_queue_of_someone_in_no_team_is_empty(board, outsider):
    assert _titles(outsider, "view=team_queue") == set()


def test_outsider_sees_only_their_own_task(board, outsider):
    assert (_titles(outsider), _titles(outsider, "tag=vip")) == ({"Not mine to see"}, {"Not mine to see"})


@pytest.mark.parametrize("query,expected", [
    ("q=invoice", {"Email Bob"}),                         # description
    ("q=PRICING", {"Follow up Zed"}),                     # outcome, any case
    ("q=pricing&status=completed", {"Done call"}),
    ("q=acme", {"Demo for Acme"}),                        # title
    ("q=  call  ", {"Call Ada", "Late call"}),
    ("q=nowhere", set()),
])
def test_search_in_title_description_and_outcome(board, owner, query, expected):
    assert _titles(owner, query) == expected


def test_default_order_is_due_then_priority_with_undated_last(board, owner):
    assert _list(owner) == [
        "Follow up Zed", "Demo for Acme", "Email Bob", "Call Ada", "Late call", "Contract draft", "Someday",
    ]


@pytest.mark.parametrize("order,expected", [
    ("priority", ["Email Bob", "Someday", "Contract draft", "Follow up Zed", "Late call", "Call Ada",
                  "Demo for Acme"]),
    ("-priority", ["Demo for Acme", "Call Ada", "Contract draft", "Follow up Zed", "Late call", "Email Bob",
                   "Someday"]),
    ("due", ["Follow up Zed", "Demo for Acme", "Email Bob", "Call Ada", "Late call", "Contract draft", "Someday"]),
    ("-due", ["Contract draft", "Late call", "Call Ada", "Email Bob", "Demo for Acme", "Follow up Zed", "Someday"]),
    ("title", ["Call Ada", "Contract draft", "Demo for Acme", "Email Bob", "Follow up Zed", "Late call",
               "Someday"]),
])
def test_ordering(board, owner, order, expected):
    assert _list(owner, f"o={order}") == expected


def test_an_unknown_ordering_lists_nothing_and_reports_the_error(board, owner):
    filterset, qs = selectors.task_list(user=owner, params=QueryDict("o=secret_field"))

    assert (list(qs), list(filterset.errors)) == ([], ["o"])


def test_an_unknown_status_lists_nothing_and_reports_the_error(board, owner):
    filterset, qs = selectors.task_list(user=owner, params=QueryDict("status=overdue"))

    assert (list(qs), list(filterset.errors)) == ([], ["status"])


def test_rows_carry_subtask_progress(board, owner):
    parent = board["Call Ada"]
    TaskFactory(title="Dial", created_by=owner, parent=parent, status="completed")
    TaskFactory(title="Write notes", created_by=owner, parent=parent)

    with timezone.override(LA), time_machine.travel(NOW, tick=False):
        _filterset, qs = selectors.task_list(user=owner, params=QueryDict("q=call ada"))
        rows = [(r.title, r.subtasks_total, r.subtasks_done) for r in selectors.decorate_rows(qs, owner)]

    assert rows == [("Call Ada", 2, 1)]


def _list_rows_and_queries(owner, team, n):
    for i in range(n):
        task = TaskFactory(title=f"Row {i}", created_by=owner, team=team, assignee=owner, tags=["a", "b"])
        task.set_entity(OrganizationFactory(name=f"Org {i}"))
        task.save()
        TaskFactory(title=f"Sub {i}", created_by=owner, parent=task)
    reader = type(owner).objects.get(pk=owner.pk)  # as in a new request: nothing cached on the user
    with CaptureQueriesContext(connection) as ctx:
        _filterset, qs = selectors.task_list(user=reader, params=QueryDict("q=row&o=title"))
        rows = [(r.title, r.assignee.username, r.team.name, str(r.entity), sorted(t.name for t in r.tags.all()),
                 r.subtasks_total) for r in selectors.decorate_rows(qs, reader)]
    return rows, len(ctx.captured_queries)


def test_list_query_count_does_not_grow_with_rows(owner, team):
    one_row, queries_for_one = _list_rows_and_queries(owner, team, 1)
    Task.objects.all().delete()

    many_rows, queries_for_many = _list_rows_and_queries(owner, team, 12)

    assert one_row == [("Row 0", "owner", "Sales", "Org 0", ["a", "b"], 1)]
    assert len(many_rows) == 12
    assert queries_for_many == queries_for_one


@pytest.mark.parametrize("query,expected", [
    ("due_after=1900-01-01", OPEN - {"Someday"}),
    ("due_after=0001-01-01", OPEN - {"Someday"}),
    ("due_before=9999-12-31", OPEN - {"Someday"}),
    ("due_before=0001-01-02", set()),
    ("due_after=9999-12-30", set()),
])
def test_far_away_dates_are_open_ended_and_do_not_break_the_list(board, owner, query, expected):
    assert _titles(owner, query) == expected
