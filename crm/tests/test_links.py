"""The linkable-entity registry, the entity picker field and widget, and the picker's search endpoint."""

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.template import Context, Template
from django.urls import reverse

from crm import links
from crm.fields import EntityLinkField, entity_display
from crm.forms import CrispyMixin
from crm.models import Individual, Opportunity, Organization, Team, Ticket
from crm.tests.factories import IndividualFactory, OpportunityFactory, OrganizationFactory, TicketFactory
from crm.tests.html import parse

NOT_LINKABLE = "Records can only be linked to an individual, organization, ticket or opportunity."


class LinkForm(forms.Form):
    entity = EntityLinkField()


class RequiredLinkForm(forms.Form):
    entity = EntityLinkField(required=True)


def clean(entity_type, text, form_class=LinkForm):
    """(cleaned entity, errors) of a form submitted with the picker's two boxes."""
    form = form_class({"entity_0": entity_type, "entity_1": text})
    valid = form.is_valid()
    return (form.cleaned_data["entity"] if valid else None), form.errors.get("entity", [])


# --- Registry -------------------------------------------------------------------------------------


def test_registry_holds_exactly_the_four_crm_entities():
    assert {key: (e.model, e.label) for key, e in links.registry().items()} == {
        "individual": (Individual, "Individual"),
        "organization": (Organization, "Organization"),
        "ticket": (Ticket, "Ticket"),
        "opportunity": (Opportunity, "Opportunity"),
    }


def test_for_model_and_is_linkable():
    assert [links.for_model(m).key for m in (Individual, Organization, Ticket, Opportunity)] == [
        "individual", "organization", "ticket", "opportunity"]
    assert [links.for_model(m) for m in (get_user_model(), Team)] == [None, None]
    assert [links.is_linkable(m) for m in (Ticket, get_user_model())] == [True, False]


@pytest.mark.django_db
def test_for_content_type():
    assert links.for_content_type(ContentType.objects.get_for_model(Ticket)).key == "ticket"
    assert links.for_content_type(ContentType.objects.get_for_model(get_user_model())) is None
    assert links.for_content_type(None) is None


@pytest.mark.django_db
def test_linkable_q_selects_exactly_the_registered_content_types():
    selected = set(ContentType.objects.filter(links.linkable_q()).values_list("app_label", "model"))

    assert selected == {("crm", "individual"), ("crm", "organization"), ("crm", "ticket"), ("crm", "opportunity")}
    assert set(links.linkable_content_type_ids()) == set(
        ContentType.objects.filter(links.linkable_q()).values_list("pk", flat=True))


@pytest.mark.django_db
def test_search_matches_each_word_in_any_searched_field():
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace", email="ada@engines.example")
    byron = IndividualFactory(first_name="Ada", last_name="Byron", email="byron@poets.example")
    IndividualFactory(first_name="Charles", last_name="Babbage", email="cb@engines.example")

    assert links.search("individual", "ada") == [byron, ada]
    assert links.search("individual", "Ada Lovelace") == [ada]
    assert links.search("individual", "lovelace ada") == [ada]
    assert links.search("individual", "poets") == [byron]
    assert links.search("individual", "ada engines") == [ada]


@pytest.mark.django_db
def test_search_by_id_and_by_the_pickers_own_display():
    acme = OrganizationFactory(name="Acme")
    other = OrganizationFactory(name=f"Shop {acme.pk}", email="shop@example.com")

    assert links.search("organization", f"#{acme.pk}") == [acme]
    assert links.search("organization", entity_display(acme)) == [acme]
    assert links.search("organization", str(acme.pk)) == [acme, other]
    assert links.search("organization", "#999999") == []


@pytest.mark.django_db
def test_search_without_text_lists_in_model_order_up_to_the_limit():
    orgs = [OrganizationFactory(name=name) for name in ["Delta", "Alpha", "Charlie", "Bravo"]]

    assert [o.name for o in links.search("organization", "", limit=3)] == ["Alpha", "Bravo", "Charlie"]
    assert links.search("organization", "  ", limit=10) == sorted(orgs, key=lambda o: o.name)


def test_search_of_an_unregistered_type_finds_nothing():
    assert links.search("user", "admin") == []
    assert links.search("", "x") == []


@pytest.mark.django_db
def test_names_of_an_entity_are_its_display_name_and_searchable_fields():
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace", email="Ada@Example.com")
    ticket = TicketFactory(subject="Printer on fire")

    assert links.names_of(ada) == {"ada lovelace", "ada", "lovelace", "ada@example.com"}
    assert links.names_of(ticket) == {f"#{ticket.pk} printer on fire", "printer on fire"}


# --- EntityLinkField ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_pickers_display_value_resolves_to_that_entity():
    acme = OrganizationFactory(name="Acme")
    OrganizationFactory(name="Acme")

    assert clean("organization", entity_display(acme)) == (acme, [])
    assert entity_display(acme) == f"Acme · #{acme.pk}"


