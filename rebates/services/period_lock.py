"""Finance closes a month: `period_lock` locks it, `period_reopen` opens it again with a stated reason.

While a month is locked nothing is booked into it: every writer books an entry for a locked month into the
first open month after it and records the month it concerns (`rebates.period_locks.booking_months`, the flat
rules' statement), whoever books it (the nightly run, a payout, a forfeiture), and a trigger on the ledger
(migration `0033_period_lock`) refuses any insert that would still land in one. The run compares the engine with
what the ledger holds per month *concerned*, so a late difference is booked once, into an open month, and
not again. Both writes are audited in their own transaction.
"""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction

from config import clock
from customers.services import audit_record
from rebates.engine.periods import month_of
from rebates.models import PeriodLock
from rebates.sql import period_lock as sql

PERMISSION = "rebates.lock_period"
REASON_MAX = 300


class PeriodLockError(Exception):
    """The request is wrong as sent (a bad month, no reason): answer 400 naming `field`."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


class PeriodLockConflict(Exception):
    """The month is already in the state asked for (locked twice, reopened while open): answer 409."""


def _require(user):
    if user is not None and not user.has_perm(PERMISSION):
        raise PermissionDenied("You may not lock or reopen months: it needs the lock_period permission.")


def _checked_month(month) -> date:
    if not isinstance(month, date) or month.day != 1:
        raise PeriodLockError("The month must be the first of a month (YYYY-MM).", field="month")
    return month


def period_lock(*, month: date, by, today: date | None = None) -> PeriodLock:
    """Lock `month` (first of the month) so that nothing is booked into it again. Only a month that has
    ended can be locked (before the month of `today`, default today); locking a locked month is a conflict.

    The ledger is taken in SHARE mode first: bookings under way finish before the lock is written, and any
    booking after it waits for it, so no entry lands in the month once the lock is committed."""
    _require(by)
    month = _checked_month(month)
    current = month_of(today or clock.today())
    if month >= current:
        raise PeriodLockError(f"{month:%Y-%m} has not ended yet: only a past month can be locked.", field="month")
    with transaction.atomic():
        sql.ledger_hold()
        lock = PeriodLock.objects.select_for_update().filter(month=month).first()
        now = clock.now()
        if lock is not None and lock.locked:
            raise PeriodLockConflict(f"{month:%Y-%m} is already locked (since {lock.locked_at:%Y-%m-%d %H:%M}).")
        if lock is None:
            lock = PeriodLock.objects.create(month=month, locked_by=by if _is_user(by) else None, locked_at=now)
        else:
            lock.locked_by = by if _is_user(by) else None
            lock.locked_at = now
            lock.reopened_by = None
            lock.reopened_at = None
            lock.reopen_reason = ""
            lock.save(update_fields=["locked_by", "locked_at", "reopened_by", "reopened_at", "reopen_reason"])
        audit_record(actor=by, action="period.lock", target=lock, summary=f"Locked {month:%Y-%m}",
                     data={"month": f"{month:%Y-%m}"})
    return lock


def period_reopen(*, month: date, reason: str, by) -> PeriodLock:
    """Open a locked `month` again, for `reason` (required): later differences for it are booked into it
    again. What was booked elsewhere while it was locked stays where it is (the ledger is append-only);
    reopening a month that is not locked is a conflict."""
    _require(by)
    month = _checked_month(month)
    reason = (reason or "").strip()
    if not reason:
        raise PeriodLockError("Reopening a month needs a reason.", field="reason")
    if len(reason) > REASON_MAX:
        raise PeriodLockError(f"The reason is at most {REASON_MAX} characters.", field="reason")
    with transaction.atomic():
        lock = PeriodLock.objects.select_for_update().filter(month=month).first()
        if lock is None or not lock.locked:
            raise PeriodLockConflict(f"{month:%Y-%m} is not locked.")
        lock.reopened_by = by if _is_user(by) else None
        lock.reopened_at = clock.now()
        lock.reopen_reason = reason
        lock.save(update_fields=["reopened_by", "reopened_at", "reopen_reason"])
        audit_record(actor=by, action="period.reopen", target=lock, summary=f"Reopened {month:%Y-%m}: {reason}",
                     data={"month": f"{month:%Y-%m}", "reason": reason})
    return lock


def _is_user(by) -> bool:
    return getattr(by, "is_authenticated", False)
