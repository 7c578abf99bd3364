"""Program effectiveness as numbers: what a program's rebates cost and what they bought, against the
customers' own last year and against a comparison group. Pure: figures in, Decimals (or None for "—") out.

Every formula here is stated in words in FORMULAS (shown on the page, in the sheet and in docs/programs.md);
a measure whose denominator is zero is None, shown as "—".

Money comes in the reporting currency (the selectors convert each customer's months before they get here). A
money figure that could not be converted (a missing rate) is None, and so is every figure summed or computed
from it: a group's sum never leaves a customer out.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from rebates.engine.money import ZERO, ZERO_MONEY, quantize_money

HUNDRED = Decimal(100)
ONE_PLACE = Decimal("0.1")
PER_DOLLAR = Decimal("0.0001")


@dataclass(frozen=True)
class CustomerFigures:
    """One customer's purchases: units and net amount of the program's focus lines, and its net amount of
    every product, in the period and in the same months of the year before."""

    units_now: Decimal = ZERO
    units_before: Decimal = ZERO
    focus_now: Decimal | None = ZERO_MONEY  # None: not converted (a missing rate)
    focus_before: Decimal | None = ZERO_MONEY
    all_now: Decimal | None = ZERO_MONEY
    all_before: Decimal | None = ZERO_MONEY


@dataclass(frozen=True)
class GroupMeasures:
    """A group of customers (the program's, or the comparison group) measured."""

    customers: int
    units_now: Decimal
    units_before: Decimal
    revenue_now: Decimal | None  # None: a customer's figure could not be converted
    revenue_before: Decimal | None
    units_growth: Decimal | None  # percent
    revenue_growth: Decimal | None  # percent
    focus_share_now: Decimal | None  # percent of all net revenue
    focus_share_before: Decimal | None
    mix_shift: Decimal | None  # percentage points
    kept: int
    lost: int
    retention: Decimal | None  # percent
    converted: bool = True  # False: a customer's amount lacks its rate, the group's money measures are not given


@dataclass(frozen=True)
class RebateCost:
    """The program's ledger over the period's months: accrued (accruals, catch-ups and adjustments), paid
    (payouts) and forfeited (forfeitures), each as a positive amount; None when a rate it needs is missing."""

    accrued: Decimal | None = ZERO_MONEY
    paid: Decimal | None = ZERO_MONEY
    forfeited: Decimal | None = ZERO_MONEY


@dataclass(frozen=True)
class Effectiveness:
    program: GroupMeasures
    comparison: GroupMeasures
    cost: RebateCost
    expected_units: Decimal | None
    incremental_units: Decimal | None
    expected_revenue: Decimal | None
    incremental_revenue: Decimal | None
    cost_per_incremental_unit: Decimal | None
    cost_per_incremental_dollar: Decimal | None
    focus_lines: tuple[str, ...] = field(default=())

    @property
    def revenue_known(self) -> bool:
        """Both groups' net revenue converted (no rate missing): the revenue measures can be given."""
        return all(figure is not None for group in (self.program, self.comparison)
                   for figure in (group.revenue_now, group.revenue_before))

    @property
    def per_unit_known(self) -> bool:
        return self.cost.accrued is not None

    @property
    def per_dollar_known(self) -> bool:
        return self.revenue_known and self.cost.accrued is not None


def money_sum(amounts) -> Decimal | None:
    """The amounts' sum; None when any is None (never a sum that leaves one out)."""
    total = ZERO_MONEY
    for amount in amounts:
        if amount is None:
            return None
        total += amount
    return total


def ratio_percent(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    """part / whole x 100, to one place, half up; None when whole is zero (or either is not known)."""
    if part is None or not whole:
        return None
    return (part * HUNDRED / whole).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def growth_percent(now: Decimal | None, before: Decimal | None) -> Decimal | None:
    """(now - before) / before x 100, to one place; None when nothing was bought before (or either is not
    known)."""
    if now is None or not before:
        return None
    return ((now - before) * HUNDRED / before).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def _unrounded_share(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    return part * HUNDRED / whole if part is not None and whole else None


def group_measures(customers: list[CustomerFigures]) -> GroupMeasures:
    """Sum a group's customers and measure it. A customer is kept when it bought focus-line units in both
    periods (net units above zero), lost when it bought them the year before and not in the period."""
    units_now = sum((c.units_now for c in customers), ZERO)
    units_before = sum((c.units_before for c in customers), ZERO)
    revenue_now = money_sum(c.focus_now for c in customers)
    revenue_before = money_sum(c.focus_before for c in customers)
    all_now = money_sum(c.all_now for c in customers)
    all_before = money_sum(c.all_before for c in customers)
    kept = sum(1 for c in customers if c.units_before > 0 and c.units_now > 0)
    lost = sum(1 for c in customers if c.units_before > 0 and c.units_now <= 0)
    share_now, share_before = _unrounded_share(revenue_now, all_now), _unrounded_share(revenue_before, all_before)
    shift = None if share_now is None or share_before is None else (share_now - share_before).quantize(
        ONE_PLACE, rounding=ROUND_HALF_UP)
    return GroupMeasures(
        customers=len(customers), units_now=units_now, units_before=units_before, revenue_now=revenue_now,
        revenue_before=revenue_before, units_growth=growth_percent(units_now, units_before),
        revenue_growth=growth_percent(revenue_now, revenue_before),
        focus_share_now=ratio_percent(revenue_now, all_now),
        focus_share_before=ratio_percent(revenue_before, all_before),
        mix_shift=shift, kept=kept, lost=lost, retention=ratio_percent(Decimal(kept), Decimal(kept + lost)),
        converted=None not in (revenue_now, revenue_before, all_now, all_before),
    )


def expected(before: Decimal | None, comparison_now: Decimal | None,
             comparison_before: Decimal | None) -> Decimal | None:
    """What the program's customers would have bought had they moved as the comparison group did: their year
    before times the comparison group's now / before. None when the comparison group bought nothing before
    (or a figure is not known)."""
    if before is None or comparison_now is None or not comparison_before:
        return None
    return before * comparison_now / comparison_before


def effectiveness(program: list[CustomerFigures], comparison: list[CustomerFigures], cost: RebateCost,
                  focus_lines: tuple[str, ...] = ()) -> Effectiveness:
    """Every measure of the page, from the two groups' customers and the program's ledger."""
    ours, theirs = group_measures(program), group_measures(comparison)
    units = expected(ours.units_before, theirs.units_now, theirs.units_before)
    revenue = expected(ours.revenue_before, theirs.revenue_now, theirs.revenue_before)
    incremental_units = None if units is None else (ours.units_now - units).quantize(
        Decimal("0.001"), rounding=ROUND_HALF_UP)
    incremental_revenue = (None if revenue is None or ours.revenue_now is None
                           else quantize_money(ours.revenue_now - revenue))
    per_unit = (quantize_money(cost.accrued / incremental_units)
                if cost.accrued is not None and incremental_units is not None and incremental_units > 0 else None)
    per_dollar = ((cost.accrued / incremental_revenue).quantize(PER_DOLLAR, rounding=ROUND_HALF_UP)
                  if cost.accrued is not None and incremental_revenue is not None and incremental_revenue > 0
                  else None)
    return Effectiveness(
        program=ours, comparison=theirs, cost=cost,
        expected_units=None if units is None else units.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP),
        incremental_units=incremental_units,
        expected_revenue=None if revenue is None else quantize_money(revenue),
        incremental_revenue=incremental_revenue, cost_per_incremental_unit=per_unit,
        cost_per_incremental_dollar=per_dollar, focus_lines=focus_lines,
    )


# Each formula in a sentence: the page, the sheet and docs/programs.md say the same.
FORMULAS = (
    ("Program customers", "Customers with an agreement of the program (not a draft) whose term meets the period."),
    ("Comparison group", "Customers of the same segments as the program's customers with no agreement of the "
                         "program whose term meets the period."),
    ("Focus lines", "The product lines the program's agreements cover: the lines they name and the lines of the "
                    "products they name."),
    ("Volume, net revenue", "Net units and net amount of the focus lines bought in the period, and in the same "
                            "months of the year before (credit notes counted)."),
    ("Growth", "(period - year before) / year before x 100."),
    ("Reporting currency", "Every money figure is in the reporting currency: each customer's net amount of each "
                           "month converts at that month's rate, half-up to the cent, before the groups are "
                           "summed, and so does the rebate cost of each month and currency; units stay units. A "
                           "missing rate is named and the figures it would convert are not given."),
    ("Rebate cost", "Accrued: the program's accruals, catch-ups and adjustments booked for the period's months; "
                    "paid: its payouts; forfeited: its forfeitures."),
    ("Expected", "The program customers' year before x the comparison group's period / its year before: what "
                 "they would have bought moving as the comparison group did."),
    ("Incremental", "Program customers' period - expected (units and net revenue)."),
    ("Cost per incremental unit", "Accrued / incremental units; — when nothing was incremental."),
    ("Cost per incremental dollar", "Accrued / incremental net revenue; — when nothing was incremental."),
    ("Retention", "Kept / (kept + lost) x 100: kept bought focus-line units in both periods, lost bought them the "
                  "year before and none in the period."),
    ("Mix shift", "Focus lines' share of all net revenue in the period - the same share the year before, in "
                  "percentage points."),
)
