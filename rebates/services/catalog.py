"""Products, programs and agreements as the ERP sends them: created and changed here, each with its audit row.

Creating or changing an agreement's term, scope or rule marks it changed (`terms_changed_at`), so the next
incremental accrual run recomputes it. The engine checks the terms (tier bands, baselines, ...) before
anything is kept: terms the engine cannot compute are refused with a ValidationError naming the field.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from config import clock
from customers.services import audit_record
from rebates.models import (
    BonusCondition,
    ContractPrice,
    Product,
    RebateAgreement,
    RebateProgram,
    RebateRule,
    TierBand,
)
from rebates.services.terms import agreement_terms, agreements_with_terms

AGREEMENT_FIELDS = ("customer", "program", "start_month", "end_month", "committed_monthly_quantity",
                    "settlement_frequency", "interim_frequency", "status")
RULE_FIELDS = ("kind", "rate_type", "rate", "tier_basis", "tier_method", "baseline", "baseline_amount", "minimum",
               "cap", "commitment_rule")
# What the ERP may set an agreement's status to; terminating forfeits the unpaid balance and goes through
# agreement_terminate, settling through the settlements.
STATUSES_SENT = (RebateAgreement.Status.DRAFT, RebateAgreement.Status.ACTIVE)

# Prices the ERP itself set: the only ones a later ERP price in the same month replaces.
ERP_PRICE_REASONS = ("Agreement created", "Sent by the ERP")


def _save(obj, *, exclude=(), prefix=""):
    """Validate and save; `prefix` places the fields' errors where the request sent them ("rule.")."""
    try:
        obj.full_clean(exclude=list(exclude))
    except ValidationError as error:
        if not prefix or not hasattr(error, "error_dict"):
            raise
        raise ValidationError({f"{prefix}{field}": problems for field, problems in error.error_dict.items()}) from error
    obj.save()


def _changes(obj, fields: dict) -> dict:
    """The fields whose value differs, as {name: [old, new]} strings for the audit row."""
    changed = {}
    for name, value in fields.items():
        old = getattr(obj, name)
        if old != value:
            changed[name] = [str(old), str(value)]
            setattr(obj, name, value)
    return changed


def product_create(*, by, sku: str, name: str, product_line, list_price: Decimal, launched_on: date | None = None,
                   discontinued_on: date | None = None) -> Product:
    with transaction.atomic():
        product = Product(sku=sku, name=name, product_line=product_line, list_price=list_price,
                          launched_on=launched_on, discontinued_on=discontinued_on)
        _save(product)
        audit_record(actor=by, action="product.create", target=product, summary=f"Product {sku} created")
        return product


def product_update(*, by, product: Product, **fields) -> Product:
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        changed = _changes(product, fields)
        if changed:
            _save(product)
            audit_record(actor=by, action="product.update", target=product,
                         summary=f"Product {product.sku} changed: {', '.join(changed)}", data=changed)
        return product


def program_create(*, by, code: str, name: str, description: str = "") -> RebateProgram:
    with transaction.atomic():
        program = RebateProgram(code=code, name=name, description=description)
        _save(program)
        audit_record(actor=by, action="program.create", target=program, summary=f"Program {code} created")
        return program


def program_update(*, by, program: RebateProgram, **fields) -> RebateProgram:
    with transaction.atomic():
        program = RebateProgram.objects.select_for_update().get(pk=program.pk)
        changed = _changes(program, fields)
        if changed:
            _save(program)
            audit_record(actor=by, action="program.update", target=program,
                         summary=f"Program {program.code} changed: {', '.join(changed)}", data=changed)
        return program


def agreement_create(*, by, number: str, rule: dict, net_price: Decimal | None = None, products=(),
                     product_lines=(), **fields) -> RebateAgreement:
    """A new agreement with its scope, rule (bands, bonuses) and first contract price (from its start).

    `fields` are AGREEMENT_FIELDS; `rule` holds RULE_FIELDS plus `bands` [{threshold, rate}] and `bonuses`
    [{product, minimum_quantity, extra_percent}].
    """
    _check_status(fields.get("status"), None)
    with transaction.atomic():
        agreement = RebateAgreement(number=number, **fields)
        _save(agreement)
        agreement.products.set(products)
        agreement.product_lines.set(product_lines)
        _rule_write(agreement, rule)
        if net_price is not None:
            price = ContractPrice(agreement=agreement, effective_from=agreement.start_month, net_price=net_price,
                                  reason=ERP_PRICE_REASONS[0], created_by=_user(by))
            _save(price, exclude=["agreement"])
        _check_terms(agreement)
        audit_record(actor=by, action="agreement.create", target=agreement,
                     summary=f"Agreement {number} created for {agreement.customer.code}")
        return agreement


