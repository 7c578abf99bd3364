"""Settlements, payouts and forfeiture: the writes that take money out of an agreement's balance.

Every settlement pays what has been earned to date minus what has already been paid: a closing pays
its period plus whatever earlier months gained after they were paid (adjustments); an interim payment
within a period pays the period so far. A payout entry is booked when finance pays; terminating an
agreement early forfeits the unpaid balance.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum

from config import clock
from customers.services import audit_record, audit_records
from rebates.engine.money import ZERO_MONEY
from rebates.engine.periods import SettlementFrequency, add_months, month_of, period_start
from rebates.models import EARNED_KINDS, LedgerEntry, RebateAgreement, Settlement
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
    their term's end become expired. Returns the new settlements' ids (closings, then interim payments).

    Set-based: one statement drafts every closing with its audit row, one every interim payment (see
    rebates/sql/settlements.py). Safe to run again and at once: the agreements are locked in primary-key
    order before the closed periods are read, so a period closes once.
    """
    as_of_month = month_of(as_of)
    now = clock.now()
    with transaction.atomic():
        agreement_ids = sql.agreements_lock(statuses=ACCRUING_STATUSES, started_before=as_of_month)
        created = sql.closings_draft(agreement_ids=agreement_ids, as_of_month=as_of_month, now=now)
        # An interim payment is due when an interim period of the open settlement period has ended; a
        # period already closed (or ended) is paid by its closing instead.
        created += sql.interims_draft(agreement_ids=agreement_ids, as_of_month=as_of_month,
                                      last_complete=add_months(as_of_month, -1), now=now)
        sql.agreements_expire(agreement_ids=agreement_ids, as_of_month=as_of_month)
    return created


def settlement_interim(*, agreement: RebateAgreement, through: date, by) -> Settlement:
    """An interim payment of the current settlement period up to `through`'s month."""
    if not agreement.start_month <= month_of(through) <= agreement.end_month:
        raise SettlementError(f"{through:%Y-%m} is outside the term of {agreement.number} "
                              f"({agreement.start_month:%Y-%m} to {agreement.end_month:%Y-%m}).")
    first = period_start(agreement.start_month, agreement.settlement_frequency, month_of(through))
    return settlement_close(agreement=agreement, period_first=first, by=by, interim_through=through)


def settlement_approve(*, settlement: Settlement, by) -> Settlement:
    """Finance approves a draft settlement."""
    _require(by, "rebates.approve_settlement")
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
        if settlement.status != Settlement.Status.DRAFT:
            raise SettlementConflict(
                f"Settlement {settlement.pk} is {settlement.status}; only a draft can be approved."
            )
        settlement.status = Settlement.Status.APPROVED
        settlement.approved_by = by
        settlement.approved_at = clock.now()
        settlement.save(update_fields=["status", "approved_by", "approved_at"])
        audit_record(actor=by, action="settlement.approve", target=settlement,
                     summary=f"Approved settlement {settlement.pk} of {settlement.agreement.number}: "
                             f"{settlement.amount}")
        return settlement


def settlements_approve(*, settlement_ids, by) -> tuple[list[int], int]:
    """Finance approves many draft settlements at once (the selection of the settlements page or the API):
    each draft among `settlement_ids` becomes approved by `by`, with its audit row, in one transaction; the
    others (already approved, paid, forfeited) are left as they are. Returns the ids approved and how much
    they pay in all (Decimal). Set-based: the drafts are locked in primary-key order, updated in one
    statement and audited in one, so approving thousands takes seconds."""
    _require(by, "rebates.approve_settlement")
    now = clock.now()
    with transaction.atomic():
        drafts = list(Settlement.objects.select_for_update(of=("self",)).select_related("agreement")
                      .filter(pk__in=list(settlement_ids), status=Settlement.Status.DRAFT).order_by("pk"))
        Settlement.objects.filter(pk__in=[s.pk for s in drafts]).update(
            status=Settlement.Status.APPROVED, approved_by=by, approved_at=now)
        audit_records(actor=by, action="settlement.approve", rows=(
            (s, f"Approved settlement {s.pk} of {s.agreement.number}: {s.amount}", {"bulk": True}) for s in drafts))
    return [s.pk for s in drafts], sum((s.amount for s in drafts), Decimal("0.00"))


def settlement_pay(*, settlement: Settlement, by, paid_on: date, payment_reference: str) -> Settlement:
    """Finance pays an approved settlement: a payout entry of its amount, booked once. The payer is never the
    approver (four eyes): SettlementConflict.

    Paid twice at once, one payment books and the others get SettlementConflict.
    """
    _require(by, "rebates.pay_settlement")
    reference = (payment_reference or "").strip()
    if not reference:
        raise SettlementError("A payment reference (the credit note number) is required.")
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update().select_related("agreement").get(pk=settlement.pk)
        if settlement.status == Settlement.Status.PAID:
            raise SettlementConflict(f"Settlement {settlement.pk} is already paid ({settlement.payment_reference}).")
        if settlement.status != Settlement.Status.APPROVED:
            raise SettlementConflict(f"Settlement {settlement.pk} is {settlement.status}; approve it before paying.")
        if by is not None and settlement.approved_by_id == by.pk:
            # Four eyes: the person who approved a payment never releases it too.
            raise SettlementConflict(f"Settlement {settlement.pk} was approved by {by.get_username()}: another "
                                     "person with the right to pay must pay it (four eyes).")
        agreement = RebateAgreement.objects.select_for_update().get(pk=settlement.agreement_id)
        if settlement.amount > 0:
            LedgerEntry.objects.create(
                agreement=agreement, period=settlement.period_end, kind=LedgerEntry.Kind.PAYOUT,
                amount=-settlement.amount, settlement=settlement, booking_key=f"payout:s{settlement.pk}",
            )
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
                             f"({reference})")
        return settlement


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
        Q(status=Settlement.Status.DRAFT) | Q(status=Settlement.Status.APPROVED)
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
