"""The RRULE examples of RFC 5545 section 3.8.5.3, as test vectors with their expected dates.

Every example starts at 09:00 America/New_York, as in the RFC, and goes through the same
code as a series (tasks.rrules.Schedule: parse, UNTIL as a local date, EXDATE, DST). The
ones that repeat more than once a day (HOURLY, MINUTELY, BYHOUR/BYMINUTE) are refused with
a readable message, because a task happens at most once a day; they are listed at the end.
"""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from tasks import rrules

NY = "America/New_York"


def expand(rule, start, *, n=400, exdates=()):
    parsed = rrules.parse_rule(rule)
    until = rrules.until_as_local_date(parsed.until, start=start, time_zone=NY)
    schedule = rrules.Schedule(pattern=parsed.pattern, start=start, time_zone=NY, until=until, count=parsed.count,
                               exdates=tuple(exdates))
    schedule.validate()
    return schedule.take(n)


def days(*items):
    """days((1997, 9, [2, 4, 6]), ...) -> [date, ...] at the RFC's dates."""
    out = []
    for year, month, ds in items:
        out += [date(year, month, d) for d in ds]
    return out


def span(first, last, step=1):
    out, day = [], first
    while day <= last:
        out.append(day)
        day += timedelta(days=step)
    return out


VECTORS = [
    # (name, rule, start date, how many to compare (None: all of a finite rule), expected dates)
    ("daily for 10 occurrences", "FREQ=DAILY;COUNT=10", date(1997, 9, 2), None, span(date(1997, 9, 2), date(1997, 9, 11))),
    ("daily until December 24, 1997", "FREQ=DAILY;UNTIL=19971224T000000Z", date(1997, 9, 2), None,
     span(date(1997, 9, 2), date(1997, 12, 23))),
    ("every other day, forever", "FREQ=DAILY;INTERVAL=2", date(1997, 9, 2), 30,
     span(date(1997, 9, 2), date(1997, 11, 29), 2)[:30]),
    ("every 10 days, 5 occurrences", "FREQ=DAILY;INTERVAL=10;COUNT=5", date(1997, 9, 2), None,
     days((1997, 9, [2, 12, 22]), (1997, 10, [2, 12]))),
    ("every day in January, for 3 years (yearly form)",
     "FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA", date(1998, 1, 1), None,
     span(date(1998, 1, 1), date(1998, 1, 31)) + span(date(1999, 1, 1), date(1999, 1, 31))
     + span(date(2000, 1, 1), date(2000, 1, 31))),
    ("every day in January, for 3 years (daily form)", "FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1",
     date(1998, 1, 1), None,
     span(date(1998, 1, 1), date(1998, 1, 31)) + span(date(1999, 1, 1), date(1999, 1, 31))
     + span(date(2000, 1, 1), date(2000, 1, 31))),
    ("weekly for 10 occurrences", "FREQ=WEEKLY;COUNT=10", date(1997, 9, 2), None,
     days((1997, 9, [2, 9, 16, 23, 30]), (1997, 10, [7, 14, 21, 28]), (1997, 11, [4]))),
    ("weekly until December 24, 1997", "FREQ=WEEKLY;UNTIL=19971224T000000Z", date(1997, 9, 2), None,
     span(date(1997, 9, 2), date(1997, 12, 23), 7)),
    ("every other week, forever", "FREQ=WEEKLY;INTERVAL=2;WKST=SU", date(1997, 9, 2), 13,
     days((1997, 9, [2, 16, 30]), (1997, 10, [14, 28]), (1997, 11, [11, 25]), (1997, 12, [9, 23]),
          (1998, 1, [6, 20]), (1998, 2, [3, 17]))),
    ("weekly on Tuesday and Thursday for five weeks (UNTIL)", "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH",
     date(1997, 9, 2), None, days((1997, 9, [2, 4, 9, 11, 16, 18, 23, 25, 30]), (1997, 10, [2]))),
    ("weekly on Tuesday and Thursday for five weeks (COUNT)", "FREQ=WEEKLY;COUNT=10;WKST=SU;BYDAY=TU,TH",
     date(1997, 9, 2), None, days((1997, 9, [2, 4, 9, 11, 16, 18, 23, 25, 30]), (1997, 10, [2]))),
    ("every other week on Monday, Wednesday and Friday until December 24, 1997",
     "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR", date(1997, 9, 1), None,
     days((1997, 9, [1, 3, 5, 15, 17, 19, 29]), (1997, 10, [1, 3, 13, 15, 17, 27, 29, 31]),
          (1997, 11, [10, 12, 14, 24, 26, 28]), (1997, 12, [8, 10, 12, 22]))),
    ("every other week on Tuesday and Thursday, for 8 occurrences", "FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH",
     date(1997, 9, 2), None, days((1997, 9, [2, 4, 16, 18, 30]), (1997, 10, [2, 14, 16]))),
    ("monthly on the first Friday for 10 occurrences", "FREQ=MONTHLY;COUNT=10;BYDAY=1FR", date(1997, 9, 5), None,
     days((1997, 9, [5]), (1997, 10, [3]), (1997, 11, [7]), (1997, 12, [5]), (1998, 1, [2]), (1998, 2, [6]),
          (1998, 3, [6]), (1998, 4, [3]), (1998, 5, [1]), (1998, 6, [5]))),
    ("monthly on the first Friday until December 24, 1997", "FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR",
     date(1997, 9, 5), None, days((1997, 9, [5]), (1997, 10, [3]), (1997, 11, [7]), (1997, 12, [5]))),
    ("every other month on the first and last Sunday, 10 occurrences", "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU",
     date(1997, 9, 7), None,
     days((1997, 9, [7, 28]), (1997, 11, [2, 30]), (1998, 1, [4, 25]), (1998, 3, [1, 29]), (1998, 5, [3, 31]))),
    ("monthly on the second-to-last Monday for 6 months", "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO", date(1997, 9, 22), None,
     days((1997, 9, [22]), (1997, 10, [20]), (1997, 11, [17]), (1997, 12, [22]), (1998, 1, [19]), (1998, 2, [16]))),
    ("monthly on the third-to-the-last day, forever", "FREQ=MONTHLY;BYMONTHDAY=-3", date(1997, 9, 28), 6,
     days((1997, 9, [28]), (1997, 10, [29]), (1997, 11, [28]), (1997, 12, [29]), (1998, 1, [29]), (1998, 2, [26]))),
    ("monthly on the 2nd and 15th for 10 occurrences", "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15", date(1997, 9, 2), None,
     days((1997, 9, [2, 15]), (1997, 10, [2, 15]), (1997, 11, [2, 15]), (1997, 12, [2, 15]), (1998, 1, [2, 15]))),
    ("monthly on the first and last day for 10 occurrences", "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1",
     date(1997, 9, 30), None,
     days((1997, 9, [30]), (1997, 10, [1, 31]), (1997, 11, [1, 30]), (1997, 12, [1, 31]), (1998, 1, [1, 31]),
          (1998, 2, [1]))),
    ("every 18 months on the 10th thru 15th, 10 occurrences",
     "FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15", date(1997, 9, 10), None,
     days((1997, 9, [10, 11, 12, 13, 14, 15]), (1999, 3, [10, 11, 12, 13]))),
    ("every Tuesday, every other month", "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU", date(1997, 9, 2), 18,
     days((1997, 9, [2, 9, 16, 23, 30]), (1997, 11, [4, 11, 18, 25]), (1998, 1, [6, 13, 20, 27]),
          (1998, 3, [3, 10, 17, 24, 31]))),
    ("yearly in June and July for 10 occurrences", "FREQ=YEARLY;COUNT=10;BYMONTH=6,7", date(1997, 6, 10), None,
     [date(y, m, 10) for y in range(1997, 2002) for m in (6, 7)]),
    ("every other year on January, February and March, 10 occurrences", "FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3",
     date(1997, 3, 10), None,
     [date(1997, 3, 10)] + [date(y, m, 10) for y in (1999, 2001, 2003) for m in (1, 2, 3)]),
    ("every third year on the 1st, 100th and 200th day, 10 occurrences",
     "FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200", date(1997, 1, 1), None,
     days((1997, 1, [1]), (1997, 4, [10]), (1997, 7, [19]), (2000, 1, [1]), (2000, 4, [9]), (2000, 7, [18]),
          (2003, 1, [1]), (2003, 4, [10]), (2003, 7, [19]), (2006, 1, [1]))),
    ("every 20th Monday of the year, forever", "FREQ=YEARLY;BYDAY=20MO", date(1997, 5, 19), 3,
     [date(1997, 5, 19), date(1998, 5, 18), date(1999, 5, 17)]),
    ("Monday of week number 20, forever", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", date(1997, 5, 12), 3,
     [date(1997, 5, 12), date(1998, 5, 11), date(1999, 5, 17)]),
    ("every Thursday in March, forever", "FREQ=YEARLY;BYMONTH=3;BYDAY=TH", date(1997, 3, 13), 11,
     days((1997, 3, [13, 20, 27]), (1998, 3, [5, 12, 19, 26]), (1999, 3, [4, 11, 18, 25]))),
    ("every Thursday, but only during June, July and August, forever", "FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8",
     date(1997, 6, 5), 39,
     days((1997, 6, [5, 12, 19, 26]), (1997, 7, [3, 10, 17, 24, 31]), (1997, 8, [7, 14, 21, 28]),
          (1998, 6, [4, 11, 18, 25]), (1998, 7, [2, 9, 16, 23, 30]), (1998, 8, [6, 13, 20, 27]),
          (1999, 6, [3, 10, 17, 24]), (1999, 7, [1, 8, 15, 22, 29]), (1999, 8, [5, 12, 19, 26]))),
    ("the first Saturday that follows the first Sunday of the month, forever",
     "FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13", date(1997, 9, 13), 10,
     days((1997, 9, [13]), (1997, 10, [11]), (1997, 11, [8]), (1997, 12, [13]), (1998, 1, [10]), (1998, 2, [7]),
          (1998, 3, [7]), (1998, 4, [11]), (1998, 5, [9]), (1998, 6, [13]))),
    ("every 4 years, the first Tuesday after a Monday in November (US election day)",
     "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8", date(1996, 11, 5), 3,
     [date(1996, 11, 5), date(2000, 11, 7), date(2004, 11, 2)]),
    ("the third instance of Tuesday, Wednesday or Thursday, for the next 3 months",
     "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", date(1997, 9, 4), None,
     [date(1997, 9, 4), date(1997, 10, 7), date(1997, 11, 6)]),
    ("the second-to-last weekday of the month", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2", date(1997, 9, 29), 7,
     days((1997, 9, [29]), (1997, 10, [30]), (1997, 11, [27]), (1997, 12, [30]), (1998, 1, [29]), (1998, 2, [26]),
          (1998, 3, [30]))),
    ("WKST makes a difference (MO)", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", date(1997, 8, 5), None,
     days((1997, 8, [5, 10, 19, 24]))),
    ("WKST makes a difference (SU)", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", date(1997, 8, 5), None,
     days((1997, 8, [5, 17, 19, 31]))),
    ("an invalid date (February 30) is ignored", "FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5", date(2007, 1, 15), None,
     days((2007, 1, [15, 30]), (2007, 2, [15]), (2007, 3, [15, 30]))),
]


