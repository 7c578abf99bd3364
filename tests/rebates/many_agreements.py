"""Many agreements and their purchases, built in a few bulk inserts, for the accrual safety tests."""

import datetime
import random
from decimal import Decimal

from django.db.models import Sum

from rebates.engine.periods import add_months
from rebates.models import LedgerEntry, PurchaseLine, RebateAgreement, RebateRule, TierBand
from rebates.terms import agreements_with_terms, expected_ledger
from tests.factories import CustomerFactory, ProductFactory, ProgramFactory

START = datetime.date(2026, 1, 1)
AS_OF = datetime.date(2026, 12, 31)


def build_agreements(*, agreements=40, months=12, lines_per_month=3, seed=7):
    """`agreements` active agreements (per unit, percent, retroactive tiers), each of its own customer and
    product, with purchases every month (a few credit notes among them)."""
    rng = random.Random(seed)
    program = ProgramFactory()
    manager = CustomerFactory().account_manager
    built = []
    for i in range(agreements):
        customer = CustomerFactory(account_manager=manager)
        product = ProductFactory()
        agreement = RebateAgreement.objects.create(
            number=f"MANY-{i:05d}", customer=customer, program=program, start_month=START,
            end_month=add_months(START, months - 1), status=RebateAgreement.Status.ACTIVE,
            settlement_frequency=rng.choice(["annual", "annual", "quarterly"]),
        )
        agreement.products.set([product])
        kind = ("per_unit", "percent", "tiered")[i % 3]
        if kind == "tiered":
            rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                             tier_basis="quantity", tier_method="retroactive")
            TierBand.objects.bulk_create([TierBand(rule=rule, threshold=Decimal(t), rate=Decimal(r))
                                          for t, r in ((0, 1), (300, 2), (900, 3))])
        else:
            RebateRule.objects.create(agreement=agreement, kind=kind, rate_type=kind,
                                      rate=Decimal("0.25") if kind == "per_unit" else Decimal("1.5"))
        built.append((agreement, customer, product))
    lines = []
    for agreement, customer, product in built:
        for m in range(months):
            for n in range(lines_per_month):
                quantity = Decimal(rng.randint(1, 60)) * (-1 if rng.random() < 0.05 else 1)
                price = Decimal(rng.randint(900, 1500)) / 100
                lines.append(PurchaseLine(
                    erp_line_id=f"{agreement.number}-{m:02d}-{n}", customer=customer, product=product,
                    month=add_months(START, m), quantity=quantity, unit_price=price,
                    amount=(quantity * price).quantize(Decimal("0.01")),
                ))
    PurchaseLine.objects.bulk_create(lines, batch_size=2000)
    return [agreement for agreement, _, _ in built]


def booked_by_month():
    """{(agreement_id, month): amount} of every earned entry in the ledger."""
    rows = (LedgerEntry.objects.filter(kind__in=["accrual", "catch_up", "adjustment"])
            .values("agreement_id", "period").annotate(total=Sum("amount")).order_by())
    return {(row["agreement_id"], row["period"]): row["total"] for row in rows if row["total"] != 0}


def expected_by_month(as_of=AS_OF):
    """{(agreement_id, month): amount} that the engine expects of every accruing agreement."""
    agreements = list(agreements_with_terms(
        RebateAgreement.objects.filter(status__in=["active", "expired"]).values_list("pk", flat=True)))
    expected = expected_ledger(agreements, as_of=as_of)
    return {(agreement_id, result.month): result.amount
            for agreement_id, results in expected.items() for result in results if result.amount != 0}


def duplicate_bookings():
    """(agreement, month, kind, run) booked more than once: must always be empty."""
    from django.db.models import Count

    return list(LedgerEntry.objects.values("agreement_id", "period", "kind", "accrual_run_id")
                .annotate(n=Count("id")).filter(n__gt=1).order_by())
