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
    LineDiscount,
    Product,
    ProductLine,
    ProductUnit,
    PurchaseLine,
    RebateAgreement,
    RebateProgram,
    RebateRule,
    TierBand,
)
from rebates.terms import agreement_terms, agreements_with_terms

AGREEMENT_FIELDS = ("customer", "program", "start_month", "end_month", "committed_monthly_quantity",
                    "settlement_frequency", "interim_frequency", "status", "group_payout")
RULE_FIELDS = ("kind", "rate_type", "rate", "tier_basis", "tier_method", "baseline", "baseline_amount", "minimum",
               "cap", "commitment_rule", "active_months", "active_window", "clearance_rate", "min_product_lines",
               "focus_line", "focus_share")
# What the ERP may set an agreement's status to; terminating forfeits the unpaid balance and goes through
# agreement_terminate, settling through the settlements.
STATUSES_SENT = (RebateAgreement.Status.DRAFT, RebateAgreement.Status.ACTIVE)

# Prices the ERP itself set: the only ones a later ERP price in the same month replaces.
ERP_PRICE_REASONS = ("Agreement created", "Sent by the ERP")


def _save(obj, *, exclude=(), prefix=""):
    """Validate and save; `prefix` places the fields' errors where the request sent them ("rule.")."""
    _clean(obj, exclude=exclude, prefix=prefix)
    obj.save()


def _clean(obj, *, exclude=(), prefix=""):
    try:
        obj.full_clean(exclude=list(exclude))
    except ValidationError as error:
        if not prefix or not hasattr(error, "error_dict"):
            raise
        raise ValidationError({f"{prefix}{field}": problems for field, problems in error.error_dict.items()}) from error


def _changes(obj, fields: dict) -> dict:
    """The fields whose value differs, as {name: [old, new]} strings for the audit row."""
    changed = {}
    for name, value in fields.items():
        old = getattr(obj, name)
        if old != value:
            changed[name] = [str(old), str(value)]
            setattr(obj, name, value)
    return changed


def product_line_create(*, by, code: str, name: str) -> ProductLine:
    with transaction.atomic():
        line = ProductLine(code=code, name=name)
        _save(line)
        audit_record(actor=by, action="product_line.create", target=line, summary=f"Product line {code} created")
        return line


def product_line_update(*, by, product_line: ProductLine, **fields) -> ProductLine:
    """A line's code or name (which products are in it is the products' own field)."""
    with transaction.atomic():
        line = ProductLine.objects.select_for_update().get(pk=product_line.pk)
        changed = _changes(line, fields)
        if changed:
            _save(line)
            audit_record(actor=by, action="product_line.update", target=line,
                         summary=f"Product line {line.code} changed: {', '.join(changed)}", data=changed)
        return line


def product_create(*, by, sku: str, name: str, product_line, list_price: Decimal, launched_on: date | None = None,
                   discontinued_on: date | None = None, clearance_from: date | None = None,
                   clearance_until: date | None = None, base_unit: str = "each", units=()) -> Product:
    """A new product; `units` [{code, base_quantity}]: the units it is sold in besides `base_unit`."""
    with transaction.atomic():
        product = Product(sku=sku, name=name, product_line=product_line, list_price=list_price,
                          launched_on=launched_on, discontinued_on=discontinued_on, clearance_from=clearance_from,
                          clearance_until=clearance_until, base_unit=base_unit)
        _save(product)
        _units_set(product, units)
        audit_record(actor=by, action="product.create", target=product, summary=f"Product {sku} created")
        return product


def product_update(*, by, product: Product, units=None, **fields) -> Product:
    """Change a product's fields; `units` (when given) replaces its units [{code, base_quantity}]. Lines
    already stored keep their base quantities: a unit's new size counts for lines sent after."""
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        if "base_unit" in fields and fields["base_unit"] != product.base_unit \
                and PurchaseLine.objects.filter(product=product).exists():
            raise ValidationError({"base_unit": f"The product's purchase lines are counted in "
                                                f"{product.base_unit}: its base unit cannot change."})
        changed = _changes(product, fields)
        if units is not None:
            before = _units_text(product)
            _units_set(product, units)
            after = _units_text(product)
            if before != after:
                changed["units"] = [before, after]
        if changed:
            _save(product)
            audit_record(actor=by, action="product.update", target=product,
                         summary=f"Product {product.sku} changed: {', '.join(changed)}", data=changed)
        return product


