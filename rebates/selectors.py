"""Reads: every function takes the user and starts from `visible_to(user)`."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    Max,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Concat, Length, NullIf, Trim
from django.shortcuts import get_object_or_404

from config import clock
from customers.models import Customer
from rebates.engine.kinds import rule_kind
from rebates.engine.money import ZERO_MONEY
from rebates.engine.periods import add_months, month_of, months_from
from rebates.engine.results import is_shortfall
from rebates.groups import GroupStatement, group_statement
from rebates.models import (
    EARNED_KINDS,
    AccrualRun,
    AgreementBalance,
    ContractPrice,
    LedgerEntry,
    LineDiscount,
    Product,
    PurchaseLine,
    RebateAgreement,
)
from rebates.prices import price_in_force
from rebates.scope import covered_q
from rebates.services.accrual import ACCRUING_STATUSES
from rebates.sql.exports import sums_by_customer
from rebates.terms import agreement_input, agreements_with_terms, exact, expected_ledger, referral_lines

ZERO = Value(ZERO_MONEY, output_field=DecimalField(max_digits=16, decimal_places=2))  # an empty sum in SQL


def _balance_sum(figure: str):
    """A customer's (the outer query's pk) sum of one figure of its agreements' balances."""
    total = (AgreementBalance.objects.filter(agreement__customer=OuterRef("pk")).order_by()
             .values("agreement__customer").annotate(total=Sum(figure)).values("total"))
    return Coalesce(Subquery(total, output_field=DecimalField(max_digits=16, decimal_places=2)), ZERO)


def _balance_figure(figure: str, agreement: str):
    one = AgreementBalance.objects.filter(agreement=OuterRef(agreement)).values(figure)
    return Coalesce(Subquery(one, output_field=DecimalField(max_digits=16, decimal_places=2)), ZERO)


def agreement_unpaid_rebate(agreement="pk"):
    """The unpaid rebate of an agreement as an SQL expression (the agreement's id is `agreement`, a field of
    the outer query): its ledger balance, accrued less paid and forfeited (read from its AgreementBalance,
    which the ledger keeps in step); what the customer forfeits by leaving, the "rebate at stake" of the
    customer page, the agreement page and a signal's exposure."""
    return _balance_figure("unpaid", agreement)


def agreement_accrued_rebate(agreement="pk"):
    """The rebate an agreement accrued to date (accrual, catch-up and adjustment entries), as an SQL expression."""
    return _balance_figure("accrued", agreement)


def dashboard_customers(*, user):
    """The user's customers with their active agreements, rebate accrued to date and unpaid balance."""
    return (
        Customer.objects.visible_to(user)
        .select_related("segment", "account_manager")
        .annotate(
            active_agreements=Count("agreements", filter=Q(agreements__status="active")),
            accrued_to_date=_balance_sum("accrued"),
            unpaid_balance=_balance_sum("unpaid"),
        )
        .order_by("name", "code")
    )


def customer_for_page(*, user, code):
    """One customer the user may see, or 404 (never a hint that someone else's exists)."""
    return get_object_or_404(
        Customer.objects.visible_to(user).select_related("segment", "account_manager"), code=code
    )


def customer_agreements(*, user, customer):
    return (
        RebateAgreement.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("program", "rule")
        .annotate(balance=agreement_unpaid_rebate(), accrued=agreement_accrued_rebate())
        .order_by("-start_month", "number")
    )


# --- Accrual reads: the API's accruals and statement, and the Excel sheets ---------------------------

PAYOUT_KINDS = ("payout",)
FORFEITURE_KINDS = ("forfeiture",)
_MONEY = DecimalField(max_digits=16, decimal_places=2)
_QUANTITY = DecimalField(max_digits=14, decimal_places=3)


class _AcrossMonths(Func):
    """A figure taken across an agreement's months (a window over the grouped (agreement, month) rows),
    written as SQL around its parts.

    Django cannot put an aggregate inside a Window; this renders `template` with the compiled parts
    ({0}, {1}, ...) and stays out of the GROUP BY, like any window.
    """

    contains_over_clause = True
    window_compatible = True

    def __init__(self, template, *expressions, output_field):
        self.sql_template = template
        super().__init__(*expressions, output_field=output_field)

    def get_group_by_cols(self):
        return []

    def as_sql(self, compiler, connection, **extra_context):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        return self.sql_template.format(*parts), params


def _kind_sum(field, kinds, *, negate=False, output_field=_MONEY):
    value = Value(0, output_field=output_field) - F(field) if negate else F(field)
    return Coalesce(Sum(value, filter=Q(kind__in=kinds), output_field=output_field),
                    Value(Decimal("0"), output_field=output_field))


def _by_program(value):
    value = str(value)
    return Q(agreement__program_id=int(value)) if value.isdigit() else Q(agreement__program__code=value)


