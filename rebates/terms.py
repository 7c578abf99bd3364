"""The engine's inputs read from the database: an agreement's terms and its purchases in scope per month.

Purchases are summed per (agreement, month) in one set-based query: the engine only needs monthly
totals, so it gets one line per month instead of every ERP line.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Prefetch, Q, Sum

from rebates import engine
from rebates.engine.choices import Baseline
from rebates.engine.lines import MonthTotal
from rebates.engine.money import CENT
from rebates.engine.periods import add_months
from rebates.models import BonusCondition, PurchaseLine, RebateAgreement, TierBand
from rebates.scope import in_term_q
from rebates.sql import terms as sql

QUANTITY_STEP = Decimal("0.001")


def agreements_with_terms(ids: Iterable[int] | None = None):
    """Agreements with everything `agreement_terms` reads, in two queries plus two prefetches."""
    queryset = RebateAgreement.objects.select_related("rule").prefetch_related(
        Prefetch("rule__bands", queryset=TierBand.objects.order_by("threshold")),
        Prefetch("rule__bonuses", queryset=BonusCondition.objects.select_related("product")),
    )
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return queryset.order_by("pk")


def agreement_terms(agreement: RebateAgreement) -> engine.AgreementTerms:
    """The agreement's terms as the engine's frozen values."""
    rule = agreement.rule
    return _terms(
        agreement.start_month, agreement.end_month, agreement.settlement_frequency,
        agreement.committed_monthly_quantity, agreement.terminated_on,
        [getattr(rule, name) for name in _RULE_FIELDS],
        [(band.threshold, band.rate) for band in rule.bands.all()],
        [(bonus.product.sku, bonus.minimum_quantity, bonus.extra_percent) for bonus in rule.bonuses.all()],
    )


def rule_terms(*, start_month, end_month, settlement_frequency, rule, bands, bonuses) -> engine.AgreementTerms:
    """The engine's terms of an unsaved rule over a term (its checks run here): `bands` as (threshold, rate),
    `bonuses` as (sku, minimum quantity, extra percent)."""
    return _terms(start_month, end_month, settlement_frequency, None, None,
                  [getattr(rule, name) for name in _RULE_FIELDS], bands, bonuses)


_RULE_FIELDS = ("kind", "rate", "rate_type", "tier_basis", "tier_method", "baseline", "baseline_amount", "minimum",
                "cap", "commitment_rule", "active_months", "active_window", "clearance_rate", "min_product_lines",
                "focus_line_id", "focus_share")


def _terms(start_month, end_month, frequency, committed, terminated_on, rule, bands, bonuses,
           rules: dict | None = None) -> engine.AgreementTerms:
    """The engine's terms; `rules`, when given, keeps the rules made so far by what they were made of (their
    text, so 1.0 and 1.00 stay apart): agreements made from one template share one frozen rule, checked once."""
    if rules is None:
        return engine.AgreementTerms(start_month=start_month, end_month=end_month, settlement_frequency=frequency,
                                     committed_monthly_quantity=committed, terminated_on=terminated_on,
                                     rule=_rule(rule, bands, bonuses))
    key = repr((rule, bands, bonuses))
    made = rules.get(key)
    if made is None:
        made = rules[key] = _rule(rule, bands, bonuses)
    return engine.AgreementTerms(start_month=start_month, end_month=end_month, settlement_frequency=frequency,
                                 committed_monthly_quantity=committed, terminated_on=terminated_on, rule=made)


def _rule(rule, bands, bonuses) -> engine.RebateRule:
    rule = dict(zip(_RULE_FIELDS, rule, strict=True))
    # The engine knows a product line by its id as text, as the mix lines name it.
    rule["focus_line"] = rule.pop("focus_line_id")
    return engine.RebateRule(
        **rule,
        bands=tuple(engine.Band(threshold, rate) for threshold, rate in bands),
        bonuses=tuple(engine.LaunchBonus(sku, minimum, extra) for sku, minimum, extra in bonuses),
    )


class AgreementInput(NamedTuple):
    """What the engine's input needs of an agreement: its terms, and what its purchases are found by."""

    pk: int
    customer_id: int
    start_month: date
    end_month: date
    terms: engine.AgreementTerms
    # The products of its launch-bonus conditions.
    bonus_product_ids: tuple[int, ...]
    # Whether its customer is a buying group (docs/buying-groups.md); None when not read (then asked).
    group: bool | None = None


