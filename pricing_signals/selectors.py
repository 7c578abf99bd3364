"""Reads of market signals: every function takes the user and starts from `visible_to(user)`.

- claims: the user's customers' claims only (an account manager never sees another's);
- signals: market-level facts (product, window, how many customers, median price) that everyone with
  the view permission sees, while the claims behind them stay filtered by customer;
- a claim's net-net price and the customer's credibility, computed for many claims in a fixed number
  of queries; a signal's exposure as one query.
"""

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, F, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.shortcuts import get_object_or_404

from config import clock
from customers.models import Customer
from pricing_signals import sql
from pricing_signals.models import MarketSignal, PriceClaim
from pricing_signals.prices import current_net_price
from rebates import engine
from rebates.engine.money import DecimalInputError, parse_price
from rebates.engine.periods import add_months, month_of
from rebates.models import ContractPrice, LineDiscount, Product, PurchaseLine, RebateAgreement
from rebates.prices import price_in_force, product_prices
from rebates.scope import AgreementScope, covering_q, covers, in_term_at_q, scope_rows
from rebates.selectors import agreement_unpaid_rebate
from rebates.terms import agreement_inputs, expected_ledger

VIEW_SIGNALS = "pricing_signals.view_marketsignal"
PERCENT_STEP = Decimal("0.1")
# Exposure shows the average monthly units of the last complete months before the as-of month.
VOLUME_MONTHS = 3
_MONEY = DecimalField(max_digits=16, decimal_places=2)
_QUANTITY = DecimalField(max_digits=14, decimal_places=3)


def claims_visible(*, user):
    """The price claims of the user's customers, newest first, with what a list shows."""
    return (PriceClaim.objects.visible_to(user)
            .select_related("customer", "customer__account_manager", "product", "competitor", "reported_by",
                            "signal"))


def claim_for_user(*, user, pk):
    """One claim the user may see, or 404 (never a hint that someone else's exists)."""
    return get_object_or_404(claims_visible(user=user), pk=pk)


def signals_visible(*, user):
    """Market signals, newest window first; none for a user without the view permission. A signal
    merged into another stays listed, pointing at it."""
    if user is None or not user.is_authenticated or not user.has_perm(VIEW_SIGNALS):
        return MarketSignal.objects.none()
    return MarketSignal.objects.select_related("product", "competitor", "decided_by", "merged_into")


def signal_for_user(*, user, pk):
    return get_object_or_404(signals_visible(user=user), pk=pk)


def signal_claims(*, user, signal):
    """The claims behind a signal that the user may see, oldest first."""
    return claims_visible(user=user).filter(signal=signal).order_by("reported_on", "pk")


# --- Net-net price -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetNet:
    """A claim against the customer's own price: the agreement covering the product on the claim's date,
    its contract net price then, the rebate per unit it earns at the customer's volume to date, and
    net_net_price = contract price - rebate per unit. `undercuts` is False when the claimed price is at
    or above net-net: the competitor is not cheaper at all."""

    agreement: RebateAgreement
    contract_price: Decimal
    rebate_per_unit: Decimal
    net_net_price: Decimal
    claimed_price: Decimal

    @property
    def undercuts(self) -> bool:
        return self.claimed_price < self.net_net_price

    @property
    def gap(self) -> Decimal:
        """How much below net-net the claim is (negative when above)."""
        return self.net_net_price - self.claimed_price


def claim_net_net(*, user, claim) -> NetNet | None:
    """The net-net figures of one claim the user may see; None when no agreement covers the product."""
    claim = claim_for_user(user=user, pk=claim.pk)
    return claims_net_net([claim]).get(claim.pk)


_NET_NET_AGREEMENT_FIELDS = ("id", "number", "customer_id", "status", "start_month", "end_month")


def _agreement_as_read(**values) -> RebateAgreement:
    """An agreement from the values read of it, its other fields deferred (as `.only()` gives it)."""
    fields = [field.attname for field in RebateAgreement._meta.concrete_fields if field.attname in values]
    return RebateAgreement.from_db(RebateAgreement.objects.db, fields, [values[name] for name in fields])


