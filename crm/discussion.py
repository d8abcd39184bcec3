"""Discussion threads on any registered record: post, edit, delete, read; @mentions.

Who may read a record's thread is its `can_view` hook (crm.object_access);
internal notes are only for those its `can_see_internal` hook allows (for a
task: staff and the task's team and manager), and are hidden from everyone else,
subscribers included.

Mentions: "@username" or "@first.last" (case-insensitive) of an active user.
Unknown names and e-mail addresses in the text ("ana@example.com") do nothing.
A mentioned user who may not read the comment (cannot see the record, or it is
an internal note they may not read) is not told and gains no access.
"""

import re

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from . import object_access
from .models import Comment
from .notifications import notify

Kind = Comment.Kind

# "@" not preceded by a letter, digit, dot or another "@" (so e-mail addresses are not mentions),
# then a handle that ends with a letter or digit (so "@ana." means ana).
MENTION_RE = re.compile(r"(?<![\w.@])@([A-Za-z0-9](?:[\w.+-]*[A-Za-z0-9_])?)")
BODY_MAX = 10000


def parse_mentions(text):
    """The handles @mentioned in `text`, lower-cased, in order, each once."""
    seen = []
    for handle in MENTION_RE.findall(text or ""):
        handle = handle.lower()
        if handle not in seen:
            seen.append(handle)
    return seen


def resolve_mentions(handles):
    """Active users meant by the handles: username first, else a unique "first.last". Unknown ones are dropped."""
    if not handles:
        return []
    User = get_user_model()
    q = Q(lower_username__in=handles)
    for handle in handles:
        first, dot, last = handle.partition(".")
        if dot and first and last and "." not in last:
            q |= Q(first_name__iexact=first, last_name__iexact=last)
    candidates = list(User.objects.annotate(lower_username=Lower("username")).filter(q, is_active=True))
    found = []
    for handle in handles:
        user = next((u for u in candidates if u.username.lower() == handle), None)
        if user is None and "." in handle:
            first, _dot, last = handle.partition(".")
            named = [u for u in candidates if u.first_name.lower() == first and u.last_name.lower() == last]
            user = named[0] if len(named) == 1 else None
        if user is not None and user not in found:
            found.append(user)
    return found


def handles_of(user):
    names = {user.username.lower()}
    if user.first_name and user.last_name:
        names.add(f"{user.first_name}.{user.last_name}".lower())
    return names


def render_body(comment):
    """The body as safe HTML: escaped, line breaks kept, the mentions that reached someone highlighted."""
    known = set()
    for user in comment.mentions.all():
        known |= handles_of(user)

    def highlight(match):
        handle = match.group(1)
        if handle.lower() in known:
            return f'<strong class="mention">@{handle}</strong>'
        return match.group(0)

    html = MENTION_RE.sub(highlight, str(escape(comment.body)))
    paragraphs = [p.replace("\n", "<br>") for p in re.split(r"\n{2,}", html.replace("\r\n", "\n").strip())]
    return mark_safe("".join(f"<p>{p}</p>" for p in paragraphs))


# ---- reading ------------------------------------------------------------------------------------

def can_read(user, comment, obj):
    if not object_access.can_view(user, obj):
        return False
    return comment.kind != Kind.INTERNAL or object_access.can_see_internal(user, obj)


def kinds_for(user, obj):
    """The kinds of comment `user` may write on `obj` (internal notes only for those who read them)."""
    kinds = [Kind.COMMENT, Kind.NOTE, Kind.OUTCOME]
    if object_access.can_see_internal(user, obj):
        kinds.insert(2, Kind.INTERNAL)
    return kinds


def comments_for(*, obj, user):
    """The thread of `obj` that `user` may read, oldest first, with authors and mentions (3 queries)."""
    qs = (Comment.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
          .select_related("author").prefetch_related("mentions").order_by("created_at", "pk"))
    if not object_access.can_see_internal(user, obj):
        qs = qs.exclude(kind=Kind.INTERNAL)
    return list(qs)


