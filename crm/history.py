"""Change history: recording helpers and the pages' history lists.

django-simple-history records every create, change and delete of a model that
declares `history = HistoricalRecords()`: who (`history_user`, from the request
through simple_history's middleware, or set explicitly), when, and the whole row
as it was. This module adds what the project needs on top:

- Tags (django-taggit) are not a plain many-to-many field, so simple-history
  cannot track them. A model whose historical model uses `TagsHistoryMixin` and
  is passed to `track_tags()` gets the tag names copied into each historical
  record (`history_tags`); a tag change saved after the row (as the services do)
  updates the record written by that save, or writes a record of its own.
- `change_reason(text)` and `deletion_batch(label)`: context managers that give
  every historical record written inside them a reason ("Restored version
  from ..."; deletions share one "Deleted with task #12 [token]" so a restore can
  bring back exactly what was deleted together).
- `record()` / `record_many()` write records for changes made with
  `QuerySet.update()`, which bypasses simple-history.
- Activity sources: `register_activity(...)` lets apps add the records linked to
  an entity (its tasks and their checklist items ...) to the entity's Activity tab;
  `history_page()` merges several historical tables into one newest-first page
  with a fixed number of queries, and turns each record into plain words
  (crm.history_text).
"""

import contextvars
import functools
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.core.paginator import Paginator
from django.db import models, transaction
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.signals import m2m_changed, pre_delete
from django.utils import timezone
from simple_history.signals import post_create_historical_record, pre_create_historical_record
from simple_history.utils import get_history_manager_for_model


class TagsHistoryMixin(models.Model):
    """Base for the historical model of a tagged model: the tag names at that moment."""

    history_tags = models.CharField("tags", max_length=1000, blank=True, default="")

    class Meta:
        abstract = True


# ---- reasons and deletion batches -----------------------------------------------------------

_context = contextvars.ContextVar("crm_history_context", default={})

DELETION_RE = re.compile(r"^Deleted with (?P<label>.+) \[(?P<token>[0-9a-f]{12})\]$")
RESTORED_VERSION_RE = re.compile(r"^Restored version from (?P<when>\d{4}-\d\d-\d\d \d\d:\d\d) UTC$")
RESTORED_DELETED = "Restored after deletion"


@contextmanager
def change_reason(text):
    """Every historical record written inside gets `text` as its change reason (unless it has one)."""
    token = _context.set({**_context.get(), "reason": text[:100]})
    try:
        yield
    finally:
        _context.reset(token)


@contextmanager
def deletion_batch(label):
    """Deletions inside share one reason, "Deleted with <label> [token]": what a restore brings back together.

    Nested batches keep the outer one (deleting a task inside an entity deletion
    belongs to the entity's batch). Yields the reason.
    """
    current = _context.get()
    if current.get("deleted"):
        yield current["deleted"]
        return
    reason = f"Deleted with {label[:60]} [{uuid.uuid4().hex[:12]}]"
    token = _context.set({**current, "deleted": reason})
    try:
        yield reason
    finally:
        _context.reset(token)


@contextmanager
def acting_user(user):
    """Records written inside (without a user of their own) name `user`: for services run outside a request."""
    token = _context.set({**_context.get(), "user": user})
    try:
        yield
    finally:
        _context.reset(token)


def records_as(kwarg):
    """Decorator for a service: its keyword argument `kwarg` (the acting user) authors the history it writes.

    In a request simple-history already knows the user (middleware); jobs, commands
    and tests call services without one.
    """
    def decorator(service):
        @functools.wraps(service)
        def wrapper(*args, **kwargs):
            user = kwargs.get(kwarg)
            if user is None or not getattr(user, "is_authenticated", False):
                return service(*args, **kwargs)
            with acting_user(user):
                return service(*args, **kwargs)
        return wrapper
    return decorator


def deletion_token(reason):
    match = DELETION_RE.match(reason or "")
    return match.group("token") if match else None


# ---- tags ------------------------------------------------------------------------------------

_TAGGED_MODELS = set()


def track_tags(model):
    """Copy `model`'s tag names into its historical records (its history must use TagsHistoryMixin)."""
    _TAGGED_MODELS.add(model)
    pre_delete.connect(_remember_tags_before_delete, sender=model, dispatch_uid=f"history-tags-{model._meta.label}")


