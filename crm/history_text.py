"""Historical records in plain words.

"Ana changed the due date from 3 Mar 17:00 to 5 Mar 09:00", "Ben created the
task", "Cara deleted the checklist item “Send quote”". Field names are the
models' verbose names (or a describer's own words), choices show their labels,
related records their names (a deleted one its last known name), dates and
times the reader's time zone (the active one). Each model may register a
`Describer` with its noun, hidden fields and special sentences; anything else
is described generically.

`describe_all(records, about=...)` takes historical records that carry
`.previous` (see crm.history.fetch_records) and returns `Entry` objects, naming
related objects with one query per related model.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Optional

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Max
from django.utils import dateformat, timezone

from .history import RESTORED_DELETED, RESTORED_VERSION_RE, TagsHistoryMixin, history_model_of

SYSTEM = "The system"
LONG_TEXT = 500  # char fields longer than this (and text fields) read "changed the description", the texts below


def user_name(user):
    if user is None:
        return SYSTEM
    return user.get_full_name() or user.username


def format_moment(value, now=None):
    """A date and time in the reader's zone: "3 Mar 17:00", with the year when it is not this year."""
    local = timezone.localtime(value)
    this_year = timezone.localtime(now or timezone.now()).year
    return dateformat.format(local, "j M H:i" if local.year == this_year else "j M Y H:i")


def format_date(value, now=None):
    this_year = timezone.localtime(now or timezone.now()).year
    return dateformat.format(value, "j M" if value.year == this_year else "j M Y")


def format_duration(value):
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def quoted(text):
    return f"“{text}”"


# ---- describers -----------------------------------------------------------------------------

@dataclass
class Describer:
    noun: str                                   # "task"
    labels: dict = field(default_factory=dict)  # field name -> words ("due date")
    hidden: frozenset = frozenset()             # fields never described
    name: Optional[Callable] = None             # (record, names) -> the object's name
    parent: Optional[tuple] = None              # (attname, model label) of the record a child belongs to
    sentences: Optional[Callable] = None        # (ctx) -> [str], or None for the generic sentences
    value: Optional[Callable] = None            # (field, value, record, names) -> str, or None for generic
    wants: Optional[Callable] = None            # (record, names): ask for related objects to be named
    link: Optional[Callable] = None             # (record) -> (model, pk) of the page an entry links to


_DESCRIBERS: dict[str, Describer] = {}


def register(model_label, describer):
    _DESCRIBERS[model_label.lower()] = describer


def describer_for(model):
    return _DESCRIBERS.get(model._meta.label_lower) or Describer(noun=str(model._meta.verbose_name))


# ---- naming related objects -----------------------------------------------------------------

def label_of(obj):
    if isinstance(obj, get_user_model()):
        return user_name(obj)
    return str(obj)


class Names:
    """Names of related objects: asked for first, then fetched with one query per model."""

    def __init__(self):
        self._wanted = defaultdict(set)
        self._names = {}
        self._existing = set()

    def want(self, model, pk):
        if model is not None and pk not in (None, ""):
            self._wanted[model].add(pk)

    def want_user(self, user):
        if user is not None:
            self._names[(get_user_model(), user.pk)] = user_name(user)

    def resolve(self):
        for model, pks in self._wanted.items():
            pks = {pk for pk in pks if (model, pk) not in self._names}
            if not pks:
                continue
            for obj in model._default_manager.filter(pk__in=pks):
                self._names[(model, obj.pk)] = label_of(obj)
                self._existing.add((model, obj.pk))
            missing = {pk for pk in pks if (model, pk) not in self._names}
            if missing and hasattr(model._meta, "simple_history_manager_attribute"):
                history = history_model_of(model)
                latest = history.objects.filter(id__in=missing).values("id").annotate(last=Max("history_id"))
                for row in history.objects.filter(history_id__in=latest.values("last")):
                    self._names[(model, row.id)] = label_of(row.instance)
            for pk in missing:
                self._names.setdefault((model, pk), f"#{pk}")
        self._wanted.clear()

    def get(self, model, pk):
        return self._names.get((model, pk), f"#{pk}")

    def exists(self, model, pk):
        """Whether the object was found (asked for and not deleted)."""
        return (model, pk) in self._existing


# ---- changes --------------------------------------------------------------------------------

@dataclass
class Change:
    name: str       # field name ("due_at"), "tags" or "entity"
    label: str      # words for it ("due date")
    old: object
    new: object
    field: object = None  # the model field, when there is one


def _is_described(model_field, describer):
    if model_field.primary_key or not model_field.editable:
        return False
    if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
        return False
    return model_field.name not in describer.hidden


def _has_link(record):
    names = {f.name for f in record.tracked_fields}
    return {"content_type", "object_id"} <= names


