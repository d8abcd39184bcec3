"""The daily digest: at DIGEST_HOUR (08:00) in each user's own time zone, their overdue tasks and
the ones due today, by email, once a day, and only when there is something to say.

`digests_send_due` runs from the beat job tasks.send_daily_digests (every 5 minutes). For
each active user with an address whose local time has passed 08:00 it claims the row
DigestLog(user, local date) by inserting it (unique per user and day): a second run, at
the same time or later, finds the row and does nothing. A claimed digest whose sender
died is claimed again after 15 minutes; a failed one is retried up to 3 times. A day
whose morning passed while nothing ran still gets its digest that day; days that are
over are not sent afterwards (an old digest is stale news).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from . import dates
from .models import OPEN_STATUSES, Task
from .models_reminders import DigestLog, DigestStatus
from .reminders import user_zone

log = logging.getLogger(__name__)

RECLAIM_AFTER = timedelta(minutes=15)
MAX_ATTEMPTS = 3


@dataclass
class DigestReport:
    sent: int = 0
    empty: int = 0
    failed: int = 0
    skipped: int = 0


def digest_tasks(user, *, now):
    """(overdue, due today) open tasks assigned to `user`, as they see the day (their zone must be active)."""
    today = dates.local_today(now)
    base = Task.objects.filter(assignee=user, status__in=OPEN_STATUSES).select_related("content_type")
    overdue = list(base.filter(dates.overdue_q(now)).order_by("due_at", "-priority_rank", "pk"))
    overdue_ids = {t.pk for t in overdue}
    due_today = [t for t in base.filter(dates.due_between_q(today, today)).order_by("-all_day", "due_at", "pk")
                 if t.pk not in overdue_ids]
    return overdue, due_today


def _claim(user, local_date, now):
    """True if this run may send `user`'s digest for `local_date` (exactly one run gets True)."""
    try:
        with transaction.atomic():
            DigestLog.objects.create(user=user, local_date=local_date, claimed_at=now)
        return True
    except IntegrityError:
        pass
    retry = (Q(status=DigestStatus.SENDING, claimed_at__lt=now - RECLAIM_AFTER)
             | Q(status=DigestStatus.FAILED, attempts__lt=MAX_ATTEMPTS, claimed_at__lt=now - timedelta(minutes=5)))
    return DigestLog.objects.filter(retry, user=user, local_date=local_date).update(
        status=DigestStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1) == 1


def digests_send_due(*, now=None, connection=None):
    """Send today's digest to every user whose local time is past DIGEST_HOUR and who has not had it.

    Exactly once per user and local day (see the module docstring); a failing recipient
    is recorded and the others go on. Returns a DigestReport.
    """
    now = now or timezone.now()
    report = DigestReport()
    users = get_user_model().objects.filter(is_active=True).exclude(email="").select_related("profile")
    done = set(DigestLog.objects.filter(local_date__gte=(now - timedelta(days=1)).date(),
                                        status__in=(DigestStatus.SENT, DigestStatus.EMPTY))
               .values_list("user_id", "local_date"))
    own_connection = connection is None
    connection = connection or get_connection(fail_silently=False)
    try:
        for user in users:
            zone = user_zone(user)
            local_now = now.astimezone(zone)
            if local_now.time() < time(settings.DIGEST_HOUR) or (user.pk, local_now.date()) in done:
                report.skipped += 1
                continue
            if not _claim(user, local_now.date(), now):
                report.skipped += 1
                continue
            outcome = _send_one(user, zone, local_now.date(), now, connection)
            setattr(report, outcome, getattr(report, outcome) + 1)
    finally:
        if own_connection:
            try:
                connection.close()
            except Exception:  # noqa: BLE001
                pass
    return report


def _send_one(user, zone, local_date, now, connection):
    row = DigestLog.objects.filter(user=user, local_date=local_date)
    try:
        with timezone.override(zone):
            overdue, due_today = digest_tasks(user, now=now)
            if not overdue and not due_today:
                row.update(status=DigestStatus.EMPTY, task_count=0)
                return "empty"
            context = digest_context(user, overdue, due_today, local_date, zone)
            subject = " ".join(render_to_string("emails/digest_subject.txt", context).split())
            text = render_to_string("emails/digest_body.txt", context).rstrip("\n") + "\n"
            html = render_to_string("emails/digest_body.html", context)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection)
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception as exc:  # noqa: BLE001 - one failing recipient must not stop the others
        row.update(status=DigestStatus.FAILED, last_error=f"{type(exc).__name__}: {exc}"[:500])
        log.warning("Digest for %s failed: %s", user, exc)
        try:
            connection.close()
        except Exception:  # noqa: BLE001
            pass
        return "failed"
    row.update(status=DigestStatus.SENT, sent_at=now, task_count=len(overdue) + len(due_today), last_error="")
    return "sent"


def _line(task, zone):
    if task.all_day:
        when = task.due_at.astimezone(dates.dt_timezone.utc).strftime("%a %-d %b")
    else:
        when = task.due_at.astimezone(zone).strftime("%a %-d %b, %H:%M")
    return {"task": task, "when": when, "url": settings.SITE_URL + task.get_absolute_url()}


def digest_context(user, overdue, due_today, local_date, zone):
    return {
        "user": user, "name": user.get_full_name() or user.username, "local_date": local_date,
        "overdue": [_line(t, zone) for t in overdue], "due_today": [_line(t, zone) for t in due_today],
        "time_zone": str(zone), "site_url": settings.SITE_URL,
        "my_day_url": settings.SITE_URL + reverse("home"),
        "day": datetime.combine(local_date, time.min).strftime("%A %-d %B"),
    }