def accrual_entries(*, user, customer=None, manager=None, program=None, agreement=None, month_from=None,
                    month_to=None):
    """The ledger entries the user may see, narrowed by the accruals filters (customer code, manager
    username, program id or code, agreement number, first-of-month dates)."""
    entries = LedgerEntry.objects.visible_to(user)
    if customer:
        entries = entries.filter(agreement__customer__code=customer)
    if manager:
        entries = entries.filter(agreement__customer__account_manager__username=manager)
    if program:
        entries = entries.filter(_by_program(program))
    if agreement:
        entries = entries.filter(agreement__number=agreement)
    if month_from:
        entries = entries.filter(period__gte=month_from)
    if month_to:
        entries = entries.filter(period__lte=month_to)
    return entries


def last_accrual_month(*, user, **filters) -> date | None:
    """The latest month of the ledger entries the user may see with the accruals filters (None: no entry)."""
    return accrual_entries(user=user, **filters).order_by().aggregate(last=Max("period"))["last"]


def _manager_name(customer="agreement__customer"):
    """The account manager's full name, else their username ("" when the customer has none)."""
    manager = f"{customer}__account_manager"
    full_name = Trim(Concat(f"{manager}__first_name", Value(" "), f"{manager}__last_name"))
    return Coalesce(NullIf(full_name, Value("")), f"{manager}__username", Value(""))


def booked_units():
    """The net units the ledger holds for the entries summed (earned entries: credit notes counted once a run
    booked them): the units of every page, API and sheet."""
    return _kind_sum("quantity", EARNED_KINDS, output_field=_QUANTITY)


def _ledger_figures() -> dict:
    """What a row of the ledger's entries sums to, as finance reads it: units and eligible amount in scope,
    accrued (accrual, catch-up, adjustment), paid and forfeited (positive) and unpaid (the balance)."""
    return {
        "units": booked_units(),
        "eligible": _kind_sum("eligible_amount", EARNED_KINDS),
        "accrued": _kind_sum("amount", EARNED_KINDS),
        "paid": _kind_sum("amount", PAYOUT_KINDS, negate=True),
        "forfeited": _kind_sum("amount", FORFEITURE_KINDS, negate=True),
        "unpaid": Coalesce(Sum("amount"), ZERO),
    }


def liability_by_customer(*, user, **filters) -> list[tuple]:
    """The accrual rows summed per customer, by customer code, with the same filters as `accrual_rows`
    (months filtering the entries): (customer_code, customer_name, manager_name, agreements, rows (agreement
    months), units, eligible, accrued, paid, forfeited, unpaid (the liability), the longest agreement number
    and program name (for sizing a sheet's columns), the customer's currency). One query: the entries summed
    per agreement first (no sort over every entry), then per customer (rebates.sql.exports)."""
    per_agreement = (
        accrual_entries(user=user, **filters).order_by()
        .values("agreement_id")
        .annotate(months=Count("period", distinct=True), **_ledger_figures())
    )
    agreements = RebateAgreement.objects.order_by().values(
        "id", "customer_id", customer_code=F("customer__code"), customer_name=F("customer__name"),
        manager_name=_manager_name("customer"), number_length=Length("number"),
        program_length=Length("program__name"), currency=F("customer__currency"))
    return sums_by_customer(per_agreement, agreements)


def accrual_rows(*, user, customer=None, manager=None, program=None, agreement=None,
                 month_from=None, month_to=None, cumulative=True):
    """One row per (agreement, month) of the ledger that the user may see, ordered by agreement and month.

    Each row (a dict) holds: number (the agreement's), agreement_id, customer_code, customer_name, manager
    (username, "" when none), manager_name (full name, else the username), program (name), program_code,
    month (first-of-month date), units and eligible (net units and purchase amount in scope), accrued
    (accrual, catch-up and adjustment entries), paid (payouts booked against the month, positive),
    forfeited (forfeiture booked against the month, positive), unpaid (the month's balance: accrued less
    paid less forfeited; the rows of an agreement sum to its balance) and cumulative (accrued to date over
    the term, counting months before `month_from`).

    Filters: customer code, manager username, program id or code, agreement number, first-of-month dates.
    `cumulative=False` leaves the running total out (the finance sheet does not show it; cheaper).
    """
    entries = accrual_entries(user=user, customer=customer, manager=manager, program=program, agreement=agreement,
                              # With a running total the months are filtered after it is taken.
                              month_from=None if cumulative else month_from,
                              month_to=None if cumulative else month_to)
    rows = (
        entries.order_by()
        .values("agreement_id", "period")
        .annotate(
            number=F("agreement__number"),
            customer_code=F("agreement__customer__code"),
            customer_name=F("agreement__customer__name"),
            manager=Coalesce("agreement__customer__account_manager__username", Value("")),
            manager_name=_manager_name(),
            program=F("agreement__program__name"),
            program_code=F("agreement__program__code"),
            month=F("period"),
            **_ledger_figures(),
        )
    )
    if cumulative:
        earned = Sum("amount", filter=Q(kind__in=EARNED_KINDS))
        rows = rows.annotate(
            cumulative=Coalesce(_AcrossMonths("SUM({0}) OVER (PARTITION BY {1} ORDER BY {2})", earned,
                                      F("agreement_id"), F("period"), output_field=_MONEY), ZERO),
            # The month again, as a window: filtering on it happens after the running total is taken, so
            # the running total still counts the months before month_from.
            shown_month=_AcrossMonths("MIN({1}) OVER (PARTITION BY {0}, {1})", F("agreement_id"), F("period"),
                              output_field=DateField()),
        )
        if month_from:
            rows = rows.filter(shown_month__gte=month_from)
        if month_to:
            rows = rows.filter(shown_month__lte=month_to)
    return rows.order_by("number", "month")


