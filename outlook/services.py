"""The nightly outlook: every customer's value tier and risk, computed from purchases, claims, signals, the
ledger and the terms (outlook.valuation), and written set-based where it changed."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Sum

from customers.models import Customer
from outlook import sql
from outlook.models import TodayWatch
from outlook.valuation import CustomerFacts, RiskRules, risk_score, value_tiers
from pricing_signals.models import PriceClaim
from pricing_signals.selectors import claims_net_net, open_signals_by_customer
from rebates.bulk import insert_rows
from rebates.collector import collector_paused
from rebates.engine.periods import add_months, month_of
from rebates.models import AgreementBalance, RebateAgreement
from rebates.selectors import customers_shortfall_months

ZERO = Decimal("0.00")


class _Desk:
    """The nightly work reads every customer's facts: a principal that passes the one visibility rule for all
    of them (it is never a request's user)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None

    def has_perm(self, perm, obj=None):
        return True


DESK = _Desk()


def risk_rules() -> RiskRules:
    return RiskRules.from_settings(settings.OUTLOOK_RISK)


def tier_shares() -> tuple[Decimal, Decimal]:
    shares = settings.OUTLOOK_VALUE_TIERS
    return Decimal(str(shares["A_SHARE"])), Decimal(str(shares["B_SHARE"]))


def _purchases(as_of: date) -> dict[int, tuple[Decimal, Decimal]]:
    """Per customer: net purchases of the 12 months ending with as_of's month, and of the 12 before."""
    last = month_of(as_of)
    return sql.customers_net_purchases(before=add_months(last, -23), start=add_months(last, -11), last=last)


def _claims_below_net_net(as_of: date, days: int) -> Counter:
    claims = PriceClaim.objects.filter(reported_on__gt=as_of - timedelta(days=days), reported_on__lte=as_of)
    counts = Counter()
    claims = list(claims.only("pk", "customer_id", "product_id", "reported_on", "claimed_price"))
    by_pk = {claim.pk: claim.customer_id for claim in claims}
    for pk, net_net in claims_net_net(claims).items():
        if net_net.undercuts:
            counts[by_pk[pk]] += 1
    return counts


def _term_ends(as_of: date) -> dict[int, date]:
    """Per customer: the last day of the earliest ending active agreement still in its term."""
    rows = (RebateAgreement.objects.active().filter(end_month__gte=month_of(as_of)).order_by().values("customer_id")
            .annotate(first_end=Min("end_month")))
    return {row["customer_id"]: add_months(row["first_end"], 1) - timedelta(days=1) for row in rows}


def customer_facts(*, as_of: date, rules: RiskRules) -> dict[int, CustomerFacts]:
    """Every customer's facts as of `as_of`, in a fixed number of queries."""
    purchases = _purchases(as_of)
    claims = _claims_below_net_net(as_of, rules.claim_days)
    signals = {customer_id: len(marks) for customer_id, marks in
               open_signals_by_customer(user=DESK, as_of=as_of).items()}
    # The balance row keeps its agreement's customer: summed per customer without a join to the agreements.
    unpaid = dict(AgreementBalance.objects.order_by().values("customer_id")
                  .annotate(total=Sum("unpaid")).values_list("customer_id", "total"))
    ends = _term_ends(as_of)
    facts = {}
    for customer_id, currency in Customer.objects.values_list("pk", "currency"):
        now, then = purchases.get(customer_id, (ZERO, ZERO))
        facts[customer_id] = CustomerFacts(
            net_purchases=now, net_purchases_before=then, claims_below_net_net=claims.get(customer_id, 0),
            open_signals=signals.get(customer_id, 0), unpaid_rebate=unpaid.get(customer_id) or ZERO,
            term_ends_on=ends.get(customer_id), currency=currency)
    return facts


@dataclass(frozen=True)
class RefreshResult:
    customers: int
    changed: int
    by_tier: dict[str, int]
    by_level: dict[str, int]


def outlook_refresh(*, as_of: date) -> RefreshResult:
    """Value tier and risk of every customer as of `as_of`, written where they changed (one transaction;
    running it twice changes nothing the second time)."""
    with collector_paused():  # ten thousand customers' facts and figures: short-lived objects, no cycles
        return _refresh(as_of)


def _refresh(as_of: date) -> RefreshResult:
    rules = risk_rules()
    a_share, b_share = tier_shares()
    facts = customer_facts(as_of=as_of, rules=rules)
    tiers = value_tiers({pk: fact.net_purchases for pk, fact in facts.items()}, a_share=a_share, b_share=b_share)
    wanted = {}
    for pk, fact in facts.items():
        risk = risk_score(fact, rules=rules, as_of=as_of)
        wanted[pk] = (tiers[pk], risk.level, risk.points, risk.reasons())
    with transaction.atomic():
        # One statement over arrays, the figures and the day they were computed written where they differ (a
        # customer created since is valued next time).
        changed = sql.valuations_write([(pk, *figures) for pk, figures in sorted(wanted.items())], valued_on=as_of)
        today_watches_write(standing_watches({pk: reasons for pk, (_, _, _, reasons) in wanted.items()},
                                             customers_shortfall_months(user=DESK, as_of=as_of)))
    by_tier = Counter(tier for tier, _, _, _ in wanted.values())
    by_level = Counter(level for _, level, _, _ in wanted.values())
    return RefreshResult(len(wanted), changed, dict(by_tier), dict(by_level))


# --- the dashboard's standing watches ------------------------------------------------------------------------

# The nightly risk factors that are watches on the dashboard, by the watchlist's kind (pages/watchlist.py).
WATCH_FACTORS = {"falling_volume": "falling_volume", "claims_below_net_net": "undercutting_claim",
                 "open_signals": "signal_exposure"}
COMMITMENT_AT_RISK = "commitment_at_risk"


def shortfall_words(months: int) -> str:
    return (f"{months} month{'s' if months != 1 else ''} below a committed quantity: under the commitment rule "
            "such a month earns nothing.")


def standing_watches(reasons: dict[int, list[dict]], shortfall: dict[int, int]) -> set[tuple[int, str, str]]:
    """(customer id, kind, words) of every watch that holds until the next refresh: each customer's risk
    factors that are watches (`reasons`: its risk reasons, as stored on the customer), in the factor's words,
    and its months below a commitment (`shortfall`: per customer id, as `customers_shortfall_months`)."""
    watches = set()
    for customer_id, found in reasons.items():
        for reason in found or ():
            kind = WATCH_FACTORS.get(reason.get("factor"))
            if kind is not None:
                watches.add((customer_id, kind, reason["words"]))
    for customer_id, months in shortfall.items():
        if months:
            watches.add((customer_id, COMMITMENT_AT_RISK, shortfall_words(months)))
    return watches


def today_watches_write(wanted: set[tuple[int, str, str]]) -> tuple[int, int]:
    """Make the stored standing watches exactly `wanted`, deleting and adding only the difference (in the
    caller's transaction, or one of its own); returns (deleted, added). Twice in a row writes nothing."""
    with transaction.atomic():
        stored = {(customer_id, kind, words): pk for pk, customer_id, kind, words in
                  TodayWatch.objects.select_for_update().values_list("pk", "customer_id", "kind", "words")}
        gone = [pk for watch, pk in stored.items() if watch not in wanted]
        added = sorted(wanted - set(stored))
        if gone:
            TodayWatch.objects.filter(pk__in=gone).delete()
        if added:
            insert_rows(TodayWatch, ("customer", "kind", "words"), added)  # one COPY
    return len(gone), len(added)