def agreement_input(agreement: RebateAgreement) -> AgreementInput:
    """An agreement read with `agreements_with_terms` as the engine's input."""
    return AgreementInput(
        agreement.pk, agreement.customer_id, agreement.start_month, agreement.end_month, agreement_terms(agreement),
        tuple(bonus.product_id for bonus in agreement.rule.bonuses.all()),
        # Known when the customer was read with the agreement (the pages); asked of the database otherwise.
        agreement.customer.is_group if RebateAgreement.customer.is_cached(agreement) else None,
    )


# The engine rules made so far in this process by what they were made of (see `_terms`): the book's agreements
# share a few thousand rules (the generated book's 10,000 agreements in their term, about 2,300), which each
# chunk of a run or of the outlook would otherwise make and check again. A rule is a frozen value made of
# nothing else, so one made for an earlier chunk is the same rule; the dict is emptied past `_RULES_KEPT`.
_MADE_RULES: dict[str, engine.RebateRule] = {}
_RULES_KEPT = 10_000


def agreement_inputs(ids: Iterable[int]) -> list[AgreementInput]:
    """The agreements' inputs in primary-key order, in three queries and no model instances (a chunk
    reads hundreds, and building models would cost more than the rebate maths)."""
    rows, band_rows, bonus_rows = sql.agreement_terms_rows(list(ids), _RULE_FIELDS)
    bands, bonuses = defaultdict(list), defaultdict(list)
    for agreement_id, threshold, rate in band_rows:
        bands[agreement_id].append((threshold, rate))
    for agreement_id, product_id, sku, minimum, extra in bonus_rows:
        bonuses[agreement_id].append((product_id, sku, minimum, extra))
    if len(_MADE_RULES) > _RULES_KEPT:
        _MADE_RULES.clear()
    rules = _MADE_RULES
    return [
        AgreementInput(
            pk, customer_id, start, end,
            _terms(start, end, frequency, committed, terminated_on, rule, bands[pk],
                   [(sku, minimum, extra) for _, sku, minimum, extra in bonuses[pk]], rules),
            tuple(product_id for product_id, *_ in bonuses[pk]),
            is_group,
        )
        for pk, customer_id, is_group, start, end, frequency, committed, terminated_on, *rule in rows
    ]


def _engine_lines(rows) -> dict[int, list[engine.PurchaseLine]]:
    totals: dict[int, list[engine.PurchaseLine]] = defaultdict(list)
    for agreement_id, month, quantity, amount in rows:
        totals[agreement_id].append(
            engine.PurchaseLine(as_date(month), exact(quantity, QUANTITY_STEP), exact(amount, CENT))
        )
    return totals


def scope_month_totals(agreements: list[AgreementInput]) -> dict[int, list[engine.PurchaseLine]]:
    """Per agreement id, one engine purchase line per month: the net units and amount bought in scope over its
    term, and for a rule measured against last year from the year before the earliest start on (for a group
    agreement, its members' in their membership months with the group's own). Each agreement's lines are read
    by its buyers' (customer, month) index in its own window (`window_month_rows`)."""
    if not agreements:
        return {}
    earliest = add_months(min(a.start_month for a in agreements), -12)
    firsts = {a.pk: earliest if a.terms.rule.baseline is Baseline.LAST_YEAR else a.start_month for a in agreements}
    return _engine_lines(sql.window_month_rows(firsts, latest=max(a.end_month for a in agreements),
                                               group_ids=_group_agreements(agreements)))


