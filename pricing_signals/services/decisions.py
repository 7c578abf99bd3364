"""What a pricing manager does with a market signal, each in one transaction with its audit row: decide
(`market_signal_decide`: match, writing the matched contract prices through the pricing service, or hold),
acknowledge and close."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from config import clock
from customers.services import audit_record
from pricing_signals.models import MarketSignal, SignalDecision, SignalPriceMatch
from pricing_signals.selectors import match_request_checked
from pricing_signals.services.sweep import detection_lock
from rebates.services.pricing import contract_price_change

DECIDE = "pricing_signals.decide_marketsignal"


class MarketSignalConflict(Exception):
    """The signal is not in a state that allows this (already matched, closed, ...): answer 409."""


def market_signal_decide(*, user, signal: MarketSignal, decision: str, reason: str = "",
                         match_price: Decimal | None = None, effective_from: date | None = None,
                         agreements=()) -> MarketSignal:
    """A pricing manager's decision on a signal, kept in its history (SignalDecision).

    match: `match_price` becomes the contract net price of the signal's product, and of no other product,
    from `effective_from` (a first of the month within each term) in each of `agreements` (rows or numbers;
    active, covering the signal's product: selectors.match_request_checked), each change written in the
    agreement's price history with "matched market signal #N" as its reason; earlier months keep their price.
    Preview it first with selectors.market_signal_match_preview. hold: keep prices, saying why in `reason`.
    A later decision supersedes the one in force (which stays in the history, as do the price changes a
    match wrote: a later match writes its own); a closed or merged signal is not decided (MarketSignalConflict)."""
    require_decider(user)
    if decision not in MarketSignal.Decision.values:
        raise ValidationError({"decision": f"Decision must be one of: {', '.join(MarketSignal.Decision.values)}."})
    reason = (reason or "").strip()
    chosen = []
    if decision == MarketSignal.Decision.HOLD and not reason:
        raise ValidationError({"reason": "Say why prices are held."})
    if decision == MarketSignal.Decision.MATCH:
        match_price, effective_from, chosen = match_request_checked(
            user=user, signal=signal, match_price=match_price, effective_from=effective_from, agreements=agreements)

    with transaction.atomic():
        detection_lock(signal.product_id)
        signal = MarketSignal.objects.select_for_update().select_related("product").get(pk=signal.pk)
        if signal.status == MarketSignal.Status.CLOSED:
            raise MarketSignalConflict(f"Signal #{signal.pk} is already closed.")
        if signal.merged_into_id:
            raise MarketSignalConflict(f"Signal #{signal.pk} was merged into signal #{signal.merged_into_id}; "
                                       "decide on that one.")
        now = clock.now()
        previous = SignalDecision.objects.filter(signal=signal, superseded_at__isnull=True).first()
        if previous is not None:
            # Set aside first: the database keeps one decision in force per signal.
            SignalDecision.objects.filter(pk=previous.pk).update(superseded_at=now)
        record = SignalDecision(signal=signal, decision=decision, reason=reason, decided_by=user, decided_at=now)
        signal.decision, signal.decided_by, signal.decided_at = decision, user, now
        signal.decision_reason = reason
        data = {"decision": decision, "reason": reason,
                "supersedes": previous.pk if previous is not None else None}
        if decision == MarketSignal.Decision.MATCH:
            record.match_price, record.match_effective_from = match_price, effective_from
            record.save()
            for agreement in chosen:  # in primary-key order, as the rows are locked
                try:
                    price = contract_price_change(
                        user=user, agreement=agreement, product=signal.product, net_unit_price=match_price,
                        effective_month=effective_from, reason=f"matched market signal #{signal.pk}",
                    )
                except ValidationError as error:
                    raise ValidationError({"agreements": f"{agreement.number}: {' '.join(error.messages)}"}) from error
                SignalPriceMatch.objects.create(signal=signal, contract_price=price, decision=record)
            record.agreements.set(chosen)
            signal.matched_agreements.set(chosen)
            signal.match_price, signal.match_effective_from = match_price, effective_from
            signal.status = MarketSignal.Status.MATCHED
            data.update(match_price=str(match_price), effective_from=effective_from.isoformat(),
                        product=signal.product.sku, agreements=[agreement.number for agreement in chosen])
            summary = (f"Signal #{signal.pk} matched: {signal.product.sku} at {match_price} from "
                       f"{effective_from:%Y-%m} for {', '.join(agreement.number for agreement in chosen)}")
        else:
            record.save()
            signal.matched_agreements.clear()
            signal.match_price = signal.match_effective_from = None
            signal.status = MarketSignal.Status.HELD
            summary = f"Signal #{signal.pk} held: {reason}"
        if previous is not None:
            SignalDecision.objects.filter(pk=previous.pk).update(superseded_by=record)
            summary += f" (supersedes the {previous.get_decision_display().lower()} of {previous.decided_at:%Y-%m-%d})"
        signal.save()
        audit_record(actor=user, action=f"market_signal.{decision}", target=signal, summary=summary, data=data)
    return signal


def market_signal_acknowledge(*, user, signal: MarketSignal) -> MarketSignal:
    """Seen and being looked at: an open signal becomes acknowledged (again on an acknowledged one: nothing)."""
    return _move(user, signal, to=MarketSignal.Status.ACKNOWLEDGED, allowed_from=(MarketSignal.Status.OPEN,),
                 action="acknowledge")


def market_signal_close(*, user, signal: MarketSignal) -> MarketSignal:
    """Nothing more to do on this signal (again on a closed one: nothing)."""
    return _move(user, signal, to=MarketSignal.Status.CLOSED,
                 allowed_from=tuple(s for s in MarketSignal.Status.values if s != MarketSignal.Status.CLOSED),
                 action="close")


def _move(user, signal, *, to, allowed_from, action):
    require_decider(user)
    with transaction.atomic():
        detection_lock(signal.product_id)
        signal = MarketSignal.objects.select_for_update().get(pk=signal.pk)
        if signal.status == to:
            return signal
        if signal.status not in allowed_from:
            raise MarketSignalConflict(
                f"Signal #{signal.pk} is {signal.get_status_display().lower()}; it cannot be {to} now.")
        before = signal.status
        signal.status = to
        signal.save(update_fields=["status", "updated_at"])
        audit_record(actor=user, action=f"market_signal.{action}", target=signal,
                     summary=f"Signal #{signal.pk} {to} (was {before})", data={"from": before, "to": to})
    return signal


def require_decider(user):
    if user is None or not user.has_perm(DECIDE):
        raise PermissionDenied("Only a pricing manager may decide on market signals.")
