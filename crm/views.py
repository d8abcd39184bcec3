from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from . import links, tabs
from .entities import SPECS
from .forms import ProfileForm
from .permissions import can_delete_entity


def _spec(key):
    spec = SPECS.get(key)
    if spec is None:
        raise Http404("Unknown kind of record.")
    return spec


def _get_entity(spec, pk):
    """The entity or a 404; every entity view fetches through here."""
    qs = spec.model.objects.select_related(*spec.select_related)
    return get_object_or_404(qs, pk=pk)


def paginate(request, queryset, per_page=None):
    paginator = Paginator(queryset, per_page or settings.PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def with_tie_breaker(queryset):
    """Add the primary key as the last sort key so pages never repeat or skip rows with equal sort values."""
    ordering = list(queryset.query.order_by or queryset.model._meta.ordering or [])
    if not any(isinstance(key, str) and key.lstrip("-") in {"pk", "id"} for key in ordering):
        last_desc = bool(ordering) and isinstance(ordering[-1], str) and ordering[-1].startswith("-")
        ordering.append("-pk" if last_desc else "pk")
    return queryset.order_by(*ordering)


def querystring_without(request, *names):
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def next_url(request, default):
    """Where to go after a form: the `next` parameter (POST, else GET) when it points at this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return default


def entity_list(request, key):
    spec = _spec(key)
    qs = spec.model.objects.select_related(*spec.select_related)
    filterset = spec.filterset_class(request.GET or None, queryset=qs)
    if filterset.is_bound and not filterset.is_valid():
        page = paginate(request, spec.model.objects.none())
        status = 400
    else:
        page = paginate(request, with_tie_breaker(filterset.qs))
        status = 200
    # An unknown sort key is reported once and then dropped, so the next search works.
    current_order = "" if "o" in filterset.errors else request.GET.get("o", "")
    return render(request, "crm/entity_list.html", {
        "spec": spec, "filter": filterset, "page": page,
        "current_order": current_order,
        "qs_no_page": querystring_without(request, "page"),
        "qs_no_order": querystring_without(request, "page", "o"),
    }, status=status)


@require_http_methods(["GET", "HEAD"])
def entity_detail(request, key, pk, tab="overview"):
    spec = _spec(key)
    obj = _get_entity(spec, pk)
    active = tabs.get_tab(obj, tab)
    if active is None:
        raise Http404("No such tab.")
    tab_template, tab_context = active.render(request, obj)
    tab_list = [
        {"tab": t, "count": t.count(request, obj) if t.count else None} for t in tabs.tabs_for(obj)
    ]
    return render(request, "crm/entity_detail.html", {
        "spec": spec, "object": obj, "tabs": tab_list, "active_tab": active,
        "tab_template": tab_template, **tab_context,
        "can_delete": can_delete_entity(request.user, obj),
    })


@require_http_methods(["GET", "POST"])
def entity_create(request, key):
    spec = _spec(key)
    initial = {}
    if key == "individual" and request.GET.get("organization"):
        initial["organization"] = request.GET["organization"]
    form = spec.form_class(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            obj = form.save()
            messages.success(request, f"{spec.label} “{obj}” created.")
            return redirect(obj.get_absolute_url())
        messages.error(request, "Please correct the errors below.")
    return render(request, "crm/entity_form.html", {"spec": spec, "form": form},
                  status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def entity_edit(request, key, pk):
    spec = _spec(key)
    obj = _get_entity(spec, pk)
    # The form writes the submitted values onto `obj` while validating; the page
    # keeps calling the record by its saved name until the changes are saved.
    saved_name = str(obj)
    form = spec.form_class(request.POST or None, instance=obj)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, f"{spec.label} “{obj}” saved.")
            return redirect(obj.get_absolute_url())
        messages.error(request, "Please correct the errors below.")
    return render(request, "crm/entity_form.html",
                  {"spec": spec, "form": form, "object": obj, "object_name": saved_name},
                  status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def entity_delete(request, key, pk):
    """Ask first; say what links to the entity; keep linked records (unlinked) unless told to delete them."""
    spec = _spec(key)
    obj = _get_entity(spec, pk)
    if not can_delete_entity(request.user, obj):
        raise PermissionDenied("You may not delete this record.")
    affected = [(d, d.count(obj)) for d in links.dependents()]
    affected = [(d, n) for d, n in affected if n]
    if request.method == "POST":
        choice = request.POST.get("linked", "keep")
        if choice not in {"keep", "delete"}:
            messages.error(request, "Choose whether to keep or delete the linked records.")
            return render(request, "crm/entity_confirm_delete.html",
                          {"spec": spec, "object": obj, "affected": affected}, status=400)
        name = str(obj)
        with transaction.atomic():
            for dependent, _count in affected:
                if choice == "delete":
                    dependent.delete(obj, request.user)
                else:
                    dependent.detach(obj, request.user)
            obj.delete()
        messages.success(request, f"{spec.label} “{name}” deleted.")
        return redirect(reverse(f"crm:{spec.key}_list"))
    return render(request, "crm/entity_confirm_delete.html", {"spec": spec, "object": obj, "affected": affected})


@require_http_methods(["GET", "HEAD"])
def entity_search(request):
    """Suggestions for the entity picker: <option> elements for a <datalist>."""
    key = request.GET.get("type")
    text = request.GET.get("q")
    if key is None or text is None:
        for param, value in request.GET.items():
            if param.endswith("_0") and key is None:
                key = value
            elif param.endswith("_1") and text is None:
                text = value
    entry = links.get(key or "")
    results = links.search(entry.key, text or "", limit=20) if entry else []
    return render(request, "crm/includes/entity_options.html", {"results": results})


@require_http_methods(["GET", "POST"])
def profile_edit(request):
    from .models import Profile

    profile, _ = Profile.objects.get_or_create(user=request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your settings are saved.")
            return redirect("crm:profile")
        messages.error(request, "Please correct the errors below.")
    return render(request, "crm/profile.html", {"form": form}, status=400 if request.method == "POST" else 200)


def team_list(request):
    from .models import Team

    teams = Team.objects.select_related("manager").prefetch_related("memberships__user")
    return render(request, "crm/team_list.html", {"teams": teams})


class LoginView(auth_views.LoginView):
    """Django's login, answering 400 when the username or password is wrong (bad input is a 4xx everywhere)."""

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, answering 400 with the reasons when the new password is refused."""

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)