def card_context(*, obj, user):
    """What a discussion card shows `user` for `obj`: the readable comments (rendered, each marked
    `is_own` and `may_delete`: its author, staff), the kinds they may post and where to post."""
    comments = comments_for(obj=obj, user=user)
    for comment in comments:
        comment.html = render_body(comment)
        comment.is_own = comment.author_id == user.pk
        comment.may_delete = comment.is_own or user.is_staff or user.is_superuser
    return {
        "comments": comments, "kinds": [(k.value, k.label) for k in kinds_for(user, obj)],
        "post_url": reverse("activity:comment_post", args=[object_access.key_for(obj), obj.pk]),
    }


# ---- changing -----------------------------------------------------------------------------------

def _clean_body(body):
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > BODY_MAX:
        raise ValidationError({"body": f"A comment can be at most {BODY_MAX} characters (this one has {len(body)})."})
    return body


def _readers_among(users, comment, obj):
    return [u for u in users if can_read(u, comment, obj)]


def _actor_name(user):
    return user.get_full_name() or user.username


def _notify_mentions(comment, obj, author, users):
    noun = object_access.noun(type(obj))
    for user in users:
        notify(recipient=user, actor=author, verb="mentioned", target=obj,
               text=f"{_actor_name(author)} mentioned you on the {noun} “{obj}”.",
               details={"comment_id": comment.pk, "kind": comment.kind})


def comment_post(*, obj, author, body, kind=Kind.COMMENT):
    """Post a comment or note on `obj`. One transaction.

    Refuses (PermissionDenied) an author who cannot see `obj`, or an internal
    note from someone who may not read internal notes. Tells the @mentioned users
    who may read it ("mentioned"), then the record's owners (for a task its
    assignee and creator) who may read it and were not mentioned ("commented");
    never the author. Emails go out after commit.
    """
    if not object_access.can_view(author, obj):
        raise PermissionDenied("You may not comment here.")
    if kind not in Kind.values:
        raise ValidationError({"kind": f"“{kind}” is not a kind of comment."})
    if kind == Kind.INTERNAL and not object_access.can_see_internal(author, obj):
        raise PermissionDenied("Only staff and the team may write internal notes here.")
    body = _clean_body(body)
    with transaction.atomic():
        comment = Comment(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk,
                          author=author, body=body, kind=kind)
        comment.full_clean()
        comment.save()
        mentioned = _readers_among(resolve_mentions(parse_mentions(body)), comment, obj)
        mentioned = [u for u in mentioned if u.pk != author.pk]
        comment.mentions.set(mentioned)
        _notify_mentions(comment, obj, author, mentioned)
        noun = object_access.noun(type(obj))
        told = {u.pk for u in mentioned} | {author.pk}
        for owner in _readers_among(object_access.owners(obj), comment, obj):
            if owner.pk in told:
                continue
            told.add(owner.pk)
            notify(recipient=owner, actor=author, verb="commented", target=obj,
                   text=f"{_actor_name(author)} commented on your {noun} “{obj}”.",
                   details={"comment_id": comment.pk, "kind": comment.kind})
    return comment


def comment_edit(*, comment, user, body, obj=None):
    """Change the text of one's own comment. Users newly @mentioned are told; those already told are not."""
    obj = obj if obj is not None else object_access.target_of(comment)
    if obj is None or comment.author_id != user.pk or not can_read(user, comment, obj):
        raise PermissionDenied("You can only edit your own comments.")
    body = _clean_body(body)
    with transaction.atomic():
        current = Comment.objects.select_for_update().get(pk=comment.pk)
        current.body = body
        current.edited_at = timezone.now()
        current.full_clean()
        current.save(update_fields=["body", "edited_at"])
        before = set(current.mentions.values_list("pk", flat=True))
        mentioned = [u for u in _readers_among(resolve_mentions(parse_mentions(body)), current, obj)
                     if u.pk != user.pk]
        current.mentions.set(mentioned)
        _notify_mentions(current, obj, user, [u for u in mentioned if u.pk not in before])
    return current


def comment_delete(*, comment, user, obj=None):
    """Delete a comment: its author, or staff."""
    obj = obj if obj is not None else object_access.target_of(comment)
    allowed = comment.author_id == user.pk or user.is_staff or user.is_superuser
    if obj is None or not allowed or not can_read(user, comment, obj):
        raise PermissionDenied("You can only delete your own comments.")
    comment.delete()
