"""Who may read what a record's discussion and attachments hold: one registry, filled by each app.

Comments (crm.discussion) and attachments (crm.attachments) hang on any record
through content_type + object_id: tasks now, memos and projects later. crm does
not know those apps' rules, so each app registers its model's hooks in its
AppConfig.ready():

    object_access.register("tasks.Task", object_access.Hooks(
        can_view=access.can_view, can_moderate=access.can_edit,
        can_see_internal=..., owners=lambda task: [task.assignee, task.created_by]))

A model that is not registered has no discussion and no attachments: every
view answers 404 for it.
"""

from dataclasses import dataclass
from typing import Callable, Optional

from django.contrib.contenttypes.models import ContentType
from django.http import Http404


def _staff(user, obj):
    return user.is_staff or user.is_superuser


def _nobody(obj):
    return []


@dataclass(frozen=True)
class Hooks:
    can_view: Callable                       # (user, obj) -> bool: reads it, its comments and files
    can_moderate: Callable = _staff          # (user, obj) -> bool: removes others' files
    can_see_internal: Callable = _staff      # (user, obj) -> bool: reads and writes internal notes
    owners: Callable = _nobody               # (obj) -> [users] told when someone comments ("my task")
    select_related: tuple = ()               # what `get_object` fetches along
    noun: Optional[str] = None               # "task"; defaults to the model's verbose name


_HOOKS: dict[str, Hooks] = {}


def register(model_label, hooks):
    _HOOKS[model_label.lower()] = hooks


def unregister(model_label):
    _HOOKS.pop(model_label.lower(), None)


def hooks_for(model):
    return _HOOKS.get(model._meta.label_lower)


def is_registered(model):
    return hooks_for(model) is not None


def registered_models():
    from django.apps import apps

    return [apps.get_model(label) for label in _HOOKS]


def noun(model):
    hooks = hooks_for(model)
    return (hooks.noun if hooks and hooks.noun else str(model._meta.verbose_name))


def can_view(user, obj):
    hooks = hooks_for(type(obj))
    return bool(hooks and user.is_authenticated and hooks.can_view(user, obj))


def can_moderate(user, obj):
    hooks = hooks_for(type(obj))
    return bool(hooks and user.is_authenticated and hooks.can_moderate(user, obj))


def can_see_internal(user, obj):
    hooks = hooks_for(type(obj))
    return bool(hooks and user.is_authenticated and hooks.can_see_internal(user, obj))


def owners(obj):
    hooks = hooks_for(type(obj))
    return [u for u in (hooks.owners(obj) if hooks else []) if u is not None]


def model_for_key(key):
    """The registered model for "tasks.task" (URLs name models so), or 404."""
    from django.apps import apps

    if not isinstance(key, str) or key.lower() not in _HOOKS:
        raise Http404("Nothing to discuss here.")
    return apps.get_model(key)


def key_for(obj):
    return obj._meta.label_lower


def get_object(user, key, pk):
    """The registered record `key` #pk if `user` may see it, else 404 (outsiders are not told it exists)."""
    model = model_for_key(key)
    hooks = hooks_for(model)
    obj = model._default_manager.select_related(*hooks.select_related).filter(pk=pk).first()
    if obj is None or not can_view(user, obj):
        raise Http404("No such record.")
    return obj


def target_of(record):
    """The object a comment or attachment hangs on, or None when it is gone (or its model unregistered)."""
    model = ContentType.objects.get_for_id(record.content_type_id).model_class()
    if model is None or not is_registered(model):
        return None
    hooks = hooks_for(model)
    return model._default_manager.select_related(*hooks.select_related).filter(pk=record.object_id).first()
