"""Billing pages: billable items (/billables/), rates, invoices (/invoices/), print and PDF.

Only billing staff (services.can_bill: superusers and the Billing group) see
these pages; everyone else gets 403 with a pointer to their own time (/time/).
Views parse input with billables.forms and change data only through
billables.services; a refusal is a readable message with a 4xx (400 invalid
input, 409 the invoice changed state meanwhile), never a 500, and nothing is
half-saved (each service is one transaction).
"""

import csv
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from crm.views import next_url, querystring_without
from tasks import access
from tasks.models import Task

from . import selectors, services
from .customers import customer_from_ref, customer_q, customer_ref
from .forms import (
    ConvertForm, DefaultRateForm, FixedItemForm, InvoiceCustomerForm, InvoiceHeaderForm, IssueForm, RateForm,
    VoidForm, item_ids,
)
from .models import BillableItem, Rate

log = logging.getLogger(__name__)


def _require_billing(request):
    if not services.can_bill(request.user):
        raise PermissionDenied("Billing is for billing staff (the Billing group). Your own time is on the Time page "
                               "(/time/).")


def billing_required(view):
    def wrapped(request, *args, **kwargs):
        _require_billing(request)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _errors(exc):
    return " ".join(exc.messages)


def _form_errors(form):
    return " ".join(f"{form.fields[name].label or name}: {' '.join(errs)}" if name in form.fields else " ".join(errs)
                    for name, errs in form.errors.items())


def _valid_data(form):
    """The bound form's cleaned data, or ValidationError with all its errors in one line."""
    if not form.is_valid():
        raise ValidationError(_form_errors(form))
    return form.cleaned_data


def _money(value, currency=None):
    return f"{value:,.2f}" + (f" {currency}" if currency else "")


# ---- billable items --------------------------------------------------------------------------

@require_http_methods(["GET", "HEAD"])
@billing_required
def item_list(request):
    filterset, qs = selectors.item_list(request.GET)
    invalid = filterset.is_bound and not filterset.is_valid()
    page = Paginator(qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billables/item_list.html", {
        "filter": filterset, "page": page, "totals": selectors.item_totals(qs),
        "qs_no_page": querystring_without(request, "page"),
        "export_query": querystring_without(request, "page"),
        "convert_form": ConvertForm(initial={"date_from": timezone.localdate().replace(day=1),
                                             "date_to": timezone.localdate()}),
        "currency": settings.BILLING_CURRENCY, "rounding": settings.BILLING_ROUNDING_MINUTES,
    }, status=400 if invalid else 200)


def _convert_initial(request):
    initial, task, entity = {}, None, None
    ref = request.GET.get("task", "")
    if ref.isdigit() and len(ref) < 19:
        task = access.get_task_for_user(request.user, int(ref), Task.objects.select_related("content_type"))
        initial["task"] = task.pk
    from tasks.forms import initial_entity

    found = initial_entity(request.GET)
    if found is not None and not isinstance(found, list):
        entity = found
        initial["entity"] = entity
    return initial, task, entity


