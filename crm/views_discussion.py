"""Discussion pages: post a comment on a record, edit or delete one's own.

Every view finds the record through crm.object_access (404 for anyone who may not
see it, or for a record type without a discussion) and changes comments only
through crm.discussion. Bad input shows the form again with the reason (400);
an action the reader may not take answers 403; nothing is half-saved.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import discussion, object_access
from .forms_discussion import CommentEditForm, CommentForm
from .models import Comment


def _thread_url(obj, comment=None):
    return obj.get_absolute_url() + (f"#comment-{comment.pk}" if comment else "#discussion")


def _get_comment(request, pk):
    """The comment and its record, if the reader may read it; else 404."""
    comment = get_object_or_404(Comment.objects.select_related("author"), pk=pk)
    obj = object_access.target_of(comment)
    if obj is None or not discussion.can_read(request.user, comment, obj):
        raise Http404("No such comment.")
    return comment, obj


def _apply_errors(form, exc):
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@require_POST
def comment_post(request, model, pk):
    obj = object_access.get_object(request.user, model, pk)
    kinds = discussion.kinds_for(request.user, obj)
    form = CommentForm(request.POST, kinds=kinds)
    if form.is_valid():
        try:
            comment = discussion.comment_post(obj=obj, author=request.user, body=form.cleaned_data["body"],
                                              kind=form.cleaned_data["kind"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{comment.get_kind_display()} posted.")
            return redirect(_thread_url(obj, comment))
    messages.error(request, "Your message was not posted: see below.")
    return render(request, "crm/discussion/comment_form_page.html",
                  {"form": form, "object": obj, "noun": object_access.noun(type(obj)), "editing": False}, status=400)


@require_http_methods(["GET", "POST"])
def comment_edit(request, pk):
    comment, obj = _get_comment(request, pk)
    if comment.author_id != request.user.pk:
        raise PermissionDenied("You can only edit your own comments.")
    form = CommentEditForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST":
        if form.is_valid():
            try:
                comment = discussion.comment_edit(comment=comment, user=request.user, body=form.cleaned_data["body"],
                                                  obj=obj)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, "Your comment is saved.")
                return redirect(_thread_url(obj, comment))
        messages.error(request, "Your comment was not saved: see below.")
    return render(request, "crm/discussion/comment_form_page.html",
                  {"form": form, "object": obj, "noun": object_access.noun(type(obj)), "editing": True,
                   "comment": comment}, status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def comment_delete(request, pk):
    comment, obj = _get_comment(request, pk)
    if not (comment.author_id == request.user.pk or request.user.is_staff or request.user.is_superuser):
        raise PermissionDenied("You can only delete your own comments.")
    if request.method == "POST":
        discussion.comment_delete(comment=comment, user=request.user, obj=obj)
        messages.success(request, "The comment is deleted.")
        return redirect(_thread_url(obj))
    comment.html = discussion.render_body(comment)
    return render(request, "crm/discussion/comment_confirm_delete.html",
                  {"comment": comment, "object": obj, "noun": object_access.noun(type(obj))})
