"""The Memos tab on the detail page of every linkable entity (a deal's memos first of all), and what
happens to linked memos when the entity is deleted (kept, unlinked; or deleted).

The tab lists the memos about the entity that the user may see (author, recipient, staff),
with the progress of what they became, and a "New memo" button with the entity filled in.
A fixed number of queries whatever the number of memos.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from crm import links, tabs

from . import access, selectors
from .models import Memo

ENTITY_MODELS = ("crm.Individual", "crm.Organization", "crm.Ticket", "crm.Opportunity")


def _linked(obj):
    return Memo.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)


def render_memos_tab(request, obj):
    entry = links.for_model(type(obj))
    rows = selectors.memo_rows(access.visible_memos(request.user, _linked(obj)).order_by("-created_at", "-pk"))
    return "memos/entity_tab.html", {"memos": selectors.decorate(rows[:200]), "entity_key": entry.key if entry else ""}


def count_memos_tab(request, obj):
    return access.visible_memos(request.user, _linked(obj)).count()


def count_linked(entity):
    return _linked(entity).count()


def detach_linked(entity, user):
    with transaction.atomic():
        _linked(entity).update(content_type=None, object_id=None)


def delete_linked(entity, user):
    with transaction.atomic():
        _linked(entity).delete()


tabs.register(tabs.Tab(slug="memos", label="Memos", order=26, render=render_memos_tab, count=count_memos_tab,
                       models=ENTITY_MODELS))