@require_http_methods(["GET", "POST"])
@billing_required
def convert(request):
    """Preview (GET) and convert (POST) unbilled billable time into billable items."""
    if request.method == "GET":
        initial, task, entity = _convert_initial(request)
        form = ConvertForm(initial=initial)
        preview = None
        if task is not None or entity is not None:
            preview = selectors.unbilled_time_summary(services.unbilled_entries(task=task, entity=entity))
        return render(request, "billables/convert.html", {"form": form, "task": task, "entity": entity,
                                                          "preview": preview, "next": next_url(request, "")})
    form = ConvertForm(request.POST)
    task = None
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        if data.get("task"):
            task = access.get_task_for_user(request.user, data["task"])
        try:
            result = services.time_convert(
                by=request.user, task=task, entity=data.get("entity"), date_from=data.get("date_from"),
                date_to=data.get("date_to"), worker=data.get("worker"), bill_to=data.get("bill_to"))
        except ValidationError as exc:
            status = 409 if getattr(exc, "code", None) == "race" else 400
            if hasattr(exc, "error_dict"):
                for name, errs in exc.error_dict.items():
                    form.add_error(name if name in form.fields else None, errs)
            else:
                form.add_error(None, exc.messages)
        else:
            if result.created:
                messages.success(request, f"Created {len(result.created)} billable item(s) worth "
                                          f"{_money(result.amount, settings.BILLING_CURRENCY)}.")
            else:
                messages.info(request, "There was no unbilled billable time to convert.")
            if result.no_customer:
                messages.warning(request, f"{result.no_customer} time entr{'y' if result.no_customer == 1 else 'ies'} "
                                          "skipped: the task is not linked to a customer. Convert again with "
                                          "“Bill to”.")
            if result.zero_rate:
                messages.warning(request, f"{result.zero_rate} item(s) have no rate (0.00): set a rate on the Rates "
                                          "page, delete those items and convert again.")
            if result.too_short:
                messages.info(request, f"{result.too_short} entr{'y' if result.too_short == 1 else 'ies'} of zero "
                                       "length had nothing to bill.")
            return redirect(next_url(request, reverse("billables:list") + "?status=unbilled"))
    messages.error(request, "Nothing was converted: see below.")
    return render(request, "billables/convert.html", {"form": form, "task": task, "entity": None, "preview": None,
                                                      "next": next_url(request, "")}, status=status)


@require_http_methods(["GET", "POST"])
@billing_required
def fixed_item_create(request):
    initial = {"work_date": timezone.localdate(), "quantity": 1}
    customer = customer_from_ref(request.GET.get("customer"))
    if customer is not None:
        initial["customer"] = customer
    form = FixedItemForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                item = services.fixed_item_create(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, f"Added “{item.description}” ({_money(item.amount)}) for {item.customer}.")
                return redirect(next_url(request, reverse("billables:list") + "?status=unbilled"))
        messages.error(request, "The item was not added: please correct the errors below.")
    return render(request, "billables/fixed_item_form.html", {"form": form, "next": next_url(request, "")},
                  status=400 if request.method == "POST" else 200)


@require_POST
@billing_required
def item_delete(request, pk):
    item = BillableItem.objects.filter(pk=pk).first()
    if item is None:
        raise Http404("No such item.")
    try:
        services.item_delete(by=request.user, item=item)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect(next_url(request, reverse("billables:list")))
    messages.success(request, f"Deleted “{item.description}”." + (" Its time is unbilled again." if
                                                                   item.source_entry_id else ""))
    return redirect(next_url(request, reverse("billables:list")))


class _Echo:
    def write(self, value):
        return value


CSV_HEADER = ["date", "customer", "customer_type", "description", "person", "task_id", "kind", "minutes_worked",
              "quantity", "unit_price", "amount", "currency", "rate", "invoice", "invoice_status"]


@require_http_methods(["GET", "HEAD"])
@billing_required
def export_csv(request):
    """The filtered items as CSV (decimals with a dot, dates ISO), streamed in pages of 500 rows."""
    filterset, qs = selectors.item_list(request.GET)
    if filterset.is_bound and not filterset.is_valid():
        return HttpResponse("Invalid filter: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items()),
                            status=400, content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())
    currency = settings.BILLING_CURRENCY

    def rows():
        yield writer.writerow(CSV_HEADER)
        paginator = Paginator(qs, 500)
        for number in paginator.page_range:
            for item in paginator.page(number).object_list:
                customer = item.entity if item.content_type_id else None
                yield writer.writerow([
                    item.work_date.isoformat(), str(customer) if customer else "",
                    item.content_type.model if item.content_type_id else "", item.description,
                    (item.worker.get_full_name() or item.worker.username) if item.worker else "",
                    item.task_id or "", "fixed" if item.is_fixed_price else "time",
                    item.minutes_worked if item.minutes_worked is not None else "",
                    f"{item.quantity:.2f}", f"{item.unit_price:.2f}", f"{item.amount:.2f}",
                    item.invoice.currency if item.invoice_id else currency, item.rate_note,
                    item.invoice.number or f"draft #{item.invoice_id}" if item.invoice_id else "",
                    item.invoice.status if item.invoice_id else "unbilled",
                ])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="billable-items-{timezone.localdate():%Y-%m-%d}.csv"'
    return response