def claims_net_net(claims) -> dict[int, NetNet]:
    """Net-net figures per claim id, for claims already read through `visible_to` (a fixed number of
    queries however many claims). The rebate per unit comes from the rebates engine: the rates in force
    in the latest month bought up to the claim's month (this month's purchases usually arrive later),
    priced at the contract net price in force on the claim's date."""
    claims = list(claims)
    if not claims:
        return {}
    customers = {claim.customer_id for claim in claims}
    products = {pk: (line_id, list_price) for pk, line_id, list_price in Product.objects.filter(
        pk__in={claim.product_id for claim in claims}).values_list("pk", "product_line_id", "list_price")}
    line_of = {pk: line_id for pk, (line_id, _) in products.items()}
    # The customers' agreements whose scope names a claim's product or line, with what it names of them, read
    # as plain values (rather than every product of every agreement as model instances); the terms are read
    # afterwards for the agreements chosen, as the engine's values (agreement_inputs: no model instances).
    candidates = (RebateAgreement.objects.filter(customer_id__in=customers, rule__isnull=False)
                  .exclude(status=RebateAgreement.Status.DRAFT).order_by())
    read, named_products, named_lines = {}, defaultdict(set), defaultdict(set)
    for pk, number, customer_id, status, start, end, product_id, line_id in scope_rows(
            candidates, product_ids=products, product_line_ids=set(line_of.values()),
            fields=_NET_NET_AGREEMENT_FIELDS):
        read[pk] = (customer_id, status == RebateAgreement.Status.ACTIVE, start, end, number, status)
        if product_id is not None:
            named_products[pk].add(product_id)
        else:
            named_lines[pk].add(line_id)
    by_customer = defaultdict(list)
    for pk in sorted(read):  # in pk order: of equals, the first read is chosen
        customer_id, active, start, end, *_ = read[pk]
        by_customer[customer_id].append((pk, active, AgreementScope(
            customer_id, start, end, frozenset(named_products[pk]), frozenset(named_lines[pk]))))
    chosen_id = {}
    for claim in claims:
        month = month_of(claim.reported_on)
        covering = [(pk, active, scope) for pk, active, scope in by_customer[claim.customer_id]
                    if covers(scope, claim.product_id, line_of[claim.product_id], month)]
        if covering:
            # An active agreement first, then the one that started last.
            chosen_id[claim.pk] = max(covering, key=lambda row: (row[1], row[2].start_month))[0]
    if not chosen_id:
        return {}
    inputs = {a.pk: a for a in agreement_inputs(sorted(set(chosen_id.values())))}
    # The agreement a figure names, as read (its other fields load if ever asked for).
    agreements = {pk: _agreement_as_read(id=pk, number=read[pk][4], customer_id=read[pk][0], status=read[pk][5],
                                         start_month=read[pk][2], end_month=read[pk][3]) for pk in inputs}
    chosen = {claim_pk: agreements[pk] for claim_pk, pk in chosen_id.items()}
    stated, discounts = defaultdict(list), defaultdict(list)
    for agreement_id, product_id, effective_from, net_price in (
        ContractPrice.objects.filter(agreement_id__in=agreements, product_id__in=products)
        .values_list("agreement_id", "product_id", "effective_from", "net_price")
    ):
        stated[agreement_id, product_id].append((effective_from, net_price))
    for agreement_id, line_id, effective_from, percent in (
        LineDiscount.objects.filter(agreement_id__in=agreements)
        .values_list("agreement_id", "product_line_id", "effective_from", "discount_percent")
    ):
        discounts[agreement_id, line_id].append((effective_from, percent))
    latest = max(claim.reported_on for claim in claims)
    ledgers = expected_ledger(list(inputs.values()), as_of=latest)
    result = {}
    for claim in claims:
        agreement = chosen.get(claim.pk)
        if agreement is None:
            continue
        line_id, list_price = products[claim.product_id]
        contract_price = price_in_force(stated=stated[agreement.pk, claim.product_id],
                                        discounts=discounts[agreement.pk, line_id], list_price=list_price,
                                        on=claim.reported_on)
        if contract_price is None:
            continue
        month = claim.reported_on.replace(day=1)
        months = [r for r in ledgers.get(agreement.pk, ()) if r.month <= month]
        while len(months) > 1 and not months[-1].quantity:
            months.pop()
        per_unit = engine.rebate_per_unit(inputs[agreement.pk].terms, tuple(months), unit_price=contract_price)
        result[claim.pk] = NetNet(agreement=agreement, contract_price=contract_price, rebate_per_unit=per_unit,
                                  net_net_price=contract_price - per_unit, claimed_price=claim.claimed_price)
    return result


# --- Credibility ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credibility:
    """How often a customer's claims turned out true: corroborated out of judged (corroborated,
    unsubstantiated or dismissed; pending claims are not judged yet). `percent` is None with nothing judged."""

    corroborated: int
    judged: int

    @property
    def percent(self) -> Decimal | None:
        if not self.judged:
            return None
        return (Decimal(100 * self.corroborated) / self.judged).quantize(PERCENT_STEP, rounding=ROUND_HALF_UP)


JUDGED = (PriceClaim.Status.CORROBORATED, PriceClaim.Status.UNSUBSTANTIATED, PriceClaim.Status.DISMISSED)


def customer_credibility(*, user, customer, as_of: date | None = None) -> Credibility:
    """The customer's credibility from their claims reported up to `as_of` (all when None)."""
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=customer.pk)
    claims = PriceClaim.objects.filter(customer=customer, status__in=JUDGED)
    if as_of is not None:
        claims = claims.filter(reported_on__lte=as_of)
    statuses = list(claims.values_list("status", flat=True))
    return Credibility(statuses.count(PriceClaim.Status.CORROBORATED), len(statuses))


