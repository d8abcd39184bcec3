"""CSV export of the entity lists (/organizations/export.csv, ...) and the CSV helpers tasks reuse.

An export carries the list page's query string: the same FilterSet (crm/filters.py)
and sort apply, so "Export CSV" gives the rows the user is looking at, all pages.
Rows are streamed from a database cursor (QuerySet.iterator), so a large list
never sits in memory. Entities are the team's shared address book: every
signed-in user may list them, and so export them.

Cells are written for spreadsheets: UTF-8 with a byte-order mark (Excel reads
the accents right), dates and times in ISO 8601 UTC ("2025-03-12T17:00:00Z"),
and any text starting with = + - @ (or a tab or carriage return) prefixed with
an apostrophe so a spreadsheet shows it instead of running it as a formula
(CSV injection). The task import strips that apostrophe again.
"""

import csv
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.db.models import CharField, Value
from django.db.models.functions import Concat, NullIf, Trim
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from .views import _spec, with_tie_breaker

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
CHUNK = 2000


def safe_cell(value):
    """A cell's text, neutralised against formula injection."""
    text = cell_text(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def unsafe_cell(text):
    """Undo safe_cell on import: drop the apostrophe that was put before a formula character."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def iso_utc(value):
    if value is None:
        return ""
    text = value.astimezone(dt_timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def cell_text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class _Echo:
    """A file-like object whose write() returns the text, for csv.writer in a generator."""

    def write(self, value):
        return value


def csv_lines(header, rows):
    """Encoded CSV lines: the BOM with the header, then one line per row (cells made safe)."""
    writer = csv.writer(_Echo())
    yield (BOM + writer.writerow(header)).encode("utf-8")
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row]).encode("utf-8")


def csv_response(*, filename, header, rows):
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def csv_error(message, status=400):
    """A refused export: a short plain-text answer the browser shows as a page."""
    return HttpResponse(message + "\n", content_type="text/plain; charset=utf-8", status=status)


# ---- entity exports ----------------------------------------------------------------------------

def _full_name(prefix):
    """An individual's "First Last" through a relation (empty when there is none)."""
    return NullIf(Trim(Concat(f"{prefix}__first_name", Value(" "), f"{prefix}__last_name",
                              output_field=CharField())), Value(""))


# Columns per entity: (header, values_list lookup or expression). The header is the model's field
# name; the `id` lets a task import point at the record (content_type + object_id); related
# records appear by name (the organization of an individual, a ticket's requester, ...).
COLUMNS = {
    "organization": (("id", "pk"), ("name", "name"), ("website", "website"), ("email", "email"), ("phone", "phone"),
                     ("address", "address"), ("created_at", "created_at"), ("updated_at", "updated_at")),
    "individual": (("id", "pk"), ("first_name", "first_name"), ("last_name", "last_name"), ("email", "email"),
                   ("phone", "phone"), ("organization", "organization__name"), ("job_title", "job_title"),
                   ("notes", "notes"), ("created_at", "created_at"), ("updated_at", "updated_at")),
    "ticket": (("id", "pk"), ("subject", "subject"), ("description", "description"), ("status", "status"),
               ("priority", "priority"), ("requester", _full_name("requester")), ("organization", "organization__name"),
               ("created_at", "created_at"), ("updated_at", "updated_at")),
    "opportunity": (("id", "pk"), ("name", "name"), ("organization", "organization__name"),
                    ("contact", _full_name("contact")), ("stage", "stage"), ("amount", "amount"),
                    ("currency", "currency"), ("expected_close_date", "expected_close_date"),
                    ("owner", "owner__username"), ("created_at", "created_at"), ("updated_at", "updated_at")),
}


@require_http_methods(["GET", "HEAD"])
def entity_export(request, key):
    spec = _spec(key)
    filterset = spec.filterset_class(request.GET or None, queryset=spec.model.objects.all())
    if filterset.is_bound and not filterset.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())
        return csv_error(f"The export could not be made: {problems}")
    columns = COLUMNS[spec.key]
    qs = with_tie_breaker(filterset.qs).values_list(*[lookup for _header, lookup in columns])
    filename = f"{spec.plural_key}-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename=filename, header=[h for h, _lookup in columns], rows=qs.iterator(chunk_size=CHUNK))

