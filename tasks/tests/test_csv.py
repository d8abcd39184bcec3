"""CSV export of the task list and CSV import with a preview (tasks/csv_io.py, tasks/views_csv.py).

`owner` works in Europe/Berlin; time is frozen at Wednesday 12 March 2025, 10:00 Berlin time.
"""

import csv
import io
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Notification
from crm.tests import html
from crm.tests.factories import IndividualFactory, OrganizationFactory, set_time_zone
from tasks import csv_io
from tasks.dates import date_as_utc_midnight
from tasks.models import Task, TaskImport
from tasks.tests.factories import TaskFactory

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt_timezone.utc
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=BERLIN)
ALL_STATUSES = "status=pending&status=in_progress&status=waiting&status=blocked&status=completed&status=cancelled"
HEADER = ",".join(csv_io.COLUMNS)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(owner, teammate, team):
    set_time_zone(owner, "Europe/Berlin")
    return {"acme": OrganizationFactory(name="Acme Ltd", email="info@acme.example"),
            "ada": IndividualFactory(first_name="Ada", last_name="Lovelace", email="ada@example.com")}


def export(client, user, query=""):
    client.force_login(user)
    response = client.get(f"/tasks/export.csv?{query}")
    body = b"".join(response.streaming_content).decode("utf-8")
    return response, body