def claims_credibility(claims) -> dict[int, Credibility]:
    """Per claim id: the customer's credibility from their other claims reported on or before it, so a
    habitual bluffer shows at once beside a new claim. One query however many claims."""
    claims = list(claims)
    history = defaultdict(list)
    for customer_id, pk, reported_on, status in (
        PriceClaim.objects.filter(customer_id__in={c.customer_id for c in claims}, status__in=JUDGED)
        .order_by().values_list("customer_id", "pk", "reported_on", "status")
    ):
        history[customer_id].append((pk, reported_on, status))
    result = {}
    for claim in claims:
        past = [status for pk, reported_on, status in history[claim.customer_id]
                if pk != claim.pk and reported_on <= claim.reported_on]
        result[claim.pk] = Credibility(past.count(PriceClaim.Status.CORROBORATED), len(past))
    return result


# --- Exposure ------------------------------------------------------------------------------------


def signal_exposure(*, user, signal, as_of: date | None = None):
    """Every other active agreement covering the signal's product in the month of `as_of` (default today)
    that actually prices the product (a stated price, or its line's discount on a product the customer
    bought in the term: rebates.prices) at a contract net price in force on `as_of` above the signal's
    median price: the agreements of
    customers who might be offered the same price, the claimants' own excluded (`_exposed`). Each row carries
    `net_price`, `monthly_volume` (average units of the product a month over the last VOLUME_MONTHS complete
    months), `unpaid_rebate` (the ledger balance: accrued less paid and forfeited) and
    `customer__account_manager`. One query, largest rebate at stake first."""
    as_of = as_of or clock.today()
    this_month = month_of(as_of)
    bought = (
        PurchaseLine.objects.filter(customer=OuterRef("customer_id"), product_id=signal.product_id,
                                    month__gte=add_months(this_month, -VOLUME_MONTHS), month__lt=this_month)
        .order_by().values("customer").annotate(units=Sum("quantity")).values("units")
    )
    zero_units = Value(Decimal("0"), output_field=_QUANTITY)
    line = Product.objects.filter(pk=signal.product_id).values("product_line_id")
    return (
        _exposed(_exposable(user).annotate(net_price=current_net_price(signal.product_id, as_of)), signal_id=signal.pk,
                 product_id=signal.product_id, product_line_id=line, median_price=signal.median_price, as_of=as_of)
        .annotate(
            monthly_volume=Round(Coalesce(Subquery(bought, output_field=_QUANTITY), zero_units) / VOLUME_MONTHS,
                                 precision=3, output_field=_QUANTITY),
            unpaid_rebate=agreement_unpaid_rebate(),
        )
        # Only what the page and the API show of each row: a best seller's signal exposes hundreds.
        .select_related("customer", "customer__account_manager")
        .only(*EXPOSURE_FIELDS)
        .order_by("-unpaid_rebate", "number")
    )


EXPOSURE_FIELDS = ("number", "customer_id", "customer__code", "customer__name", "customer__account_manager_id",
                   "customer__account_manager__username", "customer__account_manager__first_name",
                   "customer__account_manager__last_name")


@dataclass(frozen=True)
class ExposureRow:
    """One row of `signal_exposure` as a signal's page shows it, read as plain values: `manager` is the
    account manager's full name (else username; empty when the customer has none)."""

    number: str
    customer_id: int
    customer_name: str
    customer_code: str
    manager: str
    net_price: Decimal
    monthly_volume: Decimal
    unpaid_rebate: Decimal


EXPOSURE_ROW_COLUMNS = ("number", "customer_id", "customer__name", "customer__code",
                        "customer__account_manager__username", "customer__account_manager__first_name",
                        "customer__account_manager__last_name", "net_price", "monthly_volume", "unpaid_rebate")


def signal_exposure_rows(*, user, signal, as_of: date | None = None) -> list[ExposureRow]:
    """`signal_exposure`'s rows, in its order, as plain values: a best seller's signal exposes hundreds of
    agreements, whose model instances (agreement, customer, manager) cost the page more than the query. The
    query is `signal_exposure`'s own, compiled once per process for each visibility (`exposure_statement`)."""
    as_of = as_of or clock.today()
    if _exposable(user).query.is_empty():  # nobody the user may see
        return []
    statement, params = exposure_statement(user=user, signal_id=signal.pk, product_id=signal.product_id,
                                           median_price=signal.median_price, as_of=as_of)
    return [ExposureRow(number, customer_id, name, code, f"{first} {last}".strip() or username or "", net_price,
                        volume, unpaid)
            for number, customer_id, name, code, username, first, last, net_price, volume, unpaid
            in sql.statement_rows(statement, params)]


@dataclass(frozen=True)
class _MarkedSignal:
    """A signal standing for any: the values it carries mark where a real signal's go in a compiled query."""

    pk: int
    product_id: int
    median_price: Decimal


# Values no signal, product, price or day takes, so each parameter of the compiled query that equals one is known
# to be that input (or, for the days, the month and the first volume month derived from it).
_MARKS = _MarkedSignal(pk=-730_100_002, product_id=-730_100_001, median_price=Decimal("-730100.0003"))
_MARKED_DAY = date(1903, 7, 19)
_EXPOSURE_STATEMENTS: dict[tuple, tuple[str, list]] = {}


