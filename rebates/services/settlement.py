"""Settlements, payouts and forfeiture: the writes that take money out of an agreement's balance.

Every settlement pays what has been earned to date minus what has already been paid: a closing pays
its period plus whatever earlier months gained after they were paid (adjustments); an interim payment
within a period pays the period so far. A payout entry is booked when finance pays; terminating an
agreement early forfeits the unpaid balance.
"""

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, transaction
from django.db.models import Q, Sum

from config import clock
from customers.services import audit_record, audit_records
from rebates.currencies import missing_rate_reason
from rebates.engine.money import ZERO_MONEY
from rebates.engine.periods import SettlementFrequency, add_months, month_of, period_start
from rebates.groups import settlement_parts, settlement_split
from rebates.models import EARNED_KINDS, LedgerEntry, RebateAgreement, Settlement, SettlementPart
from rebates.reporting import RateBook
from rebates.services.accrual import ACCRUING_STATUSES, agreement_accrue
from rebates.sql import settlements as sql


class SettlementError(Exception):
    """The settlement cannot do what was asked; the message says why."""


class SettlementConflict(SettlementError):
    """Someone else changed the settlement first (paid it, say): answer 409."""


def _require(user, permission):
    if user is not None and not user.has_perm(permission):
        raise PermissionDenied(f"You may not do this: it needs the {permission.split('.')[-1]} permission.")


def _sum(queryset) -> Decimal:
    return queryset.aggregate(total=Sum("amount"))["total"] or ZERO_MONEY


def settlement_figures(*, agreement: RebateAgreement, start: date, end: date) -> dict[str, Decimal]:
    """What a settlement of the months start..end pays now.

    accrued_total: earned in those months; adjustments: earned in earlier months beyond what earlier
    settlements already pay (a late change to a paid month); already_paid: interim payments within the
    span. A settlement counts once it exists (draft, approved or paid), so two open settlements never
    pay the same month.
    """
    earned = LedgerEntry.objects.filter(agreement=agreement, kind__in=EARNED_KINDS)
    settled = Settlement.objects.filter(agreement=agreement).exclude(status=Settlement.Status.FORFEITED)
    accrued = _sum(earned.filter(period__gte=start, period__lte=end))
    adjustments = _sum(earned.filter(period__lt=start)) - _sum(settled.filter(period_end__lt=start))
    already_paid = _sum(settled.filter(interim=True, period_start__gte=start, period_end__lte=end))
    return {
        "accrued_total": accrued,
        "adjustments": adjustments,
        "already_paid": already_paid,
        "amount": accrued + adjustments - already_paid,
    }


def settlement_close(*, agreement: RebateAgreement, period_first: date, by=None, interim_through: date | None = None):
    """A draft settlement for the settlement period starting at `period_first` (its closing), or, with
    `interim_through`, an interim payment of that period up to that month. None when a closing exists."""
    _require(by, "rebates.approve_settlement")
    with transaction.atomic():
        agreement = RebateAgreement.objects.select_for_update().get(pk=agreement.pk)
        length = SettlementFrequency(agreement.settlement_frequency).months
        end = min(add_months(period_first, length - 1), agreement.end_month)
        interim = interim_through is not None
        if interim:
            end = month_of(interim_through)
            if agreement.status not in ACCRUING_STATUSES:
                raise SettlementConflict(f"Agreement {agreement.number} is {agreement.status}; interim payments "
                                         f"are for an agreement that accrues.")
            if not period_first <= end <= min(add_months(period_first, length - 1), agreement.end_month):
                raise SettlementError(f"An interim payment must end within the period starting {period_first:%Y-%m}.")
            # A closed period is paid by its closing, which counts everything earned in it: an interim
            # payment beside it would pay the same months twice.
            closing = (Settlement.objects.filter(agreement=agreement, period_start=period_first, interim=False)
                       .exclude(status=Settlement.Status.FORFEITED).first())
            if closing is not None:
                raise SettlementConflict(f"The period starting {period_first:%Y-%m} is closed (settlement "
                                         f"{closing.pk}); interim payments are for a period still open.")
            twin = (Settlement.objects.filter(agreement=agreement, period_start=period_first, period_end=end,
                                              interim=True).exclude(status=Settlement.Status.FORFEITED).first())
            if twin is not None:
                raise SettlementConflict(f"Agreement {agreement.number} already has an interim payment through "
                                         f"{end:%Y-%m} (settlement {twin.pk}, {twin.status}).")
        if not interim and Settlement.objects.filter(agreement=agreement, period_start=period_first,
                                                     interim=False).exists():
            return None
        figures = settlement_figures(agreement=agreement, start=period_first, end=end)
        settlement = Settlement.objects.create(agreement=agreement, period_start=period_first, period_end=end,
                                               interim=interim, **figures)
        audit_record(
            actor=by, actor_label="settlement", action="settlement.close", target=settlement,
            summary=f"{'Interim payment' if interim else 'Settlement'} of {agreement.number} "
                    f"{period_first:%Y-%m}..{end:%Y-%m}: {settlement.amount} to pay",
            data={key: str(value) for key, value in figures.items()},
        )
        return settlement


