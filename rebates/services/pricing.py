"""Contract price changes: a new net unit price for one product of an agreement from a month on, or a new
discount off list price for a line of its scope, kept in the agreement's price history (rebates.prices)."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from config import clock
from customers.services import audit_record
from rebates.engine.money import DecimalInputError, parse_decimal, parse_price
from rebates.models import ContractPrice, LineDiscount, Product, RebateAgreement
from rebates.prices import product_prices
from rebates.scope import AgreementScope, covers

UNIT_PRICE_PLACES = 4
UNIT_PRICE_DIGITS = 14


def _check_step(effective_month, reason, errors):
    if not isinstance(effective_month, date) or isinstance(effective_month, datetime):
        errors["effective_month"] = "Give the first month the new price applies to."
    elif effective_month.day != 1:
        errors["effective_month"] = f"A price changes from the first of a month, not {effective_month.isoformat()}."
    if not (reason or "").strip():
        errors["reason"] = "Say why the price changes."
    elif len(reason) > ContractPrice._meta.get_field("reason").max_length:
        errors["reason"] = "The reason is too long (200 characters at most)."


def _locked_in_term(agreement, effective_month):
    agreement = RebateAgreement.objects.select_for_update().get(pk=agreement.pk)
    if not agreement.start_month <= effective_month <= agreement.end_month:
        raise ValidationError({"effective_month": (
            f"{effective_month:%Y-%m} is outside {agreement.number}'s term "
            f"({agreement.start_month:%Y-%m} to {agreement.end_month:%Y-%m}).")})
    return agreement


def _author(user):
    return user if getattr(user, "is_authenticated", False) else None


def contract_price_change(*, user, agreement: RebateAgreement, product: Product, net_unit_price: Decimal,
                          effective_month: date, reason: str) -> ContractPrice:
    """Record `net_unit_price` as the agreement's contract net price of `product` (in its scope, named or
    through its line) from `effective_month` (a first of the month within the term). Other products and
    months before it keep the price they had; the agreement is marked changed so the next accrual run looks
    at it again. Raises ValidationError naming the field that is wrong."""
    if user is not None and not user.has_perm("rebates.add_contractprice"):
        raise PermissionDenied("You may not change contract prices: it needs the add_contractprice permission.")
    errors = {}
    try:
        net_unit_price = parse_price(net_unit_price, places=UNIT_PRICE_PLACES, digits=UNIT_PRICE_DIGITS)
    except DecimalInputError as error:
        errors["net_unit_price"] = str(error)
    _check_step(effective_month, reason, errors)
    if not isinstance(product, Product):
        errors["product"] = "Name the product whose price changes."
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        agreement = _locked_in_term(agreement, effective_month)
        scope = AgreementScope.of(agreement)
        if not covers(scope, product.pk, product.product_line_id, effective_month):
            raise ValidationError({"product": f"{product.sku} is not in {agreement.number}'s scope."})
        if ContractPrice.objects.filter(agreement=agreement, product=product, effective_from=effective_month).exists():
            raise ValidationError({"effective_month": (
                f"{agreement.number} already has a price change of {product.sku} from {effective_month:%Y-%m}; "
                "pick another month.")})
        before = price_in_force_of(agreement=agreement, product=product, on=effective_month)
        price = ContractPrice.objects.create(
            agreement=agreement, product=product, effective_from=effective_month, net_price=net_unit_price,
            reason=reason.strip(), created_by=_author(user),
        )
        RebateAgreement.objects.filter(pk=agreement.pk).update(terms_changed_at=clock.now())
        audit_record(
            actor=user, action="contract_price.change", target=agreement,
            summary=f"{agreement.number} net price of {product.sku} {before or '-'} -> {net_unit_price} from "
                    f"{effective_month:%Y-%m}: {reason.strip()}",
            data={"contract_price": price.pk, "product": product.sku, "net_price": str(net_unit_price),
                  "previous": str(before or ""), "effective_from": effective_month.isoformat(),
                  "reason": reason.strip()},
        )
    return price


def line_discount_change(*, user, agreement: RebateAgreement, product_line, discount_percent: Decimal,
                         effective_month: date, reason: str) -> LineDiscount:
    """Record `discount_percent` (0 to under 100) off list price for the products of `product_line` (a line
    of the agreement's scope) that have no stated price of their own, from `effective_month` (a first of the
    month within the term). Raises ValidationError naming the field that is wrong."""
    if user is not None and not user.has_perm("rebates.add_contractprice"):
        raise PermissionDenied("You may not change contract prices: it needs the add_contractprice permission.")
    errors = {}
    try:
        discount_percent = parse_decimal(discount_percent, places=3, digits=6)
        if not 0 <= discount_percent < 100:
            errors["discount_percent"] = "A discount is from 0 to less than 100 %."
    except DecimalInputError as error:
        errors["discount_percent"] = str(error)
    _check_step(effective_month, reason, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        agreement = _locked_in_term(agreement, effective_month)
        if not agreement.product_lines.filter(pk=product_line.pk).exists():
            raise ValidationError({"product_line": f"{product_line.code} is not a line of {agreement.number}'s scope."})
        discount, created = LineDiscount.objects.get_or_create(
            agreement=agreement, product_line=product_line, effective_from=effective_month,
            defaults={"discount_percent": discount_percent, "reason": reason.strip(), "created_by": _author(user)})
        if not created:
            raise ValidationError({"effective_month": (
                f"{agreement.number} already has a discount on {product_line.code} from {effective_month:%Y-%m}; "
                "pick another month.")})
        RebateAgreement.objects.filter(pk=agreement.pk).update(terms_changed_at=clock.now())
        audit_record(
            actor=user, action="line_discount.change", target=agreement,
            summary=f"{agreement.number} discount on {product_line.code} {discount_percent}% from "
                    f"{effective_month:%Y-%m}: {reason.strip()}",
            data={"line_discount": discount.pk, "product_line": product_line.code,
                  "discount_percent": str(discount_percent), "effective_from": effective_month.isoformat(),
                  "reason": reason.strip()},
        )
    return discount


def price_in_force_of(*, agreement: RebateAgreement, product: Product, on: date) -> Decimal | None:
    """The product's contract price in the agreement on `on` (rebates.prices), None when it has none."""
    return product_prices([(agreement.pk, product.pk)], on=on).get((agreement.pk, product.pk))
