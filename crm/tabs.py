"""Detail-page tabs for entities, from one registry any app can add to.

An app registers a tab in its AppConfig.ready():

    tabs.register(tabs.Tab(slug="tasks", label="Tasks", order=20,
                           models=("crm.Organization", ...), render=render_tasks_tab))

`render(request, obj)` returns `(template_name, context)`; the entity detail view
places the result under the tab bar. `count(request, obj)` (optional) gives a badge.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    order: int
    render: Callable
    models: tuple = field(default=())  # model labels; empty means every entity
    count: Optional[Callable] = None

    def applies_to(self, obj):
        return not self.models or obj._meta.label in self.models


_TABS: dict[str, Tab] = {}


def register(tab):
    _TABS[tab.slug] = tab


def unregister(slug):
    _TABS.pop(slug, None)


def tabs_for(obj):
    return sorted((t for t in _TABS.values() if t.applies_to(obj)), key=lambda t: (t.order, t.slug))


def get_tab(obj, slug):
    tab = _TABS.get(slug)
    if tab is None or not tab.applies_to(obj):
        return None
    return tab
