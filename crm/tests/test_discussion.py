"""Discussion threads on tasks: comments and notes, @mentions, internal notes, editing and deleting."""

import pytest

from crm import discussion
from crm.models import Comment, Notification
from crm.tests.factories import UserFactory
from crm.tests.html import messages, parse
from tasks.models import Participant
from tasks.tests.factories import ParticipantFactory, TaskFactory

pytestmark = pytest.mark.django_db


def thread(response):
    """(author, kind badge, body) of each comment shown in the task page's discussion."""
    section = parse(response).find("section", id="discussion")
    shown = []
    for item in section.find_all("li", cls="comment"):
        badge = item.find("span", cls="badge")
        shown.append((item.find("strong", cls="comment-author").text(), badge.text() if badge else "",
                      item.find("div", cls="comment-body").text()))
    return shown


@pytest.fixture
def task(owner, team):
    return TaskFactory(title="Call Acme", team=team, created_by=owner, assignee=owner)


# ---- mention parsing ----------------------------------------------------------------------------


def test_mentions_are_handles_after_an_at_sign_not_email_addresses():
    text = ("Hi @Ana and @ben.carter, see (@cara). Mail ana@example.com or x@ben — @ana again, "
            "@dora. @ @-x")

    assert discussion.parse_mentions(text) == ["ana", "ben.carter", "cara", "dora"]


def test_mentions_resolve_usernames_and_first_dot_last_of_active_users_only():
    ana = UserFactory(username="ana", first_name="Ana", last_name="Fischer")
    ben = UserFactory(username="bcarter", first_name="Ben", last_name="Carter")
    UserFactory(username="gone", is_active=False)
    UserFactory(username="tw1", first_name="Sam", last_name="Twin")
    UserFactory(username="tw2", first_name="Sam", last_name="Twin")

    found = discussion.resolve_mentions(["ana", "ben.carter", "gone", "sam.twin", "nobody", "ana.fischer"])

    assert found == [ana, ben]


# ---- posting --------------------------------------------------------------------------------------


def test_a_comment_tells_the_mentioned_and_the_tasks_owner_never_the_author(client, owner, teammate, manager, task):
    client.force_login(teammate)

    response = client.post(f"/discussion/tasks.task/{task.pk}/",
                           {"body": "Done. @manager please check; @nobody and nobody@example.com too.",
                            "kind": "comment"}, follow=True)

    comment = Comment.objects.get()
    assert messages(response) == ["Comment posted."]
    assert thread(response) == [("Tom Mate", "", "Done. @manager please check; @nobody and nobody@example.com too.")]
    assert parse(response).find("strong", cls="mention").text() == "@manager"
    assert list(comment.mentions.all()) == [manager]
    assert set(Notification.objects.values_list("recipient__username", "verb", "text", "url")) == {
        ("manager", "mentioned", "Tom Mate mentioned you on the task “Call Acme”.", f"/tasks/{task.pk}/"),
        ("owner", "commented", "Tom Mate commented on your task “Call Acme”.", f"/tasks/{task.pk}/"),
    }


def test_a_mentioned_user_who_cannot_see_the_task_is_not_told_and_gains_nothing(client, owner, outsider, task):
    client.force_login(owner)
    client.post(f"/discussion/tasks.task/{task.pk}/", {"body": "@outsider look", "kind": "comment"})

    assert list(Comment.objects.get().mentions.all()) == []
    assert Notification.objects.count() == 0
    client.force_login(outsider)
    assert client.get(f"/tasks/{task.pk}/").status_code == 404


def test_outcome_and_note_kinds_are_shown_with_their_badge(client, owner, task):
    client.force_login(owner)
    client.post(f"/discussion/tasks.task/{task.pk}/", {"body": "Called, no answer.", "kind": "note"})
    client.post(f"/discussion/tasks.task/{task.pk}/", {"body": "They signed.", "kind": "outcome"})

    assert thread(client.get(f"/tasks/{task.pk}/")) == [
        ("Olga Owner", "Note", "Called, no answer."), ("Olga Owner", "Outcome", "They signed.")]


def test_bad_input_is_refused_with_a_reason_and_nothing_saved(client, owner, task):
    client.force_login(owner)

    empty = client.post(f"/discussion/tasks.task/{task.pk}/", {"body": "   ", "kind": "comment"})
    bad_kind = client.post(f"/discussion/tasks.task/{task.pk}/", {"body": "Hi", "kind": "shout"})
    unknown_model = client.post("/discussion/auth.user/1/", {"body": "Hi", "kind": "comment"})

    assert empty.status_code == 400 and "Write something first." in empty.content.decode()
    assert bad_kind.status_code == 400
    assert "Choose one of: comment, note, internal note, outcome." in bad_kind.content.decode()
    assert unknown_model.status_code == 404
    assert Comment.objects.count() == 0