@dataclass(frozen=True)
class StatementMonth:
    """One month of an agreement's sheet. Booked figures come from the ledger; rates from the engine.

    accrued: the month is accrued (not after the last successful run's as-of month, see `_through`);
    a month not accrued yet has no units, eligible amount or shortfall (None: "not accrued yet", never a guess);
    units / eligible_amount / monthly_rebate: what the ledger holds for the month (earned entries; units are
    net, credit notes counted);
    cumulative_rebate: booked over the term to date; expected_rebate: what the engine computes from the
    purchases now (differs from monthly_rebate until the next accrual run books the change);
    net_price: the contract net price in force that month (rebates.prices): of the products bought that
    month, their prices averaged over the units bought; in a month with nothing bought, the price of the
    products the agreement states a price for when they share one (None otherwise); product_prices: each
    product bought that month (SKU, units, its own price or None); rebate_per_unit: money per unit at
    the rates in force that month (None when a percent applies and nothing was bought);
    net_net_price: net price less rebate per unit; shortfall: the booked net units below the committed
    quantity (`is_shortfall`, as every surface counts it).
    """

    month: date
    accrued: bool
    units: Decimal | None
    eligible_amount: Decimal | None
    net_price: Decimal | None
    rebate_per_unit: Decimal | None
    net_net_price: Decimal | None
    monthly_rebate: Decimal
    cumulative_rebate: Decimal
    expected_rebate: Decimal | None
    shortfall: bool | None
    product_prices: tuple[tuple[str, Decimal, Decimal | None], ...] = ()
    # Parts of the month's rebate booked in a later month because the month was locked then: (the month
    # booked in, amount), oldest first. The month's figures above count them (they are what it earned).
    booked_later: tuple[tuple[date, Decimal], ...] = ()
    # The lines of the month sent in another unit than their product's base unit, per product and unit:
    # (SKU, unit, quantity as sent, the same in base units). Units above are always base units.
    units_sent: tuple[tuple[str, str, Decimal, Decimal], ...] = ()
    # The lines of the month sent in another currency than the customer's, per currency: (currency, amount as
    # sent, the same in the agreement's currency). Amounts above are always in the agreement's currency.
    currencies_sent: tuple[tuple[str, Decimal, Decimal], ...] = ()


@dataclass(frozen=True)
class AgreementStatement:
    agreement: RebateAgreement
    as_of: date
    committed_monthly_quantity: Decimal | None
    months: tuple[StatementMonth, ...]
    accrued_through: date | None = None  # the last accrued month (`_through`); None before any run
    shortfall_months: int = 0  # complete accrued months short (`shortfall_month_count`), as the dashboard counts
    # A referral rule's referred customers: (month, customer code, net purchases in scope) of each month in their
    # referral window, as the engine reads them (docs/rule-kinds.md: their code and amount only).
    referred: tuple[tuple[date, str, Decimal], ...] = ()
    # The base unit units, per-unit rates and tiers count in: the one of the products bought ("unit" when
    # they differ or nothing was bought).
    base_unit: str = "unit"
    # A buying group's agreement: the members' purchases that feed it and its split (rebates.groups).
    group: "GroupStatement | None" = None

    @property
    def total_units(self) -> Decimal:
        return sum((m.units for m in self.months if m.units is not None), Decimal("0"))

    @property
    def total_eligible_amount(self) -> Decimal:
        return sum((m.eligible_amount for m in self.months if m.eligible_amount is not None), Decimal("0.00"))

    @property
    def total_rebate(self) -> Decimal:
        return sum((m.monthly_rebate for m in self.months), Decimal("0.00"))


def quantized(value, step: Decimal) -> Decimal:
    """A figure read from the database with its column's places (0 for none)."""
    return exact(value, step).quantize(step)


def units_sent_by_month(agreement, months) -> tuple[dict[date, tuple], str]:
    """Per month of `months`: the agreement's lines sent in another unit than their product's base unit, as
    the agreement's statement tells them ((sku, unit, quantity in that unit, base units), ...); and the base
    unit of the products bought (the settlement statement's reading of `_statement_prices`)."""
    prices, base_unit = _statement_prices(agreement, months)
    return {month: prices[month][2] for month in months}, base_unit