def settlements_close_due(*, as_of: date) -> list[int]:
    """Close every settlement period that ended before `as_of`'s month and draft the interim payments due,
    with the figures `settlement_figures` gives closing them one at a time, oldest first; agreements past
    their term's end become expired. Returns the new settlements' ids (closings, then interim payments; by
    range of agreements when the book is closed in parts).

    Set-based: one statement drafts every closing with its audit row, one every interim payment (see
    rebates/sql/settlements.py). Safe to run again and at once: the agreements are locked in primary-key
    order before the closed periods are read, so a period closes once. A large book is closed in parts
    (`SETTLEMENT_CLOSE_PARTS`, each at least `SETTLEMENT_CLOSE_PART_MIN` agreements): consecutive ranges of
    agreement ids, each in its own transaction on its own connection, side by side, as the accrual run books
    its chunks; each part is whole on its own, and a part that fails leaves the others closed and itself
    to the next close. Inside a caller's transaction it is one part, which sees what the caller wrote.
    """
    as_of_month = month_of(as_of)
    now = clock.now()
    parts = _close_parts(as_of_month)
    if len(parts) == 1:
        return _close_part(as_of_month=as_of_month, now=now, after=None, through=None)
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        done = [pool.submit(_close_part_on_own_connection, as_of_month=as_of_month, now=now, after=after,
                            through=through) for after, through in parts]
        return [pk for part in done for pk in part.result()]