def exposure_statement(*, user, signal_id: int, product_id: int, median_price: Decimal, as_of: date
                       ) -> tuple[str, list]:
    """The SQL and parameters of `signal_exposure(...).values_list(*EXPOSURE_ROW_COLUMNS)` for these inputs,
    equal to what Django compiles for them (tests pin the two together), without building and compiling the
    queryset on each request (about half a signal page's Python time): the queryset is compiled once per
    process and per visibility (the SQL and parameters of `_exposable(user)`, so a manager's own filter is
    part of it) with marked inputs, and each parameter that is a marked input takes the real one."""
    shape_sql, shape_params = _exposable(user).query.sql_with_params()
    key = (shape_sql, tuple(shape_params))
    compiled = _EXPOSURE_STATEMENTS.get(key)
    if compiled is None:
        statement, params = (signal_exposure(user=user, signal=_MARKS, as_of=_MARKED_DAY)
                             .values_list(*EXPOSURE_ROW_COLUMNS).query.sql_with_params())
        compiled = _EXPOSURE_STATEMENTS[key] = (statement, [_slot(param) for param in params])
    statement, slots = compiled
    month = month_of(as_of)
    inputs = {"signal": signal_id, "product": product_id, "median": median_price, "day": as_of, "month": month,
              "volume_from": add_months(month, -VOLUME_MONTHS)}
    return statement, [inputs[name] if name is not None else value for name, value in slots]


def _slot(param) -> tuple[str | None, object]:
    """(the input a compiled parameter stands for, else None; the parameter as compiled)."""
    month = month_of(_MARKED_DAY)
    marks = {(int, _MARKS.pk): "signal", (int, _MARKS.product_id): "product",
             (Decimal, _MARKS.median_price): "median", (date, _MARKED_DAY): "day", (date, month): "month",
             (date, add_months(month, -VOLUME_MONTHS)): "volume_from"}
    name = marks.get((type(param), param))
    if name is None and isinstance(param, date):
        raise ValueError(f"the exposure query holds a day not derived from its inputs: {param}")
    return name, param


def _exposable(user):
    """The agreements exposure reads: active ones the user may see."""
    return RebateAgreement.objects.visible_to(user).active().order_by()


def _exposed(agreements, *, signal_id, product_id, product_line_id, median_price, as_of: date):
    """The exposure rule that the signal's page and the pricing dashboard's totals read: of `agreements` (with
    their `net_price` in force on `as_of`), those covering the product (of `product_line_id`, an id or a
    subquery) in the month of `as_of`, not of a customer whose claim is behind the signal, priced above the
    signal's median. The dashboard's customer rows apply the same rule to many signals at once
    (`open_signals_by_customer`, with `covers` and `_exposure_holds`); tests pin the two together."""
    return agreements.filter(
        covering_q(product_ids=[product_id], product_line_ids=product_line_id, month=month_of(as_of)),
        ~Q(customer_id__in=PriceClaim.objects.filter(signal_id=signal_id).values("customer_id")),
        net_price__gt=median_price,
    )


def exposure_total(rows) -> dict[str, Decimal | int]:
    """Agreements, customers and unpaid rebate at stake over exposure rows."""
    rows = list(rows)
    return {"agreements": len(rows), "customers": len({row.customer_id for row in rows}),
            "unpaid_rebate": sum((row.unpaid_rebate for row in rows), Decimal("0.00"))}


def signals_exposure_totals(*, user, signals, as_of: date | None = None,
                            by_currency: bool = False) -> dict[int, dict[str, Decimal | int]]:
    """Per signal id: `exposure_total(signal_exposure(user=user, signal=signal, as_of=as_of))`, the same
    agreements, customers and unpaid rebate under the same rules (the user's own customers only for an
    account manager), for many signals at once: one aggregate query, a part per signal counted and summed
    in the database, so no agreement row comes back (and one more to read the products' lines when the
    signals were not read with their product; on PostgreSQL one more to keep JIT compilation off).
    `by_currency` adds `unpaid_by_currency`, the unpaid rebate per currency of the customers (the parts are
    then grouped by currency too: a customer has one, so the counts add up).

    Each part is `exposure_totals_part`'s queryset for its signal, compiled once per process and per shape
    (`exposure_totals_statement`), as the signal page's exposure is."""
    signals = list(signals)
    if not signals:
        return {}
    as_of = as_of or clock.today()
    if all(MarketSignal.product.is_cached(signal) for signal in signals):  # read with their product
        line_of = {signal.product_id: signal.product.product_line_id for signal in signals}
    else:
        line_of = dict(Product.objects.filter(pk__in={signal.product_id for signal in signals})
                       .values_list("pk", "product_line_id"))
    if _exposable(user).query.is_empty():  # nobody the user may see: as the union of empty parts reads
        return {signal.pk: {"agreements": 0, "customers": 0, "unpaid_rebate": Decimal("0.00"),
                            "unpaid_by_currency": {}} for signal in signals} if by_currency else {}
    statement, params, columns = exposure_totals_statement(
        user=user, signals=[(signal.pk, signal.product_id, line_of.get(signal.product_id), signal.median_price)
                            for signal in signals], as_of=as_of, by_currency=by_currency)
    with _without_jit():
        rows = [dict(zip(columns, row, strict=True)) for row in sql.statement_rows(statement, params)]
    if not by_currency:
        return {row["signal_id"]: {"agreements": row["agreements"], "customers": row["customers"],
                                   "unpaid_rebate": row["unpaid_rebate"]} for row in rows}
    # A signal exposing nothing has no row grouped by currency: its totals stay at nothing.
    found = {signal.pk: {"agreements": 0, "customers": 0, "unpaid_rebate": Decimal("0.00"),
                         "unpaid_by_currency": {}} for signal in signals}
    for row in rows:
        held = found[row["signal_id"]]
        held["agreements"] += row["agreements"]
        held["customers"] += row["customers"]
        held["unpaid_rebate"] += row["unpaid_rebate"]
        held["unpaid_by_currency"][row["currency"]] = row["unpaid_rebate"]
    return found