# ---- rates ---------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@billing_required
def rates(request):
    """Rates by person: the default rate (profile) and dated overrides per task type and customer."""
    from django.contrib.auth import get_user_model

    rate_form = RateForm(request.POST if request.POST.get("action") == "add" else None,
                         initial={"valid_from": timezone.localdate()}, prefix="rate")
    default_form = DefaultRateForm(request.POST if request.POST.get("action") == "default" else None,
                                   prefix="default")
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "add":
                data = _valid_data(rate_form)
                rate = services.rate_create(by=request.user, user=data["user"], hourly_rate=data["hourly_rate"],
                                            valid_from=data["valid_from"], task_type=data["task_type"],
                                            customer=data["customer"])
                messages.success(request, f"Rate added: {rate}.")
            elif action == "default":
                data = _valid_data(default_form)
                services.default_rate_set(by=request.user, user=data["user"], hourly_rate=data["hourly_rate"])
                messages.success(request, f"Default rate of {data['user'].get_full_name() or data['user']} is now "
                                          f"{data['hourly_rate']:.2f}.")
            elif action == "delete":
                ref = request.POST.get("rate", "")
                rate = Rate.objects.filter(pk=int(ref)).first() if ref.isdigit() and len(ref) < 19 else None
                if rate is None:
                    raise ValidationError("That rate does not exist (any more).")
                services.rate_delete(by=request.user, rate=rate)
                messages.success(request, "Rate removed. Items already made keep the price they recorded.")
            else:
                raise ValidationError("Choose what to do: add a rate, set a default rate or remove a rate.")
        except ValidationError as exc:
            messages.error(request, "Nothing was changed: " + _errors(exc))
            status = 400
        else:
            return redirect("billables:rates")
    users = list(get_user_model().objects.filter(is_active=True).select_related("profile")
                 .order_by("first_name", "last_name", "username"))
    rate_rows = list(Rate.objects.select_related("user", "content_type").prefetch_related("entity")
                     .order_by("user__first_name", "user__username", "task_type", "content_type_id", "object_id",
                               "-valid_from"))
    return render(request, "billables/rates.html", {
        "rate_form": rate_form, "default_form": default_form, "users": users, "rates": rate_rows,
        "currency": settings.BILLING_CURRENCY,
    }, status=status)


# ---- invoices ------------------------------------------------------------------------------

@require_http_methods(["GET", "HEAD"])
@billing_required
def invoice_list(request):
    filterset, qs = selectors.invoice_list(request.GET)
    invalid = filterset.is_bound and not filterset.is_valid()
    page = Paginator(qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billables/invoice_list.html", {
        "filter": filterset, "page": page, "qs_no_page": querystring_without(request, "page"),
    }, status=400 if invalid else 200)