def _close_parts(as_of_month: date) -> list[tuple[int | None, int | None]]:
    """(after, through) agreement-id bounds of each part of the close: one unbounded part, or consecutive
    ranges of about equal size whose first has no lower bound and whose last no upper bound (an agreement
    made meanwhile falls in one of them)."""
    wanted = max(1, settings.SETTLEMENT_CLOSE_PARTS)
    if wanted == 1 or transaction.get_connection().in_atomic_block:
        return [(None, None)]
    ids = sql.agreements_due(statuses=ACCRUING_STATUSES, started_before=as_of_month)
    count = min(wanted, len(ids) // max(1, settings.SETTLEMENT_CLOSE_PART_MIN))
    if count <= 1:
        return [(None, None)]
    bounds = [ids[len(ids) * n // count - 1] for n in range(1, count)]
    return list(zip([None, *bounds], [*bounds, None], strict=True))


def _close_part(*, as_of_month: date, now, after: int | None, through: int | None) -> list[int]:
    with transaction.atomic():
        agreement_ids = sql.agreements_lock(statuses=ACCRUING_STATUSES, started_before=as_of_month, after=after,
                                            through=through)
        created = sql.closings_draft(agreement_ids=agreement_ids, as_of_month=as_of_month, now=now)
        # An interim payment is due when an interim period of the open settlement period has ended; a
        # period already closed (or ended) is paid by its closing instead.
        created += sql.interims_draft(agreement_ids=agreement_ids, as_of_month=as_of_month,
                                      last_complete=add_months(as_of_month, -1), now=now)
        sql.agreements_expire(agreement_ids=agreement_ids, as_of_month=as_of_month)
    return created


def _close_part_on_own_connection(**part) -> list[int]:
    """`_close_part` in a thread of its own, on the thread's own database connection, closed at the end."""
    try:
        return _close_part(**part)
    finally:
        connections.close_all()


def settlement_interim(*, agreement: RebateAgreement, through: date, by) -> Settlement:
    """An interim payment of the current settlement period up to `through`'s month."""
    if not agreement.start_month <= month_of(through) <= agreement.end_month:
        raise SettlementError(f"{through:%Y-%m} is outside the term of {agreement.number} "
                              f"({agreement.start_month:%Y-%m} to {agreement.end_month:%Y-%m}).")
    first = period_start(agreement.start_month, agreement.settlement_frequency, month_of(through))
    return settlement_close(agreement=agreement, period_first=first, by=by, interim_through=through)


def second_approval_threshold() -> Decimal:
    """Above this amount a settlement needs two approvals by two different people (the setting
    SETTLEMENT_SECOND_APPROVAL_ABOVE)."""
    return Decimal(str(settings.SETTLEMENT_SECOND_APPROVAL_ABOVE))


class _Threshold:
    """The second approval's threshold, stated in the reporting currency. A settlement in another currency is
    compared at the rate of the month its period ends (the month its amount was earned to); without that rate
    it needs two approvers, and the message names the missing rate: a rate is never guessed, and a control
    never loosened for lack of one. `settlements` must have their agreements' customers read."""

    def __init__(self, settlements):
        self.limit = second_approval_threshold()
        self.book = RateBook({settlement.agreement.currency for settlement in settlements})

    def _converted(self, settlement) -> Decimal | None:
        return self.book.convert(settlement.amount, settlement.agreement.currency, month_of(settlement.period_end))

    def above(self, settlement) -> bool:
        figure = self._converted(settlement)
        return figure is None or figure > self.limit

    def words(self, settlement) -> str:
        """"12000.00, above 10000.00" (the settlement's amount against the threshold), the converted amount
        beside it for a settlement in another currency, or the missing rate named."""
        currency, reporting = settlement.agreement.currency, self.book.currency
        if currency == reporting:
            return f"{settlement.amount}, above {self.limit}"
        month = month_of(settlement.period_end)
        figure = self._converted(settlement)
        if figure is None:
            return (f"{settlement.amount} {currency}; {missing_rate_reason(currency, reporting, month)} Without "
                    f"it, it is taken as above {self.limit} {reporting}")
        return f"{settlement.amount} {currency} ({figure} {reporting} at {month:%Y-%m}'s rate), above {self.limit}"


def settlement_approve(*, settlement: Settlement, by) -> Settlement:
    """Finance approves a settlement. A draft paying up to the threshold becomes approved; one paying more
    becomes *awaiting second approval*, and another person's approval then makes it approved. The first
    approver giving the second approval too is refused (SettlementConflict)."""
    _require(by, "rebates.approve_settlement")
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update(of=("self",)).select_related("agreement__customer").get(
            pk=settlement.pk)
        now = clock.now()
        threshold = _Threshold([settlement])
        if settlement.status == Settlement.Status.DRAFT:
            first_only = threshold.above(settlement)
            settlement.status = Settlement.Status.APPROVING if first_only else Settlement.Status.APPROVED
            settlement.approved_by = by
            settlement.approved_at = now
            settlement.save(update_fields=["status", "approved_by", "approved_at"])
            summary = (f"First approval of settlement {settlement.pk} of {settlement.agreement.number}: "
                       f"{threshold.words(settlement)}: a second person must approve it"
                       if first_only else
                       f"Approved settlement {settlement.pk} of {settlement.agreement.number}: {settlement.amount}")
            audit_record(actor=by, action="settlement.approve", target=settlement, summary=summary,
                         data={"approval": "first" if first_only else "only"})
            return settlement
        if settlement.status != Settlement.Status.APPROVING:
            raise SettlementConflict(
                f"Settlement {settlement.pk} is {settlement.get_status_display().lower()}; only a draft, or one "
                f"awaiting its second approval, can be approved."
            )
        if by is not None and settlement.approved_by_id == by.pk:
            raise SettlementConflict(
                f"Settlement {settlement.pk} pays {threshold.words(settlement)}: you gave "
                f"its first approval, so another person with the right to approve must give the second."
            )
        settlement.status = Settlement.Status.APPROVED
        settlement.second_approved_by = by
        settlement.second_approved_at = now
        settlement.save(update_fields=["status", "second_approved_by", "second_approved_at"])
        audit_record(actor=by, action="settlement.approve", target=settlement,
                     summary=f"Second approval of settlement {settlement.pk} of {settlement.agreement.number}: "
                             f"{settlement.amount}", data={"approval": "second"})
        return settlement


@dataclass(frozen=True)
class SettlementApprovals:
    """What approving many did: `approved`, the ids now approved (ready to pay); `awaiting_second`, the ids
    given their first approval now (above the threshold); `left`, the ids the same person approved once
    already (another person must give the second approval); `amount`, what the approvals given now pay."""

    approved: list[int]
    awaiting_second: list[int]
    left: list[int]
    amount: Decimal


def settlements_approve(*, settlement_ids, by) -> SettlementApprovals:
    """Finance approves many settlements at once (the selection of the settlements page or the API), by the
    rule of `settlement_approve`: each draft up to the threshold becomes approved, each draft above it awaits
    a second approval, each one awaiting a second approval that another person gave the first becomes
    approved; the ones `by` approved once already are left, as are those paid, approved or forfeited. One
    transaction; set-based (the rows locked in primary-key order, three updates and one statement of audit
    rows), so approving thousands takes seconds."""
    _require(by, "rebates.approve_settlement")
    now = clock.now()
    with transaction.atomic():
        rows = list(Settlement.objects.select_for_update(of=("self",)).select_related("agreement__customer")
                    .filter(pk__in=list(settlement_ids),
                            status__in=(Settlement.Status.DRAFT, Settlement.Status.APPROVING)).order_by("pk"))
        by_pk = getattr(by, "pk", None)
        drafts = [s for s in rows if s.status == Settlement.Status.DRAFT]
        threshold = _Threshold(drafts)
        only = [s for s in drafts if not threshold.above(s)]
        first = [s for s in drafts if threshold.above(s)]
        second = [s for s in rows if s.status == Settlement.Status.APPROVING and s.approved_by_id != by_pk]
        left = [s for s in rows if s.status == Settlement.Status.APPROVING and s.approved_by_id == by_pk]
        for group, status in ((only, Settlement.Status.APPROVED), (first, Settlement.Status.APPROVING)):
            if group:
                Settlement.objects.filter(pk__in=[s.pk for s in group]).update(status=status, approved_by=by,
                                                                               approved_at=now)
        if second:
            Settlement.objects.filter(pk__in=[s.pk for s in second]).update(
                status=Settlement.Status.APPROVED, second_approved_by=by, second_approved_at=now)
        audit_records(actor=by, action="settlement.approve", rows=[
            *((s, f"Approved settlement {s.pk} of {s.agreement.number}: {s.amount}",
               {"bulk": True, "approval": "only"}) for s in only),
            *((s, f"First approval of settlement {s.pk} of {s.agreement.number}: {threshold.words(s)}: "
                  f"a second person must approve it", {"bulk": True, "approval": "first"}) for s in first),
            *((s, f"Second approval of settlement {s.pk} of {s.agreement.number}: {s.amount}",
               {"bulk": True, "approval": "second"}) for s in second),
        ])
    return SettlementApprovals(
        approved=sorted(s.pk for s in (*only, *second)), awaiting_second=[s.pk for s in first],
        left=[s.pk for s in left], amount=sum((s.amount for s in (*only, *first, *second)), Decimal("0.00")))


def _payable_problem(settlement, by) -> str | None:
    """Why `by` may not pay this settlement now, or None."""
    if settlement.status == Settlement.Status.PAID:
        return f"Settlement {settlement.pk} is already paid ({settlement.payment_reference})."
    if settlement.status == Settlement.Status.APPROVING:
        return (f"Settlement {settlement.pk} pays {settlement.amount}: above the second approval's threshold "
                f"({second_approval_threshold()}), it needs a second approval by another person before it is paid.")
    if settlement.status != Settlement.Status.APPROVED:
        return f"Settlement {settlement.pk} is {settlement.status}; approve it before paying."
    if by is not None and by.pk in (settlement.approved_by_id, settlement.second_approved_by_id):
        # Four eyes: the person who approved a payment never releases it too.
        return (f"Settlement {settlement.pk} was approved by {by.get_username()}: another person with the right "
                f"to pay must pay it (four eyes).")
    return None


def settlement_pay(*, settlement: Settlement, by, paid_on: date, payment_reference: str = "",
                   member_references: dict[str, str] | None = None,
                   numbering: "CreditNoteNumbering | None" = None) -> Settlement:
    """Finance pays an approved settlement: a payout entry of its amount, booked once. The payer is never an
    approver (four eyes): SettlementConflict.

    The credit note number is `payment_reference`, or the first number of `numbering`. A settlement of a
    buying group's agreement split among its members (docs/buying-groups.md) pays each member its part, each
    with its own credit note: `member_references` (member code: number, one for each member the split pays)
    or `numbering` (the members by code get start, start + 1, ...). The ledger books one payout of the whole
    for the agreement; the parts are stored beside it and sum to it exactly.

    Paid twice at once, one payment books and the others get SettlementConflict.
    """
    _require(by, "rebates.pay_settlement")
    reference = (payment_reference or "").strip()
    if not reference and member_references is None and numbering is None:
        raise SettlementError("A payment reference (the credit note number) is required.")
    with transaction.atomic():
        settlement = (Settlement.objects.select_for_update(of=("self",)).select_related("agreement__customer")
                      .get(pk=settlement.pk))
        if problem := _payable_problem(settlement, by):
            raise SettlementConflict(problem)
        agreement = RebateAgreement.objects.select_for_update().get(pk=settlement.agreement_id)
        parts = settlement_split(settlement)
        if parts:
            references = _member_credit_notes(settlement, parts, reference, member_references, numbering)
            reference = references[parts[0].member]
        elif member_references is not None:
            raise SettlementError(f"Settlement {settlement.pk} pays {settlement.agreement.customer.code} as a whole: "
                                  f"give one credit note number, not one per member.")
        elif numbering is not None:
            reference = numbering.number(numbering.start)
        if settlement.amount > 0:
            LedgerEntry.objects.create(
                agreement=agreement, period=settlement.period_end, kind=LedgerEntry.Kind.PAYOUT,
                amount=-settlement.amount, settlement=settlement, booking_key=f"payout:s{settlement.pk}",
            )
        if parts:
            _parts_store({settlement.pk: parts}, {settlement.pk: references})
        settlement.status = Settlement.Status.PAID
        settlement.paid_by = by
        settlement.paid_on = paid_on
        settlement.payment_reference = reference[:80]
        settlement.save(update_fields=["status", "paid_by", "paid_on", "payment_reference"])
        if (not settlement.interim and settlement.period_end == agreement.end_month
                and agreement.status == RebateAgreement.Status.EXPIRED):
            agreement.status = RebateAgreement.Status.SETTLED
            agreement.save(update_fields=["status"])
        audit_record(actor=by, action="settlement.pay", target=settlement,
                     summary=f"Paid settlement {settlement.pk} of {agreement.number}: {settlement.amount} "
                             f"({reference})" + _parts_words(parts, references if parts else {}),
                     data=_parts_data(parts, references if parts else {}))
        return settlement


def _member_credit_notes(settlement, parts, reference, member_references, numbering) -> dict[str, str]:
    """The credit note number of each member's part (by member code): given one each, or numbered by the pattern
    in member code order. A single number for a split settlement is refused, naming the members."""
    codes = [part.member for part in parts]
    if member_references is not None:
        given = {str(code): (number or "").strip() for code, number in member_references.items()}
        unknown = sorted(set(given) - set(codes))
        missing = [code for code in codes if not given.get(code)]
        if unknown or missing:
            raise SettlementError(
                f"Settlement {settlement.pk} pays {len(codes)} member{'s' if len(codes) != 1 else ''}: "
                f"{', '.join(codes)}; give a credit note number for each"
                + (f" (missing: {', '.join(missing)})" if missing else "")
                + (f" and none for {', '.join(unknown)}, which it does not pay" if unknown else "") + ".")
        wanted = {code: given[code] for code in codes}
    elif numbering is not None:
        wanted = {code: numbering.number(numbering.start + index) for index, code in enumerate(codes)}
    else:
        raise SettlementError(
            f"Settlement {settlement.pk} is split among the members of {settlement.agreement.customer.code} "
            f"({', '.join(codes)}): give a credit note number for each member, or a numbering pattern "
            f"(not {reference!r} for all).")
    too_long = [number for number in wanted.values() if len(number) > 80]
    if too_long:
        raise SettlementError(f"Credit note {too_long[0]!r} is longer than 80 characters.")
    seen: dict[str, str] = {}
    for code, number in wanted.items():
        if number in seen:
            raise SettlementError(f"Credit note {number} is given to members {seen[number]} and {code}; each member "
                                  f"needs its own.")
        seen[number] = code
    taken = (SettlementPart.objects.filter(payment_reference__in=list(wanted.values()))
             .exclude(settlement=settlement).order_by("payment_reference")
             .values_list("payment_reference", "settlement_id").first())
    if taken:
        raise SettlementConflict(f"Credit note {taken[0]} is already a member's part of settlement {taken[1]}.")
    return wanted


def _parts_store(parts_of: dict[int, list], references_of: dict[int, dict[str, str]]) -> None:
    """Each member's part of the settlements paid, with its credit note: one insert."""
    SettlementPart.objects.bulk_create(
        SettlementPart(settlement_id=pk, member_id=part.member_id, volume=part.volume,
                       total_volume=part.total_volume, amount=part.amount,
                       payment_reference=references_of[pk][part.member])
        for pk, parts in parts_of.items() for part in parts)


def _parts_words(parts, references) -> str:
    if not parts:
        return ""
    return ", split: " + "; ".join(f"{part.member} {part.amount} ({references[part.member]})" for part in parts)


def _parts_data(parts, references) -> dict:
    if not parts:
        return {}
    return {"parts": [{"member": part.member, "amount": str(part.amount), "credit_note": references[part.member]}
                      for part in parts]}


# --- paying many -------------------------------------------------------------------------------------

# "CN-2026-{n:05d}": one {n} (the running number), zero-padded to a width when it says so; no other braces.
_PATTERN = re.compile(r"(?P<prefix>[^{}]*)\{n(?::(?P<pad>0?)(?P<width>[1-9][0-9]?)d)?\}(?P<suffix>[^{}]*)")
_PROBLEMS_NAMED = 20


@dataclass(frozen=True)
class CreditNoteNumbering:
    """A numbering pattern with one running number: `pattern` such as "CN-2026-{n:05d}", the first number."""

    pattern: str
    start: int = 1

    def __post_init__(self):
        if _PATTERN.fullmatch(self.pattern or "") is None:
            raise SettlementError(f"Pattern {self.pattern!r}: write the credit note number with one {{n}} where the "
                                  "running number goes, e.g. CN-2026-{n:05d} (five digits, zero-padded); no other "
                                  "braces.")
        if self.start < 0:
            raise SettlementError("The first number of the pattern cannot be negative.")

    def number(self, n: int) -> str:
        parts = _PATTERN.fullmatch(self.pattern)
        width = parts["width"]
        digits = format(n, f"{parts['pad'] or ''}{width}d") if width else str(n)
        return f"{parts['prefix']}{digits}{parts['suffix']}"


@dataclass(frozen=True)
class SettlementPayment:
    id: int
    agreement: str
    amount: Decimal
    payment_reference: str
    paid_on: date
    # A split group settlement's parts: (member code, amount, its credit note number).
    parts: tuple[tuple[str, Decimal, str], ...] = ()


def _credit_notes(ids, references, numbering) -> dict[int, str]:
    """The credit note number each settlement of the request gets: the ones given, or the pattern's numbers
    in ascending id order (so the same request gives the same numbers)."""
    if (references is None) == (numbering is None):
        raise SettlementError("Give either a credit note number per settlement or a numbering pattern.")
    if numbering is not None:
        return {}  # numbered once the settlements are read: a split settlement takes a number per member
    else:
        wanted = {int(pk): (reference or "").strip() for pk, reference in references.items()}
        blank = sorted(pk for pk, reference in wanted.items() if not reference)
        if blank:
            raise SettlementError(f"Settlement{'s' if len(blank) > 1 else ''} {_ids(blank)}: give the credit note "
                                  f"number.")
    too_long = sorted(pk for pk, reference in wanted.items() if len(reference) > 80)
    if too_long:
        raise SettlementError(f"Credit note {wanted[too_long[0]]!r} is longer than 80 characters.")
    seen = {}
    for pk, reference in sorted(wanted.items()):
        if reference in seen:
            raise SettlementError(f"Credit note {reference} is given to settlements {seen[reference]} and {pk}; each "
                                  f"settlement needs its own.")
        seen[reference] = pk
    return wanted


def _ids(ids) -> str:
    ids = list(ids)
    named = ", ".join(str(pk) for pk in ids[:_PROBLEMS_NAMED])
    return named + (f" and {len(ids) - _PROBLEMS_NAMED} more" if len(ids) > _PROBLEMS_NAMED else "")


class SettlementsNotPayable(SettlementConflict):
    """Some settlements of a payment of many cannot be paid; `problems` holds one sentence each. Nothing
    was paid."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        shown = "; ".join(message for _, message in problems[:_PROBLEMS_NAMED])
        more = f"; and {len(problems) - _PROBLEMS_NAMED} more" if len(problems) > _PROBLEMS_NAMED else ""
        super().__init__(f"Nothing was paid: {shown}{more}")


def settlements_pay(*, settlement_ids, by, paid_on: date, references: dict[int, str] | None = None,
                    numbering: CreditNoteNumbering | None = None) -> list[SettlementPayment]:
    """Finance pays many approved settlements at once, each with its own credit note number: the ones given in
    `references` (settlement id: number) or the numbers of `numbering` in ascending id order. One transaction:
    every settlement pays (a payout entry each, audited) or none does.

    Refused with SettlementsNotPayable, naming each, when one is not approved, awaits its second approval,
    was approved by `by` (four eyes), was paid with another credit note, or when a credit note number is
    already another settlement's. Sent twice, the second pays nothing: a settlement already paid with the
    number this request gives it counts as paid by it, so the answer is the same.
    """
    _require(by, "rebates.pay_settlement")
    ids = sorted({int(pk) for pk in (settlement_ids if references is None else references)})
    if not ids:
        raise SettlementError("Name the settlements to pay.")
    wanted = _credit_notes(ids, references, numbering)
    with transaction.atomic():
        rows = list(Settlement.objects.select_for_update(of=("self",)).select_related("agreement__customer")
                    .filter(pk__in=ids).order_by("pk"))
        missing = sorted(set(ids) - {s.pk for s in rows})
        if missing:
            raise SettlementError(f"No settlement {_ids(missing)} among those you may pay.")
        problems, to_pay = [], []
        # A split group settlement pays each member its part, with a credit note each (docs/buying-groups.md).
        parts_of = {s.pk: parts for s in rows if (parts := settlement_parts(s))}
        member_wanted: dict[int, dict[str, str]] = {}
        paid = {s.pk for s in rows if s.status == Settlement.Status.PAID}.__contains__
        if numbering is not None:
            wanted, member_wanted = _numbered(rows, parts_of, numbering)
        else:
            problems += [(pk, f"settlement {pk} is split among the members of its group: pay it by a numbering "
                              f"pattern, or on its own with a credit note number for each member")
                         for pk in sorted(parts_of) if not paid(pk)]
        for settlement in rows:
            if settlement.status == Settlement.Status.PAID and settlement.payment_reference == wanted[settlement.pk]:
                continue  # paid by this same request, sent before
            if settlement.status == Settlement.Status.PAID:
                problems.append((settlement.pk, f"settlement {settlement.pk} is already paid with credit note "
                                                f"{settlement.payment_reference}"))
            elif problem := _payable_problem(settlement, by):
                problems.append((settlement.pk, problem[0].lower() + problem[1:].rstrip(".")))
            else:
                to_pay.append(settlement)
        numbers = [wanted[s.pk] for s in to_pay] + [number for s in to_pay
                                                    for number in member_wanted.get(s.pk, {}).values()]
        taken = (Settlement.objects.filter(payment_reference__in=numbers)
                 .exclude(pk__in=ids).order_by("payment_reference").values_list("payment_reference", "pk"))
        problems += [(pk, f"credit note {reference} is already settlement {pk}'s") for reference, pk in taken]
        taken = (SettlementPart.objects.filter(payment_reference__in=numbers).exclude(settlement_id__in=ids)
                 .order_by("payment_reference").values_list("payment_reference", "settlement_id"))
        problems += [(pk, f"credit note {reference} is already a member's part of settlement {pk}")
                     for reference, pk in taken]
        if problems:
            raise SettlementsNotPayable(problems)
        if to_pay:
            _pay_many(to_pay, wanted=wanted, by=by, paid_on=paid_on,
                      parts_of={s.pk: parts_of[s.pk] for s in to_pay if s.pk in parts_of},
                      member_wanted=member_wanted)
    return [SettlementPayment(id=s.pk, agreement=s.agreement.number, amount=s.amount,
                              payment_reference=s.payment_reference or wanted[s.pk], paid_on=s.paid_on or paid_on,
                              parts=tuple((part.member, part.amount, part.payment_reference or
                                           member_wanted.get(s.pk, {}).get(part.member, ""))
                                          for part in parts_of.get(s.pk, ())))
            for s in rows]


def _numbered(rows, parts_of, numbering) -> tuple[dict[int, str], dict[int, dict[str, str]]]:
    """The pattern's numbers in ascending settlement id order: one for a settlement, one per member (by code)
    for a split one, whose first is the settlement's own number. The same request gives the same numbers."""
    wanted, member_wanted, n = {}, {}, numbering.start
    for settlement in rows:
        codes = [part.member for part in parts_of.get(settlement.pk, ())]
        wanted[settlement.pk] = numbering.number(n)
        if codes:
            member_wanted[settlement.pk] = {code: numbering.number(n + index) for index, code in enumerate(codes)}
        n += max(1, len(codes))
    if any(len(number) > 80 for number in wanted.values()):
        raise SettlementError("A credit note number of the pattern is longer than 80 characters.")
    return wanted, member_wanted


def _pay_many(settlements, *, wanted, by, paid_on, parts_of, member_wanted):
    agreement_ids = sorted({s.agreement_id for s in settlements})
    agreements = {a.pk: a for a in RebateAgreement.objects.select_for_update().filter(pk__in=agreement_ids)
                  .order_by("pk")}
    LedgerEntry.objects.bulk_create(
        LedgerEntry(agreement_id=s.agreement_id, period=s.period_end, kind=LedgerEntry.Kind.PAYOUT,
                    amount=-s.amount, settlement=s, booking_key=f"payout:s{s.pk}")
        for s in settlements if s.amount > 0)
    _parts_store(parts_of, member_wanted)
    for s in settlements:
        s.status, s.paid_by, s.paid_on, s.payment_reference = Settlement.Status.PAID, by, paid_on, wanted[s.pk]
    Settlement.objects.bulk_update(settlements, ["status", "paid_by", "paid_on", "payment_reference"])
    settled = [s.agreement_id for s in settlements
               if not s.interim and s.period_end == agreements[s.agreement_id].end_month
               and agreements[s.agreement_id].status == RebateAgreement.Status.EXPIRED]
    if settled:
        RebateAgreement.objects.filter(pk__in=settled).update(status=RebateAgreement.Status.SETTLED)
    audit_records(actor=by, action="settlement.pay", rows=(
        (s, f"Paid settlement {s.pk} of {s.agreement.number}: {s.amount} ({s.payment_reference})"
            + _parts_words(parts_of.get(s.pk), member_wanted.get(s.pk, {})),
         {"bulk": True, **_parts_data(parts_of.get(s.pk), member_wanted.get(s.pk, {}))})
        for s in settlements))


def agreement_terminate(*, agreement: RebateAgreement, terminated_on: date, reason: str = "", by=None,
                        as_of: date | None = None):
    """The customer leaves early: accrue up to the termination month, then forfeit the unpaid balance.

    Returns the forfeiture entry (None when nothing was unpaid). Open settlements are forfeited too.
    Terminating twice is refused (SettlementConflict): the balance is forfeited once. `by`, when given,
    needs the terminate_agreement permission (finance, pricing managers, administrators).
    """
    _require(by, "rebates.terminate_agreement")
    with transaction.atomic():
        return _terminate(agreement=agreement, terminated_on=terminated_on, reason=reason, by=by, as_of=as_of)


def customer_agreements_terminate(*, customer, lost_on: date, by=None) -> list[RebateAgreement]:
    """A customer marked lost: terminate its active agreements as of `lost_on`, forfeiting their unpaid
    balances, in the caller's transaction (the one that marks the customer lost).

    An agreement whose term ended before the loss is left to expire and settle (that rebate was earned);
    one that starts after it is terminated at its start (nothing was earned). Whoever may mark a customer
    lost (the ERP) terminates its agreements this way, without the terminate_agreement permission.
    """
    if lost_on is None:
        raise ValidationError({"lost_on": "Say when the customer was lost (lost_on): its agreements end then."})
    lost_month = month_of(lost_on)
    terminated = []
    with transaction.atomic():
        due = (RebateAgreement.objects.filter(customer=customer, status=RebateAgreement.Status.ACTIVE,
                                              end_month__gte=lost_month).order_by("pk"))
        for agreement in due:
            on = max(lost_on, agreement.start_month)
            try:
                _terminate(agreement=agreement, terminated_on=on,
                           reason=f"Customer {customer.code} lost on {lost_on}", by=by, as_of=None)
            except SettlementError as error:
                raise ValidationError({"status": str(error)}) from error
            terminated.append(agreement)
    return terminated


def _terminate(*, agreement, terminated_on, reason, by, as_of):
    agreement = RebateAgreement.objects.select_for_update().get(pk=agreement.pk)
    if agreement.status == RebateAgreement.Status.TERMINATED:
        raise SettlementConflict(f"Agreement {agreement.number} was already terminated on "
                                 f"{agreement.terminated_on}; its unpaid rebate was forfeited then.")
    if agreement.status not in ACCRUING_STATUSES:
        raise SettlementConflict(f"Agreement {agreement.number} is {agreement.status}; only an active or expired "
                                 f"agreement can be terminated.")
    if not agreement.start_month <= month_of(terminated_on) <= agreement.end_month:
        raise SettlementError(f"Termination date {terminated_on} is outside the term of {agreement.number} "
                              f"({agreement.start_month:%Y-%m} to {agreement.end_month:%Y-%m}).")
    reason = (reason or "").strip()[:200]
    agreement.status = RebateAgreement.Status.TERMINATED
    agreement.terminated_on = terminated_on
    agreement.termination_reason = reason
    agreement.save(update_fields=["status", "terminated_on", "termination_reason", "terms_changed_at"])
    # Months booked after the termination month are taken back by the same difference booking.
    agreement_accrue(agreement=agreement, as_of=max(terminated_on, as_of or terminated_on,
                                                     _last_booked_month(agreement)))
    unpaid = _sum(LedgerEntry.objects.filter(agreement=agreement))
    forfeiture = None
    if unpaid > 0:
        forfeiture = LedgerEntry.objects.create(
            agreement=agreement, period=month_of(terminated_on), kind=LedgerEntry.Kind.FORFEITURE,
            amount=-unpaid, booking_key=f"forfeiture:a{agreement.pk}",
        )
    Settlement.objects.filter(agreement=agreement).filter(
        Q(status__in=(Settlement.Status.DRAFT, Settlement.Status.APPROVING, Settlement.Status.APPROVED))
    ).update(status=Settlement.Status.FORFEITED)
    forfeited = max(unpaid, ZERO_MONEY)
    audit_record(actor=by, actor_label="" if by else "system", action="agreement.terminate", target=agreement,
                 summary=f"Terminated {agreement.number} on {terminated_on}: {forfeited} forfeited"
                         + (f" ({reason})" if reason else ""),
                 data={"forfeited": str(forfeited), "terminated_on": str(terminated_on), "reason": reason})
    return forfeiture


def _last_booked_month(agreement) -> date:
    last = LedgerEntry.objects.filter(agreement=agreement).order_by("-concerns").values_list("concerns",
                                                                                            flat=True).first()
    return last or agreement.start_month