def exposure_totals_part(*, user, signal_id: int, product_id: int, product_line_id: int | None,
                          median_price: Decimal, as_of: date, by_currency: bool):
    """One signal's part of `signals_exposure_totals`: its exposed agreements the user may see, counted with
    their customers and their unpaid rebate summed (per currency of the customers when `by_currency`)."""
    zero = Value(Decimal("0.00"), output_field=_MONEY)
    # What every part shares: the agreements the user may see with their balance; the price is the product's.
    balanced = _exposable(user).alias(unpaid=agreement_unpaid_rebate())
    totals = {"agreements": Count("pk"), "customers": Count("customer_id", distinct=True),
              "unpaid_rebate": Coalesce(Sum("unpaid", output_field=_MONEY), zero)}
    return (_exposed(balanced.alias(net_price=current_net_price(product_id, as_of)), signal_id=signal_id,
                     product_id=product_id, product_line_id=[product_line_id], median_price=median_price,
                     as_of=as_of)
            .values(signal_id=Value(signal_id), **({"currency": F("customer__currency")} if by_currency else {}))
            .annotate(**totals))


# A product line no product is in: marks where a signal's product line goes in a compiled part.
_MARKED_LINE = -730_100_004
_EXPOSURE_TOTALS_STATEMENTS: dict[tuple, tuple[str, list, list[str]]] = {}


def exposure_totals_statement(*, user, signals: list[tuple[int, int, int | None, Decimal]], as_of: date,
                              by_currency: bool) -> tuple[str, list, list[str]]:
    """The SQL, parameters and column names of the union of `exposure_totals_part` for these signals (each
    given as (signal id, product id, product line id or None, median price)), equal to what Django compiles
    for them (tests pin the two together), without building and compiling a queryset per signal on each
    request (most of the pricing dashboard's Python time): each part's shape (the visibility, with or
    without a product line, per currency or not) is compiled once per process with marked inputs, as
    `exposure_statement` does, and each parameter that is a marked input takes the real one."""
    shape_sql, shape_params = _exposable(user).query.sql_with_params()
    month = month_of(as_of)
    statements, params = [], []
    for signal_id, product_id, line_id, median_price in signals:
        key = (shape_sql, tuple(shape_params), line_id is not None, by_currency)
        compiled = _EXPOSURE_TOTALS_STATEMENTS.get(key)
        if compiled is None:
            part = exposure_totals_part(user=user, signal_id=_MARKS.pk, product_id=_MARKS.product_id,
                                         product_line_id=_MARKED_LINE if line_id is not None else None,
                                         median_price=_MARKS.median_price, as_of=_MARKED_DAY,
                                         by_currency=by_currency)
            statement, marked = part.query.sql_with_params()
            columns = [*part.query.values_select, *part.query.annotation_select]
            compiled = _EXPOSURE_TOTALS_STATEMENTS[key] = (statement, [_totals_slot(p) for p in marked], columns)
        statement, slots, columns = compiled
        inputs = {"signal": signal_id, "product": product_id, "line": line_id, "median": median_price,
                  "day": as_of, "month": month}
        statements.append(statement)
        params.extend(inputs[name] if name is not None else value for name, value in slots)
    if len(statements) == 1:
        return statements[0], params, columns
    return " UNION ALL ".join(f"({statement})" for statement in statements), params, columns


def _totals_slot(param) -> tuple[str | None, object]:
    """As `_slot`, for a part of the exposure totals: its product line is an input too, and no volume month."""
    if type(param) is int and param == _MARKED_LINE:
        return "line", param
    name, param = _slot(param)
    if name == "volume_from":
        raise ValueError(f"the exposure totals hold a day not derived from their inputs: {param}")
    return name, param


@contextmanager
def _without_jit():
    """A transaction (the caller's, when there is one: no savepoint) without JIT compilation. PostgreSQL's
    planner compiles a statement whose estimated cost passes jit_above_cost, and a union of a part per signal
    passes it as soon as the statistics are thin or the signals many: the compiling then takes longer than
    the query (seconds, on data just loaded), for a page that runs in milliseconds."""
    with transaction.atomic(savepoint=False):
        sql.jit_off()
        yield


# --- A match, checked and previewed before it is recorded ------------------------------------------------