def read(body):
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def upload(client, user, text, name="tasks.csv", encoding="utf-8"):
    client.force_login(user)
    data = text.encode(encoding) if isinstance(text, str) else text
    return client.post("/tasks/import/", {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def last_import():
    return TaskImport.objects.latest("pk")


def row_errors(task_import):
    return {row["line"]: row["errors"] for row in task_import.rows}


# ---- export ------------------------------------------------------------------------------------


def test_the_export_has_the_design_columns_and_each_tasks_values(client, owner, teammate, team, people):
    parent = TaskFactory(title="Parent", created_by=owner, assignee=owner)
    with time_machine.travel(datetime(2025, 3, 1, 9, 0, tzinfo=UTC), tick=False):
        task = TaskFactory(
            title="Call Ada", description="Line one\nline two", task_type="follow_up", status="in_progress",
            priority="high", begin_at=datetime(2025, 3, 10, 8, 0, tzinfo=UTC),
            due_at=datetime(2025, 3, 14, 16, 30, tzinfo=UTC), scheduled_at=datetime(2025, 3, 13, 9, 15, tzinfo=UTC),
            expected_duration=timedelta(minutes=90), location="Phone", outcome="", assignee=teammate, team=team,
            created_by=owner, parent=parent,
        )
    task.set_entity(people["ada"])
    Task.objects.filter(pk=task.pk).update(content_type=task.content_type, object_id=task.object_id)
    TaskFactory(title="All day", created_by=owner, status="completed", due_at=date_as_utc_midnight(date(2025, 3, 9)),
                all_day=True, completed_at=datetime(2025, 3, 9, 22, 30, tzinfo=UTC))

    response, body = export(client, owner, f"{ALL_STATUSES}&o=title")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tasks-2025-03-12.csv"'
    rows = read(body)
    assert rows[0] == list(csv_io.COLUMNS)
    assert rows[1] == [
        "All day", "", "other", "completed", "medium", "", "2025-03-09", "", "", "", "", "", "", "owner", "", "",
        "", "", "2025-03-09T22:30:00Z", "2025-03-12T09:00:00Z", "2025-03-12T09:00:00Z",
    ]
    assert rows[2] == [
        "Call Ada", "Line one\nline two", "follow_up", "in_progress", "high", "2025-03-10T08:00:00Z",
        "2025-03-14T16:30:00Z", "2025-03-13T09:15:00Z", "90", "Phone", "", "teammate", "Sales", "owner",
        str(parent.pk), "", "individual", str(people["ada"].pk), "", "2025-03-01T09:00:00Z",
        "2025-03-01T09:00:00Z",
    ]
    assert [r[0] for r in rows[1:]] == ["All day", "Call Ada", "Parent"]


def test_the_export_carries_the_lists_filters_and_only_visible_tasks(client, owner, outsider, people):
    TaskFactory(title="Call one", task_type="call", created_by=owner)
    TaskFactory(title="Call done", task_type="call", status="completed", created_by=owner)
    TaskFactory(title="Email one", task_type="email", created_by=owner)
    TaskFactory(title="Outsider call", task_type="call", created_by=outsider, assignee=outsider)

    _, body = export(client, owner, "task_type=call")
    assert [r[0] for r in read(body)[1:]] == ["Call one"]  # open tasks, as the list shows by default

    _, body = export(client, owner, f"task_type=call&{ALL_STATUSES}&o=-title")
    assert [r[0] for r in read(body)[1:]] == ["Call one", "Call done"]

    _, body = export(client, outsider, f"{ALL_STATUSES}")
    assert [r[0] for r in read(body)[1:]] == ["Outsider call"]


def test_cells_that_look_like_formulas_are_neutralised(client, owner):
    TaskFactory(title="=HYPERLINK(\"http://evil\")", description="+1 call", location="@home", outcome="",
                created_by=owner)

    _, body = export(client, owner)

    row = read(body)[1]
    assert row[:2] == ["'=HYPERLINK(\"http://evil\")", "'+1 call"]
    assert row[9] == "'@home"


def test_a_bad_filter_refuses_the_export_with_a_readable_400(client, owner):
    client.force_login(owner)

    response = client.get("/tasks/export.csv?due_after=someday")

    assert response.status_code == 400
    assert response.content.decode() == "The export could not be made: due_after: Enter a valid date.\n"


def test_the_export_needs_a_signed_in_user(client):
    assert client.get("/tasks/export.csv").status_code == 302


# ---- import: the file --------------------------------------------------------------------------


@pytest.mark.parametrize("name, content, message", [
    ("tasks.xlsx", b"title\nA\n", "Choose a CSV file (a name ending in .csv)."),
    ("tasks.csv", b"", "The file is empty."),
    ("tasks.csv", "title\nCaf\xe9\n".encode("latin-1"),
     "The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."),
    ("tasks.csv", b"PK\x03\x04\x00\x00binary", "This is not a CSV text file."),
    ("tasks.csv", b"name,status\nA,pending\n", "The first row must name the columns, including “title”. Known columns: "
     + ", ".join(csv_io.COLUMNS) + ", entity."),
    ("tasks.csv", b"title,title\nA,B\n", "These columns appear more than once: title."),
    ("tasks.csv", b"title\n", "The file has a header but no rows."),
    ("tasks.csv", b'title\n"unclosed\n', "The file is not valid CSV (line 2): unexpected end of data."),
])
def test_a_refused_file_answers_400_and_keeps_nothing(client, owner, name, content, message):
    response = upload(client, owner, content, name=name)

    assert response.status_code == 400
    assert html.field_errors(response) == {"file": [message]}
    assert TaskImport.objects.count() == 0 and Task.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(client, owner, settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024

    response = upload(client, owner, "title\n" + "x" * (1024 * 1024) + "\n")

    assert response.status_code == 400
    assert html.field_errors(response) == {"file": ["The file is too large: at most 1 MB."]}


def test_no_file_is_a_readable_400(client, owner):
    client.force_login(owner)

    response = client.post("/tasks/import/", {})

    assert response.status_code == 400
    assert html.field_errors(response) == {"file": ["Choose a CSV file to import."]}


# ---- import: the preview -----------------------------------------------------------------------

BAD_FILE = "\n".join([
    "title,task_type,status,priority,begin_at,due_at,assignee,team,content_type,object_id,entity,parent,colour",
    "Good one,call,pending,high,,2025-03-20T10:00,teammate,Sales,organization,,Acme Ltd,,red",
    "Bad status,call,done,,,,,,,,,,",
    ",email,,,,,,,,,,,",
    "Bad date,call,,,,2025-02-30,,,,,,,",
    "Who,call,,,,,nobody@example.com,,,,,,",
    "Which team,call,,,,,,Marketing,,,,,",
    "Backwards,call,,,2025-03-20T10:00,2025-03-19T10:00,,,,,,,",
    "Twin,call,,,,,,,organization,,Twin Co,,",
    "Kind,call,,,,,,,planet,,Mars,,",
    "Missing id,call,,,,,,,individual,999999,,,",
    "Parent,call,,,,,,,,,,#x1,",
    "Extra,call,,,,,,,,,,,,surplus",
])


def test_the_preview_shows_each_rows_errors_and_saves_nothing(client, owner, people):
    OrganizationFactory(name="Twin Co")
    OrganizationFactory(name="twin co")
    before = Task.objects.count()

    response = upload(client, owner, BAD_FILE, name="bad.csv")

    assert response.status_code == 302
    task_import = last_import()
    assert response["Location"] == f"/tasks/import/{task_import.pk}/"
    twins = sorted(OrganizationFactory._meta.model.objects.filter(name__iexact="twin co").values_list("pk", flat=True))
    assert row_errors(task_import) == {
        2: {},
        3: {"status": ["“done” is not a task status."]},
        4: {"title": ["A title is required."]},
        5: {"due_at": ["“2025-02-30” is not a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM)."]},
        6: {"assignee": ["There is no user “nobody@example.com” (give a username or e-mail)."]},
        7: {"team": ["There is no team “Marketing”."]},
        8: {"due_at": ["The due date cannot be before the begin date."]},
        9: {"entity": [f"2 organizations match “Twin Co” (#{twins[0]}, #{twins[1]}): give object_id instead."]},
        10: {"content_type": ["“planet” is not an entity type (individual, organization, ticket, opportunity)."]},
        11: {"object_id": ["There is no individual #999999."]},
        12: {"parent": ["Give the number of the parent task, e.g. 42."]},
        13: {"row": ["This row has 14 cells but the header names 13 columns."]},
    }
    assert (task_import.row_count, task_import.invalid_count, task_import.status) == (12, 11, "preview")
    assert task_import.unknown_columns == ["colour"]
    assert Task.objects.count() == before

    page = client.get(f"/tasks/import/{task_import.pk}/?show=errors")
    assert html.main(page).find("p", data_testid="import-summary").text() == (
        "12 rows: 1 valid, 11 with errors. Nothing has been saved yet.")
    assert html.main(page).find("p", data_testid="unknown-columns").text() == "Unknown columns, ignored: colour."
    rows = html.rows(page)
    assert len(rows) == 11
    assert rows[0] == ["3", "Bad status", "call", "done", "", "", "", "", "status: “done” is not a task status."]


def test_an_import_is_only_shown_to_its_uploader(client, owner, outsider, people):
    upload(client, owner, "title\nMine\n")
    task_import = last_import()
    client.force_login(outsider)

    assert client.get(f"/tasks/import/{task_import.pk}/").status_code == 404
    assert client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "valid"}).status_code == 404
    assert client.post(f"/tasks/import/{task_import.pk}/discard/").status_code == 404
    assert Task.objects.count() == 0
    assert TaskImport.objects.get().status == "preview"


# ---- import: confirming ------------------------------------------------------------------------

GOOD_AND_BAD = "\n".join([
    "title,task_type,status,priority,due_at,expected_duration,assignee,team,content_type,object_id,entity",
    "Call Acme,call,pending,high,2025-03-20T10:00,90,teammate,Sales,organization,,info@acme.example",
    "Ada follow-up,Follow-up,In progress,Urgent,2025-03-21,1:30,teammate@example.com,,individual,,Ada Lovelace",
    "Broken,call,done,,,,,,,,",
])


def test_importing_the_valid_rows_creates_them_and_reports_the_skipped(client, owner, teammate, people,
                                                                       django_capture_on_commit_callbacks):
    upload(client, owner, GOOD_AND_BAD)
    task_import = last_import()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "valid"}, follow=True)

    assert html.messages(response) == ["Imported 2 tasks. Skipped 1 invalid row: see below."]
    assert sorted(Task.objects.values_list(
        "title", "task_type", "status", "priority", "due_at", "all_day", "expected_duration", "assignee__username",
        "team__name", "content_type__model", "object_id", "created_by__username", "tree_path", "priority_rank",
    )) == [
        ("Ada follow-up", "follow_up", "in_progress", "urgent", date_as_utc_midnight(date(2025, 3, 21)), True,
         timedelta(minutes=90), "teammate", None, "individual", people["ada"].pk, "owner", "/", 4),
        ("Call Acme", "call", "pending", "high", datetime(2025, 3, 20, 9, 0, tzinfo=UTC), False,
         timedelta(minutes=90), "teammate", "Sales", "organization", people["acme"].pk, "owner", "/", 3),
    ]
    task_import.refresh_from_db()
    assert (task_import.status, task_import.imported_count, task_import.skipped_lines) == ("imported", 2, [4])
    assert list(Notification.objects.values_list("recipient__username", "text")) == [
        ("teammate", "Olga Owner imported 2 tasks assigned to you.")]