def test_outsiders_cannot_post_read_edit_or_delete(client, owner, outsider, task):
    comment = discussion.comment_post(obj=task, author=owner, body="Private plan")
    client.force_login(outsider)

    assert client.post(f"/discussion/tasks.task/{task.pk}/", {"body": "Hi", "kind": "comment"}).status_code == 404
    assert client.get(f"/discussion/comments/{comment.pk}/edit/").status_code == 404
    assert client.post(f"/discussion/comments/{comment.pk}/delete/").status_code == 404
    assert list(Comment.objects.values_list("body", flat=True)) == ["Private plan"]


# ---- internal notes -------------------------------------------------------------------------------


def test_internal_notes_are_seen_by_staff_and_the_team_only(client, owner, teammate, manager, outsider, staff, task):
    subscriber = UserFactory(username="sub", first_name="Sue", last_name="Scriber")
    ParticipantFactory(task=task, user=subscriber, role=Participant.Role.SUBSCRIBER)
    discussion.comment_post(obj=task, author=owner, body="Public news")
    discussion.comment_post(obj=task, author=manager, body="Margin is thin @sub", kind="internal")

    def bodies(user):
        client.force_login(user)
        response = client.get(f"/tasks/{task.pk}/")
        return [body for _author, _badge, body in thread(response)] if response.status_code == 200 else 404

    assert bodies(owner) == ["Public news", "Margin is thin @sub"]
    assert bodies(teammate) == ["Public news", "Margin is thin @sub"]
    assert bodies(manager) == ["Public news", "Margin is thin @sub"]
    assert bodies(staff) == ["Public news", "Margin is thin @sub"]
    assert bodies(subscriber) == ["Public news"]
    assert bodies(outsider) == 404
    assert set(Notification.objects.values_list("recipient__username", "verb")) == {("owner", "commented")}


def test_only_the_team_may_write_internal_notes(client, owner, task):
    subscriber = UserFactory(username="sub")
    ParticipantFactory(task=task, user=subscriber, role=Participant.Role.SUBSCRIBER)
    client.force_login(subscriber)

    page = parse(client.get(f"/tasks/{task.pk}/"))
    response = client.post(f"/discussion/tasks.task/{task.pk}/", {"body": "Psst", "kind": "internal"})

    options = [o.attrs["value"] for o in page.find("select", name="kind").find_all("option")]
    assert options == ["comment", "note", "outcome"]
    assert response.status_code == 400
    assert Comment.objects.count() == 0


# ---- editing and deleting ---------------------------------------------------------------------------


def test_authors_edit_their_comment_and_newly_mentioned_people_are_told(client, owner, teammate, manager, task):
    comment = discussion.comment_post(obj=task, author=teammate, body="Hello @owner")
    Notification.objects.all().delete()
    client.force_login(teammate)

    response = client.post(f"/discussion/comments/{comment.pk}/edit/", {"body": "Hello @owner and @manager"},
                           follow=True)

    comment.refresh_from_db()
    assert messages(response) == ["Your comment is saved."]
    assert (comment.body, comment.edited_at is not None) == ("Hello @owner and @manager", True)
    assert set(comment.mentions.values_list("username", flat=True)) == {"owner", "manager"}
    assert list(Notification.objects.values_list("recipient__username", "verb")) == [("manager", "mentioned")]


def test_only_the_author_edits_and_the_author_or_staff_delete(client, owner, teammate, staff, task):
    comment = discussion.comment_post(obj=task, author=teammate, body="Mine")
    client.force_login(owner)

    edit = client.post(f"/discussion/comments/{comment.pk}/edit/", {"body": "Hijacked"})
    delete = client.post(f"/discussion/comments/{comment.pk}/delete/")
    client.force_login(teammate)
    empty = client.post(f"/discussion/comments/{comment.pk}/edit/", {"body": ""})
    confirm = client.get(f"/discussion/comments/{comment.pk}/delete/")
    client.force_login(staff)
    deleted = client.post(f"/discussion/comments/{comment.pk}/delete/", follow=True)

    assert (edit.status_code, delete.status_code, empty.status_code, confirm.status_code) == (403, 403, 400, 200)
    assert messages(deleted) == ["The comment is deleted."]
    assert Comment.objects.count() == 0


def test_a_rolled_back_comment_tells_nobody(owner, teammate, task):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        discussion.comment_post(obj=task, author=teammate, body="@owner look")
        raise RuntimeError("something later failed")

    assert (Comment.objects.count(), Notification.objects.count()) == (0, 0)


def test_the_thread_runs_the_same_number_of_queries_for_one_and_many_comments(client, owner, teammate, task):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    discussion.comment_post(obj=task, author=teammate, body="First @owner")
    client.force_login(owner)
    client.get(f"/tasks/{task.pk}/")

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/tasks/{task.pk}/")
        return len(queries), len(thread(response))

    one = count()
    for n in range(15):
        discussion.comment_post(obj=task, author=teammate if n % 2 else owner, body=f"Reply {n} @owner @teammate")
    many = count()

    assert (one[1], many[1]) == (1, 16)
    assert many[0] == one[0]