MONEY_STEP = Decimal("0.01")


def match_request_checked(*, user, signal, match_price, effective_from, agreements) -> tuple[Decimal, date, list]:
    """A match request read and checked, as both its preview and its decision take it: the new unit price
    (a Decimal or decimal string, more than zero), the first month it applies from (a first of a month), and
    the chosen agreements (rows or numbers: active ones the user may see covering the signal's product), in
    primary-key order. Raises ValidationError naming every field that is wrong."""
    errors = {}
    try:
        match_price = parse_price(match_price, places=4, digits=14)
    except DecimalInputError as error:
        errors["match_price"] = str(error)
    if not isinstance(effective_from, date) or isinstance(effective_from, datetime):
        errors["effective_from"] = "Give the first month the matched price applies to."
    elif effective_from.day != 1:
        errors["effective_from"] = f"A price changes from the first of a month, not {effective_from.isoformat()}."
    wanted = [a.number if isinstance(a, RebateAgreement) else str(a) for a in agreements or ()]
    chosen = []
    if not wanted:
        errors["agreements"] = "Choose the agreements whose price is matched."
    else:
        covering = (RebateAgreement.objects.visible_to(user).active().covering(signal.product)
                    .filter(number__in=wanted).select_related("customer"))
        found = {agreement.number: agreement for agreement in covering}
        missing = [number for number in wanted if number not in found]
        if missing:
            errors["agreements"] = (f"Not an active agreement covering {signal.product.sku}: "
                                    f"{', '.join(sorted(set(missing)))}.")
        chosen = sorted(found.values(), key=lambda agreement: agreement.pk)
    if errors:
        raise ValidationError(errors)
    return match_price, effective_from, chosen


@dataclass(frozen=True)
class MatchPreviewRow:
    """What matching would do to one chosen agreement: its price of the signal's product in force in the
    effective month now (None: it prices the product at no price yet) and the matched one, the change in
    percent, a month's volume (average units of the product a month over the last VOLUME_MONTHS complete
    months) and its effect in money a month ((new - current) x volume, to the cent: negative is revenue
    given up). `warning`: the price falls by more than the stated percent. `problem`: why the match would
    be refused for this agreement (recording it changes nothing then)."""

    agreement: RebateAgreement
    current_price: Decimal | None
    new_price: Decimal
    change_percent: Decimal | None
    monthly_volume: Decimal
    monthly_effect: Decimal | None
    warning: str
    problem: str


@dataclass(frozen=True)
class MatchPreview:
    signal: MarketSignal
    match_price: Decimal
    effective_from: date
    warning_percent: Decimal
    rows: tuple[MatchPreviewRow, ...]

    @property
    def monthly_effect(self) -> Decimal:
        return sum((row.monthly_effect for row in self.rows if row.monthly_effect is not None), Decimal("0.00"))

    @property
    def warnings(self) -> int:
        return sum(1 for row in self.rows if row.warning)

    @property
    def problems(self) -> int:
        return sum(1 for row in self.rows if row.problem)


def market_signal_match_preview(*, user, signal, match_price, effective_from, agreements,
                                as_of: date | None = None) -> MatchPreview:
    """What a match would change, agreement by agreement, without changing anything: only the signal's
    product in each chosen agreement (MatchPreviewRow). Volumes are of the complete months before the month
    of `as_of` (default today); a drop above settings.MATCH_DROP_WARNING_PERCENT is warned about. Raises
    ValidationError as `match_request_checked`. Five queries however many agreements."""
    match_price, effective_from, chosen = match_request_checked(user=user, signal=signal, match_price=match_price,
                                                                effective_from=effective_from, agreements=agreements)
    limit = Decimal(settings.MATCH_DROP_WARNING_PERCENT)
    this_month = month_of(as_of or clock.today())
    product = signal.product
    current = product_prices([(agreement.pk, product.pk) for agreement in chosen], on=effective_from)
    taken = set(ContractPrice.objects.filter(agreement__in=chosen, product=product, effective_from=effective_from)
                .values_list("agreement_id", flat=True))
    bought = dict(PurchaseLine.objects.filter(
        customer_id__in={agreement.customer_id for agreement in chosen}, product=product,
        month__gte=add_months(this_month, -VOLUME_MONTHS), month__lt=this_month)
        .order_by().values("customer_id").annotate(units=Sum("quantity")).values_list("customer_id", "units"))
    rows = []
    for agreement in chosen:
        price = current.get((agreement.pk, product.pk))
        volume = (bought.get(agreement.customer_id) or Decimal("0")) / VOLUME_MONTHS
        volume = volume.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        change = effect = None
        warning = problem = ""
        if price is not None:
            change = ((match_price - price) * 100 / price).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
            effect = ((match_price - price) * volume).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
            if -change > limit:
                warning = f"The price of {product.sku} falls by {-change}%, more than {limit}%."
        if not agreement.start_month <= effective_from <= agreement.end_month:
            problem = (f"{effective_from:%Y-%m} is outside the term ({agreement.start_month:%Y-%m} to "
                       f"{agreement.end_month:%Y-%m}).")
        elif agreement.pk in taken:
            problem = f"{product.sku} already has a price change from {effective_from:%Y-%m}; pick another month."
        rows.append(MatchPreviewRow(agreement=agreement, current_price=price, new_price=match_price,
                                    change_percent=change, monthly_volume=volume, monthly_effect=effect,
                                    warning=warning, problem=problem))
    return MatchPreview(signal=signal, match_price=match_price, effective_from=effective_from,
                        warning_percent=limit, rows=tuple(rows))