@pytest.mark.django_db
def test_a_bare_id_resolves_within_the_chosen_type():
    ticket = TicketFactory(subject="Printer")
    deal = OpportunityFactory(name="Deal")

    assert clean("ticket", f"#{ticket.pk}") == (ticket, [])
    assert clean("opportunity", f" #{deal.pk} ") == (deal, [])


@pytest.mark.django_db
def test_an_exact_name_wins_over_longer_names_containing_it():
    acme = OrganizationFactory(name="Acme")
    OrganizationFactory(name="Acme Corp")
    OrganizationFactory(name="Big Acme")

    assert clean("organization", "acme") == (acme, [])


@pytest.mark.django_db
def test_an_exact_name_is_found_even_behind_many_longer_matches():
    for n in range(55):
        OrganizationFactory(name=f"0 Acme {n:02d}")  # sorted before "Acme"
    acme = OrganizationFactory(name="Acme")

    assert clean("organization", "Acme") == (acme, [])


@pytest.mark.django_db
def test_an_individuals_full_name_and_a_tickets_subject_resolve():
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    IndividualFactory(first_name="Ada", last_name="Lovelace-King")
    fire = TicketFactory(subject="Printer on fire")
    TicketFactory(subject="Printer on fire again")

    assert clean("individual", "Ada Lovelace") == (ada, [])
    assert clean("ticket", "printer on fire") == (fire, [])


@pytest.mark.django_db
def test_a_single_partial_match_resolves():
    globex = OrganizationFactory(name="Globex Corporation")
    OrganizationFactory(name="Acme")

    assert clean("organization", "globex") == (globex, [])


@pytest.mark.django_db
def test_an_ambiguous_name_asks_the_user_to_pick():
    OrganizationFactory(name="Acme Corp")
    OrganizationFactory(name="Acme Inc")

    assert clean("organization", "Acme") == (
        None, ["Several organizations match “Acme”: pick one from the list or type its #id."])


@pytest.mark.django_db
def test_two_entities_with_the_same_exact_name_are_ambiguous():
    OrganizationFactory(name="Acme")
    OrganizationFactory(name="Acme")

    assert clean("organization", "Acme") == (
        None, ["Several organizations match “Acme”: pick one from the list or type its #id."])


@pytest.mark.django_db
def test_an_unknown_id_is_a_readable_error():
    ticket = TicketFactory()

    assert clean("ticket", "#999999") == (None, ["There is no ticket #999999."])
    # An id of another type is unknown in the chosen type.
    assert clean("opportunity", f"Something · #{ticket.pk}") == (None, [f"There is no opportunity #{ticket.pk}."])


@pytest.mark.django_db
def test_a_name_matching_nothing_is_a_readable_error():
    OrganizationFactory(name="Acme")

    assert clean("organization", "Initech") == (None, ["No organization matches “Initech”."])


@pytest.mark.django_db
@pytest.mark.parametrize("entity_type", ["user", "auth.user", "team", "crm.Organization", "<script>"])
def test_a_type_outside_the_registry_is_refused(entity_type):
    get_user_model().objects.create(username="admin")

    assert clean(entity_type, "admin") == (None, [NOT_LINKABLE])


def test_empty_means_no_entity():
    form = LinkForm({"entity_0": "", "entity_1": "  "})

    assert form.is_valid()
    assert form.cleaned_data == {"entity": None}
    assert LinkForm({}).is_valid()


def test_a_required_link_left_empty_is_an_error():
    assert clean("", "", RequiredLinkForm) == (None, ["This field is required."])


def test_a_type_without_an_entity_asks_for_the_entity():
    assert clean("organization", "") == (None, ["Choose the organization to link."])


def test_an_entity_without_a_type_asks_for_the_type():
    assert clean("", "Acme") == (None, ["Choose the type of entity to link."])


def test_an_over_long_entity_text_is_a_form_error():
    assert clean("organization", "x" * 301) == (None, ["Ensure this value has at most 300 characters (it has 301)."])


# --- EntityLinkWidget -----------------------------------------------------------------------------


def test_widget_renders_a_type_select_with_the_four_types_and_a_search_box():
    page = parse(str(LinkForm()["entity"]))

    select = page.find("select")
    box = page.find("input")
    assert select.attrs["name"] == "entity_0"
    assert [(o.attrs["value"], o.text()) for o in select.find_all("option")] == [
        ("", "— no entity —"), ("individual", "Individual"), ("organization", "Organization"),
        ("ticket", "Ticket"), ("opportunity", "Opportunity"),
    ]
    assert {k: box.attrs.get(k) for k in ("type", "name", "list", "placeholder", "hx-get", "hx-include")} == {
        "type": "text", "name": "entity_1", "list": "id_entity_options", "placeholder": "Type a name or #id",
        "hx-get": reverse("crm:entity_search"), "hx-include": "closest .entity-link",
    }
    assert page.find("datalist").attrs["id"] == "id_entity_options"