def _statement_prices(agreement, months) -> tuple[dict[date, tuple[Decimal | None, tuple, tuple]], str]:
    """Per month: (net price, ((sku, units, price), ...), units sent) as StatementMonth tells them; and the
    base unit of the products bought. Two queries: the agreement's price steps (stated per product,
    discounts per line) and its purchases by month, product and the unit they were sent in."""
    stated, discounts = defaultdict(list), defaultdict(list)
    products = {}
    none = Value(None, output_field=BigIntegerField())
    steps = ContractPrice.objects.filter(agreement=agreement).order_by().values_list(
        "product_id", none, "effective_from", "net_price", "product__sku", "product__product_line_id",
        "product__list_price").union(
        LineDiscount.objects.filter(agreement=agreement).order_by().values_list(
            none, "product_line_id", "effective_from", "discount_percent", Value(""),
            none, Value(None, output_field=DecimalField(max_digits=14, decimal_places=4))), all=True)
    for product_id, line_id, effective_from, value, sku, product_line_id, list_price in steps:
        if product_id is not None:
            stated[product_id].append((effective_from, value))
            products[product_id] = (sku, product_line_id, list_price)
        else:
            discounts[line_id].append((effective_from, value))
    bought = defaultdict(dict)
    sent = defaultdict(list)
    in_currencies = defaultdict(lambda: defaultdict(lambda: [Decimal("0.00"), Decimal("0.00")]))
    base_units = set()
    for month, product_id, sku, line_id, list_price, base_unit, unit, currency, units, in_unit, amount, sent_amount in (
            PurchaseLine.objects.filter(covered_q(agreement)).order_by()
            .values_list("month", "product_id", "product__sku", "product__product_line_id", "product__list_price",
                         "product__base_unit", "unit", "currency")
            .annotate(units=Sum("quantity"), in_unit=Sum("quantity_in_unit"), amount_sum=Sum("amount"),
                      in_currency=Sum("amount_in_currency"))):
        products[product_id] = (sku, line_id, list_price)
        base_units.add(base_unit)
        bought[month][product_id] = bought[month].get(product_id, 0) + (units or 0)
        if unit and in_unit:
            sent[month].append((sku, unit, in_unit, units))
        if currency:
            in_currencies[month][currency][0] += sent_amount
            in_currencies[month][currency][1] += amount
    bought = {month: {pk: units for pk, units in by_product.items() if units} for month, by_product in bought.items()}

    def price(product_id, month):
        _, line_id, list_price = products[product_id]
        return price_in_force(stated=stated[product_id], discounts=discounts[line_id], list_price=list_price,
                              on=month)

    result = {}
    for month in months:
        rows = tuple((products[pk][0], units, price(pk, month)) for pk, units in sorted(
            bought.get(month, {}).items(), key=lambda item: products[item[0]][0]))
        priced = [(units, value) for _, units, value in rows if value is not None and units > 0]
        if priced:
            net = (sum(units * value for units, value in priced) / sum(units for units, _ in priced))
            net = net.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        else:
            found = {price(pk, month) for pk in stated} - {None}
            net = found.pop() if len(found) == 1 else None
        result[month] = (net, rows, tuple(sorted(sent.get(month, ()))),
                         tuple((currency, *figures) for currency, figures in sorted(in_currencies[month].items())))
    return result, base_units.pop() if len(base_units) == 1 else "unit"


def _last_run_as_of():
    """The latest as-of date a successful accrual run booked, as an SQL expression (null before any run)."""
    runs = AccrualRun.objects.filter(status=AccrualRun.Status.SUCCEEDED).order_by("-as_of").values("as_of")
    return Subquery(runs[:1], output_field=DateField())


def _through(latest: date | None, as_of: date) -> date | None:
    """The last accrued month: that of `latest`, the latest as-of date a successful accrual run booked
    (`_last_run_as_of`), but not after the month of `as_of`; None before any run succeeded. A later month is
    "not accrued yet": the ledger holds nothing for it to show, and no page, API or sheet guesses its figures."""
    return None if latest is None else min(month_of(latest), month_of(as_of))


def shortfall_month_count(*, units_by_month, committed, start: date, end: date, terminated_on: date | None,
                          as_of: date, through: date | None) -> int:
    """The shortfall months of an agreement: the months of its term (to termination) up to the last complete
    month before `as_of` and the last accrued month `through`, whose booked net units (`units_by_month`,
    credit notes counted; a month with nothing booked bought nothing) are below `committed` (`is_shortfall`).
    The one count the dashboard, the customer page and the agreement page show."""
    if through is None:
        return 0
    last = min(_term_end(end, terminated_on), add_months(month_of(as_of), -1), through)
    # The months come from the engine's cache: the night's thousands of agreements share a few terms.
    return sum(is_shortfall(units_by_month.get(month, NO_UNITS), committed) for month in months_from(start, last))


NO_UNITS = Decimal("0")