def test_all_or_nothing_refuses_a_file_with_an_invalid_row_and_saves_nothing(client, owner, teammate, people):
    upload(client, owner, GOOD_AND_BAD)
    task_import = last_import()

    response = client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "all"})

    assert response.status_code == 400
    assert html.messages(response) == [
        "1 row of 3 is not valid, so nothing was imported. Correct the file and upload it again, "
        "or import the valid rows only."]
    assert Task.objects.count() == 0
    task_import.refresh_from_db()
    assert (task_import.status, task_import.imported_count) == ("preview", 0)


def test_all_or_nothing_imports_a_file_without_errors(client, owner, teammate, people):
    upload(client, owner, "\n".join(GOOD_AND_BAD.splitlines()[:3]))
    task_import = last_import()

    response = client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "all"}, follow=True)

    assert html.messages(response) == ["Imported 2 tasks."]
    assert sorted(Task.objects.values_list("title", flat=True)) == ["Ada follow-up", "Call Acme"]


def test_a_row_that_became_invalid_since_the_preview_is_caught_at_confirmation(client, owner, teammate, people):
    upload(client, owner, "\n".join(GOOD_AND_BAD.splitlines()[:3]))
    task_import = last_import()
    teammate.is_active = False
    teammate.save()

    response = client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "all"})

    assert response.status_code == 400
    assert Task.objects.count() == 0
    task_import.refresh_from_db()
    assert row_errors(task_import) == {2: {"assignee": ["Tom Mate is not an active user."]},
                                       3: {"assignee": ["Tom Mate is not an active user."]}}