def changes_of(record, describer):
    """What differs between `record` and `record.previous` (a "~" record), in field order."""
    previous = getattr(record, "previous", None)
    if record.history_type != "~" or previous is None:
        return []
    found = []
    link = _has_link(record) and "entity" not in describer.hidden
    for model_field in record.tracked_fields:
        if model_field.name in ("content_type", "object_id"):
            if link and model_field.name == "object_id":
                old = (previous.content_type_id, previous.object_id)
                new = (record.content_type_id, record.object_id)
                if old != new:
                    found.append(Change("entity", describer.labels.get("entity", "linked record"), old, new))
            continue
        if not _is_described(model_field, describer):
            continue
        old, new = getattr(previous, model_field.attname), getattr(record, model_field.attname)
        if old != new:
            label = describer.labels.get(model_field.name, str(model_field.verbose_name))
            found.append(Change(model_field.name, label, old, new, model_field))
    if isinstance(record, TagsHistoryMixin) and "tags" not in describer.hidden:
        if (previous.history_tags or "") != (record.history_tags or ""):
            found.append(Change("tags", "tags", _tag_set(previous.history_tags), _tag_set(record.history_tags)))
    return found


def _tag_set(text):
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _is_long_text(model_field):
    return isinstance(model_field, models.TextField) or (
        isinstance(model_field, models.CharField) and (model_field.max_length or 0) > LONG_TEXT)


def _empty(value):
    return value is None or value == ""


# ---- entries --------------------------------------------------------------------------------

@dataclass
class Entry:
    record: object
    when: datetime
    actor: object
    actor_name: str
    sentences: list
    details: list   # [(label, old text, new text)] of long texts
    kind: str       # "tasks.task"
    object_id: int
    history_type: str
    about_self: bool
    url: str = ""   # the page of the object the entry is about, when it still exists and is not this page
    url_label: str = ""

    @property
    def text(self):
        return " ".join(self.sentences)


class Context:
    """What a describer's `sentences` hook gets to write its own sentences."""

    def __init__(self, record, describer, names, about):
        self.record = record
        self.describer = describer
        self.names = names
        self.actor = user_name(record.history_user)
        self.model = record.instance_type
        self.about_self = about is not None and about == (self.model._meta.label_lower, record.id)
        self.parent_model = self.parent_id = None
        self.about_parent = False
        if describer.parent:
            attname, label = describer.parent
            from django.apps import apps

            self.parent_model = apps.get_model(label)
            self.parent_id = getattr(record, attname)
            self.about_parent = about is not None and about == (self.parent_model._meta.label_lower, self.parent_id)
        self.changes = changes_of(record, describer)
        self.details = []

    # Words for the object and where it belongs.
    @property
    def name(self):
        if self.describer.name:
            return self.describer.name(self.record, self.names)
        return label_of(self.record.instance)

    @property
    def it(self):
        """ "the task" on its own page, "the task “Call Acme”" elsewhere."""
        noun = self.describer.noun
        return f"the {noun}" if self.about_self else f"the {noun} {quoted(self.name)}"

    @property
    def parent_name(self):
        return self.names.get(self.parent_model, self.parent_id) if self.parent_model else ""

    def on_parent(self, word="on"):
        """ " on “Call Acme”" for a child record shown away from its parent's page, else ""."""
        if self.parent_model is None or self.about_parent or self.about_self:
            return ""
        return f" {word} {quoted(self.parent_name)}"

    def value(self, change, value, record=None):
        """A change's value in words; `record` is the version it comes from (the current one by default)."""
        return format_value(change, value, record or self.record, self.names, self.describer)

    def old_new(self, change):
        return (self.value(change, change.old, self.record.previous or self.record),
                self.value(change, change.new, self.record))

    def field_sentence(self, change):
        actor, label = self.actor, change.label
        of_it = "" if self.about_self else f" of {self.it}"
        if change.name == "tags":
            return self._tag_sentences(change)
        if change.name == "entity":
            return [self._link_sentence(change)]
        if change.field is not None and _is_long_text(change.field):
            self.details.append((label, change.old or "", change.new or ""))
            if _empty(change.old):
                return [f"{actor} added the {label}{of_it}"]
            if _empty(change.new):
                return [f"{actor} removed the {label}{of_it}"]
            return [f"{actor} changed the {label}{of_it}"]
        old, new = self.old_new(change)
        if _empty(change.old):
            return [f"{actor} set the {label}{of_it} to {new}"]
        if _empty(change.new):
            return [f"{actor} cleared the {label}{of_it} (was {old})"]
        return [f"{actor} changed the {label}{of_it} from {old} to {new}"]

    def _tag_sentences(self, change):
        added = [t for t in change.new if t.lower() not in {o.lower() for o in change.old}]
        removed = [t for t in change.old if t.lower() not in {n.lower() for n in change.new}]
        sentences = []
        if added:
            sentences.append(f"{self.actor} tagged {self.it} with {', '.join(quoted(t) for t in added)}")
        if removed:
            word = "tag" if len(removed) == 1 else "tags"
            on = "" if self.about_self else f" from {self.it}"
            sentences.append(f"{self.actor} removed the {word} {', '.join(quoted(t) for t in removed)}{on}")
        return sentences

    def link_label(self, pair):
        content_type_id, object_id = pair
        if content_type_id is None or object_id is None:
            return ""
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            return f"#{object_id}"
        from . import links

        entry = links.for_model(model)
        kind = entry.label if entry else str(model._meta.verbose_name).capitalize()
        return f"{kind} {quoted(self.names.get(model, object_id))}"

    def _link_sentence(self, change):
        old, new = self.link_label(change.old), self.link_label(change.new)
        if not old:
            return f"{self.actor} linked {self.it} to {new}"
        if not new:
            return f"{self.actor} unlinked {self.it} from {old}"
        return f"{self.actor} moved {self.it} from {old} to {new}"

    def header(self):
        """ "Ana restored the task to the version from 3 Mar 17:00" for a restored version, else nothing."""
        match = RESTORED_VERSION_RE.match(self.record.history_change_reason or "")
        if not match:
            return []
        when = datetime.fromisoformat(match.group("when") + "+00:00")
        return [f"{self.actor} restored {self.it} to the version from {format_moment(when)}"]

    def generic(self):
        record, actor = self.record, self.actor
        if self.parent_model is not None and not self.about_self:
            noun = self.describer.noun
            if record.history_type == "+":
                return [f"{actor} added the {noun} {quoted(self.name)}{self.on_parent('to')}"]
            if record.history_type == "-":
                return [f"{actor} deleted the {noun} {quoted(self.name)}{self.on_parent('from')}"]
            sentences = []
            for change in self.changes:
                if change.name in ("tags", "entity") or (change.field is not None and _is_long_text(change.field)):
                    sentences.extend(self.field_sentence(change))
                    continue
                old, new = self.old_new(change)
                sentences.append(
                    f"{actor} changed the {change.label} of the {noun} {quoted(self.name)}{self.on_parent()} "
                    f"from {old} to {new}")
            return sentences
        if record.history_type == "+":
            verb = "restored" if record.history_change_reason == RESTORED_DELETED else "created"
            return [f"{actor} {verb} {self.it}"]
        if record.history_type == "-":
            return [f"{actor} deleted {self.it}"]
        sentences = self.header()
        for change in self.changes:
            sentences.extend(self.field_sentence(change))
        if not sentences and record.previous is None:  # made before history was kept: no earlier values
            sentences.append(f"{actor} changed {self.it} (its earlier values were not recorded)")
        return sentences


