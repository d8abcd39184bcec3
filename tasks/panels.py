"""Panels on the task page, from one registry any feature can add to.

The task page shows its own cards (description, subtasks, checklist, fields,
participants) and then the registered panels, in order, in the main column or
the side column. A feature adds one in its AppConfig.ready() or module import:

    panels.register(panels.Panel(slug="time", label="Time", order=30, column="side",
                                 template="tasks/panels/time.html", context=time_panel_context))

`context(request, task, can_edit)` returns the panel's template variables (or
None to hide the panel for this reader). It must not run queries that grow with
the number of rows it shows.
"""

from dataclasses import dataclass
from typing import Callable

MAIN = "main"
SIDE = "side"


@dataclass(frozen=True)
class Panel:
    slug: str
    label: str
    order: int
    template: str
    context: Callable
    column: str = MAIN


_PANELS: dict[str, Panel] = {}


def register(panel):
    if panel.column not in (MAIN, SIDE):
        raise ValueError(f"Panel column must be {MAIN!r} or {SIDE!r}.")
    _PANELS[panel.slug] = panel


def unregister(slug):
    _PANELS.pop(slug, None)


def render_list(request, task, can_edit, column):
    """[(panel, context)] for one column, skipping panels that hide themselves."""
    shown = []
    for panel in sorted(_PANELS.values(), key=lambda p: (p.order, p.slug)):
        if panel.column != column:
            continue
        ctx = panel.context(request, task, can_edit)
        if ctx is not None:
            shown.append((panel, ctx))
    return shown