def test_confirming_twice_imports_once(client, owner, teammate, people):
    upload(client, owner, GOOD_AND_BAD)
    task_import = last_import()
    client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "valid"}, follow=True)

    again = client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "valid"})

    assert again.status_code == 409
    assert html.messages(again) == ["This file has already been imported (or discarded); nothing was imported again."]
    assert Task.objects.count() == 2


def test_a_bad_mode_answers_400_and_imports_nothing(client, owner, people):
    upload(client, owner, "title\nOne\n")
    task_import = last_import()

    response = client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "some"})

    assert response.status_code == 400
    assert html.messages(response) == ["Choose whether to import the valid rows or only a file without errors."]
    assert Task.objects.count() == 0 and TaskImport.objects.get().status == "preview"


def test_discarding_keeps_nothing_and_cannot_be_imported_after(client, owner, people):
    upload(client, owner, "title\nOne\n")
    task_import = last_import()

    response = client.post(f"/tasks/import/{task_import.pk}/discard/", follow=True)
    again = client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "valid"})

    assert html.messages(response) == ["The file tasks.csv was discarded; nothing was imported."]
    assert again.status_code == 409 and Task.objects.count() == 0


def test_bom_semicolons_naive_times_in_my_zone_and_formula_quotes(client, owner, people):
    text = "\ufefftitle;due_at;begin_at;description\n'=SUM(A1);2025-03-20 10:00;2025-03-19;'-dash\n"

    upload(client, owner, text)
    task_import = last_import()
    assert row_errors(task_import) == {2: {}}
    client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "all"})

    assert list(Task.objects.values_list("title", "due_at", "begin_at", "description")) == [
        ("=SUM(A1)", datetime(2025, 3, 20, 10, 0, tzinfo=BERLIN), datetime(2025, 3, 19, 0, 0, tzinfo=BERLIN),
         "-dash")]


def test_a_completed_row_keeps_its_completion_date_and_others_may_not_have_one(owner, people):
    rows = [{"line": 2, "values": {"title": "Done", "status": "completed", "completed_at": "2025-03-01T12:00Z"}},
            {"line": 3, "values": {"title": "Open", "completed_at": "2025-03-01T12:00Z"}},
            {"line": 4, "values": {"title": "Future", "status": "completed", "completed_at": "2025-04-01"}},
            {"line": 5, "values": {"title": "Now", "status": "completed"}}]

    results = csv_io.check_rows(user=owner, rows=rows)

    assert [r.errors for r in results] == [
        {}, {"completed_at": ["Only a completed task has a completion date."]},
        {"completed_at": ["The completion date cannot be in the future."]}, {}]
    assert results[0].task.completed_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert results[3].task.completed_at == NOW


def test_a_parent_must_be_a_task_i_can_see(owner, outsider, people):
    mine = TaskFactory(title="Mine", created_by=owner)
    theirs = TaskFactory(title="Theirs", created_by=outsider)

    results = csv_io.check_rows(user=owner, rows=[
        {"line": 2, "values": {"title": "Child", "parent": f"#{mine.pk}"}},
        {"line": 3, "values": {"title": "Sneaky", "parent": str(theirs.pk)}},
    ])

    assert results[0].errors == {} and results[0].task.tree_path == f"/{mine.pk}/"
    assert results[1].errors == {"parent": [f"There is no task #{theirs.pk} you can see."]}


