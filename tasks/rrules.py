"""Recurrence rules: RFC 5545 RRULE text in, occurrence dates out, in a named time zone.

Dates are computed by python-dateutil's rrule; nothing here does its own calendar
arithmetic. Vocabulary:

- pattern: the RRULE without DTSTART, UNTIL and COUNT, e.g. "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE".
  The end of a series (until a date, or a number of occurrences) is kept apart, because
  the task form edits it apart.
- Schedule: a pattern with its start (the first occurrence: a local date for all-day
  series, a naive local date and time otherwise), its IANA time zone, its end, the
  dates to skip and the month-end policy.

Decisions (also in the README):

- Occurrences are computed as naive local datetimes and only then put in the series'
  zone, so a weekly 09:00 meeting in Europe/Berlin stays at 09:00 Berlin time across
  DST changes. A local time that does not exist (02:30 on the night clocks go forward)
  is read with fold=0, i.e. with the offset before the change: it lands on 03:30, the
  same moment a clock that skipped the hour shows. An ambiguous one (02:30 on the night
  clocks go back) is the first of the two, in summer time.
- All-day series produce dates. Their key (and the task's due_at) is the date at 00:00
  UTC, like every all-day deadline (tasks.dates), so it never shifts by a day.
- At most one occurrence per local day: frequencies below daily and BYHOUR/BYMINUTE/
  BYSECOND are refused (a task's time of day comes from its due time). This makes a
  local date identify an occurrence, which is what "skip this date" and rescheduling use.
- Month ends: a pattern that asks for day 29, 30 or 31 of a month (BYMONTHDAY, or a
  monthly/yearly pattern starting on such a day) follows RFC 5545 with the "skip"
  policy (months without that day have no occurrence; yearly 29 February only in leap
  years). With the "last_day" policy it becomes BYMONTHDAY=28,...,N;BYSETPOS=-1: the
  last of those days each month, so 31 Jan → 29 Feb → 31 Mar, never drifting.
- UNTIL is a local date, inclusive. An RRULE typed with UNTIL=<UTC time> is converted to
  the last local date whose occurrence is not after that moment.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rruleset, rrulestr, weekday
from django.core.exceptions import ValidationError

UTC = dt_timezone.utc
FREQS = {"DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY, "YEARLY": YEARLY}
SUB_DAILY = {"HOURLY", "MINUTELY", "SECONDLY"}
RFC_PARTS = ("FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY",
             "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")
TIME_PARTS = ("BYSECOND", "BYMINUTE", "BYHOUR")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_INTERVAL = 999
MAX_COUNT = 5000
MAX_RULE_LENGTH = 300
# A pattern must occur within this many years of its start, or it is refused as "never".
MUST_OCCUR_WITHIN_YEARS = 10
# The Gregorian calendar repeats exactly every 400 years (146097 days, 20871 weeks), so a
# pattern evaluated 400*k years later gives the same dates 400*k years later.
_CYCLE_YEARS = 400

MONTH_END_SKIP = "skip"
MONTH_END_LAST_DAY = "last_day"


def validate_time_zone_name(name):
    if not name or name not in _zone_names():
        raise ValidationError(f"“{name}” is not a known time zone (use an IANA name such as Europe/Berlin).",
                              code="invalid_time_zone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"“{name}” is not a known time zone.", code="invalid_time_zone") from None


_ZONES = None


def _zone_names():
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


# ---- parsing and composing patterns ---------------------------------------------------------


@dataclass(frozen=True)
class ParsedRule:
    """What a typed RRULE says: the pattern (canonical text), and its own end if it had one."""

    pattern: str
    until: object = None  # a date, or an aware/naive datetime as typed (see until_as_local_date)
    count: int | None = None


_PART_RE = re.compile(r"^[A-Z]+=[A-Z0-9,+\-:TZ]+$")


def _split(text):
    parts = {}
    for chunk in text.split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        if "=" not in chunk or not _PART_RE.match(chunk):
            raise ValidationError(f"“{chunk}” is not a NAME=VALUE part of an RRULE.", code="invalid_rrule")
        name, value = chunk.split("=", 1)
        if name not in RFC_PARTS:
            raise ValidationError(f"“{name}” is not a part of an RFC 5545 RRULE.", code="invalid_rrule")
        if name in parts:
            raise ValidationError(f"{name} appears twice in the rule.", code="invalid_rrule")
        parts[name] = value
    return parts


def parse_rule(text):
    """Check an RRULE typed by a user and return its ParsedRule, or raise a readable ValidationError.

    Accepts "FREQ=...;..." with or without the "RRULE:" prefix. Refuses what a task cannot
    repeat by (more than once a day), parts outside RFC 5545, UNTIL together with COUNT,
    and anything dateutil cannot read.
    """
    raw = (text or "").strip()
    if not raw:
        raise ValidationError("Write a rule, for example FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1.",
                              code="invalid_rrule")
    if len(raw) > MAX_RULE_LENGTH:
        raise ValidationError(f"The rule is too long (at most {MAX_RULE_LENGTH} characters).", code="invalid_rrule")
    upper = raw.upper()
    if upper.startswith("RRULE:"):
        upper = upper[len("RRULE:"):]
    if "\n" in upper or "DTSTART" in upper or "EXDATE" in upper or "RDATE" in upper:
        raise ValidationError("Write only the RRULE itself (FREQ=...); the start comes from the due date and "
                              "dates to skip go in their own field.", code="invalid_rrule")
    parts = _split(upper)
    freq = parts.get("FREQ")
    if not freq:
        raise ValidationError("The rule needs a FREQ, e.g. FREQ=WEEKLY.", code="invalid_rrule")
    if freq in SUB_DAILY:
        raise ValidationError(f"FREQ={freq} repeats more than once a day, which tasks do not support: "
                              "use DAILY, WEEKLY, MONTHLY or YEARLY.", code="unsupported_rrule")
    if freq not in FREQS:
        raise ValidationError(f"“{freq}” is not a frequency: use DAILY, WEEKLY, MONTHLY or YEARLY.",
                              code="invalid_rrule")
    for name in TIME_PARTS:
        if name in parts:
            raise ValidationError(f"{name} is not supported: a repeating task happens at its due time, "
                                  "at most once a day.", code="unsupported_rrule")
    if "UNTIL" in parts and "COUNT" in parts:
        raise ValidationError("A rule may end with UNTIL or with COUNT, not both (RFC 5545).", code="invalid_rrule")
    if "INTERVAL" in parts:
        if not parts["INTERVAL"].isdigit() or not 1 <= int(parts["INTERVAL"]) <= MAX_INTERVAL:
            raise ValidationError(f"INTERVAL must be a whole number from 1 to {MAX_INTERVAL}.", code="invalid_rrule")
    count = None
    if "COUNT" in parts:
        if not parts["COUNT"].isdigit() or not 1 <= int(parts["COUNT"]) <= MAX_COUNT:
            raise ValidationError(f"COUNT must be a whole number from 1 to {MAX_COUNT}.", code="invalid_rrule")
        count = int(parts.pop("COUNT"))
    until = None
    if "UNTIL" in parts:
        until = _parse_until(parts.pop("UNTIL"))
    for value in parts.get("BYMONTHDAY", "").split(",") if "BYMONTHDAY" in parts else ():
        if not re.fullmatch(r"[+-]?\d{1,2}", value) or not 1 <= abs(int(value)) <= 31:
            raise ValidationError("BYMONTHDAY values must be from 1 to 31 (or -1 to -31 counting from the end).",
                                  code="invalid_rrule")
    pattern = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        rule = rrulestr("RRULE:" + pattern, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"“{raw}” is not a valid RRULE: {exc}.", code="invalid_rrule") from None
    return ParsedRule(pattern=canonical(rule), until=until, count=count)


def _parse_until(value):
    try:
        if "T" in value:
            moment = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S")
            return moment.replace(tzinfo=UTC) if value.endswith("Z") else moment
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise ValidationError(f"UNTIL={value} is not a date (YYYYMMDD) or a UTC time (YYYYMMDDTHHMMSSZ).",
                              code="invalid_rrule") from None


def canonical(rule):
    """The RRULE line dateutil writes for `rule`, without DTSTART, UNTIL and COUNT."""
    line = next(line for line in str(rule).splitlines() if line.startswith("RRULE:"))[len("RRULE:"):]
    return ";".join(p for p in line.split(";") if not p.startswith(("UNTIL=", "COUNT=")))


def pattern_parts(pattern):
    return _split(pattern.upper())


def compose(*, freq, interval=1, weekdays=(), month_day=None, set_pos=None, set_weekday=None, month=None):
    """The pattern the recurrence builder stands for, written by dateutil (rrule → str).

    weekly: `weekdays` (0=Monday); monthly: `month_day` (1..31 or -1 for the last day), or
    `set_pos` (1..4 or -1) with `set_weekday` (0..6) for "the second Tuesday"; yearly:
    `month` and `month_day`.
    """
    kwargs = {"interval": int(interval)}
    if freq == "weekly" and weekdays:
        kwargs["byweekday"] = tuple(sorted(int(d) for d in weekdays))
    elif freq == "monthly":
        if set_pos is not None:
            kwargs["byweekday"] = (weekday(int(set_weekday), int(set_pos)),)
        else:
            kwargs["bymonthday"] = (int(month_day),)
    elif freq == "yearly":
        kwargs["bymonth"] = (int(month),)
        kwargs["bymonthday"] = (int(month_day),)
    rule = rrule(FREQS[freq.upper()], dtstart=datetime(2000, 1, 1), **kwargs)
    return canonical(rule)


def until_as_local_date(until, *, start, time_zone):
    """UNTIL as this module keeps it: the last local date that may have an occurrence."""
    if until is None or isinstance(until, date) and not isinstance(until, datetime):
        return until
    if until.tzinfo is not None:
        until = until.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)
    start_time = start.time() if isinstance(start, datetime) else time.min
    return until.date() if until.time() >= start_time else until.date() - timedelta(days=1)


# ---- schedules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    local: object  # date (all-day) or naive datetime in the schedule's zone
    key: datetime  # UTC: the instant (timed) or the date at 00:00 UTC (all-day)

    @property
    def local_date(self):
        return self.local if not isinstance(self.local, datetime) else self.local.date()


@dataclass(frozen=True)
class Schedule:
    pattern: str
    start: object  # date (all-day) or naive datetime: the first occurrence, in `time_zone`
    time_zone: str
    until: date | None = None
    count: int | None = None
    exdates: tuple = field(default_factory=tuple)  # local dates
    month_end: str = MONTH_END_SKIP

    @property
    def all_day(self):
        return not isinstance(self.start, datetime)

    @property
    def zone(self):
        return ZoneInfo(self.time_zone)

    @property
    def start_datetime(self):
        return self.start if isinstance(self.start, datetime) else datetime.combine(self.start, time.min)

    def same_rule_as(self, other):
        """True when only the start differs (what "this occurrence only" may change)."""
        return other is not None and replace(self, start=None) == replace(other, start=None)

    # -- rules --

    def _base_rule(self, dtstart=None):
        return rrulestr("RRULE:" + self.pattern, dtstart=dtstart or self.start_datetime)

    def _month_end_kwargs(self, rule):
        """BYMONTHDAY=28..N;BYSETPOS=-1 for the "last day of shorter months" policy, else {}."""
        if self.month_end != MONTH_END_LAST_DAY:
            return {}
        original = rule._original_rule
        parts = pattern_parts(self.pattern)
        if any(p in parts for p in ("BYDAY", "BYSETPOS", "BYYEARDAY", "BYWEEKNO")):
            return {}
        freq = parts["FREQ"]
        if freq not in ("MONTHLY", "YEARLY"):
            return {}
        days = original.get("bymonthday") or (self.start_datetime.day,)
        if len(days) != 1 or not 29 <= days[0] <= 31:
            return {}
        if freq == "YEARLY":
            months = original.get("bymonth") or (self.start_datetime.month,)
            if len(months) != 1:
                return {}
            extra = {"bymonth": tuple(months)}
        else:
            extra = {}
        return {"bymonthday": tuple(range(28, days[0] + 1)), "bysetpos": -1, **extra}

    def rule(self, dtstart=None):
        """The dateutil rrule of the pattern with the month-end policy, UNTIL and COUNT applied."""
        base = self._base_rule(dtstart)
        kwargs = self._month_end_kwargs(base)
        if self.until is not None:
            kwargs["until"] = datetime.combine(self.until, time.max.replace(microsecond=0))
        if self.count is not None:
            kwargs["count"] = self.count
        return base.replace(**kwargs) if kwargs else base

    def ruleset(self):
        rules = rruleset()
        rules.rrule(self.rule())
        start_time = self.start_datetime.time()
        for day in self.exdates:
            rules.exdate(datetime.combine(day, start_time))
        return rules

    # -- keys --

    def key_of(self, local):
        """The UTC key of a local occurrence (see the module docstring for DST gaps and folds)."""
        if self.all_day:
            day = local.date() if isinstance(local, datetime) else local
            return datetime.combine(day, time.min).replace(tzinfo=UTC)
        return local.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    def local_of_key(self, key):
        if self.all_day:
            return key.astimezone(UTC).date()
        return key.astimezone(self.zone).replace(tzinfo=None)

    def _occurrence(self, naive):
        local = naive.date() if self.all_day else naive
        return Occurrence(local=local, key=self.key_of(local))

    def now_key(self, now):
        """`now` in key space: the instant for timed series, today's date (in the zone) for all-day ones."""
        if self.all_day:
            return datetime.combine(now.astimezone(self.zone).date(), time.min).replace(tzinfo=UTC)
        return now

    def horizon_key(self, now, days):
        if self.all_day:
            today = now.astimezone(self.zone).date()
            return datetime.combine(today + timedelta(days=days), time.min).replace(tzinfo=UTC)
        return now + timedelta(days=days)

    # -- occurrences --

    def iter_from(self, local_start):
        """Occurrences from a naive local moment on (inclusive), in order. Callers bound the loop."""
        start = local_start if isinstance(local_start, datetime) else datetime.combine(local_start, time.min)
        for naive in self.ruleset().xafter(start, inc=True):
            yield self._occurrence(naive)

    def between(self, after_key, through_key, *, limit=None):
        """Occurrences with after_key < key <= through_key (after_key None: from the start)."""
        if after_key is None:
            begin = self.start_datetime
        else:
            begin = datetime.combine(self.local_of_key(after_key) if self.all_day
                                     else self.local_of_key(after_key).date(), time.min) - timedelta(days=1)
        through_local = self.local_of_key(through_key)
        through_date = through_local if self.all_day else through_local.date()
        found = []
        for occ in self.iter_from(begin):
            if occ.local_date > through_date + timedelta(days=1):
                break
            if (after_key is None or occ.key > after_key) and occ.key <= through_key:
                found.append(occ)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def first_after(self, key, *, inclusive=False):
        """The first occurrence whose key is after `key` (or equal, with inclusive), or None."""
        local = self.local_of_key(key)
        begin = datetime.combine(local if self.all_day else local.date(), time.min) - timedelta(days=1)
        for occ in self.iter_from(begin):
            if occ.key > key or (inclusive and occ.key == key):
                return occ
        return None

    def first(self):
        return next(iter(self.iter_from(self.start_datetime)), None)

    def take(self, n, after_key=None):
        """The first `n` occurrences (after `after_key` when given)."""
        found = []
        if after_key is None:
            source = self.iter_from(self.start_datetime)
        else:
            first = self.first_after(after_key)
            source = self.iter_from(first.local) if first else iter(())
        for occ in source:
            found.append(occ)
            if len(found) >= n:
                break
        return found

    def count_before(self, key):
        n = 0
        for occ in self.iter_from(self.start_datetime):
            if occ.key >= key:
                break
            n += 1
        return n

    def occurs_on(self, local_day):
        for occ in self.iter_from(datetime.combine(local_day, time.min)):
            return occ if occ.local_date == local_day else None
        return None

    # -- validation --

    def validate(self):
        """Refuse a schedule that is malformed or never occurs, with a readable ValidationError."""
        validate_time_zone_name(self.time_zone)
        parse_rule(self.pattern)
        if self.month_end not in (MONTH_END_SKIP, MONTH_END_LAST_DAY):
            raise ValidationError(f"“{self.month_end}” is not a month-end choice.", code="invalid_month_end")
        if self.until is not None and self.count is not None:
            raise ValidationError("End the series on a date or after a number of occurrences, not both.",
                                  code="until_and_count")
        if self.count is not None and not 1 <= self.count <= MAX_COUNT:
            raise ValidationError(f"The number of occurrences must be from 1 to {MAX_COUNT}.", code="invalid_count")
        if self.until is not None and self.until < self.start_datetime.date():
            raise ValidationError("The series cannot end before its first occurrence.", code="until_before_start")
        if not self._pattern_occurs_soon():
            raise ValidationError(f"This rule never occurs in the {MUST_OCCUR_WITHIN_YEARS} years after the start.",
                                  code="never_occurs")
        if self.first() is None:
            raise ValidationError("With these end and skipped dates the series has no occurrence at all.",
                                  code="never_occurs")

    def _pattern_occurs_soon(self):
        """Whether the pattern occurs within MUST_OCCUR_WITHIN_YEARS of the start, in bounded time.

        dateutil scans up to year 9999 for a pattern that never matches (seconds for a daily
        one), so the check runs on the same pattern shifted by whole 400-year cycles close to
        9999, where the scan is short and the dates are the same.
        """
        start = self.start_datetime
        cycles = max(0, (9999 - MUST_OCCUR_WITHIN_YEARS - 400 - start.year) // _CYCLE_YEARS + 1)
        shifted = start.replace(year=start.year + cycles * _CYCLE_YEARS)
        if shifted.year + MUST_OCCUR_WITHIN_YEARS > 9999:
            shifted = start
        base = self._base_rule(shifted)
        kwargs = self._month_end_kwargs(base)
        rule = base.replace(**kwargs) if kwargs else base
        first = rule.after(shifted, inc=True)
        return first is not None and first.year - shifted.year <= MUST_OCCUR_WITHIN_YEARS


# ---- words -------------------------------------------------------------------------------------

_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second-to-last"}
_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")


def _and(items):
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe(schedule):
    """A sentence for people: "Every 2 weeks on Monday and Wednesday at 09:00 (Europe/Berlin), 10 times"."""
    parts = pattern_parts(schedule.pattern)
    freq = parts["FREQ"]
    interval = int(parts.get("INTERVAL", "1"))
    unit = _UNITS[freq]
    text = f"Every {unit}" if interval == 1 else f"Every {interval} {unit}s"
    simple = set(parts) <= {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST"}
    if not simple or (freq == "YEARLY" and len(parts.get("BYMONTH", "1").split(",")) > 1):
        text = f"Custom rule {schedule.pattern}"
    elif freq == "WEEKLY" and "BYDAY" in parts:
        names = [WEEKDAY_NAMES[WEEKDAYS.index(d[-2:])] for d in parts["BYDAY"].split(",")]
        text += " on " + _and(names)
    elif freq == "MONTHLY" and "BYDAY" in parts and "BYMONTHDAY" not in parts:
        days = parts["BYDAY"].split(",")
        match = re.fullmatch(r"([+-]?\d)([A-Z]{2})", days[0]) if len(days) == 1 else None
        if match and int(match.group(1)) in _ORDINALS:
            text += f" on the {_ORDINALS[int(match.group(1))]} {WEEKDAY_NAMES[WEEKDAYS.index(match.group(2))]}"
        else:
            text = f"Custom rule {schedule.pattern}"
    elif freq == "MONTHLY" and "BYMONTHDAY" in parts and "BYDAY" not in parts:
        days = [int(d) for d in parts["BYMONTHDAY"].split(",")]
        if days == [-1]:
            text += " on the last day"
        else:
            text += " on day " + _and([str(d) for d in days])
            if any(d >= 29 for d in days):
                text += (" (the last day in shorter months)" if schedule.month_end == MONTH_END_LAST_DAY
                         else " (skipping months without it)")
    elif freq == "YEARLY" and "BYMONTH" in parts and "BYMONTHDAY" in parts and "BYDAY" not in parts:
        month, day = int(parts["BYMONTH"]), int(parts["BYMONTHDAY"])
        text += f" on {day} {MONTH_NAMES[month - 1]}"
        if (month, day) == (2, 29):
            text += (" (28 February in other years)" if schedule.month_end == MONTH_END_LAST_DAY
                     else " (leap years only)")
    elif "BYDAY" in parts or "BYMONTHDAY" in parts or "BYMONTH" in parts:
        text = f"Custom rule {schedule.pattern}"
    if not schedule.all_day:
        text += f" at {schedule.start.strftime('%H:%M')} ({schedule.time_zone})"
    if schedule.count:
        text += f", {schedule.count} time{'s' if schedule.count != 1 else ''}"
    elif schedule.until:
        text += f", until {schedule.until.day} {MONTH_NAMES[schedule.until.month - 1][:3]} {schedule.until.year}"
    return text