def _group_agreements(agreements: list[AgreementInput]) -> dict[int, int] | None:
    """By agreement id, the customer of each agreement whose customer is a buying group; None when an input
    was read without knowing it (then any may be one)."""
    if any(a.group is None for a in agreements):
        return None
    return {a.pk: a.customer_id for a in agreements if a.group}


def scope_month_totals_store(*, run_id: int, agreement_ids: list[int], by_customer: bool = False) -> None:
    """Sum these agreements' purchases in scope per month over their whole term into the run's own table.

    `by_customer`: name their customers to the database, so that a few agreements' lines are read by index
    rather than by a pass over every line (right for a part of the book, not for the whole of it)."""
    if by_customer:
        terms = sql.agreement_starts(agreement_ids)
        first, customers = min((start for start, _ in terms), default=None), {customer for _, customer in terms}
    else:  # the whole book: the earliest month is all it needs
        first, customers = sql.earliest_start(agreement_ids), None
    earliest = add_months(first or date(2000, 1, 1), -12)
    sql.scope_month_store(run_id=run_id, agreement_ids=agreement_ids, earliest=earliest, customer_ids=customers)


def outlook_month_totals(agreements: list["AgreementInput"], *, firsts: dict[int, date],
                         latest: date) -> dict[int, dict[date, MonthTotal]]:
    """Per agreement id, its purchases in scope per month (month -> MonthTotal, as the engine's
    `monthly_totals` makes them) from its first month in `firsts` to `latest`, the
    months before its term included (the outlook reads last year's months whatever the rule); a buying
    group's agreement, its own and its members' in their membership months, as the run reads them
    (docs/buying-groups.md). Each agreement's months are its own, whatever others are read with it."""
    if not agreements:
        return {}
    firsts = {a.pk: firsts[a.pk] for a in agreements}
    totals: dict[int, dict[date, MonthTotal]] = {}
    total = MonthTotal
    # Each agreement's lines are read from its own first month on, summed per month by the database, one row
    # per agreement and month: the month's totals as they are, no line made of them (some 180,000 rows a
    # night). Its sums of numerics come as exact Decimals written in plain digits, as `monthly_totals` writes
    # them (it adds each to 0, which changes only a sum written with an exponent), and its months as dates.
    for agreement_id, month, quantity, amount in sql.window_month_rows(
            firsts, latest=latest, group_ids=_group_agreements(agreements)):
        months = totals.get(agreement_id)
        if months is None:
            months = totals[agreement_id] = {}
        months[month] = total(quantity, amount)
    return totals


def changed_month_totals(
    agreements: list["AgreementInput"], changed_months: dict[int, frozenset[date]]
) -> dict[int, list[engine.PurchaseLine]]:
    """Per agreement recomputed in part, its purchases in scope summed over only its changed months."""
    if not agreements:
        return {}
    earliest = add_months(min(a.start_month for a in agreements), -12)
    return _engine_lines(sql.changed_month_rows({a.pk: changed_months[a.pk] for a in agreements},
                                                earliest=earliest))


def scope_month_totals_drop(*, run_id: int) -> None:
    """Drop the run's input table once the run is over."""
    sql.scope_month_drop(run_id=run_id)


def scope_month_totals_kept(*, run_id: int) -> bool:
    """Whether the run made its own input table (`scope_month_totals_store`) and it is still there."""
    return sql.run_input_exists(run_id=run_id)


def scope_month_totals_stored(*, run_id: int, agreements) -> dict[int, list[engine.PurchaseLine]]:
    """The run's input for these agreements, as `scope_month_totals` would compute it."""
    if not agreements:
        return {}
    return _engine_lines(sql.scope_month_stored_rows(run_id=run_id, agreement_ids=[a.pk for a in agreements]))