def format_value(change, value, record, names, describer):
    model_field = change.field
    if describer.value is not None and model_field is not None:
        custom = describer.value(model_field, value, record, names)
        if custom is not None:
            return custom
    if _empty(value):
        return "—"
    if model_field is None:
        return str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        return names.get(model_field.related_model, value)
    if isinstance(model_field, models.DateTimeField):
        return format_moment(value)
    if isinstance(model_field, models.DateField):
        return format_date(value)
    if isinstance(model_field, models.DurationField):
        return format_duration(value)
    if isinstance(model_field, models.BooleanField):
        return "yes" if value else "no"
    if isinstance(model_field, (models.CharField, models.TextField)):
        return quoted(value)
    return str(value)


def _want_names(record, describer, names):
    names.want_user(record.history_user)
    previous = getattr(record, "previous", None)
    for model_field in record.tracked_fields:
        if model_field.is_relation and model_field.many_to_one and model_field.name not in ("content_type",):
            names.want(model_field.related_model, getattr(record, model_field.attname))
            if previous is not None:
                names.want(model_field.related_model, getattr(previous, model_field.attname))
    if _has_link(record):
        for rec in (record, previous):
            if rec is not None and rec.content_type_id and rec.object_id:
                model = ContentType.objects.get_for_id(rec.content_type_id).model_class()
                names.want(model, rec.object_id)
    if describer.wants:
        describer.wants(record, names)
    if describer.link:
        names.want(*describer.link(record))


def describe_all(records, *, about=None):
    """Entries for `records` (each with `.previous`), in the same order; records with nothing to say are left out."""
    names = Names()
    contexts = []
    for record in records:
        describer = describer_for(record.instance_type)
        _want_names(record, describer, names)
    names.resolve()
    entries = []
    for record in records:
        describer = describer_for(record.instance_type)
        ctx = Context(record, describer, names, about)
        contexts.append(ctx)
        sentences = describer.sentences(ctx) if describer.sentences else None
        if sentences is None:
            sentences = ctx.generic()
        if not sentences:
            continue
        url = url_label = ""
        if describer.link and not ctx.about_self and not ctx.about_parent:
            model, pk = describer.link(record)
            if names.exists(model, pk):
                url, url_label = model(pk=pk).get_absolute_url(), f"Open the {model._meta.verbose_name}"
        entries.append(Entry(
            record=record, when=record.history_date, actor=record.history_user, actor_name=ctx.actor,
            sentences=sentences, details=ctx.details, kind=record.instance_type._meta.label_lower,
            object_id=record.id, history_type=record.history_type, about_self=ctx.about_self,
            url=url, url_label=url_label,
        ))
    return entries


def describe(record, *, about=None):
    """Plain words for one record (its previous version is looked up): for tests, emails and one-offs."""
    if not hasattr(record, "previous"):
        record.previous = type(record).objects.filter(id=record.id, history_id__lt=record.history_id).order_by(
            "-history_id").first()
    entries = describe_all([record], about=about)
    return entries[0].text if entries else ""
