"""Files on tasks: checked uploads, stored under a random folder, served only to readers, removed with their task."""

import io
import re
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from crm import attachments
from crm.models import Attachment
from crm.tests.factories import OrganizationFactory, grant
from crm.tests.html import field_errors, messages, parse
from tasks import services
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=dt_timezone.utc)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UPLOAD_MAX_BYTES = 1000
    settings.UPLOAD_ALLOWED_EXTENSIONS = ["pdf", "png", "txt", "docx"]
    return tmp_path


def stored_files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def task(owner, team):
    return TaskFactory(title="Send the quote", team=team, created_by=owner, assignee=owner)


def upload(client, task, name, content):
    return client.post(f"/attachments/tasks.task/{task.pk}/upload/",
                       {"file": SimpleUploadedFile(name, content)}, follow=True)


def raw_upload(client, task, filename, content):
    """A multipart upload whose file name is sent exactly as given (the test client would strip folders)."""
    boundary = "BoUnDaRyXyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return client.post(f"/attachments/tasks.task/{task.pk}/upload/", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def panel_files(response):
    section = parse(response).find("section", id="attachments")
    return [a.text() for a in section.find_all("a", cls="attachment-name")]


# ---- uploading ------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_reader_attaches_a_file_stored_under_a_random_folder_with_a_safe_name(client, media, teammate, task):
    client.force_login(teammate)

    response = upload(client, task, "Quote (final) v2.pdf", PDF)

    item = Attachment.objects.get()
    assert messages(response) == ["Attached “Quote (final) v2.pdf”."]
    assert panel_files(response) == ["Quote (final) v2.pdf"]
    assert re.fullmatch(r"attachments/2026/03/[0-9a-f]{16}/Quote_final_v2\.pdf", item.file.name)
    assert stored_files(media) == [item.file.name]
    assert (media / item.file.name).read_bytes() == PDF
    assert (item.original_name, item.size, item.mime_type, item.uploaded_by, item.target) == (
        "Quote (final) v2.pdf", len(PDF), "application/pdf", teammate, task)


@pytest.mark.parametrize("name, content, message", [
    ("big.pdf", b"%PDF-" + b"x" * 1200, "“big.pdf” is 1.2 KB; files can be at most 1000 bytes."),
    ("tool.exe", b"MZ\x90\x00", ".exe files cannot be attached (“tool.exe”). Allowed: docx, pdf, png, txt."),
    ("fake.pdf", b"<html><script>alert(1)</script>", "“fake.pdf” does not look like a PDF (its content does not "
                                                     "match its extension)."),
    ("notes.txt", b"abc\x00\x01\x02", "“notes.txt” does not look like a text file."),
    ("empty.txt", b"", "The file is empty."),
])
def test_bad_files_are_refused_with_a_reason_and_nothing_is_stored(client, media, owner, task, name, content, message):
    client.force_login(owner)

    response = upload(client, task, name, content)

    assert response.status_code == 400
    assert field_errors(response) == {"file": [message]}
    assert (Attachment.objects.count(), stored_files(media)) == (0, [])


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(client, media, owner, task):
    client.force_login(owner)

    response = upload(client, task, "huge.pdf", b"%PDF-" + b"x" * 200_000)

    assert response.status_code == 413
    assert "The file is too large: files can be at most 1000 bytes." in response.content.decode()
    assert (Attachment.objects.count(), stored_files(media)) == (0, [])


def test_a_name_with_folders_is_refused_by_the_service(media, owner, task):
    # Django's UploadedFile keeps only the base name; a File built by code (an import, a mail gateway) keeps it all.
    with pytest.raises(ValidationError) as refused:
        attachments.attachment_add(obj=task, user=owner,
                                   upload=File(io.BytesIO(b"root:x:0:0"), name="../../etc/passwd"))
    with pytest.raises(ValidationError):
        attachments.attachment_add(obj=task, user=owner, upload=File(io.BytesIO(PDF), name="..\\..\\evil.pdf"))
    with pytest.raises(ValidationError) as nothing_left:
        attachments.attachment_add(obj=task, user=owner, upload=File(io.BytesIO(PDF), name="???"))
    assert nothing_left.value.messages == ["The file name “???” is not allowed."]

    assert refused.value.messages == [
        "The file name “../../etc/passwd” is not allowed: give a plain file name, without folders."]
    assert (Attachment.objects.count(), stored_files(media)) == (0, [])


def test_through_the_page_a_name_with_folders_loses_them_and_can_never_leave_the_attachments_folder(
        client, media, owner, task):
    client.force_login(owner)

    passwd = raw_upload(client, task, "../../etc/passwd", b"root:x:0:0")
    report = raw_upload(client, task, "../../etc/report.pdf", PDF)

    assert passwd.status_code == 400
    assert "Files without an extension cannot be attached (“passwd”)." in passwd.content.decode()
    assert report.status_code == 302
    item = Attachment.objects.get()
    assert item.original_name == "report.pdf"
    assert re.fullmatch(r"attachments/\d{4}/\d\d/[0-9a-f]{16}/report\.pdf", item.file.name)
    assert stored_files(media) == [item.file.name]


