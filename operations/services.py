"""Writes of operations: alerts raised and cleared from what the checks see, their mails, heartbeats and the
tally of finished tasks. Each is safe to run twice or at once, and to be killed midway."""

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F

from config import clock
from operations import checks
from operations.models import Alert, Heartbeat, TaskTally

logger = logging.getLogger(__name__)


def operations_check(*, now: datetime | None = None) -> dict[str, int]:
    """Run every check (operations.checks.CHECKS), raise an alert for each problem seen that has none open,
    clear the open ones whose problem is gone, then send the mails not sent yet. Returns the open alerts of
    each kind. A check that cannot tell (None) leaves its kind's alerts as they are."""
    now = now or clock.now()
    open_by_kind = {}
    for kind, check in checks.CHECKS.items():
        seen = check(now)
        if seen is not None:
            alerts_sync(kind=kind, seen=seen, now=now)
        open_by_kind[kind.value] = Alert.objects.filter(kind=kind, cleared_at__isnull=True).count()
    alerts_mail_pending(now=now)
    return open_by_kind


def alerts_sync(*, kind: str, seen: checks.Problems, now: datetime) -> None:
    """Make the open alerts of `kind` match `seen` ({key: (message, details)}): new keys raised, known ones
    touched (last_seen), the others cleared."""
    with transaction.atomic():
        current = {alert.key: alert for alert in
                   Alert.objects.select_for_update().filter(kind=kind, cleared_at__isnull=True).order_by("pk")}
        for key, (message, details) in seen.items():
            alert = current.get(key)
            if alert is None:
                _alert_raise(kind=kind, key=key, message=message, details=details, now=now)
            else:
                alert.last_seen, alert.message, alert.details = now, message[:500], details
                alert.save(update_fields=["last_seen", "message", "details"])
        for key, alert in current.items():
            if key not in seen:
                alert.cleared_at = max(now, alert.started_at)
                alert.save(update_fields=["cleared_at"])
                logger.warning("alert cleared", extra={"alert": alert.pk, "alert_kind": kind, "alert_key": key})


def _alert_raise(*, kind, key, message, details, now) -> None:
    try:
        with transaction.atomic():
            alert = Alert.objects.create(kind=kind, key=key[:100], message=message[:500], details=details,
                                         started_at=now, last_seen=now)
    except IntegrityError:  # a check running at the same moment raised it first
        return
    logger.error("alert raised", extra={"alert": alert.pk, "alert_kind": kind, "alert_key": key})


def alerts_mail_pending(*, now: datetime) -> int:
    """Send each raised and each cleared mail not sent yet (one each per alert, to the administrators);
    returns how many went. A failed send is logged and tried again at the next check."""
    sent = 0
    for field, pending in (("raised_mailed_at", {"raised_mailed_at__isnull": True}),
                           ("cleared_mailed_at", {"cleared_at__isnull": False, "cleared_mailed_at__isnull": True})):
        while True:
            with transaction.atomic():
                alert = Alert.objects.select_for_update(skip_locked=True).filter(**pending).order_by("pk").first()
                if alert is None:
                    break
                try:
                    _mail(alert, cleared=field == "cleared_mailed_at")
                except Exception:  # the mail server is away: the next check sends it
                    logger.exception("alert mail not sent", extra={"alert": alert.pk})
                    break
                setattr(alert, field, now)
                alert.save(update_fields=[field])
                sent += 1
    return sent


def administrators_emails() -> list[str]:
    """Who hears of alerts: settings.ADMINS and every active superuser with an address."""
    emails = [email for _, email in settings.ADMINS]
    emails += get_user_model().objects.filter(is_active=True, is_superuser=True).exclude(email="").order_by(
        "pk").values_list("email", flat=True)
    return list(dict.fromkeys(emails))


def _mail(alert: Alert, *, cleared: bool) -> None:
    recipients = administrators_emails()
    if not recipients:
        return
    state = "Cleared" if cleared else "Raised"
    lines = [f"This has cleared. It was: {alert.message}" if cleared else alert.message, "",
             f"Started: {clock.local(alert.started_at):%Y-%m-%d %H:%M %Z}"]
    if cleared:
        lines.append(f"Cleared: {clock.local(alert.cleared_at):%Y-%m-%d %H:%M %Z}")
    lines += [f"{name}: {value}" for name, value in alert.details.items()]
    lines += ["", "What it means and what to do: docs/operations.md; open alerts: /operations/ on the site."]
    send_mail(f"{settings.EMAIL_SUBJECT_PREFIX}{state}: {alert.get_kind_display()} ({alert.key})", "\n".join(lines),
              settings.DEFAULT_FROM_EMAIL, recipients)


def heartbeat_record(*, name: str, now: datetime | None = None) -> None:
    """Note that a process of kind `name` is alive now (the readiness check reads it)."""
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": now or clock.now()})


def task_tally_record(*, name: str, seconds: float, failed: bool, result=None, now: datetime | None = None) -> None:
    """Count one finished task of `name` (one statement; concurrent workers add up, none is lost)."""
    changes = {"runs": F("runs") + 1, "failures": F("failures") + int(failed),
               "seconds_total": F("seconds_total") + seconds, "last_seconds": seconds,
               "last_result": _plain(result), "last_finished_at": now or clock.now()}
    if TaskTally.objects.filter(name=name).update(**changes):
        return
    try:
        with transaction.atomic():
            TaskTally.objects.create(name=name)
    except IntegrityError:  # another worker created it meanwhile
        pass
    TaskTally.objects.filter(name=name).update(**changes)


def _plain(result):
    """A task's answer kept only when it is counts (a number, or a flat mapping of names to numbers)."""
    if isinstance(result, bool) or result is None:
        return None
    if isinstance(result, int | float):
        return result
    if isinstance(result, dict) and all(isinstance(v, int | float) and not isinstance(v, bool)
                                        for v in result.values()):
        return {str(k): v for k, v in result.items()}
    return None
