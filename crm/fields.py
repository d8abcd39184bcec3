"""A form field that picks an entity type and then an entity, validated on the server.

The widget is a type <select> and a text box. With JavaScript, htmx fills the
box's suggestion list from `/entities/search/` as the user types; without it the
user types a name or `#id`. The server resolves the text to exactly one entity of
the chosen registered type or answers with a readable error.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms.renderers import TemplatesSetting
from django.urls import reverse

from . import links

_ID_RE = re.compile(r"#(\d+)\s*$")
_MAX_CANDIDATES = 50
# Widget templates live in the project's templates/ folder, which the default form
# renderer does not search; render this widget with the site's template settings.
_SITE_RENDERER = TemplatesSetting()


def entity_display(obj):
    return f"{obj} · #{obj.pk}"


class EntityLinkWidget(forms.MultiWidget):
    template_name = "crm/widgets/entity_link.html"

    def __init__(self, attrs=None):
        widgets = [
            forms.Select(attrs={"class": "form-select entity-type"}),
            forms.TextInput(attrs={"class": "form-control entity-search", "autocomplete": "off",
                                   "placeholder": "Type a name or #id"}),
        ]
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if value is None or value == "":
            return ["", ""]
        if isinstance(value, (list, tuple)):
            return list(value)
        entry = links.for_model(type(value))
        return [entry.key if entry else "", entity_display(value)]

    def render(self, name, value, attrs=None, renderer=None):
        return super().render(name, value, attrs, renderer=_SITE_RENDERER)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        # Form renderers (crispy-forms) add their text-box classes to every part; a <select> keeps its own.
        select_attrs = context["widget"]["subwidgets"][0]["attrs"]
        select_attrs["class"] = " ".join(
            c for c in select_attrs.get("class", "").split() if c not in {"form-control", "textinput"})
        # Bootstrap shows .invalid-feedback only after an .is-invalid sibling: the widget's wrapper is that sibling.
        context["widget"]["invalid"] = any(
            "is-invalid" in sub["attrs"].get("class", "").split() for sub in context["widget"]["subwidgets"])
        context["widget"]["search_url"] = reverse("crm:entity_search")
        context["widget"]["list_id"] = f"{attrs.get('id', name) if attrs else name}_options"
        return context


class EntityLinkField(forms.MultiValueField):
    widget = EntityLinkWidget

    def __init__(self, *, required=False, **kwargs):
        fields = (forms.CharField(required=False), forms.CharField(required=False, max_length=300))
        kwargs.setdefault("help_text", "Leave empty for a global record.")
        super().__init__(fields=fields, required=required, require_all_fields=False, **kwargs)
        self._set_type_choices()

    def _set_type_choices(self):
        choices = [("", "— no entity —")] + [(e.key, e.label) for e in links.registry().values()]
        self.widget.widgets[0].choices = choices

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result._set_type_choices()
        return result

    def prepare_value(self, value):
        return value

    def compress(self, data_list):
        if not data_list:
            return None
        key, text = (data_list + ["", ""])[:2]
        key = (key or "").strip()
        text = (text or "").strip()
        if not key and not text:
            return None
        if not key:
            raise ValidationError("Choose the type of entity to link.", code="no_type")
        entry = links.get(key)
        if entry is None:
            raise ValidationError("Records can only be linked to an individual, organization, ticket or opportunity.",
                                  code="not_linkable")
        if not text:
            raise ValidationError(f"Choose the {entry.label.lower()} to link.", code="no_entity")
        model = entry.model
        match = _ID_RE.search(text)
        if match:
            obj = model.objects.filter(pk=int(match.group(1))).first()
            if obj is None:
                raise ValidationError(f"There is no {entry.label.lower()} #{match.group(1)}.", code="missing")
            return obj
        found = links.search(key, text, limit=_MAX_CANDIDATES)
        wanted = text.lower()
        exact = [o for o in found if wanted in links.names_of(o)]
        if not exact and len(found) >= _MAX_CANDIDATES:
            # The exact match may lie beyond the first candidates: ask for it directly.
            q = Q(pk__in=[])
            for name in entry.search_fields:
                q |= Q(**{f"{name}__iexact": text})
            exact = list(model.objects.filter(q)[:2])
        if len(exact) == 1:
            return exact[0]
        if not found and not exact:
            raise ValidationError(f"No {entry.label.lower()} matches “{text}”.", code="missing")
        if len(exact) > 1 or len(found) > 1:
            raise ValidationError(
                f"Several {entry.label.lower()}s match “{text}”: pick one from the list or type its #id.",
                code="ambiguous",
            )
        # One entity contains what was typed: take it (the user typed part of its name).
        return found[0]