@pytest.mark.django_db
def test_widget_shows_the_linked_entity_as_initial_value():
    acme = OrganizationFactory(name="Acme")

    page = parse(str(LinkForm(initial={"entity": acme})["entity"]))

    assert [o.attrs["value"] for o in page.find("select").find_all("option") if "selected" in o.attrs] == [
        "organization"]
    assert page.find("input").attrs["value"] == f"Acme · #{acme.pk}"


@pytest.mark.django_db
def test_widget_keeps_what_was_typed_after_an_error():
    form = LinkForm({"entity_0": "ticket", "entity_1": "#999999"})
    form.is_valid()

    page = parse(str(form["entity"]))

    assert [o.attrs["value"] for o in page.find("select").find_all("option") if "selected" in o.attrs] == ["ticket"]
    assert page.find("input").attrs["value"] == "#999999"


def test_widget_renders_boolean_attributes_bare():
    class DisabledLinkForm(forms.Form):
        entity = EntityLinkField(disabled=True)

    page = parse(str(DisabledLinkForm()["entity"]))

    assert (page.find("select").attrs, page.find("input").attrs["disabled"]) == (
        {"name": "entity_0", "id": "id_entity_0", "aria-label": "Entity type", "class": "form-select entity-type",
         "disabled": None},
        None,
    )


class CrispyLinkForm(CrispyMixin, forms.Form):
    title = forms.CharField()
    entity = EntityLinkField(label="Linked to")


def render_crispy(form):
    return parse(Template("{% load crispy_forms_tags %}{% crispy form %}").render(Context({"form": form})))


def test_widget_inside_a_crispy_form():
    page = render_crispy(CrispyLinkForm())

    block = page.find("div", id="div_id_entity")
    assert block.find("legend").text() == "Linked to"
    assert block.find("div", cls="entity-link").attrs["class"] == "row g-2 entity-link"
    assert block.find("select").attrs["class"] == "form-select entity-type"
    assert block.find("input").attrs["class"] == "form-control entity-search textinput"
    assert block.find("div", cls="form-text").text() == "Leave empty for a global record."


def test_an_error_inside_a_crispy_form_is_shown_next_to_the_picker():
    form = CrispyLinkForm({"title": "Call", "entity_0": "auth.user", "entity_1": "admin"})
    assert not form.is_valid()

    block = render_crispy(form).find("div", id="div_id_entity")

    # Bootstrap shows .invalid-feedback only after an .is-invalid sibling: the picker's wrapper.
    wrapper = block.find("div", cls="entity-link")
    feedback = block.find("div", cls="invalid-feedback")
    assert "is-invalid" in wrapper.classes and wrapper.parent is feedback.parent
    assert feedback.text() == NOT_LINKABLE
    assert block.find("select").attrs["class"] == "form-select entity-type is-invalid"


# --- The search endpoint --------------------------------------------------------------------------


def option_values(response):
    return [o.attrs["value"] for o in parse(response).find_all("option")]


@pytest.mark.django_db
def test_search_endpoint_answers_options_for_the_datalist(client, owner):
    acme = OrganizationFactory(name="Acme")
    acme_corp = OrganizationFactory(name="Acme Corp")
    OrganizationFactory(name="Globex")
    client.force_login(owner)

    response = client.get(reverse("crm:entity_search"), {"type": "organization", "q": "acm"})

    assert response.status_code == 200
    assert option_values(response) == [f"Acme · #{acme.pk}", f"Acme Corp · #{acme_corp.pk}"]


@pytest.mark.django_db
def test_search_endpoint_understands_the_widgets_field_names(client, owner):
    ada = IndividualFactory(first_name="Ada", last_name="Lovelace")
    IndividualFactory(first_name="Grace", last_name="Hopper")
    client.force_login(owner)

    response = client.get(reverse("crm:entity_search"), {"task-entity_0": "individual", "task-entity_1": "ada lov"})

    assert option_values(response) == [f"Ada Lovelace · #{ada.pk}"]


@pytest.mark.django_db
def test_search_endpoint_escapes_names(client, owner):
    evil = OrganizationFactory(name='<b>"Evil" & Co</b>')
    client.force_login(owner)

    response = client.get(reverse("crm:entity_search"), {"type": "organization", "q": "evil"})

    assert option_values(response) == [f'<b>"Evil" & Co</b> · #{evil.pk}']
    assert b"<b>" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"type": "user", "q": "owner"}, {"q": "owner"}, {}])
def test_search_endpoint_answers_nothing_for_types_outside_the_registry(client, owner, params):
    client.force_login(owner)

    response = client.get(reverse("crm:entity_search"), params)

    assert response.status_code == 200
    assert option_values(response) == []


@pytest.mark.django_db
def test_search_endpoint_limits_suggestions_to_20(client, owner):
    for n in range(25):
        OrganizationFactory(name=f"Acme {n:02d}")
    client.force_login(owner)

    response = client.get(reverse("crm:entity_search"), {"type": "organization", "q": "acme"})

    assert [v.split(" · ")[0] for v in option_values(response)] == [f"Acme {n:02d}" for n in range(20)]