def bonus_product_lines(agreements: list[AgreementInput]) -> dict[int, list[engine.PurchaseLine]]:
    """Per agreement id with launch bonuses: the customer's monthly purchases of each bonus product."""
    wanted = [(a, product_id) for a in agreements for product_id in a.bonus_product_ids]
    result: dict[int, list[engine.PurchaseLine]] = defaultdict(list)
    if not wanted:
        return result
    condition = Q()
    for agreement, product_id in wanted:
        # A launch-bonus product counts in the term whether or not the scope names it.
        condition |= Q(customer_id=agreement.customer_id, product_id=product_id) & in_term_q(agreement)
    rows = (
        PurchaseLine.objects.filter(condition)
        .values("customer_id", "product_id", "product__sku", "month")
        .annotate(quantity=Sum("quantity"), amount=Sum("amount"))
        .order_by()
    )
    by_customer_product = defaultdict(list)
    for row in rows:
        by_customer_product[(row["customer_id"], row["product_id"])].append(
            engine.PurchaseLine(row["month"], row["quantity"], row["amount"], product=row["product__sku"])
        )
    for agreement, product_id in wanted:
        result[agreement.pk].extend(by_customer_product[(agreement.customer_id, product_id)])
    return result


def clearance_lines(agreements: list[AgreementInput], months=None) -> dict[int, list[engine.PurchaseLine]]:
    """Per agreement whose kind reads clearance (rebates/engine/kinds.py), its purchases in scope of products
    in their clearance window, summed per month over the whole term (or, for an agreement in `months`, over the
    months it names); one query for them all (two when some are read whole and some not)."""
    wanted = [a.pk for a in agreements if a.terms.rule.kind_class.reads_clearance]
    result: dict[int, list[engine.PurchaseLine]] = {pk: [] for pk in wanted}
    for agreement_id, month, quantity, amount in sql.clearance_rows(wanted, months):
        result[agreement_id].append(engine.PurchaseLine(as_date(month), exact(quantity, QUANTITY_STEP),
                                                        exact(amount, CENT)))
    return result


def mix_lines(agreements: list[AgreementInput], months=None) -> dict[int, list[engine.PurchaseLine]]:
    """Per agreement whose kind has a period condition on its product mix (rebates/engine/kinds.py), its
    purchases in scope per month and product line (the line's id as text), over the whole term (or, for an
    agreement in `months`, over the months it names); as `clearance_lines`, one query or two."""
    wanted = [a.pk for a in agreements if a.terms.rule.kind_class.period_condition]
    result: dict[int, list[engine.PurchaseLine]] = {pk: [] for pk in wanted}
    for agreement_id, month, line_id, quantity, amount in sql.mix_rows(wanted, months):
        result[agreement_id].append(engine.PurchaseLine(as_date(month), exact(quantity, QUANTITY_STEP),
                                                        exact(amount, CENT), product=str(line_id)))
    return result


def referral_lines(agreements: list[AgreementInput], months=None) -> dict[int, list[engine.PurchaseLine]]:
    """Per agreement whose kind reads referrals (rebates/engine/kinds.py), the purchases in scope of the
    customers its customer referred, in their referral months, per month and referred customer (its code in
    `product`), over the whole term (or, for an agreement in `months`, over the months it names); as
    `clearance_lines`, one query or two."""
    wanted = [a.pk for a in agreements if a.terms.rule.kind_class.reads_referral]
    result: dict[int, list[engine.PurchaseLine]] = {pk: [] for pk in wanted}
    for agreement_id, code, month, quantity, amount in sql.referral_rows(wanted, months):
        result[agreement_id].append(engine.PurchaseLine(as_date(month), exact(quantity, QUANTITY_STEP),
                                                        exact(amount, CENT), product=code))
    return result


def group_lines(agreements: list[AgreementInput]) -> dict[int, list[engine.PurchaseLine]]:
    """Per group agreement (its customer a buying group with members), its members' purchases in scope in
    their membership months, per month and member (its code in `product`), over the whole term (and the year
    before it for a rule measured against last year); one query for them all: the statement's lines and the
    split. The engine's input has them already, summed per month (`scope_month_totals` and the run's reads;
    docs/buying-groups.md)."""
    result: dict[int, list[engine.PurchaseLine]] = defaultdict(list)
    for agreement_id, code, month, quantity, amount in sql.group_rows([a.pk for a in agreements
                                                                       if a.group is not False]):
        result[agreement_id].append(engine.PurchaseLine(as_date(month), exact(quantity, QUANTITY_STEP),
                                                        exact(amount, CENT), product=code))
    return result


