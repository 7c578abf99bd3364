"""Contract price changes: a new net unit price for an agreement from a month on, kept in its price history."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from config import clock
from customers.services import audit_record
from rebates.engine.money import DecimalInputError, parse_price
from rebates.models import ContractPrice, RebateAgreement

UNIT_PRICE_PLACES = 4
UNIT_PRICE_DIGITS = 14


def contract_price_change(*, user, agreement: RebateAgreement, net_unit_price: Decimal, effective_month: date,
                          reason: str) -> ContractPrice:
    """Record `net_unit_price` as the agreement's contract net price from `effective_month` (a first of
    the month within the term). Months before it keep the price they had; the agreement is marked changed
    so the next accrual run looks at it again. Raises ValidationError naming the field that is wrong."""
    if user is not None and not user.has_perm("rebates.add_contractprice"):
        raise PermissionDenied("You may not change contract prices: it needs the add_contractprice permission.")
    errors = {}
    try:
        net_unit_price = parse_price(net_unit_price, places=UNIT_PRICE_PLACES, digits=UNIT_PRICE_DIGITS)
    except DecimalInputError as error:
        errors["net_unit_price"] = str(error)
    if not isinstance(effective_month, date) or isinstance(effective_month, datetime):
        errors["effective_month"] = "Give the first month the new price applies to."
    elif effective_month.day != 1:
        errors["effective_month"] = f"A price changes from the first of a month, not {effective_month.isoformat()}."
    if not (reason or "").strip():
        errors["reason"] = "Say why the price changes."
    elif len(reason) > ContractPrice._meta.get_field("reason").max_length:
        errors["reason"] = "The reason is too long (200 characters at most)."
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        agreement = RebateAgreement.objects.select_for_update().get(pk=agreement.pk)
        if not agreement.start_month <= effective_month <= agreement.end_month:
            raise ValidationError({"effective_month": (
                f"{effective_month:%Y-%m} is outside {agreement.number}'s term "
                f"({agreement.start_month:%Y-%m} to {agreement.end_month:%Y-%m}).")})
        if ContractPrice.objects.filter(agreement=agreement, effective_from=effective_month).exists():
            raise ValidationError({"effective_month": (
                f"{agreement.number} already has a price change from {effective_month:%Y-%m}; "
                "pick another month.")})
        before = (
            ContractPrice.objects.filter(agreement=agreement, effective_from__lt=effective_month)
            .order_by("-effective_from").values_list("net_price", flat=True).first()
        )
        price = ContractPrice.objects.create(
            agreement=agreement, effective_from=effective_month, net_price=net_unit_price,
            reason=reason.strip(), created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        RebateAgreement.objects.filter(pk=agreement.pk).update(terms_changed_at=clock.now())
        audit_record(
            actor=user, action="contract_price.change", target=agreement,
            summary=f"{agreement.number} net price {before or '-'} -> {net_unit_price} from "
                    f"{effective_month:%Y-%m}: {reason.strip()}",
            data={"contract_price": price.pk, "net_price": str(net_unit_price), "previous": str(before or ""),
                  "effective_from": effective_month.isoformat(), "reason": reason.strip()},
        )
    return price
