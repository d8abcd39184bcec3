"""The History and Activity tabs of entity pages.

- History: the entity's own changes (who changed which field from what to what).
- Activity: everything linked to it, newest first: its own changes, its tasks
  (deleted ones too) and their checklist items and participants (registered by
  the apps through crm.history.register_activity), limited to what the reader
  may see. A fixed number of queries per page (crm.history.history_page).
"""

from . import history, tabs
from .views import querystring_without

ENTITY_MODELS = ("crm.Individual", "crm.Organization", "crm.Ticket", "crm.Opportunity")


def _about(obj):
    return (obj._meta.label_lower, obj.pk)


def render_history_tab(request, obj):
    page = history.history_page(request, [history.history_model_of(type(obj)).objects.filter(id=obj.pk)],
                                about=_about(obj))
    return "crm/history/entity_tab.html", {"page": page, "qs_no_page": querystring_without(request, "page"),
                                           "empty_text": "No changes recorded yet.", "history_kind": "history"}


def render_activity_tab(request, obj):
    page = history.history_page(request, history.activity_querysets(obj, request.user), about=_about(obj))
    return "crm/history/entity_tab.html", {"page": page, "qs_no_page": querystring_without(request, "page"),
                                           "empty_text": "Nothing has happened here yet.", "history_kind": "activity"}


tabs.register(tabs.Tab(slug="activity", label="Activity", order=80, render=render_activity_tab, models=ENTITY_MODELS))
tabs.register(tabs.Tab(slug="history", label="History", order=90, render=render_history_tab, models=ENTITY_MODELS))
