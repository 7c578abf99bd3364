"""The figures beside claims and signals: net-net price, credibility, exposure."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pricing_signals.models import MarketSignal
from pricing_signals.selectors import (
    claim_net_net,
    claims_credibility,
    claims_net_net,
    customer_credibility,
    exposure_total,
    signal_exposure,
)
from pricing_signals.services import signals_detect
from rebates.models import RebateRule, TierBand
from tests.factories import (
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    LedgerEntryFactory,
    ProductFactory,
    PurchaseLineFactory,
)
from tests.pricing_signals.conftest import YEAR_END, agreement_for, claim_on

pytestmark = pytest.mark.django_db


def buys(customer, product, quantity, months, unit_price="12.10"):
    for month in months:
        PurchaseLineFactory(customer=customer, product=product, month=date(2026, month, 1),
                            quantity=Decimal(quantity), unit_price=Decimal(unit_price))


# --- net-net -------------------------------------------------------------------------------------


def test_seed_claim_undercuts_the_seed_net_net_price_of_11_85(seed, product, manager_a):
    agreement = agreement_for(seed["customer"], product, net_price="12.10", rate="0.25")
    buys(seed["customer"], product, 10, range(1, 10))

    figures = claim_net_net(user=manager_a, claim=seed["claims"]["september"])

    assert figures.agreement == agreement
    assert (figures.contract_price, figures.rebate_per_unit, figures.net_net_price) == (
        Decimal("12.1000"), Decimal("0.2500"), Decimal("11.8500"))
    assert figures.undercuts is True and figures.gap == Decimal("0.4500")


def test_a_claim_above_net_net_does_not_undercut_at_all(product, manager_a):
    customer = CustomerFactory(account_manager=manager_a)
    agreement_for(customer, product, net_price="12.10", rate="0.25")
    buys(customer, product, 10, range(1, 10))
    claim = claim_on(product, customer, date(2026, 9, 8), "11.90")

    figures = claim_net_net(user=manager_a, claim=claim)

    assert figures.net_net_price == Decimal("11.8500") and figures.undercuts is False


def test_net_net_follows_the_rate_the_customer_has_reached_by_the_claims_month(product, manager_a):
    # Retroactive tiers on quantity (docs/product.md example 2): below 1,000 units 1 %, from 1,000 units 2 %.
    customer = CustomerFactory(account_manager=manager_a)
    agreement = AgreementFactory(customer=customer, products=[product])
    ContractPriceFactory(agreement=agreement, net_price=Decimal("10.00"))
    rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent", tier_basis="quantity",
                                     tier_method="retroactive")
    TierBand.objects.bulk_create([TierBand(rule=rule, threshold=Decimal(t), rate=Decimal(r))
                                  for t, r in ((0, 1), (1000, 2), (5000, 3))])
    buys(customer, product, 400, range(1, 4), unit_price="10.00")  # 1,200 units by March
    february = claim_on(product, customer, date(2026, 2, 20), "9.80")
    march = claim_on(product, customer, date(2026, 3, 20), "9.80")

    figures = claims_net_net([february, march])

    assert figures[february.pk].net_net_price == Decimal("9.9000")  # 1 % of 10.00
    assert figures[march.pk].net_net_price == Decimal("9.8000")  # 2 %: the claim no longer undercuts
    assert figures[february.pk].undercuts and not figures[march.pk].undercuts


def test_net_net_uses_the_contract_price_in_force_on_the_claims_date(product, manager_a):
    customer = CustomerFactory(account_manager=manager_a)
    agreement = agreement_for(customer, product, net_price="12.10", rate="0.25")
    agreement.prices.create(product=product, effective_from=date(2026, 7, 1), net_price=Decimal("12.46"),
                            reason="mid-year review")
    buys(customer, product, 10, range(1, 10))
    june, july = (claim_on(product, customer, date(2026, 6, 30)), claim_on(product, customer, date(2026, 7, 1)))

    figures = claims_net_net([june, july])

    assert figures[june.pk].net_net_price == Decimal("11.8500")
    assert figures[july.pk].net_net_price == Decimal("12.2100")


def test_a_claim_on_a_product_no_agreement_covers_has_no_net_net(product, manager_a):
    customer = CustomerFactory(account_manager=manager_a)
    agreement_for(customer, ProductFactory())

    assert claim_net_net(user=manager_a, claim=claim_on(product, customer, date(2026, 9, 8))) is None


def test_net_net_of_many_claims_takes_the_same_queries_as_of_two(product):
    def claims_of(count):
        made = []
        for _ in range(count):
            customer = CustomerFactory()
            agreement_for(customer, product)
            buys(customer, product, 10, (1, 2))
            made.append(claim_on(product, customer, date(2026, 2, 10)))
        return made

    few, many = claims_of(2), claims_of(8)
    with CaptureQueriesContext(connection) as two:
        assert len(claims_net_net(few)) == 2
    with CaptureQueriesContext(connection) as eight:
        assert len(claims_net_net(many)) == 8
    assert len(eight) == len(two)


# --- credibility ---------------------------------------------------------------------------------


def test_seed_customer_credibility_is_one_in_three_after_september(seed, manager_a):
    signals_detect(as_of=YEAR_END)

    credibility = customer_credibility(user=manager_a, customer=seed["customer"])

    assert (credibility.corroborated, credibility.judged, credibility.percent) == (1, 3, Decimal("33.3"))


def test_credibility_beside_a_claim_counts_only_the_customers_earlier_claims(seed, product):
    signals_detect(as_of=YEAR_END)
    october = claim_on(product, seed["customer"], date(2026, 10, 20))
    claims = seed["claims"]

    figures = claims_credibility([claims["april"], claims["september"], october])

    assert figures[claims["april"].pk].percent is None  # nothing judged before
    assert (figures[claims["september"].pk].corroborated, figures[claims["september"].pk].judged) == (0, 2)
    assert figures[claims["september"].pk].percent == Decimal("0.0")
    assert figures[october.pk].percent == Decimal("33.3")


def test_pending_claims_are_not_judged_yet(product, manager_a):
    customer = CustomerFactory(account_manager=manager_a)
    claim_on(product, customer, date(2026, 9, 8))

    signals_detect(as_of=date(2026, 9, 10))

    assert customer_credibility(user=manager_a, customer=customer).judged == 0


# --- exposure ------------------------------------------------------------------------------------


@pytest.fixture
def exposure_scenario(seed, product, manager_a, manager_b):
    """The seed signal and the agreements around it."""
    for customer in (seed["customer"], seed["echo_one"]):
        agreement_for(customer, product, net_price="12.10")  # claimants: not "other" agreements
    above = agreement_for(CustomerFactory(code="ABOVE", account_manager=manager_a), product, net_price="12.10")
    by_line = AgreementFactory(customer=CustomerFactory(code="BY-LINE", account_manager=manager_b))
    by_line.product_lines.set([product.product_line])
    ContractPriceFactory(agreement=by_line, product=product, net_price=Decimal("11.50"))
    below = agreement_for(CustomerFactory(code="BELOW", account_manager=manager_a), product, net_price="11.30")
    equal = agreement_for(CustomerFactory(code="EQUAL", account_manager=manager_a), product, net_price="11.40")
    ended = agreement_for(CustomerFactory(code="ENDED", account_manager=manager_a), product, net_price="12.90",
                          status="terminated", terminated_on=date(2026, 6, 30))
    elsewhere = agreement_for(CustomerFactory(code="ELSEWHERE", account_manager=manager_a), ProductFactory(),
                              net_price="50.00")
    buys(above.customer, product, 10, (6, 7, 8))
    buys(above.customer, product, 30, (9,))  # the as-of month does not count yet
    for period in (date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)):
        LedgerEntryFactory(agreement=above, period=period, amount=Decimal("2.50"))
    LedgerEntryFactory(agreement=by_line, amount=Decimal("40.00"))
    signals_detect(as_of=YEAR_END)
    return {"signal": MarketSignal.objects.get(), "above": above, "by_line": by_line, "below": below,
            "equal": equal, "ended": ended, "elsewhere": elsewhere}


def test_exposure_lists_only_other_active_agreements_priced_above_the_signal(exposure_scenario, pricing_manager):
    rows = list(signal_exposure(user=pricing_manager, signal=exposure_scenario["signal"], as_of=date(2026, 9, 30)))

    assert [row.number for row in rows] == [exposure_scenario["by_line"].number, exposure_scenario["above"].number]


def test_exposure_rows_carry_price_manager_volume_and_unpaid_rebate(exposure_scenario, pricing_manager, manager_a):
    rows = {row.customer.code: row
            for row in signal_exposure(user=pricing_manager, signal=exposure_scenario["signal"],
                                       as_of=date(2026, 9, 30))}

    above = rows["ABOVE"]
    assert (above.net_price, above.monthly_volume, above.unpaid_rebate) == (
        Decimal("12.1000"), Decimal("10.000"), Decimal("7.50"))
    assert above.customer.account_manager == manager_a
    assert rows["BY-LINE"].unpaid_rebate == Decimal("40.00") and rows["BY-LINE"].monthly_volume == 0
    assert exposure_total(rows.values()) == {"agreements": 2, "customers": 2, "unpaid_rebate": Decimal("47.50")}


def test_an_account_manager_sees_only_their_own_exposed_agreements(exposure_scenario, manager_a, manager_b):
    signal = exposure_scenario["signal"]

    assert [row.customer.code for row in signal_exposure(user=manager_a, signal=signal)] == ["ABOVE"]
    assert [row.customer.code for row in signal_exposure(user=manager_b, signal=signal)] == ["BY-LINE"]


def test_exposure_is_one_query_however_many_agreements(exposure_scenario, pricing_manager, product):
    signal = exposure_scenario["signal"]
    for _ in range(5):
        agreement_for(CustomerFactory(), product, net_price="13.00")

    pricing_manager.has_perm("customers.view_all_customers")  # permissions are read once per request
    with CaptureQueriesContext(connection) as queries:
        rows = list(signal_exposure(user=pricing_manager, signal=signal, as_of=date(2026, 9, 30)))
        managers = [row.customer.account_manager.username for row in rows]
    assert len(rows) == 7 and len(managers) == 7
    assert len(queries) == 1
