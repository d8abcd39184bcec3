"""The recurrence builder of the task form, and the preview of the next five dates.

`RecurrenceFields` holds the builder's fields (all named repeat_*); the task form
inherits it, and so does `PreviewForm`, which the htmx preview endpoint and the
"Preview dates" button use. The builder composes an RFC 5545 pattern with dateutil
(tasks.rrules.compose) from: frequency, interval, weekdays, the monthly mode (day N,
last day, or the Nth weekday), the month-end policy for days 29-31, the end (never,
on a date, after N occurrences), dates to skip, and the time zone the series is kept
in. "Custom" takes an RRULE as typed, checked by tasks.rrules.parse_rule.

The due date is the first occurrence. Errors come back on the field they concern.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.models import time_zone_choices

from . import rrules
from .dates import date_as_utc_midnight
from .models_recurrence import MonthEnd, SeriesStatus
from .recurrence import check_first_occurrence, schedule_from_due

FREQUENCIES = [("", "Does not repeat"), ("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly"),
               ("yearly", "Yearly"), ("custom", "Custom rule (RRULE)")]
WEEKDAY_CHOICES = [(str(i), name[:3]) for i, name in enumerate(rrules.WEEKDAY_NAMES)]
WEEKDAY_LONG = [(str(i), name) for i, name in enumerate(rrules.WEEKDAY_NAMES)]
MONTHLY_MODES = [("day", "On day"), ("last_day", "On the last day of the month"), ("weekday", "On the")]
SET_POSITIONS = [("1", "first"), ("2", "second"), ("3", "third"), ("4", "fourth"), ("-1", "last")]
ENDS = [("never", "Never"), ("until", "On date"), ("count", "After")]
SCOPES = [("this", "This occurrence only"), ("following", "This and the following occurrences"),
          ("all", "All occurrences (the whole series)")]
MONTH_END_HELP = ("For day 29, 30 or 31 (and 29 February, yearly): “skip” follows RFC 5545 and leaves out "
                  "months without that day; “last day” uses the 28th, 29th or 30th instead. Either way the "
                  "day never drifts: after February it is the 31st again.")

# Error codes of tasks.rrules / tasks.recurrence -> the builder field that shows them.
_ERROR_FIELDS = {
    "invalid_rrule": "repeat_rrule", "unsupported_rrule": "repeat_rrule", "until_before_start": "repeat_until",
    "invalid_count": "repeat_count", "until_and_count": "repeat_end", "never_occurs": "repeat_frequency",
    "invalid_time_zone": "repeat_time_zone", "invalid_month_end": "repeat_month_end",
}


def _small(widget_class, **attrs):
    return widget_class(attrs={"class": "form-select form-select-sm", **attrs})


class RecurrenceFields(forms.Form):
    repeat_frequency = forms.ChoiceField(label="Frequency", choices=FREQUENCIES, required=False,
                                         widget=_small(forms.Select))
    repeat_interval = forms.IntegerField(label="Every", min_value=1, max_value=rrules.MAX_INTERVAL, required=False,
                                         widget=forms.NumberInput(attrs={"class": "form-control form-control-sm",
                                                                         "min": 1, "max": rrules.MAX_INTERVAL}))
    repeat_weekdays = forms.MultipleChoiceField(label="On", choices=WEEKDAY_CHOICES, required=False,
                                                widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}))
    repeat_monthly_mode = forms.ChoiceField(label="Which day", choices=MONTHLY_MODES, required=False, initial="day",
                                            widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    repeat_month_day = forms.IntegerField(label="Day of the month", min_value=1, max_value=31, required=False,
                                          widget=forms.NumberInput(attrs={"class": "form-control form-control-sm",
                                                                          "min": 1, "max": 31}))
    repeat_set_pos = forms.ChoiceField(label="Which", choices=SET_POSITIONS, required=False,
                                       widget=_small(forms.Select))
    repeat_set_weekday = forms.ChoiceField(label="Weekday", choices=WEEKDAY_LONG, required=False,
                                           widget=_small(forms.Select))
    repeat_month_end = forms.ChoiceField(label="In months without that day", choices=MonthEnd.choices,
                                         required=False, initial=MonthEnd.SKIP, help_text=MONTH_END_HELP,
                                         widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    repeat_rrule = forms.CharField(label="Custom rule", required=False, max_length=rrules.MAX_RULE_LENGTH,
                                   help_text="An RFC 5545 RRULE, e.g. FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1 "
                                             "(the last weekday of each month).",
                                   widget=forms.TextInput(attrs={"class": "form-control form-control-sm font-monospace",
                                                                 "spellcheck": "false"}))
    repeat_end = forms.ChoiceField(label="Ends", choices=ENDS, required=False, initial="never",
                                   widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    repeat_until = forms.DateField(label="End date", required=False,
                                   widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}))
    repeat_count = forms.IntegerField(label="Occurrences", min_value=1, max_value=rrules.MAX_COUNT, required=False,
                                      widget=forms.NumberInput(attrs={"class": "form-control form-control-sm",
                                                                      "min": 1, "max": rrules.MAX_COUNT}))
    repeat_exdates = forms.CharField(label="Skip these dates", required=False, max_length=2000,
                                     help_text="Dates (YYYY-MM-DD) separated by commas.",
                                     widget=forms.TextInput(attrs={"class": "form-control form-control-sm",
                                                                   "placeholder": "e.g. 2025-12-25, 2026-01-01"}))
    repeat_time_zone = forms.ChoiceField(label="Time zone", required=False, widget=_small(forms.Select),
                                         help_text="The series keeps its time of day in this zone, across DST.")
    repeat_scope = forms.ChoiceField(label="Apply the changes to", choices=SCOPES, required=False, initial="this",
                                     widget=forms.RadioSelect(attrs={"class": "form-check-input"}))

    #: set by setup_recurrence: the series the edited task belongs to (None for a new or single task)
    series = None

    def setup_recurrence(self, *, task=None):
        """Fill the builder from the task's series (or the user's zone) and drop what does not apply."""
        self.fields["repeat_time_zone"].choices = time_zone_choices()
        series = task.series if task is not None and task.series_id and task.occurrence else None
        if series is not None and series.status == SeriesStatus.CANCELLED:
            series = None
        self.series = series
        if series is None:
            del self.fields["repeat_scope"]
        self.schedule = series.schedule() if series is not None and not self.is_bound else None
        # Bound forms need the initial values too: "changed_data" compares with them. Every
        # builder field starts at the value a browser posts back untouched, so "changed" means
        # the user changed it.
        self.initial.update(builder_initial(series) if series else {})
        defaults = {"repeat_time_zone": timezone.get_current_timezone_name(), "repeat_interval": 1,
                    "repeat_monthly_mode": "day", "repeat_set_pos": "1", "repeat_set_weekday": "0",
                    "repeat_month_end": MonthEnd.SKIP, "repeat_end": "never", "repeat_scope": "this"}
        for name, value in defaults.items():
            self.initial.setdefault(name, value)

    # ---- reading the builder ----------------------------------------------------------------

    def due_moment(self):
        """(due_at, all_day) from the form's due date and time, or (None, False)."""
        due_date, due_time = self.cleaned_data.get("due_date"), self.cleaned_data.get("due_time")
        if not due_date:
            return None, False
        if not due_time:
            return date_as_utc_midnight(due_date), True
        return timezone.make_aware(datetime.combine(due_date, due_time), timezone.get_current_timezone()), False

    def clean_repeat_exdates(self):
        raw = self.cleaned_data.get("repeat_exdates") or ""
        days = []
        for chunk in raw.replace(";", ",").replace(" ", ",").split(","):
            chunk = chunk.strip()
            if not chunk:
                continue
            try:
                days.append(date.fromisoformat(chunk))
            except ValueError:
                raise ValidationError(f"“{chunk}” is not a date: write dates as YYYY-MM-DD, separated by commas.")
        return sorted(set(days))

    def clean_repeat_time_zone(self):
        name = self.cleaned_data.get("repeat_time_zone") or timezone.get_current_timezone_name()
        try:
            rrules.validate_time_zone_name(name)
        except ValidationError as exc:
            raise ValidationError(exc.messages)
        return name

    def _pattern(self, due_local):
        """(pattern, until, count) the builder stands for; raises ValidationError naming a field."""
        d = self.cleaned_data
        freq = d.get("repeat_frequency")
        interval = d.get("repeat_interval") or 1
        if freq == "custom":
            try:
                parsed = rrules.parse_rule(d.get("repeat_rrule"))
            except ValidationError as exc:
                raise ValidationError({"repeat_rrule": exc.messages})
            return parsed.pattern, parsed.until, parsed.count
        if freq == "daily":
            return rrules.compose(freq="daily", interval=interval), None, None
        if freq == "weekly":
            weekdays = d.get("repeat_weekdays") or [str(due_local.weekday())]
            return rrules.compose(freq="weekly", interval=interval, weekdays=weekdays), None, None
        if freq == "monthly":
            mode = d.get("repeat_monthly_mode") or "day"
            if mode == "last_day":
                return rrules.compose(freq="monthly", interval=interval, month_day=-1), None, None
            if mode == "weekday":
                pos = d.get("repeat_set_pos") or str(min((due_local.day - 1) // 7 + 1, 4))
                wd = d.get("repeat_set_weekday") or str(due_local.weekday())
                return rrules.compose(freq="monthly", interval=interval, set_pos=pos, set_weekday=wd), None, None
            day = d.get("repeat_month_day") or due_local.day
            return rrules.compose(freq="monthly", interval=interval, month_day=day), None, None
        return rrules.compose(freq="yearly", interval=interval, month=due_local.month,
                              month_day=due_local.day), None, None

    def build_schedule(self):
        """The Schedule the builder describes (starting at the due date), None for "does not repeat".

        Raises ValidationError with a field-keyed error dict for anything refused.
        """
        d = self.cleaned_data
        if not d.get("repeat_frequency"):
            return None
        due_at, all_day = self.due_moment()
        if due_at is None:
            raise ValidationError({"due_date": "A repeating task needs a due date: it is the first occurrence."})
        zone_name = d.get("repeat_time_zone") or timezone.get_current_timezone_name()
        due_local = due_at.astimezone(ZoneInfo(zone_name)).date() if not all_day else due_at.date()
        pattern, rule_until, rule_count = self._pattern(due_local)
        end = d.get("repeat_end") or "never"
        until = d.get("repeat_until") if end == "until" else None
        count = d.get("repeat_count") if end == "count" else None
        if end == "until" and until is None:
            raise ValidationError({"repeat_until": "Give the date the series ends on."})
        if end == "count" and count is None:
            raise ValidationError({"repeat_count": "Give the number of occurrences."})
        if rule_until is not None or rule_count is not None:
            if end != "never":
                raise ValidationError({"repeat_rrule": "The rule has its own UNTIL or COUNT and the form gives another "
                                                       "end: keep one (set Ends to Never, or take it out of the rule)."})
            count = rule_count
            if rule_until is not None:
                start = due_local if all_day else due_at.astimezone(ZoneInfo(zone_name)).replace(tzinfo=None)
                until = rrules.until_as_local_date(rule_until, start=start, time_zone=zone_name)
        schedule = schedule_from_due(due_at=due_at, all_day=all_day, pattern=pattern, time_zone=zone_name,
                                     until=until, count=count, exdates=d.get("repeat_exdates") or (),
                                     month_end=d.get("repeat_month_end") or rrules.MONTH_END_SKIP)
        try:
            schedule.validate()
        except ValidationError as exc:
            field = _ERROR_FIELDS.get(exc.code, "repeat_frequency")
            if field == "repeat_rrule" and d.get("repeat_frequency") != "custom":
                field = "repeat_frequency"
            raise ValidationError({field: exc.messages})
        return schedule

    def builder_field_names(self):
        return [name for name in self.fields if name.startswith("repeat_")] + ["due_date", "due_time"]

    def clean(self):
        data = super().clean()
        self.schedule = None
        if any(name in self.errors for name in self.builder_field_names()):
            return data
        if self.series is not None and (data.get("repeat_scope") or "this") == "this":
            # This occurrence only: the rule stays the series' own (the due date may move freely).
            changed = [n for n in self.changed_data if n.startswith("repeat_") and n != "repeat_scope"]
            if changed:
                self.add_error("repeat_scope", "You changed how the task repeats: apply the change to this and the "
                                               "following occurrences, or to the whole series.")
            else:
                self.schedule = self.series.schedule()
            return data
        try:
            self.schedule = self.build_schedule()
            if self.schedule is not None and self.series is None:
                check_first_occurrence(self.schedule)  # a new series starts at its due date
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
            self.schedule = None
        return data

    # ---- showing the builder ---------------------------------------------------------------

    @property
    def preview_from_start(self):
        """A rule being built is shown from its first date (the due date); a saved series from now on."""
        return self.is_bound or self.series is None

    def preview(self, n=5, now=None):
        """The first (or next) `n` dates of the schedule, as the user reads them (see preview_dates)."""
        schedule = getattr(self, "schedule", None)
        if schedule is None:
            return []
        return preview_dates(schedule, n=n, now=now, from_start=self.preview_from_start)

    @property
    def preview_context(self):
        """What templates/tasks/recurrence/preview.html shows: the rule in words and the next five dates,
        or why there are none."""
        schedule = getattr(self, "schedule", None)
        errors = []
        if self.is_bound:
            for name in self.builder_field_names():
                errors += [str(e) for e in self.errors.get(name, [])]
            if self.series is None and not self.errors.get("repeat_frequency") and \
                    not (self.cleaned_data if hasattr(self, "cleaned_data") else {}).get("repeat_frequency"):
                return {"repeating": False, "errors": [], "rows": [], "text": ""}
        past_start = schedule is not None and self.preview_from_start and \
            schedule.key_of(schedule.start) < schedule.now_key(timezone.now())
        return {
            "repeating": schedule is not None or bool(errors),
            "text": rrules.describe(schedule) if schedule is not None else "",
            "rows": self.preview() if schedule is not None else [],
            "from_start": self.preview_from_start, "past_start": past_start,
            "errors": errors,
        }


class PreviewForm(RecurrenceFields):
    """The builder alone with the due date: what the preview endpoint reads."""

    due_date = forms.DateField(required=False)
    due_time = forms.TimeField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_recurrence()
        self.fields.pop("repeat_scope", None)


def preview_dates(schedule, *, n=5, now=None, from_start=True):
    """[{when, timed, note}] for the first `n` occurrences (from_start) or the next `n` after now: `when` in the
    reader's zone, `note` the time in the series' zone when that differs."""
    from datetime import timedelta

    now = now or timezone.now()
    if from_start:
        occurrences = schedule.take(n)
    else:
        occurrences = schedule.take(n, after_key=schedule.now_key(now) - timedelta(microseconds=1))
    reader = timezone.get_current_timezone()
    rows = []
    for occ in occurrences:
        if schedule.all_day:
            rows.append({"when": occ.local, "timed": False, "note": ""})
        else:
            shown = occ.key.astimezone(reader)
            note = "" if str(reader) == schedule.time_zone else f"{occ.local:%H:%M} {schedule.time_zone}"
            rows.append({"when": shown, "timed": True, "note": note})
    return rows


def builder_initial(series):
    """The builder's fields for an existing series (its pattern read back into frequency, weekdays...)."""
    parts = rrules.pattern_parts(series.rrule)
    freq = parts.get("FREQ")
    keys = set(parts) - {"FREQ", "INTERVAL"}
    initial = {"repeat_interval": int(parts.get("INTERVAL", "1")), "repeat_time_zone": series.time_zone,
               "repeat_month_end": series.month_end_policy, "repeat_scope": "this",
               "repeat_exdates": ", ".join(series.exdates),
               "repeat_end": "until" if series.until else "count" if series.count else "never",
               "repeat_until": series.until, "repeat_count": series.count}
    custom = {"repeat_frequency": "custom", "repeat_rrule": series.rrule, "repeat_interval": 1}
    if freq == "DAILY" and not keys:
        initial["repeat_frequency"] = "daily"
    elif freq == "WEEKLY" and keys <= {"BYDAY"}:
        days = parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []
        if not all(day in rrules.WEEKDAYS for day in days):
            return {**initial, **custom}
        initial.update(repeat_frequency="weekly", repeat_weekdays=[str(rrules.WEEKDAYS.index(d)) for d in days])
    elif freq == "MONTHLY" and keys == {"BYMONTHDAY"} and "," not in parts["BYMONTHDAY"]:
        day = int(parts["BYMONTHDAY"])
        if day == -1:
            initial.update(repeat_frequency="monthly", repeat_monthly_mode="last_day")
        elif day > 0:
            initial.update(repeat_frequency="monthly", repeat_monthly_mode="day", repeat_month_day=day)
        else:
            return {**initial, **custom}
    elif freq == "MONTHLY" and keys == {"BYDAY"} and "," not in parts["BYDAY"]:
        import re

        match = re.fullmatch(r"([+-]?\d)([A-Z]{2})", parts["BYDAY"])
        if not match or match.group(1).lstrip("+") not in {"1", "2", "3", "4", "-1"}:
            return {**initial, **custom}
        initial.update(repeat_frequency="monthly", repeat_monthly_mode="weekday",
                       repeat_set_pos=match.group(1).lstrip("+"),
                       repeat_set_weekday=str(rrules.WEEKDAYS.index(match.group(2))))
    elif freq == "YEARLY" and keys == {"BYMONTH", "BYMONTHDAY"} and "," not in parts["BYMONTH"] + parts["BYMONTHDAY"]:
        initial["repeat_frequency"] = "yearly"
    else:
        return {**initial, **custom}
    return initial


# ---- reminders --------------------------------------------------------------------------------

REMINDER_PRESETS = [(15, "15 minutes"), (60, "1 hour"), (1440, "1 day")]


class ReminderForm(forms.Form):
    """The "Remind me" form of the task page: a preset before the due/scheduled time, or a set time."""

    when = forms.ChoiceField(label="When", widget=_small(forms.Select))
    at = forms.DateTimeField(label="At", required=False,
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local",
                                                               "class": "form-control form-control-sm"},
                                                        format="%Y-%m-%dT%H:%M"))
    audience = forms.ChoiceField(label="For", required=False, initial="all",
                                 choices=[("all", "Everyone on the task (assignee and participants)"), ("me", "Only me")],
                                 widget=_small(forms.Select))
    every_occurrence = forms.BooleanField(label="On every occurrence of this repeating task", required=False,
                                          widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))

    def __init__(self, *args, task, can_edit, **kwargs):
        kwargs.setdefault("auto_id", "reminder_%s")  # unique ids on the task page
        super().__init__(*args, **kwargs)
        choices = []
        if task.due_at is not None:
            choices += [(f"due:{m}", f"{label} before due") for m, label in REMINDER_PRESETS]
        if task.scheduled_at is not None:
            choices += [(f"scheduled:{m}", f"{label} before the scheduled time") for m, label in REMINDER_PRESETS]
        choices.append(("at", "At a set time…"))
        self.fields["when"].choices = choices
        self.fields["when"].error_messages["invalid_choice"] = (
            "Choose when to be reminded (a time before the due or scheduled time the task has, or a set time).")
        if not can_edit:
            del self.fields["audience"]
        elif not task.assignee_id and not task.participants.exists():
            self.fields["audience"].initial = "me"  # nobody else is on the task yet
        if not (task.series_id and task.occurrence):
            del self.fields["every_occurrence"]

    def clean(self):
        data = super().clean()
        when = data.get("when")
        if when == "at" and not data.get("at"):
            self.add_error("at", "Choose the date and time of the reminder.")
        if when and when != "at" and data.get("every_occurrence") is None:
            data["every_occurrence"] = False
        if when == "at" and data.get("every_occurrence"):
            self.add_error("every_occurrence", "A reminder at a set time is for this occurrence only.")
        return data

    def spec(self):
        """(kind, offset, at, for_all) for reminders.reminder_add."""
        from datetime import timedelta

        from .models_reminders import ReminderKind

        d = self.cleaned_data
        for_all = d.get("audience", "me") == "all"
        if d["when"] == "at":
            return ReminderKind.ABSOLUTE, None, d["at"], for_all
        anchor, minutes = d["when"].split(":")
        kind = ReminderKind.RELATIVE_DUE if anchor == "due" else ReminderKind.RELATIVE_SCHEDULED
        return kind, timedelta(minutes=int(minutes)), None, for_all