def _term_end(end_month: date, terminated_on: date | None) -> date:
    """The last month of a term: its end month, or the month the customer left."""
    return min(end_month, month_of(terminated_on)) if terminated_on else end_month


def term_months(agreement, last_month: date) -> list[date]:
    """The months of the agreement's term (to termination) up to `last_month`."""
    months, month = [], agreement.start_month
    while month <= min(_term_end(agreement.end_month, agreement.terminated_on), last_month):
        months.append(month)
        month = add_months(month, 1)
    return months


def agreement_statement(*, user, number, as_of=None, agreement=None) -> AgreementStatement:
    """The agreement's monthly sheet: every month of the term up to `as_of` (default today) and any month
    the ledger holds by then. Http404 for an agreement the user may not see (or that does not exist).
    `agreement`: the agreement numbered `number` as the page already read it through `visible_to(user)`
    (`agreement_for_page`: its terms are not read again)."""
    as_of = as_of or clock.today()
    if agreement is not None and agreement.number == number:
        found = agreement
    else:
        found = get_object_or_404(
            RebateAgreement.objects.visible_to(user).select_related("customer__account_manager", "program")
            .annotate(last_run_as_of=_last_run_as_of()),
            number=number,
        )
    last_month = month_of(as_of)
    # Per month the entries concern (what the month earned), and the parts of it booked in a later month
    # while it was locked: one grouped read by (month concerned, month booked in).
    booked: dict[date, dict] = {}
    booked_later: dict[date, list[tuple[date, Decimal]]] = {}
    for row in (LedgerEntry.objects.filter(agreement=found, kind__in=EARNED_KINDS, concerns__lte=last_month)
                .order_by("concerns", "period").values("concerns", "period")
                .annotate(units=booked_units(), eligible=Sum("eligible_amount"), amount=Sum("amount"))):
        held = booked.setdefault(row["concerns"], {"units": Decimal("0"), "eligible": Decimal("0"),
                                                   "amount": Decimal("0")})
        for figure in ("units", "eligible", "amount"):
            held[figure] += row[figure] or 0
        if row["period"] != row["concerns"]:
            booked_later.setdefault(row["concerns"], []).append((row["period"], row["amount"]))
    expected = {}
    if found is agreement:  # read by agreement_for_page, with its terms
        with_terms = [found] if _has_rule(found) else []
    else:
        with_terms = list(agreements_with_terms([found.pk]).filter(rule__isnull=False))
    referred = ()
    if with_terms:
        expected = {result.month: result for result in expected_ledger(with_terms, as_of=as_of)[found.pk]}
        if rule_kind(with_terms[0].rule.kind).reads_referral:
            referred = tuple((line.month, line.product, line.amount)
                             for line in referral_lines([agreement_input(with_terms[0])])[found.pk]
                             if line.month <= last_month)
    # No run books an agreement that no longer accrues (terminated, settled) or has not begun (draft): it
    # shows what its ledger holds, never a "next run" figure.
    accrues = found.status in ACCRUING_STATUSES
    all_months = sorted(set(term_months(found, last_month)) | set(expected) | set(booked))
    prices, base_unit = _statement_prices(found, all_months)
    committed = found.committed_monthly_quantity
    if not hasattr(found, "last_run_as_of"):  # read by the caller without it
        found.last_run_as_of = AccrualRun.objects.filter(status=AccrualRun.Status.SUCCEEDED).aggregate(
            latest=Max("as_of"))["latest"]
    through = _through(found.last_run_as_of, as_of)
    months = []
    cumulative = Decimal("0.00")
    for month in all_months:
        held = booked.get(month, {})
        result = expected.get(month)
        accrued = through is not None and month <= through
        units = quantized(held.get("units"), Decimal("0.001"))
        monthly = quantized(held.get("amount"), Decimal("0.01"))
        cumulative += monthly
        net_price, product_prices, units_sent, currencies_sent = prices[month]
        per_unit = result.rebate_per_unit if result is not None else None
        months.append(StatementMonth(
            month=month, accrued=accrued, units=units if accrued else None,
            eligible_amount=quantized(held.get("eligible"), Decimal("0.01")) if accrued else None,
            net_price=net_price, rebate_per_unit=per_unit,
            net_net_price=net_price - per_unit if net_price is not None and per_unit is not None else None,
            monthly_rebate=monthly, cumulative_rebate=cumulative,
            expected_rebate=result.amount if result is not None and accrues else None,
            shortfall=is_shortfall(units, committed) if accrued else None, product_prices=product_prices,
            booked_later=tuple(booked_later.get(month, ())),
            units_sent=units_sent, currencies_sent=currencies_sent,
        ))
    shortfall_months = shortfall_month_count(
        units_by_month={month: row["units"] for month, row in booked.items()}, committed=committed,
        start=found.start_month, end=found.end_month, terminated_on=found.terminated_on, as_of=as_of,
        through=through)
    return AgreementStatement(agreement=found, as_of=as_of, committed_monthly_quantity=committed,
                              months=tuple(months), accrued_through=through, shortfall_months=shortfall_months,
                              referred=referred, base_unit=base_unit,
                              group=group_statement(found, as_of=as_of) if found.customer.is_group else None)