def test_checking_rows_takes_the_same_number_of_queries_for_5_and_100_rows(owner, teammate, team, people):
    def rows(n):
        return [{"line": i + 2, "values": {
            "title": f"T{i}", "assignee": "teammate", "team": "Sales", "content_type": "organization",
            "entity": "Acme Ltd" if i % 2 else "", "object_id": "" if i % 2 else str(people["acme"].pk),
        }} for i in range(n)]

    csv_io.check_rows(user=owner, rows=rows(1))  # warm the content-type cache
    with CaptureQueriesContext(connection) as five:
        results = csv_io.check_rows(user=owner, rows=rows(5))
    with CaptureQueriesContext(connection) as hundred:
        csv_io.check_rows(user=owner, rows=rows(100))

    assert all(r.errors == {} for r in results)
    assert len(five.captured_queries) == len(hundred.captured_queries)


def test_round_trip_export_then_import_gives_the_same_values(client, owner, teammate, team, people):
    parent = TaskFactory(title="Parent", created_by=owner)
    with time_machine.travel(datetime(2025, 3, 1, 9, 0, tzinfo=UTC), tick=False):
        call = TaskFactory(title="Call Acme", description="=1+1 and more\nsecond line", task_type="call",
                           status="waiting", priority="urgent", begin_at=datetime(2025, 3, 10, 8, 0, tzinfo=UTC),
                           due_at=datetime(2025, 3, 14, 16, 30, tzinfo=UTC),
                           scheduled_at=datetime(2025, 3, 13, 9, 15, tzinfo=UTC),
                           expected_duration=timedelta(minutes=75), location="@office", assignee=teammate,
                           team=team, created_by=owner, parent=parent)
        call.set_entity(people["acme"])
        call.save()
        TaskFactory(title="All-day deal", task_type="contract", status="completed", priority="low",
                    due_at=date_as_utc_midnight(date(2025, 3, 2)), all_day=True,
                    completed_at=datetime(2025, 3, 2, 23, 0, tzinfo=UTC), outcome="Signed.", created_by=owner)
    fields = ("title", "description", "task_type", "status", "priority", "begin_at", "due_at", "all_day",
              "scheduled_at", "expected_duration", "location", "outcome", "assignee_id", "team_id", "parent_id",
              "content_type_id", "object_id", "completed_at", "created_by_id")
    originals = sorted(Task.objects.exclude(pk=parent.pk).values_list(*fields))

    _, body = export(client, owner, f"{ALL_STATUSES}&o=title")
    Task.objects.exclude(pk=parent.pk).delete()
    upload(client, owner, body)
    task_import = last_import()
    client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "all"})

    # The file's three rows (the parent's among them) come back; the copies equal the originals.
    assert TaskImport.objects.get().imported_count == 3
    assert sorted(Task.objects.exclude(title="Parent").values_list(*fields)) == originals
    assert task_import.unknown_columns == []


def test_imported_tasks_have_a_created_history_record_naming_the_file(client, owner, people):
    upload(client, owner, "title\nFirst\nSecond\n", name="leads.csv")
    client.post(f"/tasks/import/{last_import().pk}/confirm/", {"mode": "all"})

    assert sorted(Task.history.values_list("title", "history_type", "history_user__username",
                                           "history_change_reason")) == [
        ("First", "+", "owner", "Imported from leads.csv"), ("Second", "+", "owner", "Imported from leads.csv")]


def test_the_project_column_is_read_but_not_applied(client, owner, people):
    upload(client, owner, "title,project\nKick-off,Apollo\n")
    task_import = last_import()

    page = client.get(f"/tasks/import/{task_import.pk}/")
    client.post(f"/tasks/import/{task_import.pk}/confirm/", {"mode": "all"})

    assert row_errors(task_import) == {2: {}}
    assert html.main(page).find("p", data_testid="not-imported").text() == (
        "The project column is not applied: add the tasks to a project from the project's page.")
    assert list(Task.objects.values_list("title", "project")) == [("Kick-off", None)]


def test_a_task_in_a_project_exports_the_projects_name(client, owner):
    from projects.models import Project

    apollo = Project.objects.create(name="Apollo", owner=owner, created_by=owner)
    task = TaskFactory(title="Kick-off", created_by=owner)
    Task.objects.filter(pk=task.pk).update(project=apollo)

    _, body = export(client, owner)

    rows = read(body)
    assert rows[0][15] == "project" and [r[15] for r in rows[1:]] == ["Apollo"]


def test_rows_are_numbered_by_the_line_they_start_on_and_keep_their_line_breaks(owner, people):
    parsed = csv_io.parse_csv_bytes(b'title,description\nOne,"first\nsecond\n"\n\nTwo,  spaced  \n')

    assert [(r["line"], r["values"]) for r in parsed.rows] == [
        (2, {"title": "One", "description": "first\nsecond\n"}),
        (6, {"title": "Two", "description": "  spaced  "}),
    ]