def _units_set(product: Product, units) -> None:
    """Make the product's units exactly `units` [{code, base_quantity}]; refused (ValidationError on
    `units`) when a code repeats or is the base unit's."""
    codes = [unit["code"] for unit in units]
    if len(set(codes)) != len(codes):
        raise ValidationError({"units": "Each unit code once."})
    if product.base_unit in codes:
        raise ValidationError({"units": f"{product.base_unit} is the base unit: a unit of 1 needs no conversion."})
    ProductUnit.objects.filter(product=product).exclude(code__in=codes).delete()
    held = {unit.code: unit for unit in ProductUnit.objects.filter(product=product)}
    for unit in units:
        row = held.get(unit["code"]) or ProductUnit(product=product, code=unit["code"])
        if row.pk is None or row.base_quantity != unit["base_quantity"]:
            row.base_quantity = unit["base_quantity"]
            _save(row, exclude=("product",), prefix="units.")


def _units_text(product: Product) -> str:
    return ", ".join(f"{unit.code}={unit.base_quantity.normalize():f}"
                     for unit in ProductUnit.objects.filter(product=product).order_by("code"))


def program_create(*, by, code: str, name: str, description: str = "", **accounts) -> RebateProgram:
    """A new program; `accounts`: its GL accounts and cost centre (RebateProgram.gl_*, cost_centre), the
    model's defaults when left out."""
    with transaction.atomic():
        program = RebateProgram(code=code, name=name, description=description, **accounts)
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


def agreement_create(*, by, number: str, rule: dict | None, net_price: Decimal | None = None, prices=(),
                     line_discounts=(), products=(), product_lines=(), **fields) -> RebateAgreement:
    """A new agreement with its scope, rule (bands, bonuses) and first contract prices (from its start).

    `fields` are AGREEMENT_FIELDS; `rule` holds RULE_FIELDS plus `bands` [{threshold, rate}] and `bonuses`
    [{product, minimum_quantity, extra_percent}]; None (the admin) leaves the rule to be added after, and the
    agreement is not accrued until it has one. Prices, per product (rebates.prices): `net_price` for
    each product named in `products`; `prices` [{product, net_price}] for products of the scope, named or of
    a line; `line_discounts` [{product_line, discount_percent}] off list price for the other products of a
    line of the scope.
    """
    _check_status(fields.get("status"), None)
    with transaction.atomic():
        agreement = RebateAgreement(number=number, **fields)
        _save(agreement)
        agreement.products.set(products)
        agreement.product_lines.set(product_lines)
        if rule is not None:
            _rule_write(agreement, rule)
        _prices_write(agreement, by=by, month=agreement.start_month, reason=ERP_PRICE_REASONS[0],
                      prices=_stated(net_price, products, prices), line_discounts=line_discounts)
        if rule is not None:
            _check_terms(agreement)
        audit_record(actor=by, action="agreement.create", target=agreement,
                     summary=f"Agreement {number} created for {agreement.customer.code}")
        return agreement