# --- Page reads: the agreement page, the customer page and the dashboards --------------------------


def _has_rule(agreement) -> bool:
    try:
        agreement.rule  # noqa: B018 (read with the agreement: no query)
    except ObjectDoesNotExist:
        return False
    return True


def agreement_for_page(*, user, number):
    """One agreement the user may see with everything its page shows (terms as `agreements_with_terms` reads
    them for the engine, scope, price history), or 404."""
    return get_object_or_404(
        agreements_with_terms().visible_to(user)
        .select_related("customer__account_manager", "program")
        .prefetch_related("products", "product_lines",
                          Prefetch("prices", queryset=ContractPrice.objects.select_related("created_by", "product")))
        .annotate(last_run_as_of=_last_run_as_of(),  # for its statement's months not accrued yet
                  # Its balance in the same query (agreement_balance's figures): the page's query budget.
                  unpaid_balance=_balance_figure("unpaid", "pk"), forfeited_balance=_balance_figure("forfeited", "pk")),
        number=number,
    )


def agreement_line_discounts(*, agreement) -> list:
    """The discount steps of the agreement's line scope, oldest first (no query when its scope names no line:
    read with agreement_for_page)."""
    if not agreement.product_lines.all():
        return []
    return list(LineDiscount.objects.filter(agreement=agreement).select_related("created_by", "product_line")
                .order_by("effective_from", "pk"))


def agreement_unpaid(*, agreement) -> Decimal:
    """The agreement's ledger balance: accrued less paid and forfeited, what the customer forfeits by leaving."""
    return agreement_balance(agreement=agreement)["unpaid"]


def agreement_balance(*, agreement) -> dict[str, Decimal]:
    """In one query: `unpaid` (the ledger balance, forfeited if the customer left) and `forfeited` (what its
    termination forfeited, positive)."""
    figures = AgreementBalance.objects.filter(agreement=agreement).values("unpaid", "forfeited").first()
    if figures is None:
        return {"unpaid": Decimal("0.00"), "forfeited": Decimal("0.00")}
    return {"unpaid": figures["unpaid"], "forfeited": figures["forfeited"]}


def agreement_visible(*, user, number):
    """The agreement of that number if the user may see it, else None."""
    return RebateAgreement.objects.visible_to(user).filter(number=number).first()


def customer_purchases_by_month(*, user, customer):
    """The customer's purchases per month (all products): units, amount and lines, oldest month first."""
    from rebates.models import PurchaseLine

    return (
        PurchaseLine.objects.visible_to(user).filter(customer=customer).order_by("month").values("month")
        .annotate(units=Sum("quantity"), amount=Sum("amount"), lines=Count("id"))
    )


def agreements_shortfall_months(*, agreements, as_of=None) -> dict[int, int]:
    """Per agreement id of `agreements` (a queryset) with a commitment: its shortfall months
    (`shortfall_month_count`) as of `as_of` (default today). Two queries however many agreements."""
    return {pk: count for pk, _customer_id, count in _shortfall_counts(agreements, as_of or clock.today())}


def _shortfall_counts(agreements, as_of: date) -> list[tuple[int, int, int]]:
    """(agreement id, customer id, shortfall months) per agreement of `agreements` with a commitment."""
    last_complete = add_months(month_of(as_of), -1)
    committed = agreements.filter(committed_monthly_quantity__isnull=False, start_month__lte=last_complete)
    rows = list(committed.order_by().annotate(last_run=_last_run_as_of())
                .values_list("pk", "customer_id", "start_month", "end_month", "terminated_on",
                             "committed_monthly_quantity", "last_run"))
    through = _through(rows[0][6], as_of) if rows else None
    if through is None:
        return []
    booked = defaultdict(dict)
    for agreement_id, period, units in (
        # The agreements named by the same selection (a subquery), not as thousands of ids sent back.
        LedgerEntry.objects.filter(agreement_id__in=committed.order_by().values("pk"), kind__in=EARNED_KINDS,
                                   period__lte=min(last_complete, through))
        .order_by().values("agreement_id", "period").annotate(units=booked_units())
        .values_list("agreement_id", "period", "units")
    ):
        booked[agreement_id][period] = units
    return [(pk, customer_id, shortfall_month_count(units_by_month=booked[pk], committed=committed, start=start,
                                                    end=end, terminated_on=terminated_on, as_of=as_of,
                                                    through=through))
            for pk, customer_id, start, end, terminated_on, committed, _ in rows]


