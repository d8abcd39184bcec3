"""Forms for time entries. They read what the user typed in their own time zone; the services in
tasks.timetracking apply the rules (an end before its start, a negative duration, ...)."""

import re
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from .forms import DATETIME_LOCAL, DateTimeLocalField

_HM = re.compile(r"^(\d+):([0-5]\d)$")
_WORDS = re.compile(r"^(?:(\d+(?:[.,]\d+)?)\s*h(?:ours?|rs?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?)?)?)?$", re.IGNORECASE)


def parse_duration(text):
    """Minutes ("90"), hours and minutes ("1:30"), decimal hours ("1.5h") or words ("1h 30m").

    Returns a timedelta, or None for empty text; raises ValidationError with a readable message.
    """
    value = (text or "").strip()
    if not value:
        return None
    if value.startswith("-"):
        raise ValidationError("The duration cannot be negative.", code="negative")
    if value.isdigit():
        minutes = int(value)
    elif match := _HM.match(value):
        minutes = int(match.group(1)) * 60 + int(match.group(2))
    elif (match := _WORDS.match(value)) and (match.group(1) or match.group(2)):
        hours = float((match.group(1) or "0").replace(",", "."))
        minutes = round(hours * 60) + int(match.group(2) or 0)
    else:
        raise ValidationError("Enter minutes (90), hours and minutes (1:30) or e.g. 1h 30m.", code="invalid")
    if minutes > 100 * 60:
        raise ValidationError("That is more than 100 hours: enter one entry per day.", code="too_long")
    return timedelta(minutes=minutes)


class DurationTextField(forms.CharField):
    def prepare_value(self, value):
        if isinstance(value, timedelta):
            minutes = int(value.total_seconds() // 60)
            return f"{minutes // 60}:{minutes % 60:02d}"
        return value

    def to_python(self, value):
        return parse_duration(super().to_python(value))


def _local(day, clock):
    """The instant `clock` on `day` in the current time zone; refuse a time that does not exist there."""
    tz = timezone.get_current_timezone()
    naive = datetime.combine(day, clock)
    aware = naive.replace(tzinfo=tz)
    # A wall time skipped by a daylight-saving change does not survive a round trip through UTC.
    if aware.astimezone(dt_timezone.utc).astimezone(tz).replace(tzinfo=None) != naive:
        raise ValidationError(f"{clock:%H:%M} does not exist on {day:%d %b %Y} in {tz} (the clocks change).")
    return aware


# Where the services' errors are shown on this form.
ERROR_FIELDS = {"started_at": "start", "ended_at": "end", "duration": "duration", "note": "note"}


def apply_errors(form, exc):
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = ERROR_FIELDS.get(name)
            if target not in form.fields:
                target = None
            for error in errors:
                form.add_error(target, error.messages)
    else:
        form.add_error(None, exc.messages)


class TimeEntryForm(forms.Form):
    """A date, then a start and an end, or a start and a duration, or a duration alone.

    For a running timer (`running=True`) only the start, note and billable flag are asked.
    `service_values()` gives what the services take.
    """

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    duration = DurationTextField(required=False, help_text="e.g. 1:30, 90 or 1h 30m",
                                 widget=forms.TextInput(attrs={"placeholder": "1:30", "maxlength": 20}))
    note = forms.CharField(required=False, max_length=500)
    billable = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, running=False, entry=None, **kwargs):
        if entry is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(entry)
        super().__init__(*args, **kwargs)
        self.running = running
        if running:
            del self.fields["end"]
            del self.fields["duration"]
            self.fields["start"].required = True

    @staticmethod
    def initial_for(entry):
        start = timezone.localtime(entry.started_at)
        initial = {"date": start.date(), "note": entry.note, "billable": entry.billable}
        if entry.has_clock_times:
            initial["start"] = start.time().replace(second=0, microsecond=0)
            if entry.ended_at is not None:
                initial["end"] = timezone.localtime(entry.ended_at).time().replace(second=0, microsecond=0)
        elif entry.duration is not None:
            initial["duration"] = entry.duration
        return initial

    def clean(self):
        data = super().clean()
        day, start = data.get("date"), data.get("start")
        end, duration = data.get("end"), data.get("duration")
        if day is None or self.errors:
            return data
        if self.running:
            return data
        if start is None and end is not None:
            self.add_error("start", "Enter the start time too, or only a duration.")
        elif start is None and duration is None:
            self.add_error("duration", "Enter a start and an end, or a duration.")
        elif start is not None and end is None and duration is None:
            self.add_error("end", "Enter an end time or a duration.")
        return data

    def service_values(self):
        """started_at, ended_at, duration and has_clock_times as the services take them."""
        data = self.cleaned_data
        day, start = data["date"], data.get("start")
        end, duration = data.get("end"), data.get("duration")
        if start is None:  # a duration alone: the day's local midnight, no clock times
            started_at = _local(day, time(0, 0))
            values = {"started_at": started_at, "ended_at": None, "duration": duration, "has_clock_times": False}
        else:
            started_at = _local(day, start)
            values = {"started_at": started_at, "ended_at": _local(day, end) if end is not None else None,
                      "duration": duration, "has_clock_times": True}
        values.update(note=data.get("note", ""), billable=data.get("billable", False))
        if self.running:
            values.pop("ended_at"), values.pop("duration"), values.pop("has_clock_times")
        return values


class TimerStopForm(forms.Form):
    """Stop now, or at a time the user gives (for a timer left running overnight)."""

    stop_at = DateTimeLocalField(required=False, input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
                                 label="Stopped working at")