def agreement_update(*, by, agreement: RebateAgreement, rule: dict | None = None, net_price: Decimal | None = None,
                     prices=(), line_discounts=(), products=None, product_lines=None,
                     effective_from: date | None = None, template_change: bool = False,
                     **fields) -> RebateAgreement:
    """Change an agreement's terms; anything that changes marks it for the next incremental run.

    A rule change to an agreement enrolled from its program's template marks it overridden (template changes
    pass it by from then on), unless it is the template change itself (`template_change`).

    A new price (`net_price` for each product named in the scope, `prices` per product, `line_discounts`
    per line) becomes a step from `effective_from`, a month of the term that the change must name (reason
    "Sent by the ERP"); a price equal to the one in force writes nothing and needs no month, so a resent
    agreement passes unchanged.
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
            if agreement.enrolled and not template_change and not agreement.overridden:
                agreement.overridden = True
                changed["overridden"] = ["False", "True"]
        stated = _stated(net_price, agreement.products.all(), prices)
        if stated or line_discounts:
            if effective_from is not None and not agreement.start_month <= effective_from <= agreement.end_month:
                raise ValidationError({"effective_from": (
                    f"A price change takes effect in a month of the term ({agreement.start_month:%Y-%m} to "
                    f"{agreement.end_month:%Y-%m}).")})
            # Without a month, the prices sent are compared with those in force this month (within the term).
            month = effective_from or min(max(clock.today().replace(day=1), agreement.start_month),
                                          agreement.end_month)
            price_changes = _prices_write(agreement, by=by, month=month, reason=ERP_PRICE_REASONS[1],
                                          prices=stated, line_discounts=line_discounts, only_changes=True)
            if price_changes and effective_from is None:
                raise ValidationError({"effective_from": (
                    "A price change names the month it takes effect (YYYY-MM), a month of the term.")})
            changed.update(price_changes)
        if changed:
            _save(agreement)  # auto_now: terms_changed_at moves with every save
            _check_terms(agreement)
            audit_record(actor=by, action="agreement.update", target=agreement,
                         summary=f"Agreement {agreement.number} changed: {', '.join(changed)}",
                         data={key: value if isinstance(value, list | str | dict) else str(value)
                               for key, value in changed.items()})
        return agreement


def _stated(net_price, products, prices) -> list[tuple]:
    """(product, price) pairs: `net_price` for each named product, then each of `prices` (which win)."""
    stated = {}
    if net_price is not None:
        if not list(products):
            raise ValidationError({"net_price": (
                "net_price prices the products named in the scope, and none is named: a line scope prices each "
                "product (prices) or gives a discount off list price (line_discounts).")})
        stated.update({product: net_price for product in products})
    stated.update({entry["product"]: entry["net_price"] for entry in prices})
    return list(stated.items())


def _prices_write(agreement, *, by, month, reason, prices, line_discounts, only_changes=False) -> dict:
    """Price steps from `month`: a stated price per (product, price) and a discount per line entry. With
    `only_changes`, a price equal to the one in force writes nothing; a step the ERP itself set in the same
    month is replaced, one set for another reason (a matched market signal, say) is evidence and refused.
    Returns what changed, for the audit row."""
    from rebates.prices import product_prices

    lines = set(agreement.product_lines.values_list("pk", flat=True))
    named = set(agreement.products.values_list("pk", flat=True))
    changed = {}
    in_force = product_prices([(agreement.pk, product.pk) for product, _ in prices], on=month) if only_changes else {}
    for product, net_price in prices:
        if product.pk not in named and product.product_line_id not in lines:
            raise ValidationError({"prices": f"{product.sku} is not in {agreement.number}'s scope."})
        if only_changes and in_force.get((agreement.pk, product.pk)) == net_price:
            continue
        _step_write(ContractPrice, agreement, month, {"product": product},
                    {"net_price": net_price, "reason": reason, "created_by": _user(by)}, field="net_price")
        changed.setdefault("prices", {})[product.sku] = str(net_price)
    for entry in line_discounts:
        line, percent = entry["product_line"], entry["discount_percent"]
        if line.pk not in lines:
            raise ValidationError({"line_discounts": f"{line.code} is not a line of {agreement.number}'s scope."})
        if not 0 <= percent < 100:
            raise ValidationError({"line_discounts": "A discount is from 0 to less than 100 %."})
        held = (LineDiscount.objects.filter(agreement=agreement, product_line=line, effective_from__lte=month)
                .order_by("-effective_from").values_list("discount_percent", flat=True).first())
        if only_changes and held == percent:
            continue
        _step_write(LineDiscount, agreement, month, {"product_line": line},
                    {"discount_percent": percent, "reason": reason, "created_by": _user(by)}, field="line_discounts")
        changed.setdefault("line_discounts", {})[line.code] = str(percent)
    return changed


def _step_write(model, agreement, month, key, values, *, field):
    same_month = model.objects.filter(agreement=agreement, effective_from=month, **key).first()
    if same_month is not None and same_month.reason not in ERP_PRICE_REASONS:
        # A price set this month for another reason (a matched market signal, say) is evidence: the ERP does
        # not overwrite it.
        raise ValidationError({field: (
            f"The price from {month:%Y-%m} was set as '{same_month.reason}'; it is not replaced by the ERP. "
            "Send the new price from next month on.")})
    if same_month is None:
        step = model(agreement=agreement, effective_from=month, **key, **values)
    else:
        step = same_month
        for name, value in values.items():
            setattr(step, name, value)
    _save(step, exclude=["agreement"])


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


def rule_check(*, rule: dict, start_month: date, end_month: date, settlement_frequency: str) -> None:
    """Refuse, as agreement_create would, a rule (RULE_FIELDS, `bands`, `bonuses`) that no agreement of this
    term could hold: the same band and bonus checks, the rule's own field checks and the engine's, without
    storing anything (a program's template terms are checked this way)."""
    from rebates.terms import rule_terms

    _check_bands_and_bonuses(rule)
    fields = {name: rule[name] for name in RULE_FIELDS if name in rule}
    _clean(RebateRule(**fields), exclude=["agreement"], prefix="rule.")
    try:
        rule_terms(start_month=start_month, end_month=end_month, settlement_frequency=settlement_frequency,
                   rule=RebateRule(**fields),
                   bands=[(Decimal(b["threshold"]), Decimal(b["rate"])) for b in rule.get("bands", [])],
                   bonuses=[(b["product"].sku, Decimal(b["minimum_quantity"]), Decimal(b["extra_percent"]))
                            for b in rule.get("bonuses", [])])
    except (ValueError, TypeError) as exc:
        raise ValidationError({"rule": str(exc)}) from exc


def _check_terms(agreement):
    """The engine's own checks on the terms as stored (raised as a ValidationError: nothing is kept). An
    agreement without its rule yet (added in the admin) has no terms to check."""
    agreement = agreements_with_terms([agreement.pk]).get()
    if not hasattr(agreement, "rule"):
        return
    try:
        agreement_terms(agreement)
    except (ValueError, TypeError) as exc:
        raise ValidationError({"rule": str(exc)}) from exc