def _tag_names(instance):
    return ", ".join(sorted(instance.tags.names(), key=str.lower))


def _remember_tags_before_delete(sender, instance, **kwargs):
    # The tag rows go before the task's row; the "-" record is written after. Keep the names.
    instance._history_tag_names = _tag_names(instance)


def _tag_snapshot(instance, history_type):
    if hasattr(instance, "_history_tag_names"):
        return instance._history_tag_names
    if history_type == "+" or instance.pk is None:
        return ""  # tags are set after the row is created; the m2m handler fills them in
    return _tag_names(instance)


def _tags_changed(sender, instance, action, pk_set=None, **kwargs):
    if type(instance) not in _TAGGED_MODELS or action not in ("post_add", "post_remove", "post_clear"):
        return
    if action != "post_clear" and not pk_set:
        return  # taggit announces an empty add when nothing changed
    names = _tag_names(instance)
    history_model = get_history_manager_for_model(instance).model
    last_id = instance.__dict__.get("_last_history_record_id")
    if last_id and history_model.objects.filter(history_id=last_id).update(history_tags=names) == 1:
        return
    record(instance, history_type="~")


m2m_changed.connect(_tags_changed, dispatch_uid="crm-history-tags")


# ---- filling records ------------------------------------------------------------------------

def _fill_record(sender, instance, history_instance, **kwargs):
    context = _context.get()
    if history_instance.history_user is None and context.get("user") is not None:
        history_instance.history_user = context["user"]
    if not history_instance.history_change_reason:
        if history_instance.history_type == "-" and context.get("deleted"):
            history_instance.history_change_reason = context["deleted"]
        elif context.get("reason"):
            history_instance.history_change_reason = context["reason"]
    if isinstance(history_instance, TagsHistoryMixin):
        history_instance.history_tags = _tag_snapshot(instance, history_instance.history_type)


def _remember(instance, history_id):
    # A tag change later in the same transaction belongs to this record; after commit it is a new change.
    instance._last_history_record_id = history_id
    transaction.on_commit(lambda: instance.__dict__.pop("_last_history_record_id", None))


def _remember_record(sender, instance, history_instance, **kwargs):
    if isinstance(history_instance, TagsHistoryMixin) and history_instance.history_type != "-":
        _remember(instance, history_instance.history_id)


pre_create_historical_record.connect(_fill_record, dispatch_uid="crm-history-fill")
post_create_historical_record.connect(_remember_record, dispatch_uid="crm-history-remember")


def _default_user(history_model, instance):
    try:
        return history_model.get_default_history_user(instance)
    except AttributeError:
        return None


def _build_record(instance, *, history_model, history_type, user, reason, tags=None):
    context = _context.get()
    if not reason:
        reason = context.get("deleted") if history_type == "-" else context.get("reason")
    row = history_model(
        history_date=timezone.now(),
        history_type=history_type,
        history_user=user or _default_user(history_model, instance) or context.get("user"),
        history_change_reason=(reason or None),
        **{field.attname: getattr(instance, field.attname) for field in history_model.tracked_fields},
    )
    if isinstance(row, TagsHistoryMixin):
        row.history_tags = tags if tags is not None else _tag_snapshot(instance, history_type)
    return row


