"""The scenario the page tests stand on: docs/product.md's seed customer (worked example 1 and the market signal seed
scenario) with two customers who echo its September claim, one of them another manager's, plus a 2025
agreement whose settlement period has ended. Built through the factories and the real services."""

from datetime import date
from decimal import Decimal

from customers import roles
from pricing_signals.services import signals_detect
from rebates.models import AccrualRun, RebateAgreement
from rebates.services import accrual_run_perform, accrual_run_start
from tests.factories import (
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    PerUnitRuleFactory,
    PriceClaimFactory,
    ProductFactory,
    ProductLineFactory,
    PurchaseLineFactory,
    UserFactory,
)

TODAY = date(2026, 11, 23)
MONTHS_2026 = [date(2026, month, 1) for month in range(1, 11)]
MONTHS_2025 = [date(2025, month, 1) for month in range(1, 13)]


def agreement_on(customer, product, number, *, start=date(2026, 1, 1), end=date(2026, 12, 1), price="12.10",
                 rate="0.25", **fields):
    agreement = AgreementFactory(customer=customer, number=number, products=[product], start_month=start,
                                 end_month=end, committed_monthly_quantity=Decimal("10"), **fields)
    ContractPriceFactory(agreement=agreement, net_price=Decimal(price))
    PerUnitRuleFactory(agreement=agreement, rate=Decimal(rate))
    return agreement


def buy(customer, product, months, units="10", price="12.10"):
    for month in months:
        PurchaseLineFactory(customer=customer, product=product, month=month, quantity=Decimal(units),
                            unit_price=Decimal(price))


def build(*, with_september_claim=False, accrue=True, as_of=TODAY):
    """Returns a dict of the people, customers, agreements and claims by name."""
    people = {
        "am": UserFactory(username="am.north", first_name="Nora", last_name="Lindqvist", role=roles.ACCOUNT_MANAGER),
        "other_am": UserFactory(username="am.south", first_name="Samuel", last_name="Okafor",
                                role=roles.ACCOUNT_MANAGER),
        "pricing": UserFactory(username="pricing", first_name="Priya", last_name="Raman", role=roles.PRICING_MANAGER),
        "finance": UserFactory(username="finance", first_name="Felix", last_name="Brandt", role=roles.FINANCE),
    }
    line = ProductLineFactory(code="fasteners", name="Fasteners")
    product = ProductFactory(sku="FAS-101", name="Hex bolt M10x50, box of 50", product_line=line,
                             list_price=Decimal("13.75"))
    seed = CustomerFactory(code="SEED-001", name="Harbor Fasteners", account_manager=people["am"])
    echo_one = CustomerFactory(code="C-1002", name="Northgate Builders", account_manager=people["am"])
    echo_two = CustomerFactory(code="C-1003", name="Riverside Hardware", account_manager=people["other_am"])
    theirs = CustomerFactory(code="C-2001", name="Someone Else Ltd", account_manager=people["other_am"])
    agreements = {
        "seed": agreement_on(seed, product, "AG-SEED-2026"),
        "seed_2025": agreement_on(seed, product, "AG-SEED-2025", start=date(2025, 1, 1), end=date(2025, 12, 1),
                                  status=RebateAgreement.Status.EXPIRED),
        "echo_one": agreement_on(echo_one, product, "AG-C-1002-2026"),
        "echo_two": agreement_on(echo_two, product, "AG-C-1003-2026"),
        "theirs": agreement_on(theirs, product, "AG-C-2001-2026", price="12.40"),
    }
    buy(seed, product, MONTHS_2026)
    buy(seed, product, MONTHS_2025)
    buy(echo_one, product, MONTHS_2026, units="20")
    buy(echo_two, product, MONTHS_2026, units="15")
    buy(theirs, product, MONTHS_2026, units="30", price="12.40")
    claims = {
        "april": PriceClaimFactory(customer=seed, product=product, reported_on=date(2026, 4, 14),
                                   claimed_price=Decimal("11.40"), reported_by=people["am"]),
        "june": PriceClaimFactory(customer=seed, product=product, reported_on=date(2026, 6, 10),
                                  claimed_price=Decimal("11.40"), reported_by=people["am"]),
        "echo_one": PriceClaimFactory(customer=echo_one, product=product, reported_on=date(2026, 9, 15),
                                      claimed_price=Decimal("11.45"), reported_by=people["am"]),
        "echo_two": PriceClaimFactory(customer=echo_two, product=product, reported_on=date(2026, 9, 22),
                                      claimed_price=Decimal("11.38"), reported_by=people["other_am"]),
    }
    if with_september_claim:
        claims["september"] = PriceClaimFactory(customer=seed, product=product, reported_on=date(2026, 9, 8),
                                                claimed_price=Decimal("11.40"), reported_by=people["am"])
    signals_detect(as_of=as_of)
    if accrue:
        run = accrual_run_start(as_of=as_of, trigger=AccrualRun.Trigger.COMMAND, queue=False)
        accrual_run_perform(run_id=run.pk)
    for claim in claims.values():
        claim.refresh_from_db()
    return {**people, "product": product, "seed": seed, "echo_one": echo_one, "echo_two": echo_two,
            "theirs": theirs, "agreements": agreements, "claims": claims}