def agreement_update(*, by, agreement: RebateAgreement, rule: dict | None = None, net_price: Decimal | None = None,
                     products=None, product_lines=None, **fields) -> RebateAgreement:
    """Change an agreement's terms; anything that changes marks it for the next incremental run.

    A new `net_price` becomes a contract price step from today's month (reason "Sent by the ERP").
    """
    with transaction.atomic():
        agreement = RebateAgreement.objects.select_for_update().get(pk=agreement.pk)
        _check_status(fields.get("status"), agreement.status)
        changed = _changes(agreement, fields)
        if products is not None and set(agreement.products.all()) != set(products):
            agreement.products.set(products)
            changed["products"] = sorted(p.sku for p in products)
        if product_lines is not None and set(agreement.product_lines.all()) != set(product_lines):
            agreement.product_lines.set(product_lines)
            changed["product_lines"] = sorted(line.code for line in product_lines)
        if rule is not None and _rule_write(agreement, rule):
            changed["rule"] = True
        if net_price is not None:
            month = clock.today().replace(day=1)
            current = agreement.prices.order_by("-effective_from").first()
            if current is None or current.net_price != net_price:
                effective_from = max(month, agreement.start_month)
                same_month = agreement.prices.filter(effective_from=effective_from).first()
                if same_month is not None and same_month.reason not in ERP_PRICE_REASONS:
                    # A price set this month for another reason (a matched market signal, say) is evidence:
                    # the ERP does not overwrite it.
                    raise ValidationError({"net_price": (
                        f"The net price from {effective_from:%Y-%m} was set as '{same_month.reason}'; "
                        f"it is not replaced by the ERP. Send the new price from next month on.")})
                ContractPrice.objects.update_or_create(
                    agreement=agreement, effective_from=effective_from,
                    defaults={"net_price": net_price, "reason": ERP_PRICE_REASONS[1], "created_by": _user(by)})
                changed["net_price"] = str(net_price)
        if changed:
            _save(agreement)  # auto_now: terms_changed_at moves with every save
            _check_terms(agreement)
            audit_record(actor=by, action="agreement.update", target=agreement,
                         summary=f"Agreement {agreement.number} changed: {', '.join(changed)}",
                         data={key: value if isinstance(value, list | str) else str(value)
                               for key, value in changed.items()})
        return agreement


def _user(by):
    return by if getattr(by, "is_authenticated", False) else None


def _check_status(wanted, current):
    if wanted is None or wanted == current:
        return
    if wanted not in STATUSES_SENT or (current is not None and current not in STATUSES_SENT):
        raise ValidationError({"status": f"An agreement cannot be set from {current or 'new'} to {wanted} here: "
                                         f"terminate or settle it through its settlements."})


def _check_bands_and_bonuses(wanted: dict) -> None:
    """Refuse, naming each field, what the database would refuse: two bands at one threshold, a bonus with
    nothing to reach or nothing to give, and the same bonus twice."""
    problems = {}
    thresholds = {}
    for index, band in enumerate(wanted.get("bands", [])):
        threshold = Decimal(band["threshold"])
        if threshold in thresholds:
            problems[f"rule.bands.{index}.threshold"] = (
                f"Band {thresholds[threshold]} starts at {threshold} too: each band starts at a threshold of its own.")
        else:
            thresholds[threshold] = index
    seen = {}
    for index, bonus in enumerate(wanted.get("bonuses", [])):
        for name in ("minimum_quantity", "extra_percent"):
            if Decimal(bonus[name]) <= 0:
                problems[f"rule.bonuses.{index}.{name}"] = "Must be more than zero."
        key = (bonus["product"].pk, Decimal(bonus["minimum_quantity"]))
        if key in seen:
            problems[f"rule.bonuses.{index}.product"] = (
                f"Bonus {seen[key]} already names this product and minimum quantity.")
        else:
            seen[key] = index
    if problems:
        raise ValidationError(problems)


def _rule_write(agreement, wanted: dict) -> bool:
    """Create or replace the agreement's rule, bands and bonuses; True when anything changed."""
    _check_bands_and_bonuses(wanted)
    bands = [(Decimal(band["threshold"]), Decimal(band["rate"])) for band in wanted.get("bands", [])]
    bonuses = [(bonus["product"].pk, Decimal(bonus["minimum_quantity"]), Decimal(bonus["extra_percent"]))
               for bonus in wanted.get("bonuses", [])]
    fields = {name: wanted[name] for name in RULE_FIELDS if name in wanted}
    rule = RebateRule.objects.filter(agreement=agreement).first()
    if rule is None:
        rule = RebateRule(agreement=agreement, **fields)
        changed = True
    else:
        changed = bool(_changes(rule, fields))
        held_bands = list(rule.bands.order_by("threshold").values_list("threshold", "rate"))
        held_bonuses = list(rule.bonuses.order_by("pk").values_list("product_id", "minimum_quantity", "extra_percent"))
        if "bands" in wanted and held_bands != sorted(bands):
            changed = True
            rule.bands.all().delete()
        if "bonuses" in wanted and held_bonuses != bonuses:
            changed = True
            rule.bonuses.all().delete()
        if not changed:
            return False
    _save(rule, exclude=["agreement"], prefix="rule.")
    if "bands" in wanted and not rule.bands.exists():
        TierBand.objects.bulk_create(TierBand(rule=rule, threshold=threshold, rate=rate)
                                     for threshold, rate in sorted(bands))
    if "bonuses" in wanted and not rule.bonuses.exists():
        BonusCondition.objects.bulk_create(
            BonusCondition(rule=rule, product_id=product_id, minimum_quantity=minimum, extra_percent=extra)
            for product_id, minimum, extra in bonuses)
    return True


def _check_terms(agreement):
    """The engine's own checks on the terms as stored (raised as a ValidationError: nothing is kept)."""
    try:
        agreement_terms(agreements_with_terms([agreement.pk]).get())
    except (ValueError, TypeError) as exc:
        raise ValidationError({"rule": str(exc)}) from exc
