"""The linkable-entity registry and the generic link used by tasks, memos, projects and billables.

Only models registered here may be the target of a link. A record that uses
`EntityLinkMixin` stores `content_type` + `object_id`; `clean()` refuses a content
type outside the registry and an object that does not exist.
"""

import re
from dataclasses import dataclass

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models


@dataclass(frozen=True)
class Linkable:
    key: str            # "organization"
    model_label: str    # "crm.Organization"
    label: str          # "Organization"
    search_fields: tuple  # fields searched by the entity picker

    @property
    def model(self):
        from django.apps import apps

        return apps.get_model(self.model_label)

    @property
    def content_type(self):
        return ContentType.objects.get_for_model(self.model)


_REGISTRY: dict[str, Linkable] = {}


def register(key, model_label, label, search_fields):
    _REGISTRY[key] = Linkable(key, model_label, label, tuple(search_fields))


def registry():
    return dict(_REGISTRY)


def get(key):
    return _REGISTRY.get(key)


def for_model(model):
    label = model._meta.label
    for entry in _REGISTRY.values():
        if entry.model_label == label:
            return entry
    return None


def for_content_type(content_type):
    if content_type is None:
        return None
    return for_model(content_type.model_class()) if content_type.model_class() else None


def is_linkable(model):
    return for_model(model) is not None


def linkable_content_type_ids():
    return [entry.content_type.pk for entry in _REGISTRY.values()]


def linkable_q():
    """A `limit_choices_to` for ContentType foreign keys."""
    q = models.Q(pk__in=[])
    for entry in _REGISTRY.values():
        app_label, model_name = entry.model_label.split(".")
        q |= models.Q(app_label=app_label, model=model_name.lower())
    return q


_TRAILING_ID_RE = re.compile(r"#(\d+)\s*$")


def search(key, text, limit=20):
    """Entities of one registered type matching `text`, in the model's order.

    Every word of `text` must appear in one of the searchable fields, so
    "Ada Lovelace" finds the individual with first name Ada and last name
    Lovelace. A trailing "#id" (as in "Ada Lovelace · #3", the picker's own
    display) selects that id; a bare number also matches the id.
    """
    entry = get(key)
    if entry is None:
        return []
    qs = entry.model.objects.all()
    text = (text or "").strip()
    if text:
        match = _TRAILING_ID_RE.search(text)
        if match:
            qs = qs.filter(pk=int(match.group(1)))
        else:
            q = models.Q()
            for word in text.split():
                word_q = models.Q()
                for field in entry.search_fields:
                    word_q |= models.Q(**{f"{field}__icontains": word})
                q &= word_q
            if text.isdigit():
                q |= models.Q(pk=int(text))
            qs = qs.filter(q)
    ordering = list(entry.model._meta.ordering or []) + ["pk"]
    return list(qs.order_by(*ordering)[:limit])


def names_of(obj):
    """The texts a user may type to mean `obj` exactly (lower-cased): its display name and searchable fields."""
    entry = for_model(type(obj))
    names = {str(obj).strip().lower()}
    for field in entry.search_fields if entry else ():
        if "__" not in field:
            value = getattr(obj, field, None)
            if value:
                names.add(str(value).strip().lower())
    return names


def _linkable_limit():
    return linkable_q()


class EntityLinkMixin(models.Model):
    """An optional link to one registered entity (no link means a "global" record)."""

    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True,
        limit_choices_to=_linkable_limit, related_name="+", verbose_name="entity type",
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True, verbose_name="entity id")
    entity = GenericForeignKey("content_type", "object_id")

    class Meta:
        abstract = True

    @property
    def is_global(self):
        return self.content_type_id is None

    def clean_entity_link(self):
        if self.content_type_id is None and self.object_id is None:
            return
        if self.content_type_id is None or self.object_id is None:
            raise ValidationError({"content_type": "Choose both the entity type and the entity, or neither."})
        content_type = ContentType.objects.get_for_id(self.content_type_id)
        model = content_type.model_class()
        if model is None or not is_linkable(model):
            raise ValidationError({"content_type": "Records can only be linked to an individual, organization, ticket or opportunity."})
        if not model.objects.filter(pk=self.object_id).exists():
            raise ValidationError({"object_id": f"There is no {for_model(model).label.lower()} #{self.object_id}."})

    def clean(self):
        super().clean()
        self.clean_entity_link()

    def set_entity(self, obj):
        if obj is None:
            self.content_type = None
            self.object_id = None
        else:
            if not is_linkable(type(obj)):
                raise ValidationError("Records can only be linked to an individual, organization, ticket or opportunity.")
            self.content_type = ContentType.objects.get_for_model(obj)
            self.object_id = obj.pk


# Records elsewhere that link to entities (tasks, memos, ...) register here so an
# entity's delete page can say what would be affected and let the user choose.
@dataclass(frozen=True)
class Dependent:
    label: str            # "tasks"
    count: object         # callable(entity) -> int
    detach: object        # callable(entity, user) -> None: keep them, unlinked, with a note
    delete: object        # callable(entity, user) -> None


_DEPENDENTS: list = []


def register_dependent(dependent):
    if all(d.label != dependent.label for d in _DEPENDENTS):
        _DEPENDENTS.append(dependent)


def unregister_dependent(label):
    """Remove the dependent registered under `label` (tests register their own and clean up)."""
    _DEPENDENTS[:] = [d for d in _DEPENDENTS if d.label != label]


def dependents():
    return list(_DEPENDENTS)
