"""Reads of the months page and the API's period locks: each month with its lock state and what the ledger
booked in it (rows through `visible_to(user)`)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum

from config import clock
from rebates.engine.periods import add_months, month_of
from rebates.models import LedgerEntry, PeriodLock
from rebates.sql import period_lock as sql

# The months page shows this many months back from the last complete one (and any older locked month).
MONTHS_SHOWN = 24


def booking_months():
    """The month an entry is booked in, as a function of the month it is for: that month, or the first month
    after it that is not locked. Call it in the booking's transaction, just before inserting: it takes the
    ledger as the insert will (ROW EXCLUSIVE) before reading the locks, so a lock committed after this read
    waits for the booking to commit (rebates.services.period_lock takes the ledger in SHARE mode)."""
    locked = sql.locked_months_for_booking()
    if not locked:
        return _same_month

    def booked_in(month: date) -> date:
        while month in locked:
            month = add_months(month, 1)
        return month

    return booked_in


def _same_month(month: date) -> date:
    return month


@dataclass(frozen=True)
class MonthState:
    month: date
    lock: PeriodLock | None
    entries: int
    booked: Decimal
    # Entries booked in this month that concern an earlier, locked month.
    late_entries: int
    # The month is under way (today's): it can be locked once it has ended.
    under_way: bool = False
    # What `booked` is in: its parts per currency of the agreements (the page never adds currencies up).
    booked_by_currency: dict = field(default_factory=dict)

    @property
    def locked(self) -> bool:
        return self.lock is not None and self.lock.locked

    @property
    def state(self) -> str:
        if self.lock is None:
            return "open"
        return "locked" if self.lock.locked else "reopened"


def period_locks():
    """Every month ever locked (reopened ones too), newest first, with who locked and reopened it."""
    return PeriodLock.objects.select_related("locked_by", "reopened_by").order_by("-month")


def locked_months() -> set[date]:
    """The months locked now."""
    return set(PeriodLock.objects.filter(reopened_at__isnull=True).values_list("month", flat=True))


def month_states(*, user, today: date | None = None) -> list[MonthState]:
    """The month of `today` (default today, under way: it cannot be locked yet), the MONTHS_SHOWN complete
    months before it and any older month with a lock, newest first: its state, and the entries the ledger
    booked in it (count, total, how many of them for an earlier locked month). One grouped read of the ledger."""
    last = month_of(today or clock.today())
    first = add_months(last, -MONTHS_SHOWN)
    locks = {lock.month: lock for lock in period_locks()}
    months = sorted({add_months(first, i) for i in range(MONTHS_SHOWN + 1)} | set(locks), reverse=True)
    booked = {
        row["period"]: row for row in LedgerEntry.objects.visible_to(user)
        .filter(period__gte=min(months), period__lte=last).order_by().values("period")
        .annotate(entries=Count("id"), total=Sum("amount"),
                  late=Count("id", filter=Q(concerns__lt=F("period"))))
    }
    parts = _booked_by_currency(user, min(months), last, booked)
    return [MonthState(month=month, lock=locks.get(month), entries=booked.get(month, {}).get("entries", 0),
                       booked=booked.get(month, {}).get("total") or Decimal("0.00"),
                       late_entries=booked.get(month, {}).get("late", 0), under_way=month == last,
                       booked_by_currency=parts.get(month, {}))
            for month in months]


def _booked_by_currency(user, first: date, last: date, booked: dict) -> dict[date, dict[str, Decimal]]:
    """Each month's booked total per currency of its agreements: in a book of one currency, the totals
    already read; in a book of several, one more grouped read of the months' entries by currency."""
    from rebates.selectors import book_currencies

    currencies = book_currencies()
    if len(currencies) <= 1:
        code = currencies[0] if currencies else settings.DEFAULT_CURRENCY
        return {month: {code: row["total"] or Decimal("0.00")} for month, row in booked.items()}
    parts: dict[date, dict[str, Decimal]] = {}
    for month, code, total in (LedgerEntry.objects.visible_to(user).filter(period__gte=first, period__lte=last)
                               .order_by().values_list("period", "agreement__customer__currency")
                               .annotate(total=Sum("amount"))):
        parts.setdefault(month, {})[code] = total
    return parts


def month_state(*, user, month: date) -> MonthState:
    """One month's state and what the ledger booked in it."""
    lock = period_locks().filter(month=month).first()
    booked = LedgerEntry.objects.visible_to(user).filter(period=month).aggregate(
        entries=Count("id"), total=Sum("amount"), late=Count("id", filter=Q(concerns__lt=F("period"))))
    return MonthState(month=month, lock=lock, entries=booked["entries"], booked=booked["total"] or Decimal("0.00"),
                      late_entries=booked["late"])
