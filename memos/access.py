"""Who may see and act on a memo. Every memo view, list and service asks here.

- The author sees their memos, drafts included.
- The recipient sees a memo once it is sent (a draft is the author's alone).
- Staff see every memo.
- Nobody else: they are told it does not exist (404).

The author edits, sends and deletes a draft; the recipient reviews, postpones and converts
a sent memo; staff may delete any memo.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from .models import ACTIONABLE_STATUSES, Memo, MemoStatus


def _staff(user):
    return user.is_staff or user.is_superuser


def visible_q(user):
    if _staff(user):
        return Q()
    return Q(author=user) | (Q(recipient=user) & ~Q(status=MemoStatus.DRAFT))


def visible_memos(user, queryset=None):
    qs = Memo.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(visible_q(user))


def can_view(user, memo):
    if not user.is_authenticated:
        return False
    if _staff(user) or memo.author_id == user.pk:
        return True
    return memo.recipient_id == user.pk and memo.status != MemoStatus.DRAFT


def can_edit(user, memo):
    """Change its text and recipient, or send it: the author, while it is a draft."""
    return memo.author_id == user.pk and memo.status == MemoStatus.DRAFT


def can_act(user, memo):
    """Review, postpone, convert: the recipient, once it is sent and until it is converted."""
    return memo.recipient_id == user.pk and memo.status in ACTIONABLE_STATUSES


def can_delete(user, memo):
    return _staff(user) or (memo.author_id == user.pk and memo.status == MemoStatus.DRAFT)


def can_moderate(user, memo):
    """Remove others' files on it: its author and recipient, and staff."""
    return _staff(user) or user.pk in (memo.author_id, memo.recipient_id)


def get_memo_for_user(user, pk, queryset=None):
    qs = visible_memos(user, queryset if queryset is not None else Memo.objects.all())
    memo = qs.filter(pk=pk).first()
    if memo is None:
        raise Http404("No such memo.")
    return memo


def require(allowed, message):
    if not allowed:
        raise PermissionDenied(message)