def record(instance, *, user=None, reason=None, history_type="~"):
    """Write one historical record of `instance` as it is now (for changes made with .update())."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return None
    history_model = get_history_manager_for_model(instance).model
    row = _build_record(instance, history_model=history_model, history_type=history_type, user=user, reason=reason)
    row.save()
    if isinstance(row, TagsHistoryMixin) and history_type != "-":
        _remember(instance, row.history_id)
    return row


def record_many(instances, *, user=None, reason=None, history_type="~"):
    """Write a historical record of each instance (all of one model) in one insert, tags in one query."""
    instances = list(instances)
    if not instances or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return []
    model = type(instances[0])
    history_model = get_history_manager_for_model(model).model
    tags = {}
    if issubclass(history_model, TagsHistoryMixin):
        from django.contrib.contenttypes.models import ContentType
        from taggit.models import TaggedItem

        rows = TaggedItem.objects.filter(
            content_type=ContentType.objects.get_for_model(model), object_id__in=[i.pk for i in instances]
        ).values_list("object_id", "tag__name")
        for object_id, name in rows:
            tags.setdefault(object_id, []).append(name)
    records = [
        _build_record(instance, history_model=history_model, history_type=history_type, user=user, reason=reason,
                      tags=", ".join(sorted(tags.get(instance.pk, []), key=str.lower)))
        for instance in instances
    ]
    return history_model.objects.bulk_create(records)


# ---- lists of history entries ---------------------------------------------------------------

def history_model_of(model):
    return get_history_manager_for_model(model).model


@dataclass(frozen=True)
class ActivitySource:
    """Historical records linked to an entity, for its Activity tab.

    `records(entity, user)` returns a queryset of one historical model holding
    only what `user` may see.
    """

    key: str
    records: Callable
    models: tuple = ()  # entity model labels; empty means every entity


_ACTIVITY: dict[str, ActivitySource] = {}


def register_activity(source):
    _ACTIVITY[source.key] = source


def unregister_activity(key):
    _ACTIVITY.pop(key, None)


def activity_querysets(entity, user):
    """The entity's own history and every registered source's records for it."""
    querysets = [history_model_of(type(entity)).objects.filter(id=entity.pk)]
    for source in sorted(_ACTIVITY.values(), key=lambda s: s.key):
        if not source.models or entity._meta.label in source.models:
            querysets.append(source.records(entity, user))
    return querysets


def _merged(querysets):
    """(history_date, history_id, kind) of every record of `querysets`, newest first, as one query."""
    parts = [
        qs.order_by().annotate(history_kind=Value(qs.model._meta.label_lower, output_field=CharField()))
        .values_list("history_date", "history_id", "history_kind")
        for qs in querysets
    ]
    if len(parts) == 1:
        return parts[0].order_by("-history_date", "-history_id")
    return parts[0].union(*parts[1:], all=True).order_by("-history_date", "-history_id", "history_kind")


def fetch_records(keys, models_by_kind):
    """The historical records for [(date, history_id, kind)], in that order, each with `.previous`.

    Two queries per kind present: the records (with their author) and the records
    just before them (the same object's previous version), whatever the number of rows.
    """
    by_kind = {}
    for _date, history_id, kind in keys:
        by_kind.setdefault(kind, []).append(history_id)
    found = {}
    for kind, ids in by_kind.items():
        model = models_by_kind[kind]
        previous_id = (model.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
                       .order_by("-history_id").values("history_id")[:1])
        rows = list(model.objects.filter(history_id__in=ids).select_related("history_user")
                    .annotate(previous_history_id=Subquery(previous_id)))
        previous = {r.history_id: r for r in model.objects.filter(
            history_id__in=[r.previous_history_id for r in rows if r.previous_history_id])}
        for row in rows:
            row.previous = previous.get(row.previous_history_id)
            found[(kind, row.history_id)] = row
    return [found[(kind, history_id)] for _date, history_id, kind in keys if (kind, history_id) in found]


def history_page(request, querysets, *, about=None, per_page=None, page_number=None):
    """One page of plain-words entries from several historical tables, newest first.

    `about` is the object the page is about (its own records speak of "the task",
    others name their object). A fixed number of queries per page: one count, one
    for the page's keys, two per kind of record on the page, one per kind of
    related object named.
    """
    from . import history_text

    models_by_kind = {qs.model._meta.label_lower: qs.model for qs in querysets}
    paginator = Paginator(_merged(querysets), per_page or settings.PAGE_SIZE)
    page = paginator.get_page(page_number if page_number is not None else request.GET.get("page"))
    records = fetch_records(list(page.object_list), models_by_kind)
    page.object_list = history_text.describe_all(records, about=about)
    return page


def latest_entries(querysets, *, about=None, limit=5):
    """The newest `limit` entries (for a panel), with the same fixed number of queries as a page."""
    from . import history_text

    models_by_kind = {qs.model._meta.label_lower: qs.model for qs in querysets}
    keys = list(_merged(querysets)[:limit])
    return history_text.describe_all(fetch_records(keys, models_by_kind), about=about)