@require_http_methods(["GET", "POST"])
@billing_required
def invoice_create(request):
    """Step 1 (GET ?customer=...): pick the customer; step 2: choose the unbilled items, tax rate, terms."""
    source = request.POST if request.method == "POST" else request.GET
    customer = customer_from_ref(source.get("customer"))
    if customer is None and (source.get("customer_0") or source.get("customer_1")):
        picker = InvoiceCustomerForm(source)
        if picker.is_valid():
            chosen_ref = customer_ref(picker.cleaned_data["customer"])
            return redirect(reverse("billables:invoice_create") + f"?customer={chosen_ref}")
        return render(request, "billables/invoice_new.html", {"picker": picker}, status=400)
    if customer is None:
        status = 400 if source.get("customer") else 200
        if status == 400:
            messages.error(request, "Choose an organization or an individual as the customer.")
        return render(request, "billables/invoice_new.html", {"picker": InvoiceCustomerForm()}, status=status)
    items = list(selectors.item_rows(BillableItem.objects.filter(customer_q(customer), invoice__isnull=True))
                 .order_by("work_date", "pk"))
    header = InvoiceHeaderForm(request.POST if request.method == "POST" else None, initial={
        "tax_rate": services.default_tax_rate(), "currency": settings.BILLING_CURRENCY})
    chosen = set()
    if request.method == "POST":
        try:
            chosen = set(item_ids(request.POST))
            data = _valid_data(header)
            invoice = services.invoice_create(by=request.user, customer=customer, item_ids=sorted(chosen),
                                              tax_rate=data["tax_rate"], currency=data["currency"],
                                              notes=data["notes"], due_date=data["due_date"])
        except ValidationError as exc:
            messages.error(request, "The invoice was not created: " + _errors(exc))
            status = 409 if getattr(exc, "code", None) == "items_taken" else 400
        else:
            messages.success(request, f"Draft invoice for {customer} created with {len(chosen)} line(s).")
            return redirect(invoice)
    else:
        status = 200
        chosen = {item.pk for item in items}
    return render(request, "billables/invoice_new.html", {
        "customer": customer, "customer_ref": customer_ref(customer), "customer_key": customer._meta.model_name,
        "items": items, "header": header,
        "chosen": chosen,
    }, status=status)


def _get_invoice(pk):
    invoice = selectors.invoice_detail(pk)
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def _invoice_context(invoice):
    lines = list(invoice.lines.select_related("item", "item__worker"))
    customer = invoice.customer
    addable = []
    if invoice.is_draft and customer is not None:
        addable = list(BillableItem.objects.filter(customer_q(customer), invoice__isnull=True)
                       .select_related("worker").order_by("work_date", "pk"))
    issue_date, due_date = services.invoice_default_dates()
    return {
        "invoice": invoice, "lines": lines, "customer": customer, "addable": addable,
        "header": InvoiceHeaderForm(initial={"tax_rate": invoice.tax_rate, "currency": invoice.currency,
                                             "due_date": invoice.due_date, "notes": invoice.notes}),
        "issue_form": IssueForm(initial={"issue_date": issue_date, "due_date": invoice.due_date or due_date}),
        "void_form": VoidForm(),
        "history": list(invoice.history.select_related("history_user").order_by("-history_date")[:20]),
    }


@require_http_methods(["GET", "HEAD"])
@billing_required
def invoice_detail(request, pk):
    invoice = _get_invoice(pk)
    return render(request, "billables/invoice_detail.html", _invoice_context(invoice))


def _refuse(request, invoice, exc, status=None):
    messages.error(request, _errors(exc))
    if status is None:
        status = 409 if getattr(exc, "code", None) in ("read_only", "items_taken") else 400
    invoice = _get_invoice(invoice.pk)
    return render(request, "billables/invoice_detail.html", _invoice_context(invoice), status=status)


def _invoice_action(request, pk, action):
    """Run one invoice action; a refusal shows the invoice again with the reason and a 4xx."""
    invoice = _get_invoice(pk)
    try:
        message = action(invoice)
    except ValidationError as exc:
        return _refuse(request, invoice, exc)
    messages.success(request, message)
    return redirect(invoice.get_absolute_url())


@require_POST
@billing_required
def invoice_edit(request, pk):
    def act(invoice):
        data = _valid_data(InvoiceHeaderForm(request.POST))
        services.invoice_update(by=request.user, invoice=invoice, **data)
        return "Draft saved; the lines were recomputed."
    return _invoice_action(request, pk, act)


@require_POST
@billing_required
def invoice_add_items(request, pk):
    def act(invoice):
        ids = item_ids(request.POST)
        services.invoice_add_items(by=request.user, invoice=invoice, item_ids=ids)
        return f"Added {len(ids)} line(s)."
    return _invoice_action(request, pk, act)


