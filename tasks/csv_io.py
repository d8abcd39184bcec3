"""CSV export and import of tasks.

Columns (DESIGN.md's Task field names, in this order):

    title, description, task_type, status, priority, begin_at, due_at, scheduled_at,
    expected_duration, location, outcome, assignee, team, created_by, parent, project,
    content_type, object_id, completed_at, created_at, updated_at

Export: choices as their stored values (follow_up, in_progress); users by username;
the team by name; `parent` as the parent task's number; `content_type` as the
entity registry key (organization, individual, ticket, opportunity) with
`object_id`; date-times in ISO 8601 UTC ("2025-03-12T17:00:00Z"); an all-day
deadline as its plain date ("2025-03-12"); `expected_duration` in whole minutes;
`project` as the project's name (empty while the projects app has no Task.project). Cells are protected against formula
injection (crm.views_export.safe_cell).

Import (the service `tasks_import`, after `task_import_preview`):
- The file: UTF-8 (with or without a byte-order mark), comma, semicolon or tab
  separated, a header row naming columns as above (any order, any case); only
  `title` is required. Unknown columns are reported and ignored. `created_by`,
  `created_at` and `updated_at` are accepted (so an export imports back) but set by
  the import: the importing user, now. `project` is accepted and not applied: tasks
  join a project from the project's page (projects.services); the preview says so.
- Values: type/status/priority by value or label ("follow_up" or "Follow-up");
  dates as YYYY-MM-DD, date-times as ISO 8601 (without an offset they are in the
  importer's time zone); a date alone in `due_at` is an all-day deadline;
  `expected_duration` in minutes ("90"), hours:minutes ("1:30") or "1h 30m";
  `assignee` by username or e-mail; `team` by name; `parent` by task number
  (a task the importer can see); the entity by `content_type` (registry key or
  label) plus either `object_id` or an `entity` column holding its name or e-mail
  (an individual's "First Last", an organization's name or e-mail, a ticket's
  subject, an opportunity's name; more than one match is an error).
- Every row is checked like a task saved through the form (the model's
  full_clean, plus the lookups above) before anything is saved. Then, in one
  transaction, either the valid rows are created and the invalid ones reported
  ("valid" mode), or nothing is created if any row is invalid ("all" mode).
  Rows are written with bulk_create (no per-row signals), with their "created"
  history records (crm.history.record_many); each assignee other than the
  importer gets one notification naming how many tasks they were given.
"""

import csv
import functools
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from datetime import timezone as dt_timezone

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone

from crm import history, links
from crm.choices import PRIORITY_RANK, Priority, TaskType
from crm.models import Team
from crm.notifications import notify
from crm.views_export import unsafe_cell

from . import access
from .dates import date_as_utc_midnight
from .models import Task, TaskImport, TaskStatus

User = get_user_model()

COLUMNS = (
    "title", "description", "task_type", "status", "priority", "begin_at", "due_at", "scheduled_at",
    "expected_duration", "location", "outcome", "assignee", "team", "created_by", "parent", "project",
    "content_type", "object_id", "completed_at", "created_at", "updated_at",
)
# Accepted on import besides COLUMNS: the entity by name or e-mail.
IMPORT_EXTRA_COLUMNS = ("entity",)
SET_BY_IMPORT = ("created_by", "created_at", "updated_at")
# Read but not applied: a task joins a project (and its stage) through projects.services only.
NOT_IMPORTED = ("project",)
MAX_ROWS = 20_000
ALLOWED_EXTENSIONS = (".csv", ".txt")
EXPORT_CHUNK = 2000
BULK_BATCH = 1000

# ---- export ------------------------------------------------------------------------------------

def _export_lookups():
    """values_list() lookups in COLUMNS order (all_day and the entity's app label come along)."""
    has_projects = any(f.name == "project" for f in Task._meta.get_fields())
    return (
        "title", "description", "task_type", "status", "priority", "begin_at", "due_at", "all_day", "scheduled_at",
        "expected_duration", "location", "outcome", "assignee__username", "team__name", "created_by__username",
        "parent_id", "project__name" if has_projects else "title", "content_type__app_label",
        "content_type__model", "object_id", "completed_at", "created_at", "updated_at",
    )