def expected_ledger(
    agreements: list[RebateAgreement | AgreementInput], *, as_of: date, run_id: int | None = None,
    changed_months=None, booked=None,
) -> dict[int, tuple[engine.MonthResult, ...]]:
    """What the ledger should hold per agreement and month by `as_of`: the engine over the database
    (over the run's stored input when a run is given). Agreements come as `agreement_inputs`, or as
    models read with `agreements_with_terms`.

    An agreement in `changed_months` is recomputed in part: only the months that can differ are computed
    (see `engine.calculate`). Its input holds only the changed months (for a rule measured against last
    year, the months of the periods they move and last year's same months: `engine.months_in_part`); every
    other month is taken from `booked` (per agreement and month, the quantity and eligible amount its earned
    entries hold), which is what the engine was given for that month last time, from the same purchases.
    """
    changed_months = changed_months or {}
    booked = booked or {}
    agreements = [a if isinstance(a, AgreementInput) else agreement_input(a) for a in agreements]
    whole = [a for a in agreements if a.pk not in changed_months]
    if run_id is None:
        totals = scope_month_totals(whole)
    else:
        totals = scope_month_totals_stored(run_id=run_id, agreements=whole)
    # Recomputed in part: the months the engine recomputes from, and the months read afresh from the lines.
    in_part = {a.pk: engine.months_in_part(a.terms, changed_months[a.pk], as_of=as_of)
               for a in agreements if a.pk in changed_months}
    totals.update(changed_month_totals([a for a in agreements if a.pk in in_part],
                                       {pk: read for pk, (_, read) in in_part.items()}))
    bonuses = bonus_product_lines(agreements)
    # Recomputed in part, a kind's own lines are read for the settlement periods to recompute only.
    periods = {a.pk: engine.periods_holding(a.terms, in_part[a.pk][0], as_of=as_of) for a in agreements
               if a.pk in in_part and _reads_kind_lines(a.terms.rule.kind_class)}
    cleared = clearance_lines(agreements, periods)
    mixed = mix_lines(agreements, periods)
    referred = referral_lines(agreements, periods)
    expected = {}
    for agreement in agreements:
        pk = agreement.pk
        # A group agreement's totals hold its members' lines with the group's own (every read above: the
        # lines, the run's table, the months read afresh); the ledger's months hold the same group volume.
        lines = totals.get(pk, [])
        changed = read = None
        if pk in in_part:
            changed, read = in_part[pk]
            lines = lines + [
                engine.PurchaseLine(month, quantity, eligible)
                for month, (quantity, eligible, _) in booked.get(pk, {}).items() if month not in read
            ]
        # The engine reads each month of the term from `lines` and each month of last year from
        # `last_year_lines`; one list serves both, the engine ignoring the months it does not ask for.
        expected[pk] = engine.calculate(
            agreement.terms, lines, as_of=as_of, last_year_lines=lines,
            bonus_lines=bonuses.get(pk, ()), changed_months=changed, clearance_lines=cleared.get(pk, ()),
            mix_lines=mixed.get(pk, ()), referral_lines=referred.get(pk, ()),
        )
    return expected


def _reads_kind_lines(kind) -> bool:
    return kind.reads_clearance or kind.period_condition or kind.reads_referral


def exact(value, step: Decimal) -> Decimal:
    """A sum from the database as an exact Decimal: PostgreSQL sums numerics exactly, and an empty sum
    (NULL) is zero with the column's places. A float is refused: money never passes through one."""
    if value is None:
        return Decimal(0).quantize(step)
    if isinstance(value, float):
        raise TypeError(f"a float ({value!r}) where an exact figure was expected")
    return value if isinstance(value, Decimal) else Decimal(value)


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
