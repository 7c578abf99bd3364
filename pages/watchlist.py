"""The watchlist: what deserves a call, each with the reason in words and the money involved, largest first.

Agreements about to reach a tier or their minimum, agreements at risk of missing their minimum or their
commitment (from the latest stored outlook, rebates/forecasts.py), customers buying less than in the same
months last year, and customers with a claim below their net-net or exposed to an open market signal
(pricing_signals.selectors). Assembled here, beside the pages that show rebates and signals together, as
the app rule wants; every read starts from `visible_to(user)`.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from django.db.models import F, Q, Sum
from django.urls import reverse

from config import clock
from customers.models import Customer
from outlook.selectors import TodayItem, customer_urls, today_candidate, today_key, today_watches
from pricing_signals import selectors as signal_selectors
from pricing_signals.models import PriceClaim
from rebates import forecasts
from rebates.engine.periods import add_months, month_of
from rebates.models import AgreementBalance, AgreementForecast, PurchaseLine, RebateAgreement
from rebates.selectors import agreements_shortfall_months
from rebates.templatetags.figures import money
from rebates.templatetags.figures import units as _units

ZERO = Decimal("0.00")
NEAR_TIER = "near_tier"
MINIMUM_AT_RISK = "minimum_at_risk"
COMMITMENT_AT_RISK = "commitment_at_risk"
FALLING = "falling_volume"
UNDERCUTTING_CLAIM = "undercutting_claim"
SIGNAL_EXPOSURE = "signal_exposure"
KINDS = {
    NEAR_TIER: "About to reach a tier",
    MINIMUM_AT_RISK: "Minimum at risk",
    COMMITMENT_AT_RISK: "Commitment at risk",
    FALLING: "Falling against last year",
    UNDERCUTTING_CLAIM: "Claim below net-net",
    SIGNAL_EXPOSURE: "Exposed to an open signal",
}
# A customer's volume is falling when its year to date is this share or more below last year's same months.
FALLING_PERCENT = Decimal("10")
# Claims this recent count: an older one has had its answer.
CLAIM_DAYS = 90
THRESHOLD_WORDS = {"tier": "the next tier", "minimum": "its minimum", "cap": "its cap"}


@dataclass(frozen=True)
class WatchItem:
    """One line of the watchlist: what kind of watch, whose, why in words, the money involved, where to look."""

    kind: str
    customer_code: str
    customer_name: str
    agreement_number: str | None
    reason: str
    money: Decimal
    link: str
    currency: str = ""  # the customer's: what `money` and the amounts of `reason` are in

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def watchlist(*, user, as_of: date | None = None, at_stake: dict[int, Decimal] | None = None) -> list[WatchItem]:
    """The user's watchlist (visible customers only), the most money first. A fixed number of queries
    (one fewer when the caller has read each customer's unpaid rebate already, `at_stake`)."""
    as_of = as_of or clock.today()
    items = _outlook_items(user)
    items += _falling_items(user, as_of)
    if at_stake is None:
        at_stake = _unpaid_by_customer(user)
    items += _claim_items(user, as_of, at_stake)
    items += _signal_items(user, as_of, at_stake)
    items.sort(key=lambda item: (-item.money, item.customer_code, item.kind, item.agreement_number or ""))
    return items


def _to_go(forecast: AgreementForecast, currency: str) -> str:
    if forecast.next_measure == AgreementForecast.Measure.UNITS:
        return f"{_units(forecast.to_go_units)} units"
    return money(forecast.to_go_amount, currency)


def _per_month(forecast: AgreementForecast, value: Decimal, currency: str) -> str:
    if forecast.next_measure == AgreementForecast.Measure.UNITS:
        return f"{_units(value)} units"
    return money(value, currency)


# The rows that can be a tier or minimum watch (as `_outlook_items` decides in Python): something to add, and
# the rest of the way within the customer's own month, or a minimum the customer buys too slowly to reach.
_WITHIN_A_MONTH = Q(own_per_month__gt=0) & (
    Q(next_measure=AgreementForecast.Measure.UNITS, to_go_units__lte=F("own_per_month"))
    | (~Q(next_measure=AgreementForecast.Measure.UNITS) & Q(to_go_amount__lte=F("own_per_month"))))
_BEHIND = Q(next_kind="minimum", needed_per_month__gt=F("own_per_month"))
_THRESHOLD_WATCH = (Q(next_kind__in=("tier", "minimum")) & Q(next_extra__isnull=False) & ~Q(next_extra=0)
                    & (_WITHIN_A_MONTH | _BEHIND))


def _outlook_items(user, *, commitments: bool = True, cells: bool = False) -> list:
    """The stored outlook's watches: a tier or minimum within reach, a minimum at risk and (with
    `commitments`) a commitment at risk, which reads the agreements' shortfall months. With `cells`, each
    watch comes with its customer's value tier and risk level: (watch, tier, level)."""
    wanted = _THRESHOLD_WATCH
    if commitments:
        wanted |= Q(agreement__rule__commitment_rule=True)
    rows = list(forecasts.agreement_forecasts(user=user).filter(wanted))
    committed = [row for row in rows if row.agreement.committed_monthly_quantity] if commitments else []
    shortfalls = agreements_shortfall_months(
        agreements=RebateAgreement.objects.filter(pk__in=[row.agreement_id for row in committed]),
        as_of=rows[0].as_of) if committed else {}
    items = []
    for row in rows:
        agreement, customer = row.agreement, row.agreement.customer
        link = reverse("agreement-detail", args=[agreement.number])
        cur = customer.currency
        found = len(items)
        if row.next_kind in ("tier", "minimum") and row.next_extra:
            within_a_month = row.own_per_month is not None and row.own_per_month > 0 and (
                (row.to_go_units if row.next_measure == "units" else row.to_go_amount) <= row.own_per_month)
            behind = row.needed_per_month is not None and row.own_per_month is not None and (
                row.needed_per_month > row.own_per_month)
            catch_up = (f", {money(row.next_extra_catch_up, cur)} of it catch-up on the period's earlier months"
                        if row.next_extra_catch_up else "")
            if within_a_month:
                items.append(WatchItem(
                    NEAR_TIER, customer.code, customer.name, agreement.number,
                    f"{_to_go(row, cur)} to {THRESHOLD_WORDS[row.next_kind]}, about a month at its own pace of "
                    f"{_per_month(row, row.own_per_month, cur)}; reaching it adds {money(row.next_extra, cur)}"
                    f"{catch_up}.",
                    row.next_extra, link, cur))
            elif row.next_kind == "minimum" and behind:
                items.append(WatchItem(
                    MINIMUM_AT_RISK, customer.code, customer.name, agreement.number,
                    f"Needs {_per_month(row, row.needed_per_month, cur)} a month to reach its minimum in the "
                    f"{row.days_left} days left, buys {_per_month(row, row.own_per_month, cur)}; "
                    f"missing it loses {money(row.next_extra, cur)}.",
                    row.next_extra, link, cur))
        count = shortfalls.get(row.agreement_id, 0)
        at_risk = row.rebate - row.rebate_to_date
        if count and at_risk > 0:
            items.append(WatchItem(
                COMMITMENT_AT_RISK, customer.code, customer.name, agreement.number,
                f"{count} month{'s' if count != 1 else ''} below the committed "
                f"{_units(agreement.committed_monthly_quantity)} units; under the commitment rule such a month "
                f"earns nothing, and {money(at_risk, cur)} is still to earn this period.",
                at_risk, link, cur))
        if cells:
            items[found:] = [(item, customer.value_tier, customer.risk_level) for item in items[found:]]
    return items


def _falling_items(user, as_of: date) -> list[WatchItem]:
    """Customers whose purchases this year to date are FALLING_PERCENT or more below last year's same months."""
    this_end = month_of(as_of)
    this_start = this_end.replace(month=1)
    last_start, last_end = add_months(this_start, -12), add_months(this_end, -12)
    rows = (PurchaseLine.objects.visible_to(user)
            .filter(Q(month__gte=this_start, month__lte=this_end) | Q(month__gte=last_start, month__lte=last_end))
            .order_by().values("customer_id")
            .annotate(this_year=Sum("amount", filter=Q(month__gte=this_start)),
                      last_year=Sum("amount", filter=Q(month__lte=last_end))))
    falling = {}
    for row in rows:
        this_year, last_year = row["this_year"] or ZERO, row["last_year"] or ZERO
        if last_year > 0 and (last_year - this_year) * 100 >= FALLING_PERCENT * last_year:
            falling[row["customer_id"]] = (this_year, last_year)
    if not falling:
        return []
    customers = {pk: (code, name, currency) for pk, code, name, currency in
                 Customer.objects.filter(pk__in=list(falling)).values_list("pk", "code", "name", "currency")}
    through = f"{this_end:%B}" if this_end.month > 1 else "January"
    items = []
    for customer_id, (this_year, last_year) in falling.items():
        drop = last_year - this_year
        percent = (drop * 100 / last_year).quantize(Decimal("1"))
        code, name, cur = customers[customer_id]
        items.append(WatchItem(
            FALLING, code, name, None,
            f"Bought {money(this_year, cur)} from January to {through} {this_end.year}, against "
            f"{money(last_year, cur)} in the same months of {last_end.year}: {percent}% less.",
            drop, reverse("customer-detail", args=[code]), cur))
    return items


def _unpaid_by_customer(user) -> dict[int, Decimal]:
    """The rebate each visible customer would forfeit by leaving today: its unpaid balance."""
    return dict(AgreementBalance.objects.visible_to(user).order_by().values("agreement__customer_id")
                .annotate(unpaid=Sum("unpaid")).values_list("agreement__customer_id", "unpaid"))


def _claim_items(user, as_of: date, at_stake: dict[int, Decimal]) -> list[WatchItem]:
    """Each customer's latest recent claim below their net-net price."""
    claims = list(signal_selectors.claims_visible(user=user)
                  .filter(reported_on__gt=as_of - timedelta(days=CLAIM_DAYS), reported_on__lte=as_of)
                  .exclude(status=PriceClaim.Status.DISMISSED)
                  .select_related("customer", "product", "competitor").order_by("-reported_on", "-pk"))
    if not claims:
        return []
    net_net = signal_selectors.claims_net_net(claims)
    items, seen = [], set()
    for claim in claims:
        figures = net_net.get(claim.pk)
        if claim.customer_id in seen or figures is None or not figures.undercuts:
            continue
        seen.add(claim.customer_id)
        stake = at_stake.get(claim.customer_id) or ZERO
        cur = claim.customer.currency
        items.append(WatchItem(
            UNDERCUTTING_CLAIM, claim.customer.code, claim.customer.name, figures.agreement.number,
            f"Claimed {money(claim.claimed_price, cur)} for {claim.product.sku} from {claim.competitor} on "
            f"{claim.reported_on:%d %b %Y}, {money(figures.gap, cur)} below its net-net "
            f"{money(figures.net_net_price, cur)}; {money(stake, cur)} of unpaid rebate at stake.",
            stake, reverse("claim-detail", args=[claim.pk]), cur))
    return items


def _signal_items(user, as_of: date, at_stake: dict[int, Decimal]) -> list[WatchItem]:
    """Customers exposed to an open signal (not those whose own claims are behind it: they have a claim)."""
    by_customer = signal_selectors.open_signals_by_customer(user=user, as_of=as_of)
    exposed = {customer_id: [mark for mark in marks if not mark.claimed] for customer_id, marks in by_customer.items()}
    exposed = {customer_id: marks for customer_id, marks in exposed.items() if marks}
    if not exposed:
        return []
    customers = {pk: (code, name, currency) for pk, code, name, currency in
                 Customer.objects.filter(pk__in=list(exposed)).values_list("pk", "code", "name", "currency")}
    items = []
    for customer_id, marks in exposed.items():
        code, name, cur = customers[customer_id]
        signal = marks[0].signal
        more = f" (and {len(marks) - 1} more)" if len(marks) > 1 else ""
        stake = at_stake.get(customer_id) or ZERO
        items.append(WatchItem(
            SIGNAL_EXPOSURE, code, name, None,
            f"Pays more than the open signal on {signal.sku} at {money(signal.median_price, cur)}{more}; "
            f"{money(stake, cur)} of unpaid rebate at stake.",
            stake, reverse("signal-detail", args=[signal.pk]), cur))
    return items


def dashboard_watchlist(*, user, at_stake: dict[int, Decimal],
                        customers: dict[int, tuple[str, str, str, str]] | None = None,
                        currencies: dict[int, str] | None = None) -> list[tuple]:
    """The watchlist as the dashboard's "What to do today" takes it (outlook.selectors.today_items: each watch as
    its today_key and a function putting it in words, so only those shown are), within the dashboard's query
    budget: the stored outlook's watches (a tier or minimum within reach, a minimum at risk: one query), and
    the standing watches the last outlook refresh stored (outlook.models.TodayWatch: falling against last
    year, claims below net-net or exposed to an open signal as of the nightly value and risk, months below a
    commitment: one query), each with the customer's unpaid rebate at stake (`at_stake`, per customer id, read
    by the dashboard; `customers`, as outlook.selectors.today_watches takes them, when the dashboard has read
    them; `currencies`, each customer's currency by id, when it has read them). The whole watchlist page works
    every watch out afresh (`watchlist`)."""
    url = customer_urls()
    found = [today_candidate(TodayItem(item.kind, item.customer_code, item.customer_name, url(item.customer_code),
                                       tier, level, item.reason, item.money, None, None, detail_url=item.link),
                             item.agreement_number)
             for item, tier, level in _outlook_items(user, commitments=False, cells=True)]
    standing = today_watches(user=user, customers=customers)
    if currencies is None:
        currencies = dict(Customer.objects.filter(pk__in={row[0] for row in standing})
                          .values_list("pk", "currency")) if standing else {}
    for customer_id, code, name, tier, level, kind, words in standing:
        stake = at_stake.get(customer_id) or ZERO
        found.append((today_key(stake, tier, level, code, kind),
                      partial(_standing_watch, code, name, tier, level, kind, words, stake, url,
                              currencies.get(customer_id))))
    return found


def _standing_watch(code, name, tier, level, kind, words, stake, url, currency=None) -> TodayItem:
    link = url(code)
    return TodayItem(kind, code, name, link, tier, level, f"{words} {money(stake, currency)} of unpaid rebate at "
                     "stake.", stake, None, None, detail_url=link)