def test_outsiders_cannot_upload(client, media, outsider, task):
    client.force_login(outsider)

    response = upload(client, task, "a.pdf", PDF)

    assert response.status_code == 404
    assert (Attachment.objects.count(), stored_files(media)) == (0, [])


# ---- downloading -----------------------------------------------------------------------------------


def test_files_are_served_only_to_readers_as_downloads(client, media, owner, teammate, outsider, task):
    item = attachments.attachment_add(obj=task, user=owner, upload=SimpleUploadedFile("Quote (final).pdf", PDF))

    client.force_login(teammate)
    response = client.get(f"/attachments/{item.pk}/")
    body = b"".join(response.streaming_content)
    client.force_login(outsider)
    as_outsider = client.get(f"/attachments/{item.pk}/")
    outsider_delete = client.post(f"/attachments/{item.pk}/delete/")
    client.logout()
    anonymous = client.get(f"/attachments/{item.pk}/")

    assert response.status_code == 200
    assert body == PDF
    assert (response["Content-Type"], response["Content-Disposition"], response["X-Content-Type-Options"]) == (
        "application/pdf", 'attachment; filename="Quote (final).pdf"', "nosniff")
    assert (as_outsider.status_code, outsider_delete.status_code) == (404, 404)
    assert (anonymous.status_code, anonymous["Location"].startswith("/accounts/login/")) == (302, True)
    client.force_login(teammate)
    assert client.get(item.file.url).status_code == 404  # the storage's own URL serves nothing


# ---- deleting ----------------------------------------------------------------------------------------


def test_the_uploader_or_an_editor_deletes_a_file_and_the_stored_file_goes(
        client, media, owner, teammate, task, django_capture_on_commit_callbacks):
    mine = attachments.attachment_add(obj=task, user=teammate, upload=SimpleUploadedFile("mine.txt", b"hello"))
    theirs = attachments.attachment_add(obj=task, user=owner, upload=SimpleUploadedFile("theirs.txt", b"hi"))
    client.force_login(teammate)

    refused = client.post(f"/attachments/{theirs.pk}/delete/")
    confirm = client.get(f"/attachments/{mine.pk}/delete/")
    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.post(f"/attachments/{mine.pk}/delete/", follow=True)
    client.force_login(owner)  # the assignee may change the task: may delete others' files too
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/attachments/{theirs.pk}/delete/")

    assert (refused.status_code, confirm.status_code) == (403, 200)
    assert messages(deleted) == ["Deleted “mine.txt”."]
    assert (Attachment.objects.count(), stored_files(media)) == (0, [])


def test_a_rolled_back_deletion_keeps_the_file(media, owner, task, django_capture_on_commit_callbacks):
    item = attachments.attachment_add(obj=task, user=owner, upload=SimpleUploadedFile("keep.txt", b"hello"))
    pk, name = item.pk, item.file.name

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        attachments.attachment_delete(attachment=item, user=owner)
        raise RuntimeError("later step failed")

    assert stored_files(media) == [name]
    assert list(Attachment.objects.values_list("pk", flat=True)) == [pk]


def test_deleting_tasks_removes_their_files_also_subtasks_bulk_and_with_their_entity(
        client, media, owner, manager, team, django_capture_on_commit_callbacks):
    org = OrganizationFactory()
    parent = services.task_create(created_by=owner, title="Parent", team=team, assignee=owner)
    child = services.task_create(created_by=owner, title="Child", parent=parent, team=team, assignee=owner)
    bulk_a = services.task_create(created_by=owner, title="Bulk A", team=team, assignee=owner)
    bulk_b = services.task_create(created_by=owner, title="Bulk B", team=team, assignee=owner)
    linked = services.task_create(created_by=owner, title="Linked", team=team, assignee=owner, entity=org)
    other = services.task_create(created_by=owner, title="Stays", team=team, assignee=owner)
    for t in (parent, child, bulk_a, bulk_b, linked, other):
        attachments.attachment_add(obj=t, user=owner, upload=SimpleUploadedFile(f"{t.title}.txt", b"data"))
    manager = grant(manager, "crm.delete_organization")

    with django_capture_on_commit_callbacks(execute=True):
        services.task_delete(task=parent, user=owner)
        services.tasks_bulk(user=owner, task_ids=[bulk_a.pk, bulk_b.pk], action="delete")
        client.force_login(manager)
        client.post(f"/organizations/{org.pk}/delete/", {"linked": "delete"})

    kept = Attachment.objects.get()
    assert kept.original_name == "Stays.txt"
    assert stored_files(media) == [kept.file.name]