@require_POST
@billing_required
def invoice_remove_line(request, pk, line_pk):
    def act(invoice):
        services.invoice_remove_line(by=request.user, invoice=invoice, line_id=line_pk)
        return "Line removed; its item is unbilled again."
    return _invoice_action(request, pk, act)


@require_POST
@billing_required
def invoice_issue(request, pk):
    def act(invoice):
        data = _valid_data(IssueForm(request.POST))
        issued = services.invoice_issue(by=request.user, invoice=invoice, **data)
        return f"Issued as invoice {issued.number}. It can no longer be changed."
    return _invoice_action(request, pk, act)


@require_POST
@billing_required
def invoice_paid(request, pk):
    def act(invoice):
        services.invoice_mark_paid(by=request.user, invoice=invoice)
        return f"{invoice} is marked paid."
    return _invoice_action(request, pk, act)


@require_POST
@billing_required
def invoice_unpaid(request, pk):
    def act(invoice):
        services.invoice_mark_unpaid(by=request.user, invoice=invoice)
        return f"{invoice} is no longer marked paid."
    return _invoice_action(request, pk, act)


@require_POST
@billing_required
def invoice_void(request, pk):
    def act(invoice):
        data = _valid_data(VoidForm(request.POST))
        services.invoice_void(by=request.user, invoice=invoice, reason=data["reason"])
        return f"{invoice} is void; its items are unbilled again."
    return _invoice_action(request, pk, act)


@require_POST
@billing_required
def invoice_delete(request, pk):
    invoice = _get_invoice(pk)
    try:
        services.invoice_delete(by=request.user, invoice=invoice)
    except ValidationError as exc:
        return _refuse(request, invoice, exc)
    messages.success(request, "Draft deleted; its items are unbilled again.")
    return redirect("billables:invoice_list")


# ---- print and PDF -------------------------------------------------------------------------

def _print_context(invoice):
    customer = invoice.customer
    address = ""
    if customer is not None:
        address = getattr(customer, "address", "") or (
            getattr(getattr(customer, "organization", None), "address", "") or "")
    return {"invoice": invoice, "lines": list(invoice.lines.all()), "customer": customer,
            "customer_address": address, "issuer_name": settings.BILLING_ISSUER_NAME,
            "issuer_details": settings.BILLING_ISSUER_DETAILS,
            "customer_kind": ContentType.objects.get_for_id(invoice.content_type_id).name if customer else ""}


@require_http_methods(["GET", "HEAD"])
@billing_required
def invoice_print(request, pk):
    """The printable invoice: a page of its own, styled for paper (and the source of the PDF)."""
    invoice = _get_invoice(pk)
    return render(request, "billables/invoice_print.html", {**_print_context(invoice), "for_pdf": False})


def _pdf_filename(invoice):
    return f"invoice-{invoice.number}.pdf" if invoice.number else f"draft-invoice-{invoice.pk}.pdf"


@require_http_methods(["GET", "HEAD"])
@billing_required
def invoice_pdf(request, pk):
    """The invoice as a PDF (WeasyPrint). Without WeasyPrint's system libraries (Pango), 503 with
    the reason and a link to the printable page, which the browser can save as PDF."""
    invoice = _get_invoice(pk)
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        log.warning("PDF unavailable: %s", exc)
        return render(request, "billables/pdf_unavailable.html", {"invoice": invoice}, status=503)
    from django.contrib.staticfiles import finders

    html = render_to_string("billables/invoice_print.html", {**_print_context(invoice), "for_pdf": True},
                            request=request)
    stylesheet = finders.find("billables/invoice.css")
    pdf = weasyprint.HTML(string=html).write_pdf(
        stylesheets=[weasyprint.CSS(filename=stylesheet)] if stylesheet else None)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{_pdf_filename(invoice)}"'
    return response