@pytest.mark.parametrize("name, rule, start, n, expected", VECTORS, ids=[v[0] for v in VECTORS])
def test_rfc5545_example(name, rule, start, n, expected):
    occurrences = expand(rule, datetime.combine(start, datetime.min.time()).replace(hour=9), n=n or 400)

    assert [o.local.date() for o in occurrences] == expected
    assert {o.local.time() for o in occurrences} == {datetime.min.time().replace(hour=9)}


def test_friday_the_13th_with_its_exdate():
    # DTSTART 1997-09-02 09:00 is not a Friday the 13th; the RFC also lists it as an EXDATE.
    occurrences = expand("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", datetime(1997, 9, 2, 9), n=5,
                         exdates=[date(1997, 9, 2)])

    assert [o.local.date() for o in occurrences] == [
        date(1998, 2, 13), date(1998, 3, 13), date(1998, 11, 13), date(1999, 8, 13), date(2000, 10, 13)]


def test_the_examples_keep_9_am_new_york_time_across_the_dst_change_of_october_26_1997():
    occurrences = expand("FREQ=WEEKLY;COUNT=10", datetime(1997, 9, 2, 9))

    utc = [o.key for o in occurrences]
    assert utc[:8] == [datetime(1997, 9, 2, 13, tzinfo=dt_timezone.utc) + timedelta(weeks=i) for i in range(8)]
    assert utc[8:] == [datetime(1997, 10, 28, 14, tzinfo=dt_timezone.utc), datetime(1997, 11, 4, 14, tzinfo=dt_timezone.utc)]


