"""Attachment pages: upload to a record, download (readers only), delete.

Files are served only here, after the record's access check: never from a
public URL. Downloads are sent as attachments (Content-Disposition) with
`X-Content-Type-Options: nosniff` and a sandboxing Content-Security-Policy, so
an uploaded HTML or SVG can never run in the site's origin.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import attachments, object_access
from .forms_discussion import AttachmentForm
from .models import Attachment

# Multipart overhead allowed above the file size limit before a request is refused unread.
ENVELOPE = 64 * 1024


def _form_page(request, form, obj, status, error=None):
    return render(request, "crm/attachments/upload_page.html", {
        "form": form, "object": obj, "noun": object_access.noun(type(obj)), "error": error,
        "allowed": ", ".join(attachments.allowed_extensions()),
        "max_size": attachments.human_size(settings.UPLOAD_MAX_BYTES),
    }, status=status)


@require_POST
def attachment_upload(request, model, pk):
    obj = object_access.get_object(request.user, model, pk)
    limit = settings.UPLOAD_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + ENVELOPE:
        # Refuse before reading (and storing) the body.
        messages.error(request, "Nothing was attached: see below.")
        return _form_page(request, AttachmentForm(), obj, 413,
                          error=f"The file is too large: files can be at most {attachments.human_size(limit)}.")
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = attachments.attachment_add(obj=obj, user=request.user, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            messages.success(request, f"Attached “{attachment.original_name}”.")
            return redirect(obj.get_absolute_url() + "#attachments")
    messages.error(request, "Nothing was attached: see below.")
    return _form_page(request, form, obj, 400)


def _get_attachment(request, pk):
    attachment = get_object_or_404(Attachment.objects.select_related("uploaded_by"), pk=pk)
    obj = object_access.target_of(attachment)
    if obj is None or not object_access.can_view(request.user, obj):
        raise Http404("No such file.")
    return attachment, obj


@require_http_methods(["GET", "HEAD"])
def attachment_download(request, pk):
    attachment, _obj = _get_attachment(request, pk)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.mime_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def attachment_delete(request, pk):
    attachment, obj = _get_attachment(request, pk)
    if not attachments.can_delete(request.user, attachment, obj):
        raise PermissionDenied("Only the person who attached the file, or who may change the record, can delete it.")
    if request.method == "POST":
        name = attachment.original_name
        attachments.attachment_delete(attachment=attachment, user=request.user, obj=obj)
        messages.success(request, f"Deleted “{name}”.")
        return redirect(obj.get_absolute_url() + "#attachments")
    return render(request, "crm/attachments/confirm_delete.html", {
        "attachment": attachment, "object": obj, "noun": object_access.noun(type(obj)),
        "size": attachments.human_size(attachment.size),
    })