def signal_decisions(*, user, signal):
    """Every decision on the signal, newest first (the one in force, superseded by none, among them), with
    the matched agreements the user may see."""
    return (signal.decisions.select_related("decided_by")
            .prefetch_related(Prefetch("agreements", queryset=RebateAgreement.objects.visible_to(user)
                                       .order_by("number")))
            .order_by("-decided_at", "-pk"))


__all__ = [
    "CoveringAgreement",
    "Credibility",
    "MatchPreview",
    "MatchPreviewRow",
    "CustomerSignal",
    "NetNet",
    "claim_for_user",
    "claim_net_net",
    "claims_credibility",
    "claims_net_net",
    "claims_visible",
    "customer_credibility",
    "exposure_total",
    "market_signal_match_preview",
    "match_request_checked",
    "signal_claims",
    "signal_decisions",
    "signal_exposure",
    "signal_for_user",
    "signals_exposure_totals",
    "signals_visible",
]


# --- Page reads: dashboards and the signals timeline ------------------------------------------------

OPEN_STATUSES = (MarketSignal.Status.OPEN, MarketSignal.Status.ACKNOWLEDGED)


def open_signals(*, user):
    """Signals still waiting for a decision (open or acknowledged, not merged into another), newest first."""
    return (signals_visible(user=user).filter(status__in=OPEN_STATUSES, merged_into__isnull=True)
            .order_by("-window_end", "-pk"))


@dataclass(frozen=True, slots=True)
class OpenSignal:
    """What a dashboard row shows of an open signal, read as plain values."""

    pk: int
    product_id: int
    sku: str
    product_line_id: int | None
    median_price: Decimal


def open_signal_list(*, user) -> list[OpenSignal]:
    """The user's open signals (as `open_signals`, newest first) as plain values: one query, no model objects."""
    return [OpenSignal(*values) for values in open_signals(user=user).select_related(None)
            .values_list("pk", "product_id", "product__sku", "product__product_line_id", "median_price")]


@dataclass(frozen=True, slots=True)
class CustomerSignal:
    """An open signal beside a customer: either the customer is exposed to it (listed in the signal's
    exposure table) or the customer's own claims are behind it (`claimed`)."""

    signal: OpenSignal
    claimed: bool


def open_signals_by_customer(*, user, customer_ids=None, signals=None,
                             as_of: date | None = None) -> dict[int, list[CustomerSignal]]:
    """Per visible customer id (only `customer_ids` when given): the open signals the customer is exposed to,
    by the rule of `signal_exposure` as of `as_of` (default today), and those their own claims are behind,
    newest signal first. `signals`: the user's `open_signal_list` (read here when None). Six queries however
    many customers and signals (one more to read the signals).

    The exposure is the same rule as `_exposed`, applied here to the agreements covering any of the signals'
    products, read once with what their scopes name, and their prices of those products
    (rebates.prices.product_prices, the same rule as current_net_price): a query per signal would cost seconds
    for the hundreds of open signals an account manager's dashboard shows."""
    signals = open_signal_list(user=user) if signals is None else list(signals)
    if not signals:
        return {}
    as_of = as_of or clock.today()
    month = month_of(as_of)
    product_ids = {signal.product_id for signal in signals}
    line_ids = {signal.product_line_id for signal in signals} - {None}
    agreements = _exposable(user).filter(in_term_at_q(month))
    claims = PriceClaim.objects.visible_to(user).filter(signal_id__in=[signal.pk for signal in signals])
    if customer_ids is not None:
        agreements = agreements.filter(customer_id__in=list(customer_ids))
        claims = claims.filter(customer_id__in=list(customer_ids))
    read: dict[int, tuple] = {}
    named_products, named_lines = defaultdict(set), defaultdict(set)
    for pk, customer_id, start, end, product_id, line_id in scope_rows(
            agreements, product_ids=product_ids, product_line_ids=line_ids,
            fields=("pk", "customer_id", "start_month", "end_month")):
        read[pk] = (customer_id, start, end)
        if product_id is not None:
            named_products[pk].add(product_id)
        else:
            named_lines[pk].add(line_id)
    by_product, by_line = defaultdict(list), defaultdict(list)
    scopes = {}
    for pk, (customer_id, start, end) in read.items():
        scopes[pk] = AgreementScope(customer_id, start, end, frozenset(named_products[pk]), frozenset(named_lines[pk]))
        for product_id in named_products[pk]:
            by_product[product_id].append(pk)
        for line_id in named_lines[pk]:
            by_line[line_id].append(pk)
    claimed = defaultdict(set)
    for customer_id, signal_id in claims.order_by().values_list("customer_id", "signal_id").distinct():
        claimed[signal_id].add(customer_id)
    candidates = {signal.pk: {*by_product[signal.product_id], *by_line[signal.product_line_id]} for signal in signals}
    prices = product_prices({(pk, signal.product_id) for signal in signals for pk in candidates[signal.pk]},
                            on=as_of, bought_only_for_lines=True,
                            terms={pk: (customer_id, start) for pk, (customer_id, start, _) in read.items()})
    found = defaultdict(dict)
    for signal in signals:
        for pk in candidates[signal.pk]:
            scope = scopes[pk]
            if (covers(scope, signal.product_id, signal.product_line_id, month)
                    and _exposure_holds(net_price=prices.get((pk, signal.product_id)),
                                        median_price=signal.median_price,
                                        claimant=scope.customer_id in claimed[signal.pk])):
                found[scope.customer_id][signal.pk] = CustomerSignal(signal, claimed=False)
        for customer_id in claimed[signal.pk]:
            found[customer_id][signal.pk] = CustomerSignal(signal, claimed=True)
    return {customer_id: sorted(marks.values(), key=lambda mark: -mark.signal.pk)
            for customer_id, marks in found.items()}


