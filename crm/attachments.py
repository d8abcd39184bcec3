"""Attachments: upload to a registered record, list, serve to readers only, delete (with the file).

Rules (settings): a file may be at most UPLOAD_MAX_BYTES long and its extension
must be in UPLOAD_ALLOWED_EXTENSIONS; its first bytes must fit the extension
(a ".pdf" must start like a PDF, a ".txt" must be text), and the content type
stored is the one the extension gives, never the browser's claim. A name with a
folder in it ("../../etc/passwd", "a/b.pdf") is refused; any other name is made
safe (get_valid_filename) for storage while the original is kept for display.

Files are only served by crm.views_attachments after the record's `can_view`
hook says yes (crm.object_access), as downloads with `nosniff`. Deleting an
attachment, or the record it hangs on (any registered model, also cascaded and
bulk deletions), deletes the stored file once the transaction commits.
"""

import logging
import mimetypes
import os

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation, ValidationError
from django.db import transaction
from django.db.models.signals import post_delete
from django.urls import reverse
from django.utils.text import get_valid_filename

from . import object_access
from .models import Attachment

log = logging.getLogger(__name__)

# The first bytes files of a type start with (for the types we can check).
ZIP = (b"PK\x03\x04",)
OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
SIGNATURES = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "docx": ZIP, "xlsx": ZIP, "pptx": ZIP, "odt": ZIP, "ods": ZIP, "odp": ZIP, "zip": ZIP,
    "doc": OLE, "xls": OLE, "ppt": OLE,
}
TEXT_TYPES = {"txt", "csv", "md", "json", "xml", "ics", "log"}
TYPE_NAMES = {"pdf": "a PDF", "png": "a PNG image", "jpg": "a JPEG image", "jpeg": "a JPEG image",
              "gif": "a GIF image", "doc": "a Word document", "docx": "a Word document",
              "xls": "an Excel workbook", "xlsx": "an Excel workbook", "odt": "an OpenDocument text",
              "ods": "an OpenDocument spreadsheet"}


def human_size(size):
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}".replace(".0 ", " ")
        size /= 1024
    return f"{size} GB"


def allowed_extensions():
    return sorted({e.lower().lstrip(".") for e in settings.UPLOAD_ALLOWED_EXTENSIONS})


def safe_name(name):
    """A storable name for an uploaded file's `name`, or ValidationError for a name with folders in it."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("The file has no name.")
    if "/" in name or "\\" in name or "\x00" in name or name in (".", ".."):
        raise ValidationError(f"The file name “{name[:100]}” is not allowed: give a plain file name, without folders.")
    try:
        cleaned = get_valid_filename(os.path.basename(name))
    except SuspiciousFileOperation:  # nothing usable left ("???", "..")
        cleaned = ""
    if not cleaned or cleaned.startswith("."):
        raise ValidationError(f"The file name “{name[:100]}” is not allowed.")
    stem, ext = os.path.splitext(cleaned)
    return f"{stem[:150]}{ext[:20]}"


def _head(upload, size=2048):
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def check_upload(upload):
    """(safe name, content type) for an acceptable upload, else ValidationError saying why."""
    original = (upload.name or "").strip()
    name = safe_name(original)
    extension = os.path.splitext(name)[1].lower().lstrip(".")
    allowed = allowed_extensions()
    if extension not in allowed:
        kind = f".{extension} files" if extension else "Files without an extension"
        raise ValidationError(f"{kind} cannot be attached (“{original[:100]}”). Allowed: {', '.join(allowed)}.")
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(f"“{original[:100]}” is {human_size(upload.size)}; files can be at most "
                              f"{human_size(limit)}.")
    if upload.size == 0:
        raise ValidationError(f"“{original[:100]}” is empty.")
    head = _head(upload)
    signatures = SIGNATURES.get(extension)
    if signatures and not any(head.startswith(sig) for sig in signatures):
        kind = TYPE_NAMES.get(extension, f"a .{extension} file")
        raise ValidationError(
            f"“{original[:100]}” does not look like {kind} (its content does not match its extension).")
    if extension in TEXT_TYPES and b"\x00" in head:
        raise ValidationError(f"“{original[:100]}” does not look like a text file.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, content_type


def attachments_for(obj):
    """The files on `obj`, newest first, with who uploaded them (one query)."""
    return list(Attachment.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
                .select_related("uploaded_by").order_by("-created_at", "-pk"))


def card_context(*, obj, user, may_moderate):
    """What the attachments card (templates/crm/attachments/card.html) shows `user` for `obj`.

    Each file is marked `may_delete` for its uploader, or for everyone when `may_moderate`.
    """
    files = attachments_for(obj)
    for item in files:
        item.may_delete = item.uploaded_by_id == user.pk or may_moderate
        item.human_size = human_size(item.size)
    return {
        "files": files,
        "upload_url": reverse("activity:attachment_upload", args=[object_access.key_for(obj), obj.pk]),
        "accept": ",".join(f".{e}" for e in allowed_extensions()),
        "allowed": ", ".join(allowed_extensions()),
        "max_size": human_size(settings.UPLOAD_MAX_BYTES),
    }


def attachment_add(*, obj, user, upload):
    """Store `upload` on `obj`. Anyone who can see `obj` may attach; bad files raise ValidationError, nothing kept.

    One transaction: if the row cannot be saved the stored file is removed again.
    """
    if not object_access.can_view(user, obj):
        raise PermissionDenied("You may not attach files here.")
    name, content_type = check_upload(upload)
    original = os.path.basename((upload.name or "").strip())[:255]
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, original_name=original,
        size=upload.size, mime_type=content_type, uploaded_by=user,
    )
    with transaction.atomic():
        attachment.file.save(name, upload, save=False)
        stored = attachment.file.name
        try:
            attachment.full_clean(exclude=["file"])
            attachment.save()
        except Exception:
            attachment.file.storage.delete(stored)
            raise
    return attachment


def can_delete(user, attachment, obj):
    return attachment.uploaded_by_id == user.pk or object_access.can_moderate(user, obj)


def attachment_delete(*, attachment, user, obj=None):
    """Delete an attachment: its uploader, or whoever may moderate the record (a task's editors).

    The stored file is deleted once the transaction commits (a rollback keeps it).
    """
    obj = obj if obj is not None else object_access.target_of(attachment)
    if obj is None or not object_access.can_view(user, obj) or not can_delete(user, attachment, obj):
        raise PermissionDenied("You may not delete this file.")
    attachment.delete()


def _delete_file_after_commit(sender, instance, **kwargs):
    name = instance.file.name
    if not name:
        return
    storage = instance.file.storage

    def remove():
        try:
            storage.delete(name)
        except OSError:
            log.exception("Could not delete the stored file %s", name)

    transaction.on_commit(remove)


post_delete.connect(_delete_file_after_commit, sender=Attachment, dispatch_uid="attachment-file-delete")


def _delete_attachments_of(sender, instance, **kwargs):
    """A registered record was deleted (alone, cascaded or in bulk): its attachments and files go too."""
    if instance.pk is None:
        return
    Attachment.objects.filter(content_type=ContentType.objects.get_for_model(sender), object_id=instance.pk).delete()


def delete_with(model):
    """Delete the attachments of `model` records when they are deleted (called for each registered model)."""
    post_delete.connect(_delete_attachments_of, sender=model, dispatch_uid=f"attachments-of-{model._meta.label}")