SUB_DAILY = [
    ("every 3 hours from 9:00 AM to 5:00 PM on a specific day", "FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000Z",
     "FREQ=HOURLY repeats more than once a day, which tasks do not support: use DAILY, WEEKLY, MONTHLY or YEARLY."),
    ("every 15 minutes for 6 occurrences", "FREQ=MINUTELY;INTERVAL=15;COUNT=6",
     "FREQ=MINUTELY repeats more than once a day, which tasks do not support: use DAILY, WEEKLY, MONTHLY or YEARLY."),
    ("every hour and a half for 4 occurrences", "FREQ=MINUTELY;INTERVAL=90;COUNT=4",
     "FREQ=MINUTELY repeats more than once a day, which tasks do not support: use DAILY, WEEKLY, MONTHLY or YEARLY."),
    ("every 20 minutes from 9:00 AM to 4:40 PM every day",
     "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40",
     "BYMINUTE is not supported: a repeating task happens at its due time, at most once a day."),
]


@pytest.mark.parametrize("name, rule, message", SUB_DAILY, ids=[v[0] for v in SUB_DAILY])
def test_examples_more_often_than_daily_are_refused_with_a_reason(name, rule, message):
    with pytest.raises(rrules.ValidationError) as caught:
        rrules.parse_rule(rule)

    assert caught.value.messages == [message]