def _registry_keys():
    """{(app_label, model name): registry key} of the linkable entities."""
    keys = {}
    for entry in links.registry().values():
        app_label, model = entry.model_label.split(".")
        keys[(app_label, model.lower())] = entry.key
    return keys


def _minutes(value):
    return "" if value is None else str(int(value.total_seconds() // 60))


def export_rows(qs):
    """The CSV rows (without header) of `qs`, streamed from a cursor: values only, no model instances."""
    keys = _registry_keys()
    lookups = _export_lookups()
    with_projects = lookups[16] == "project__name"
    rows = qs.prefetch_related(None).values_list(*lookups).iterator(chunk_size=EXPORT_CHUNK)
    for (title, description, task_type, status, priority, begin_at, due_at, all_day, scheduled_at, duration,
         location, outcome, assignee, team, created_by, parent_id, project, ct_app, ct_model, object_id,
         completed_at, created_at, updated_at) in rows:
        if due_at is not None and all_day:
            due = due_at.astimezone(dt_timezone.utc).date()  # the calendar date, never shifted
        else:
            due = due_at
        yield [
            title, description, task_type, status, priority, begin_at, due, scheduled_at, _minutes(duration),
            location, outcome, assignee, team, created_by, parent_id, project if with_projects else "",
            keys.get((ct_app, ct_model), "") if ct_app else "", object_id, completed_at, created_at, updated_at,
        ]


# ---- reading a file ----------------------------------------------------------------------------


class CSVFileError(Exception):
    """The whole file is refused (not a CSV, too big, no title column, ...); the message says why."""


@dataclass
class ParsedFile:
    columns: list
    unknown_columns: list
    rows: list  # [{"line": n, "values": {column: text}, "errors": {}}]


def _size_label(size):
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def read_upload(uploaded, *, max_bytes=None):
    """Read an uploaded CSV file into rows of raw text, or raise CSVFileError."""
    max_bytes = max_bytes or settings.UPLOAD_MAX_BYTES
    name = getattr(uploaded, "name", "") or ""
    if not name.lower().endswith(ALLOWED_EXTENSIONS):
        raise CSVFileError("Choose a CSV file (a name ending in .csv).")
    if uploaded.size is not None and uploaded.size > max_bytes:
        raise CSVFileError(f"The file is too large: at most {_size_label(max_bytes)}.")
    raw = uploaded.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise CSVFileError(f"The file is too large: at most {_size_label(max_bytes)}.")
    return parse_csv_bytes(raw)


MULTILINE_COLUMNS = ("description", "outcome")


def _cell(column, text):
    """A cell as imported: spaces around it dropped (kept in the free texts), the formula guard undone."""
    return unsafe_cell(text if column in MULTILINE_COLUMNS else text.strip())


def parse_csv_bytes(raw):
    if not raw.strip():
        raise CSVFileError("The file is empty.")
    if b"\x00" in raw:
        raise CSVFileError("This is not a CSV text file.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CSVFileError("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        header = next(reader, None)
        if not header:
            raise CSVFileError("The file has no header row.")
        columns = [h.strip().lower().replace(" ", "_") for h in header]
        known = set(COLUMNS) | set(IMPORT_EXTRA_COLUMNS)
        if "title" not in columns:
            raise CSVFileError("The first row must name the columns, including “title”. "
                               f"Known columns: {', '.join(COLUMNS)}, entity.")
        duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
        if duplicates:
            raise CSVFileError(f"These columns appear more than once: {', '.join(duplicates)}.")
        unknown = [header[i].strip() for i, c in enumerate(columns) if c not in known]
        rows = []
        last_line = reader.line_num
        for values in reader:
            line, last_line = last_line + 1, reader.line_num  # where the row starts (cells may span lines)
            if not any(v.strip() for v in values):
                continue  # blank lines are not rows
            if len(rows) >= MAX_ROWS:
                raise CSVFileError(f"The file has more than {MAX_ROWS:,} rows: split it into smaller files.")
            errors = {}
            if len(values) > len(columns):
                errors["row"] = [f"This row has {len(values)} cells but the header names {len(columns)} columns."]
            cells = {c: _cell(c, values[i]) if i < len(values) else ""
                     for i, c in enumerate(columns) if c in known}
            rows.append({"line": line, "values": cells, "errors": errors})
    except csv.Error as exc:
        raise CSVFileError(f"The file is not valid CSV (line {reader.line_num}): {exc}.") from None
    if not rows:
        raise CSVFileError("The file has a header but no rows.")
    return ParsedFile(columns=[c for c in columns if c in known], unknown_columns=unknown, rows=rows)


# ---- checking rows -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _norm(text):
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def _choice_map(choices):
    mapping = {}
    for value, label in choices:
        mapping[_norm(value)] = value
        mapping[_norm(str(label))] = value
    return mapping


TYPE_MAP = _choice_map(TaskType.choices)
STATUS_MAP = _choice_map(TaskStatus.choices)
PRIORITY_MAP = _choice_map(Priority.choices)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_moment(text, zone):
    """A date (YYYY-MM-DD) or an aware date-time (ISO 8601; no offset means `zone`). ValueError if neither."""
    if _DATE_ONLY.match(text):
        value = date.fromisoformat(text)
    else:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
    if not 1900 <= value.year <= 2999:
        raise ValueError("year out of range")
    return value


def _at_local_midnight(day, zone):
    return datetime.combine(day, time.min).replace(tzinfo=zone)


def _user_label(user):
    return user.get_full_name() or user.username


@dataclass
class RowResult:
    line: int
    values: dict
    errors: dict = field(default_factory=dict)
    task: Task | None = None


def _entity_name_expressions(model, entry):
    """(annotation name, expression) that a row's `entity` text is compared with (lower-cased)."""
    names = {f.name for f in model._meta.get_fields()}
    exprs = []
    if {"first_name", "last_name"} <= names:
        exprs.append(("m_full", Lower(Concat("first_name", Value(" "), "last_name", output_field=CharField()))))
    for fname in entry.search_fields:
        if "__" not in fname and fname not in ("first_name", "last_name"):
            exprs.append((f"m_{fname}", Lower(fname)))
    return exprs


class _Lookups:
    """Everything the rows refer to, fetched with a fixed number of queries for the whole file."""

    def __init__(self, user, rows):
        people, teams, parents = set(), set(), set()
        ids_by_key, names_by_key = defaultdict(set), defaultdict(set)
        for row in rows:
            v = row["values"]
            if v.get("assignee"):
                people.add(v["assignee"].lower())
            if v.get("team"):
                teams.add(v["team"].lower())
            ref = v.get("parent", "").lstrip("#").strip()
            if ref.isdigit() and len(ref) < 19:
                parents.add(int(ref))
            key = self.entity_key(v.get("content_type", ""))
            if key:
                oid = v.get("object_id", "").lstrip("#").strip()
                if oid.isdigit() and len(oid) < 19:
                    ids_by_key[key].add(int(oid))
                elif v.get("entity"):
                    names_by_key[key].add(v["entity"].strip().lower())

        self.users_by_name, self.users_by_email = {}, defaultdict(list)
        if people:
            found = User.objects.annotate(u=Lower("username"), e=Lower("email")).filter(
                Q(u__in=people) | Q(e__in=people))
            for u in found:
                self.users_by_name[u.username.lower()] = u
                if u.email:
                    self.users_by_email[u.email.lower()].append(u)
        self.teams = {}
        if teams:
            for t in Team.objects.annotate(n=Lower("name")).filter(n__in=teams):
                self.teams[t.name.lower()] = t
        self.parents = {}
        if parents:
            self.parents = {t.pk: t for t in access.visible_tasks(user).filter(pk__in=parents).only("pk", "tree_path")}
        self.entity_ids = {}
        self.entity_names = {}
        registry = links.registry()
        for key, ids in ids_by_key.items():
            self.entity_ids[key] = set(registry[key].model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        for key, wanted in names_by_key.items():
            entry = registry[key]
            exprs = _entity_name_expressions(entry.model, entry)
            match = Q()
            for alias, _expr in exprs:
                match |= Q(**{f"{alias}__in": wanted})
            qs = entry.model.objects.annotate(**dict(exprs)).filter(match).values_list("pk", *[a for a, _ in exprs])
            found = defaultdict(set)
            for pk, *texts in qs:
                for text in texts:
                    if text in wanted:
                        found[text].add(pk)
            self.entity_names[key] = found

    @staticmethod
    def entity_key(text):
        text = _norm(text or "")
        if not text:
            return None
        for entry in links.registry().values():
            if text in (entry.key, _norm(entry.label)):
                return entry.key
        return None

    def user(self, text):
        low = text.lower()
        if low in self.users_by_name:
            return self.users_by_name[low], None
        matches = self.users_by_email.get(low, [])
        if len(matches) == 1:
            return matches[0], None
        if len(matches) > 1:
            return None, f"More than one user has the e-mail {text}: use the username."
        return None, f"There is no user “{text}” (give a username or e-mail)."


def _choice(value, mapping, default, what, errors, column):
    if not value:
        return default
    found = mapping.get(_norm(value))
    if found is None:
        errors.setdefault(column, []).append(f"“{value}” is not a {what}.")
    return found or default


# Fields whose values the import builds itself (choices looked up, dates parsed, relations found
# with one query per file): the model's per-field checks run on the free-text fields only; its
# clean() (choices, due not before begin, durations) runs on every row.
FREE_TEXT_FIELDS = ("title", "description", "location", "outcome")


@functools.cache
def _checked_elsewhere():
    return [f.name for f in Task._meta.concrete_fields if f.name not in FREE_TEXT_FIELDS]


@functools.cache
def _duration_field():
    from .forms import DurationInputField  # the same duration rules as the task form

    return DurationInputField(required=False)


def check_row(row, *, lookups, user, zone, now):
    """The row's errors and, when it has none, the unsaved Task it describes."""
    v = row["values"]
    errors = {k: list(msgs) for k, msgs in row.get("errors", {}).items() if k == "row"}

    def err(column, message):
        errors.setdefault(column, []).append(message)

    title = v.get("title", "").strip()
    if not title:
        err("title", "A title is required.")
    task_type = _choice(v.get("task_type", ""), TYPE_MAP, TaskType.OTHER, "task type", errors, "task_type")
    status = _choice(v.get("status", ""), STATUS_MAP, TaskStatus.PENDING, "task status", errors, "status")
    priority = _choice(v.get("priority", ""), PRIORITY_MAP, Priority.MEDIUM, "priority", errors, "priority")

    moments = {}
    for column in ("begin_at", "due_at", "scheduled_at", "completed_at"):
        text = v.get(column, "")
        if not text:
            moments[column] = None
            continue
        try:
            moments[column] = parse_moment(text, zone)
        except ValueError:
            err(column, f"“{text}” is not a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM).")
            moments[column] = None
    all_day = isinstance(moments["due_at"], date) and not isinstance(moments["due_at"], datetime)
    due_at = date_as_utc_midnight(moments["due_at"]) if all_day else moments["due_at"]
    begin_at, scheduled_at, completed_at = (
        _at_local_midnight(m, zone) if isinstance(m, date) and not isinstance(m, datetime) else m
        for m in (moments["begin_at"], moments["scheduled_at"], moments["completed_at"])
    )
    if completed_at is not None:
        if status != TaskStatus.COMPLETED:
            err("completed_at", "Only a completed task has a completion date.")
        elif completed_at > now:
            err("completed_at", "The completion date cannot be in the future.")

    duration = None
    if v.get("expected_duration"):
        try:
            duration = _duration_field().clean(v["expected_duration"])
        except ValidationError as exc:
            err("expected_duration", " ".join(exc.messages))

    assignee = None
    if v.get("assignee"):
        assignee, problem = lookups.user(v["assignee"])
        if problem:
            err("assignee", problem)
        elif not assignee.is_active:
            err("assignee", f"{_user_label(assignee)} is not an active user.")
    team = None
    if v.get("team"):
        team = lookups.teams.get(v["team"].lower())
        if team is None:
            err("team", f"There is no team “{v['team']}”.")
    parent = None
    ref = v.get("parent", "").lstrip("#").strip()
    if ref:
        if not ref.isdigit() or len(ref) > 18:
            err("parent", "Give the number of the parent task, e.g. 42.")
        else:
            parent = lookups.parents.get(int(ref))
            if parent is None:
                err("parent", f"There is no task #{ref} you can see.")

    content_type = object_id = None
    ct_text, oid_text, name = v.get("content_type", ""), v.get("object_id", "").lstrip("#").strip(), \
        v.get("entity", "").strip()
    if ct_text or oid_text or name:
        key = lookups.entity_key(ct_text)
        if not ct_text:
            err("content_type", "Say what the entity is: individual, organization, ticket or opportunity.")
        elif key is None:
            err("content_type", f"“{ct_text}” is not an entity type (individual, organization, ticket, opportunity).")
        else:
            entry = links.get(key)
            what = entry.label.lower()
            if oid_text:
                if not oid_text.isdigit() or len(oid_text) > 18:
                    err("object_id", "Give the entity's number, e.g. 12.")
                elif int(oid_text) not in lookups.entity_ids.get(key, set()):
                    err("object_id", f"There is no {what} #{oid_text}.")
                else:
                    content_type, object_id = entry.content_type, int(oid_text)
            elif name:
                found = lookups.entity_names.get(key, {}).get(name.lower(), set())
                if not found:
                    err("entity", f"No {what} is called “{name}” or has that e-mail.")
                elif len(found) > 1:
                    numbers = ", ".join(f"#{pk}" for pk in sorted(found))
                    err("entity", f"{len(found)} {what}s match “{name}” ({numbers}): give object_id instead.")
                else:
                    content_type, object_id = entry.content_type, next(iter(found))
            else:
                err("object_id", "Give the entity's number (object_id) or its name or e-mail (entity).")

    task = Task(
        title=title, description=v.get("description", "").replace("\r\n", "\n"), task_type=task_type,
        status=status, priority=priority, priority_rank=PRIORITY_RANK[priority], begin_at=begin_at, due_at=due_at,
        all_day=all_day, scheduled_at=scheduled_at, expected_duration=duration, location=v.get("location", ""),
        outcome=v.get("outcome", "").replace("\r\n", "\n"),
        # Ids, not instances: cheaper to build 10,000 of, and all that bulk_create needs.
        assignee_id=assignee.pk if assignee else None, team_id=team.pk if team else None, created_by_id=user.pk,
        parent_id=parent.pk if parent else None,
        tree_path="/" if parent is None else f"{parent.tree_path}{parent.pk}/",
        completed_at=(completed_at or now) if status == TaskStatus.COMPLETED else None,
    )
    task.status_changed_at = task.completed_at or now
    try:
        # The model's own rules run here, as when a task is saved through the services: the
        # field checks of the free-text fields (lengths) and the model's clean() (choices, due
        # not before begin, negative durations). The related records (users, team, parent,
        # entity) were checked above with a fixed number of queries for the whole file, so the
        # per-row foreign-key queries are skipped, and the entity (found in the registry and
        # known to exist) is set after the check.
        excluded = _checked_elsewhere() + ([] if title else ["title"])  # a missing title is reported above
        task.full_clean(exclude=excluded, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name_, messages in exc.message_dict.items():
            column = {"__all__": "row", "all_day": "due_at"}.get(name_, name_)
            for message in messages:
                if message not in errors.get(column, []):
                    err(column, message)
    task.content_type_id, task.object_id = (content_type.pk if content_type else None), object_id
    return RowResult(line=row["line"], values=v, errors=errors, task=None if errors else task)


def check_rows(*, user, rows, zone=None, now=None):
    """Check every row (a fixed number of queries whatever the number of rows)."""
    zone = zone or _user_zone(user)
    now = now or timezone.now()
    lookups = _Lookups(user, rows)
    with timezone.override(zone):
        return [check_row(row, lookups=lookups, user=user, zone=zone, now=now) for row in rows]


def _user_zone(user):
    from .feeds import user_zone

    return user_zone(user)


# ---- services ----------------------------------------------------------------------------------


def task_import_preview(*, user, uploaded):
    """Read and check an uploaded file and keep it for confirmation. Nothing is imported yet.

    Raises CSVFileError when the whole file is refused. One row per upload in TaskImport.
    """
    parsed = read_upload(uploaded)
    results = check_rows(user=user, rows=parsed.rows)
    rows = [{"line": r.line, "values": r.values, "errors": r.errors} for r in results]
    return TaskImport.objects.create(
        user=user, filename=(getattr(uploaded, "name", "") or "")[:255], columns=parsed.columns,
        unknown_columns=parsed.unknown_columns, rows=rows, row_count=len(rows),
        invalid_count=sum(1 for r in rows if r["errors"]),
    )


class ImportRefused(Exception):
    """Nothing was imported; the message says why. `code` is "invalid_rows" or "already_done"."""

    def __init__(self, message, code):
        self.code = code
        super().__init__(message)


@dataclass
class ImportResult:
    created: int
    skipped_lines: list


def tasks_import(*, task_import, user, mode):
    """Import a previewed file: the valid rows ("valid" mode) or all rows only if every one is valid ("all").

    - Only the user who uploaded the file may import it (PermissionDenied otherwise).
    - One transaction: the import is claimed with a conditional update on its status,
      rows are checked again against the data as it is now, and the tasks are written
      with bulk_create. A refusal rolls everything back, the claim included, so the
      file can still be imported; a second confirmation of an imported file is refused
      (ImportRefused) and creates nothing.
    - The importer is each task's creator. Each assignee other than the importer is
      told once how many tasks they were given (after commit).
    """
    if task_import.user_id != user.pk:
        raise PermissionDenied("Only the person who uploaded this file may import it.")
    if mode not in TaskImport.Mode.values:
        raise ValidationError("Choose whether to import the valid rows or only a file without errors.")
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = TaskImport.objects.filter(
                pk=task_import.pk, user=user, status=TaskImport.Status.PREVIEW,
            ).update(status=TaskImport.Status.IMPORTED, mode=mode, imported_at=now)
            if claimed != 1:
                raise ImportRefused("This file has already been imported (or discarded); nothing was imported again.",
                                    code="already_done")
            stored = TaskImport.objects.get(pk=task_import.pk)
            results = check_rows(user=user, rows=stored.rows, now=now)
            invalid = [r for r in results if r.errors]
            if invalid and mode == TaskImport.Mode.ALL_OR_NOTHING:
                raise _RowsInvalid(results)
            tasks = [r.task for r in results if r.task is not None]
            Task.objects.bulk_create(tasks, batch_size=BULK_BATCH)
            # bulk_create bypasses django-simple-history: write each task's "created" record too.
            history.record_many(tasks, user=user, history_type="+",
                                reason=f"Imported from {stored.filename or 'a CSV file'}"[:100])
            TaskImport.objects.filter(pk=task_import.pk).update(
                imported_count=len(tasks), skipped_lines=[r.line for r in invalid],
                invalid_count=len(invalid), rows=_stored_rows(results),
            )
    except _RowsInvalid as refused:
        # Keep the rows' current errors for the preview, outside the rolled-back transaction.
        bad = [r for r in refused.results if r.errors]
        TaskImport.objects.filter(pk=task_import.pk, status=TaskImport.Status.PREVIEW).update(
            rows=_stored_rows(refused.results), invalid_count=len(bad),
        )
        raise ImportRefused(
            f"{len(bad)} row{'s' if len(bad) != 1 else ''} of {len(refused.results)} "
            f"{'is' if len(bad) == 1 else 'are'} not valid, so nothing was imported. "
            "Correct the file and upload it again, or import the valid rows only.", code="invalid_rows",
        ) from None

    counts = defaultdict(int)
    for task in tasks:
        if task.assignee_id and task.assignee_id != user.pk:
            counts[task.assignee_id] += 1

    def tell_assignees():
        for assignee in User.objects.filter(pk__in=counts).order_by("pk"):
            n = counts[assignee.pk]
            notify(recipient=assignee, actor=user, verb="assigned",
                   text=f"{_user_label(user)} imported {n} task{'s' if n != 1 else ''} assigned to you.")

    transaction.on_commit(tell_assignees)
    return ImportResult(created=len(tasks), skipped_lines=[r.line for r in invalid])


class _RowsInvalid(Exception):
    def __init__(self, results):
        self.results = results
        super().__init__("rows invalid")


def _stored_rows(results):
    return [{"line": r.line, "values": r.values, "errors": r.errors} for r in results]


def task_import_discard(*, task_import, user):
    """Drop a previewed file without importing it. Returns True if it was still waiting."""
    if task_import.user_id != user.pk:
        raise PermissionDenied("Only the person who uploaded this file may discard it.")
    return bool(TaskImport.objects.filter(pk=task_import.pk, status=TaskImport.Status.PREVIEW).update(
        status=TaskImport.Status.DISCARDED, rows=[]))


__all__ = [
    "COLUMNS", "export_rows", "read_upload", "parse_csv_bytes", "check_rows", "task_import_preview", "tasks_import",
    "task_import_discard", "CSVFileError", "ImportRefused", "ImportResult",
]