def customers_shortfall_months(*, user, as_of=None, customer_ids=None) -> dict[int, int]:
    """Per visible customer id: the shortfall months (`agreements_shortfall_months`) of their active
    agreements summed; only `customer_ids` when given. Two queries however many customers."""
    agreements = RebateAgreement.objects.visible_to(user).active()
    if customer_ids is not None:
        agreements = agreements.filter(customer_id__in=list(customer_ids))
    shortfall = defaultdict(int)
    for _pk, customer_id, count in _shortfall_counts(agreements, as_of or clock.today()):
        if count:
            shortfall[customer_id] += count
    return dict(shortfall)


def by_currency(rows, currency: str, **figures) -> dict[str, dict]:
    """`figures` (name=aggregate) of `rows` per currency (at the path `currency`), never across currencies:
    {currency: {name: value}}, by currency (an empty dict for no rows)."""
    grouped = rows.order_by().values(row_currency=F(currency)).annotate(**figures).order_by("row_currency")
    return {row.pop("row_currency"): row for row in grouped}


def counted_by_currency(rows, amount: str, currency: str) -> dict:
    """How many `rows`, and their `amount` per currency: {"count": n, "amount": {currency: sum},
    "counts": {currency: n}}."""
    figures = by_currency(rows, currency, count=Count("pk"), total=Coalesce(Sum(amount), ZERO))
    return {"count": sum(row["count"] for row in figures.values()),
            "amount": {code: row["total"] for code, row in figures.items()},
            "counts": {code: row["count"] for code, row in figures.items()}}


SETTLEMENT_CURRENCY = "agreement__customer__currency"


def settlement_totals(settlements, *, user) -> dict:
    """The totals of a selection of `settlements` (already narrowed to those `user` may see), as the
    settlements page shows them: how many and what they pay, per currency (`all`); and for a user who may
    approve or pay, how many of them and how much they may approve (`to_approve`) or pay (`to_pay`) now
    (None for a user who may not). Each is counted_by_currency's {"count", "amount", "counts"}."""
    return {
        "all": counted_by_currency(settlements, "amount", SETTLEMENT_CURRENCY),
        "to_approve": (counted_by_currency(settlements.approvable_by(user), "amount", SETTLEMENT_CURRENCY)
                       if user.has_perm("rebates.approve_settlement") else None),
        "to_pay": (counted_by_currency(settlements.payable_by(user), "amount", SETTLEMENT_CURRENCY)
                   if user.has_perm("rebates.pay_settlement") else None),
    }


def book_currencies() -> list[str]:
    """The currencies the book's amounts are in (its customers'), in order."""
    return sorted(Customer.objects.order_by().values_list("currency", flat=True).distinct())


def runs_booked(runs, *, several_currencies: bool = False) -> dict[int, dict[str, Decimal]]:
    """What each accrual run booked, per currency of the agreements it booked for: {run id: {currency: amount}}.
    A book in one currency takes the run's own total; a book in several the totals a succeeded run stored
    when it finished (its entries never change after that), and for the others (running, failed) a sum of
    their entries per currency (one grouped read of those runs' entries, by their run index).
    `several_currencies`: the caller already knows the book holds more than one currency (so its currencies
    need not be read)."""
    runs = list(runs)
    currencies = [] if several_currencies else book_currencies()
    if not several_currencies and len(currencies) <= 1:
        code = currencies[0] if currencies else settings.DEFAULT_CURRENCY
        return {run.pk: {code: run.total_amount} for run in runs}
    booked: dict[int, dict[str, Decimal]] = {}
    unstored = []
    for run in runs:
        if not (run.total_amount or run.entries_count):
            continue
        stored = run.booked_by_currency
        if stored is None:
            unstored.append(run.pk)
        booked[run.pk] = stored or {}
    if unstored:
        booked.update(LedgerEntry.objects.filter(accrual_run_id__in=unstored).booked_by_run_and_currency())
    return booked


def finance_overview(*, user, runs=8):
    """What finance looks at first: the last runs (each with what it booked per currency), the unpaid liability
    and forfeitures per currency (never one sum across currencies), the liability in the reporting currency
    at this month's rates, and the settlements waiting (count and amount per currency)."""
    from rebates.models import Settlement
    from rebates.reporting import in_reporting_currency

    # From the balances the ledger keeps in step, not a sum over every entry; each balance carries its
    # agreement's customer, so the currency is one join away (not through the agreements).
    ledger = by_currency(AgreementBalance.objects.visible_to(user), "customer__currency",
                         total=Coalesce(Sum("unpaid"), ZERO), forfeited=Coalesce(Sum("forfeited"), ZERO))
    liability = {code: row["total"] for code, row in ledger.items()}
    month = month_of(clock.today())
    reported = in_reporting_currency((month, code, amount) for code, amount in liability.items())
    last_runs = list(AccrualRun.objects.select_related("started_by").order_by("-created_at", "-id")[:runs])
    # Balances in two currencies already show the book holds several: no read of every customer's currency.
    booked = runs_booked(last_runs, several_currencies=len(liability) > 1)
    return {
        "runs": [(run, booked.get(run.pk, {})) for run in last_runs],
        "liability": liability,
        "liability_reported": {
            "currency": reported.currency, "month": month, "rates": reported.rates,
            "total": None if reported.missing else sum(reported.amounts, ZERO_MONEY),
            "shown": set(liability) != {reported.currency} and bool(liability)},
        "forfeited": {code: row["forfeited"] for code, row in ledger.items() if row["forfeited"]},
        **settlements_waiting(Settlement.objects.visible_to(user)),
    }