def _exposure_holds(*, net_price: Decimal | None, median_price: Decimal, claimant: bool) -> bool:
    """`_exposed` beyond the scope rule, for an agreement read with its price of the signal's product: not a
    claimant's, pricing the product (in force on the as-of date) above the signal's median."""
    return not claimant and net_price is not None and net_price > median_price


@dataclass(frozen=True, slots=True)
class TimelineClaim:
    """What the timeline draws of a claim, read as plain values (hundreds of claims build no model objects)."""

    pk: int
    product_id: int
    reported_on: date
    status: str
    customer_code: str
    competitor_name: str
    claimed_price: Decimal
    channel: str
    currency: str  # its customer's, which the claimed price is in

    def get_status_display(self) -> str:
        return PriceClaim.Status(self.status).label

    def get_channel_display(self) -> str:
        return PriceClaim.Channel(self.channel).label


@dataclass(frozen=True)
class TimelineProduct:
    product: Product
    claims: tuple[TimelineClaim, ...]
    signals: tuple
    # Each signal's claims' currencies, in order, by signal id: its median is in them (one: that one's sign).
    signal_currencies: dict[int, tuple[str, ...]]


def signals_timeline(*, user, start: date, end: date, products: int = 12) -> list[TimelineProduct]:
    """Claims (those the user may see) and signals per product reported between `start` and `end`: the
    products with a signal in the range first, then those with the most claims, at most `products`.
    Five queries."""
    claims = PriceClaim.objects.visible_to(user).filter(reported_on__gte=start, reported_on__lte=end)
    signals = list(signals_visible(user=user).select_related(None)
                   .filter(window_end__gte=start, window_start__lte=end, merged_into__isnull=True))
    counts = dict(claims.order_by().values("product_id").annotate(n=Count("id")).values_list("product_id", "n"))
    signalled = {signal.product_id for signal in signals}
    chosen = sorted(set(counts) | signalled, key=lambda pk: (pk not in signalled, -counts.get(pk, 0), pk))[:products]
    rows = defaultdict(list)
    for values in (claims.filter(product_id__in=chosen).order_by("reported_on", "pk")
                   .values_list("pk", "product_id", "reported_on", "status", "customer__code", "competitor__name",
                                "claimed_price", "channel", "customer__currency")):
        claim = TimelineClaim(*values)
        rows[claim.product_id].append(claim)
    found = {product.pk: product for product in Product.objects.filter(pk__in=chosen)}
    shown = [signal for signal in signals if signal.product_id in found]
    currencies = defaultdict(set)
    # The currencies of all of a signal's claims (as its median is of all of them), not only those shown.
    for signal_id, currency in (PriceClaim.objects.filter(signal__in=shown).order_by()
                                .values_list("signal_id", "customer__currency").distinct()):
        currencies[signal_id].add(currency)
    return [TimelineProduct(product=found[pk], claims=tuple(rows[pk]),
                            signals=tuple(s for s in signals if s.product_id == pk),
                            signal_currencies={s.pk: tuple(sorted(currencies[s.pk])) for s in signals
                                               if s.product_id == pk}) for pk in chosen]


@dataclass(frozen=True)
class CoveringAgreement:
    """An agreement a match could change, as the decision form lists it."""

    number: str
    customer_id: int
    customer_name: str
    customer_code: str


def covering_agreements(*, user, signal, limit=500) -> list[CoveringAgreement]:
    """The active agreements a match could change: those the user may see covering the signal's product (in
    some month of their term), by number. Read as plain values: a signal on a line's best seller lists
    hundreds, and the decision form shows only these four."""
    rows = (RebateAgreement.objects.visible_to(user).active()
            .covering(product_id=signal.product_id, product_line_id=signal.product.product_line_id)
            .order_by("number").values_list("number", "customer_id", "customer__name", "customer__code")[:limit])
    return [CoveringAgreement(*row) for row in rows]
