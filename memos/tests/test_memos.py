"""Memos: who may see them, recipients, send and review (and who is told), conversion into a task or a
project with the link back both ways, the list (boxes, statuses, progress, constant queries), reminders,
the entity Memos tab."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Notification
from crm.tests import html
from crm.tests.factories import OpportunityFactory, UserFactory, set_time_zone
from memos import services
from memos.models import Memo, MemoReminder
from projects import demo
from projects.models import Project
from tasks import services as task_services
from tasks.models import Task

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def notes(verb=None):
    qs = Notification.objects.select_related("recipient").order_by("pk")
    return [(n.recipient.username, n.verb, n.text) for n in (qs.filter(verb=verb) if verb else qs)]


@pytest.fixture
def deal(db):
    return OpportunityFactory(name="Fibre upgrade for Acme")


@pytest.fixture
def memo(owner, manager, team, deal):
    """Owner's memo to the Sales manager about the deal, sent."""
    return services.memo_create(author=owner, recipient=manager, subject="Acme wants fibre",
                                body="They asked twice this week.", entity=deal, send=True)


def rows(response):
    table = html.main(response).find("table", cls="memo-table")
    return [[td.text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr", cls="memo-row")]


# ---- who sees a memo ----------------------------------------------------------------------------


def test_author_recipient_and_staff_see_a_sent_memo_others_get_404(client, owner, manager, teammate, staff, memo):
    codes = {}
    for user in (owner, manager, staff, teammate):
        client.force_login(user)
        codes[user.username] = client.get(f"/memos/{memo.pk}/").status_code

    assert codes == {"owner": 200, "manager": 200, "staffer": 200, "teammate": 404}


def test_a_draft_is_the_authors_alone_until_sent(client, owner, manager, team):
    draft = services.memo_create(author=owner, recipient=manager, subject="Idea", body="Not ready")
    client.force_login(manager)

    before = client.get(f"/memos/{draft.pk}/").status_code
    services.memo_send(memo=draft, user=owner)
    after = client.get(f"/memos/{draft.pk}/").status_code

    assert (before, after) == (404, 200)


def test_a_memo_goes_to_a_department_head_or_manager_or_the_author(owner, manager, teammate, team):
    kept = services.memo_create(author=owner, recipient=owner, subject="Note to self", body="Remember")

    with pytest.raises(ValidationError) as refused:
        services.memo_create(author=owner, recipient=teammate, subject="To a colleague", body="Hi")

    assert kept.recipient == owner
    assert refused.value.messages == [
        "Tom Mate does not head a department or manage a team: send the memo to a manager, or keep it for yourself."]
    assert list(services.recipient_choices(owner).values_list("username", flat=True)) == ["manager", "owner"]


def test_the_form_offers_only_managers_and_the_author_and_refuses_others_with_400(client, owner, teammate, team):
    client.force_login(owner)

    page = client.get("/memos/new/")
    response = client.post("/memos/new/", {"recipient": teammate.pk, "subject": "Hi", "body": "Hello", "send": "1"})

    assert html.select_options(html.parse(page), "recipient") == [
        ("", "— choose —"), (str(team.manager_id), "Mona Ger"), (str(owner.pk), "Olga Owner (me)")]
    assert response.status_code == 400
    assert html.field_errors(response) == {
        "recipient": ["Select a valid choice. That choice is not one of the available choices."]}
    assert Memo.objects.count() == 0


# ---- send, review ---------------------------------------------------------------------------------


def test_sending_tells_the_recipient_and_reviewing_tells_the_author(client, owner, manager, team, deal):
    client.force_login(owner)
    client.post("/memos/new/", {"recipient": manager.pk, "subject": "Acme wants fibre", "body": "Twice this week.",
                                "entity_0": "opportunity", "entity_1": f"#{deal.pk}", "send": "1"}, follow=True)
    memo = Memo.objects.get()
    client.force_login(manager)

    response = client.post(f"/memos/{memo.pk}/review/", {"decision": "postponed", "note": "After the budget"},
                           follow=True)

    memo.refresh_from_db()
    assert (memo.status, memo.review_note, memo.entity) == ("postponed", "After the budget", deal)
    assert html.messages(response) == ["Memo marked postponed; Olga Owner is told."]
    assert notes() == [
        ("manager", "memo_sent", "Olga Owner sent you a memo: “Acme wants fibre”."),
        ("owner", "memo_reviewed", "Mona Ger postponed your memo “Acme wants fibre”: After the budget"),
    ]


def test_only_the_recipient_reviews_and_a_reviewed_memo_cannot_be_postponed(client, owner, manager, memo):
    client.force_login(owner)
    by_author = client.post(f"/memos/{memo.pk}/review/", {"decision": "reviewed"})
    services.memo_review(memo=memo, user=manager, decision="reviewed")
    client.force_login(manager)
    again = client.post(f"/memos/{memo.pk}/review/", {"decision": "postponed"})
    bad = client.post(f"/memos/{memo.pk}/review/", {"decision": "shred"})

    assert by_author.status_code == 403
    assert (again.status_code, html.messages(again)) == (400, ["A reviewed memo cannot be postponed."])
    assert (bad.status_code, html.messages(bad)) == (400, ["Choose to mark the memo reviewed or postpone it."])


def test_a_sent_memo_cannot_be_edited_or_sent_again(client, owner, memo):
    client.force_login(owner)

    edit = client.get(f"/memos/{memo.pk}/edit/")
    resend = client.post(f"/memos/{memo.pk}/send/")

    assert edit.status_code == 403
    assert (resend.status_code, html.messages(resend)) == (400, ["The memo was already sent."])


# ---- conversion -------------------------------------------------------------------------------------


def test_the_recipient_turns_a_memo_into_a_task_in_one_step_with_the_link_back(client, owner, manager, teammate,
                                                                              memo, deal):
    set_time_zone(manager, "Europe/Berlin")
    client.force_login(manager)

    response = client.post(f"/memos/{memo.pk}/convert/task/", {
        "title": "Quote fibre for Acme", "task_type": "proposal", "priority": "high", "due_date": "2025-03-14",
        "assignee": teammate.pk}, follow=True)

    task = Task.objects.get()
    memo.refresh_from_db()
    assert html.messages(response) == ["The memo is now the task “Quote fibre for Acme”."]
    assert (memo.status, memo.converted_task, memo.converted_project) == ("converted", task, None)
    assert (task.title, task.assignee, task.entity, task.created_by, task.task_type, task.due_at.date(),
            task.all_day) == ("Quote fibre for Acme", teammate, deal, manager, "proposal", date(2025, 3, 14), True)
    assert task.description == "From the memo “Acme wants fibre” by Olga Owner:\n\nThey asked twice this week."
    panel = html.parse(response).find("section", id="source-memo")
    assert html.links(panel) == [("“Acme wants fibre”", f"/memos/{memo.pk}/")]
    assert ("owner", "memo_converted", "Mona Ger turned your memo “Acme wants fibre” into the task "
                                       "“Quote fibre for Acme”.") in notes()


def test_the_recipient_turns_a_memo_into_a_project_from_a_template(client, owner, manager, team, memo, deal):
    template = demo.seed_telecom_template(owner=manager, teams={})
    client.force_login(manager)

    response = client.post(f"/memos/{memo.pk}/convert/project/", {
        "name": "Acme fibre", "template": template.pk, "start_date": "2025-03-03"}, follow=True)

    project = Project.objects.get()
    memo.refresh_from_db()
    assert html.messages(response) == ["The memo is now the project “Acme fibre”."]
    assert (memo.status, memo.converted_project, project.entity, project.owner) == ("converted", project, deal,
                                                                                   manager)
    assert Task.objects.filter(project=project).count() == 6
    assert html.parse(response).find("span", cls="source-memo").text() == "· From memo “Acme wants fibre”"
    memo_page = html.parse(client.get(f"/memos/{memo.pk}/"))
    assert html.links(memo_page.find("section", id="became")) == [("Acme fibre", f"/projects/{project.pk}/")]
    assert memo_page.find("section", id="became").find("div", cls="progress-text").text() == "0/6 done"


def test_only_the_recipient_converts_once_and_a_refused_task_leaves_the_memo_unchanged(owner, manager, memo):
    with pytest.raises(PermissionDenied):
        services.memo_convert_to_task(memo=memo, user=owner)
    with pytest.raises(ValidationError):
        services.memo_convert_to_task(memo=memo, user=manager, title="Bad", priority="whenever")
    memo.refresh_from_db()
    untouched = (memo.status, Task.objects.count())
    services.memo_convert_to_task(memo=memo, user=manager)

    with pytest.raises(ValidationError) as twice:
        services.memo_convert_to_project(memo=memo, user=manager)

    assert untouched == ("sent", 0)
    assert twice.value.messages == ["The memo was already turned into a task or project."]
    assert (Task.objects.count(), Project.objects.count()) == (1, 0)


def test_a_convert_form_with_bad_input_answers_400_and_makes_nothing(client, manager, memo):
    client.force_login(manager)

    response = client.post(f"/memos/{memo.pk}/convert/task/", {"title": "", "task_type": "nonsense",
                                                               "priority": "medium"})

    assert response.status_code == 400
    assert html.field_errors(response) == {
        "title": ["This field is required."],
        "task_type": ["Select a valid choice. nonsense is not one of the available choices."]}
    memo.refresh_from_db()
    assert (memo.status, Task.objects.count()) == ("sent", 0)


# ---- the list ---------------------------------------------------------------------------------------


def test_the_list_has_sent_to_me_and_sent_by_me_and_shows_the_progress_of_what_they_became(
        client, owner, manager, team, memo):
    draft = services.memo_create(author=owner, recipient=manager, subject="Half an idea", body="…")
    task = services.memo_convert_to_task(memo=memo, user=manager, title="Quote fibre", assignee=manager)
    for title in ("Measure", "Price"):
        task_services.task_create(created_by=manager, title=title, parent=task, assignee=manager)
    sub = Task.objects.get(title="Measure")
    task_services.task_start(task=sub, user=manager)
    task_services.task_complete(task=Task.objects.get(pk=sub.pk), user=manager)
    to_owner = services.memo_create(author=manager, recipient=manager, subject="Own note", body="x", send=True)
    client.force_login(manager)

    inbox = client.get("/memos/")
    client.force_login(owner)
    sent = client.get("/memos/?box=sent")
    drafts = client.get("/memos/?box=sent&status=draft")

    assert rows(inbox) == [
        ["Own note", "Mona Ger", "Mona Ger", "Sent", to_owner.sent_at.strftime("%-d %b %Y"), ""],
        ["Acme wants fibre Fibre upgrade for Acme", "Olga Owner", "Mona Ger", "Converted",
         memo.sent_at.strftime("%-d %b %Y"), "Task: Quote fibre 1/3 done"],
    ]
    assert [r[0] for r in rows(sent)] == ["Half an idea", "Acme wants fibre Fibre upgrade for Acme"]
    assert [r[0] for r in rows(drafts)] == ["Half an idea"]
    assert draft.pk


def test_the_list_refuses_an_unknown_box_or_status_with_400(client, owner):
    client.force_login(owner)

    response = client.get("/memos/?box=everyone&status=lost")

    assert response.status_code == 400
    assert html.messages(response) == ["“everyone” is not a list of memos.", "“lost” is not a memo status."]


def test_the_list_runs_the_same_number_of_queries_for_one_and_for_many_memos(client, owner, manager, team):
    def count_queries():
        client.force_login(manager)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/memos/").status_code == 200
        return len(ctx.captured_queries)

    def memo_with_work(i):
        m = services.memo_create(author=owner, recipient=manager, subject=f"M{i}", body="b", send=True,
                                 entity=OpportunityFactory())
        if i % 2:
            t = services.memo_convert_to_task(memo=m, user=manager)
            task_services.task_create(created_by=manager, title="sub", parent=t)
        else:
            services.memo_convert_to_project(memo=m, user=manager)

    memo_with_work(1)
    memo_with_work(2)
    one = count_queries()
    for i in range(3, 15):
        memo_with_work(i)
    many = count_queries()

    assert one == many


# ---- reminders -------------------------------------------------------------------------------------


def test_a_reminder_is_sent_once_when_due_even_if_the_job_runs_twice(client, owner, manager, memo):
    set_time_zone(manager, "Europe/Berlin")
    client.force_login(manager)
    with time_machine.travel(datetime(2025, 3, 10, 9, 0, tzinfo=BERLIN), tick=False):
        response = client.post(f"/memos/{memo.pk}/reminders/", {"remind_at": "2025-03-11T08:30", "note": "Budget"},
                               follow=True)
        past = client.post(f"/memos/{memo.pk}/reminders/", {"remind_at": "2025-03-09T08:30"})
    Notification.objects.all().delete()

    with time_machine.travel(datetime(2025, 3, 11, 8, 0, tzinfo=BERLIN), tick=False):
        early = services.reminders_send_due()
    with time_machine.travel(datetime(2025, 3, 11, 8, 31, tzinfo=BERLIN), tick=False):
        runs = [services.reminders_send_due(), services.reminders_send_due()]

    assert html.messages(response) == ["You will be reminded on 11 Mar 2025 at 08:30."]
    assert (past.status_code, html.field_errors(past)) == (400, {"remind_at": ["Choose a time in the future."]})
    assert (early, runs) == (0, [1, 0])
    assert notes() == [("manager", "memo_reminder", "Reminder: memo “Acme wants fibre” — Budget")]
    assert MemoReminder.objects.get().sent_at is not None


def test_someone_who_cannot_see_the_memo_gets_404_when_setting_a_reminder(client, teammate, memo):
    client.force_login(teammate)

    response = client.post(f"/memos/{memo.pk}/reminders/", {"remind_at": "2099-01-01T08:30"})

    assert response.status_code == 404
    assert MemoReminder.objects.count() == 0


# ---- entity tab ------------------------------------------------------------------------------------


def test_the_deals_memos_tab_lists_the_memos_the_user_may_see(client, owner, manager, team, memo, deal):
    other = UserFactory(username="other")
    services.memo_create(author=other, recipient=manager, subject="Not for owner", body="x", entity=deal, send=True)
    client.force_login(owner)

    response = client.get(f"/opportunities/{deal.pk}/tabs/memos/")

    assert [r[0] for r in rows(response)] == ["Acme wants fibre"]


def test_seed_memos_is_idempotent_and_leaves_memos_in_each_state(db):
    from crm.tests.factories import MembershipFactory, TeamFactory
    from memos import demo as memo_demo

    users = {name: UserFactory(username=name) for name in ("ana", "ben", "cara")}
    MembershipFactory(team=TeamFactory(name="Sales", manager=users["ana"]), user=users["cara"])
    TeamFactory(name="Support", manager=users["ben"])

    first = memo_demo.seed_memos(users=users)
    second = memo_demo.seed_memos(users=users)

    assert (first, second) == (4, 0)
    assert sorted(Memo.objects.values_list("subject", "status")) == [
        ("Customers confused by the new invoice layout", "sent"),
        ("Holiday rota for support", "postponed"),
        ("Ideas for the spring campaign", "draft"),
        ("Northwind asks for a faster line", "converted"),
    ]


def test_the_author_edits_a_draft_from_its_values_and_sends_it(client, owner, manager, team):
    draft = services.memo_create(author=owner, recipient=manager, subject="Idea", body="Not ready")
    client.force_login(owner)

    page = html.parse(client.get(f"/memos/{draft.pk}/edit/"))
    response = client.post(f"/memos/{draft.pk}/edit/", {"recipient": manager.pk, "subject": "Idea, ready",
                                                        "body": "Ready now", "send": "1"}, follow=True)

    assert page.find("input", name="subject").attrs["value"] == "Idea"
    assert html.messages(response) == ["Memo “Idea, ready” sent to Mona Ger."]
    draft.refresh_from_db()
    assert (draft.status, draft.body) == ("sent", "Ready now")