def settlements_waiting(settlements) -> dict[str, dict]:
    """The draft settlements ("drafts") and the approved ones ("approved") among `settlements`: each
    {"count": n, "amount": {currency: sum}} (only the currencies that have some, in order). One aggregate
    over the settlements alone, grouped by status and the currency each carries; the rows written without it
    (none, when every writer sets it) are summed through their agreement's customer, found by their index."""
    from rebates.models import Settlement

    waiting = {Settlement.Status.DRAFT: "drafts", Settlement.Status.APPROVED: "approved"}
    rows = settlements.filter(status__in=list(waiting)).order_by()
    figures = {"count": Count("pk"), "total": Coalesce(Sum("amount"), ZERO)}
    found = [*rows.filter(currency__isnull=False).values_list("status", "currency").annotate(**figures),
             *rows.filter(currency__isnull=True).values_list("status", "agreement__customer__currency")
             .annotate(**figures)]
    counts = {name: 0 for name in waiting.values()}
    amounts: dict[str, dict[str, Decimal]] = {name: {} for name in waiting.values()}
    for status, code, count, total in found:
        counts[waiting[status]] += count
        held = amounts[waiting[status]]
        held[code] = held.get(code, ZERO_MONEY) + total
    return {name: {"count": counts[name], "amount": dict(sorted(amounts[name].items()))} for name in waiting.values()}


@dataclass(frozen=True)
class CustomerFigures:
    active_agreements: int
    accrued_to_date: Decimal
    unpaid_balance: Decimal


NO_FIGURES = CustomerFigures(0, Decimal("0.00"), Decimal("0.00"))


def dashboard_figures(*, user, customer_ids=None) -> dict[int, CustomerFigures]:
    """Per visible customer id with an agreement (only `customer_ids` when given): active agreements, rebate
    accrued to date and unpaid balance, as `dashboard_customers` annotates them, in one grouped query over the
    agreements and their balances rather than a subquery per customer (which a large ledger makes slow)."""
    agreements = RebateAgreement.objects.visible_to(user)
    if customer_ids is not None:
        agreements = agreements.filter(customer_id__in=list(customer_ids))
    return {
        customer_id: CustomerFigures(active, accrued, unpaid)
        for customer_id, active, accrued, unpaid in agreements.order_by().values("customer_id").annotate(
            active=Count("id", filter=Q(status=RebateAgreement.Status.ACTIVE)),
            accrued=Coalesce(Sum("ledger_balance__accrued"), ZERO),
            unpaid=Coalesce(Sum("ledger_balance__unpaid"), ZERO)).values_list("customer_id", "active", "accrued",
                                                                             "unpaid")
    }


def claim_products(*, customer, on, search: str = "") -> list[tuple[Product, bool]]:
    """The products a price claim for `customer` (one the user may see, or None) may name on day `on`
    (`Product.objects.offered`), each with whether it is the customer's own: covered by one of its agreements
    (the product or its line in the scope) or bought by it. The customer's own come first, then the rest,
    each by SKU; `search` keeps those whose SKU or name holds every word of it."""
    products = Product.objects.offered(on=on, customer=customer).only("sku", "name")
    for word in search.split():
        products = products.filter(Q(sku__icontains=word) | Q(name__icontains=word))
    if customer is None:
        return [(product, False) for product in products.order_by("sku")]
    agreements = RebateAgreement.objects.filter(customer=customer)
    own = (Q(pk__in=agreements.filter(products__isnull=False).values("products"))
           | Q(product_line__in=agreements.filter(product_lines__isnull=False).values("product_lines"))
           | Q(pk__in=PurchaseLine.objects.filter(customer=customer).values("product")))
    products = products.annotate(own=ExpressionWrapper(own, output_field=BooleanField())).order_by("-own", "sku")
    return [(product, product.own) for product in products]


def customer_list(*, user):
    """The customers the user may see with each one's rebate accrued to date and unpaid balance (over all its
    agreements), for the customers list: one grouped query, sortable and totalled by those figures."""
    return (Customer.objects.visible_to(user).select_related("segment", "account_manager")
            .annotate(accrued=Coalesce(Sum("agreements__ledger_balance__accrued"), ZERO),
                      unpaid=Coalesce(Sum("agreements__ledger_balance__unpaid"), ZERO)))


def dashboard_customer_list(*, user):
    """The user's customers for the dashboard, by name, without per-row figures (see dashboard_figures)."""
    return Customer.objects.visible_to(user).select_related("segment", "account_manager").order_by("name", "code")
