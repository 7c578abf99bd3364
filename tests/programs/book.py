"""The hand-computed book of docs/programs.md: a program of two customers against three of the same segment.

Period January to March 2026 against January to March 2025. Focus line "Fasteners" (product FAS-1); the other
line "Tools" (TOOL-1). Every figure the tests expect is worked out in docs/programs.md.
"""

import datetime
from decimal import Decimal

from customers import roles
from rebates.models import Settlement
from tests.factories import (
    AgreementFactory,
    CustomerFactory,
    LedgerEntryFactory,
    PerUnitRuleFactory,
    ProductFactory,
    ProductLineFactory,
    ProgramFactory,
    PurchaseLineFactory,
    SegmentFactory,
    UserFactory,
)

D = datetime.date


def buy(customer, product, month, units, amount):
    PurchaseLineFactory(customer=customer, product=product, month=month, quantity=Decimal(units),
                        unit_price=Decimal("10.00"), amount=Decimal(amount))


def build_book():
    am_one = UserFactory(username="am.one", role=roles.ACCOUNT_MANAGER)
    am_two = UserFactory(username="am.two", role=roles.ACCOUNT_MANAGER)
    contractors = SegmentFactory(code="contractors", name="Contractors")
    retail = SegmentFactory(code="retail", name="Retail")
    fasteners = ProductLineFactory(code="fasteners", name="Fasteners")
    tools = ProductLineFactory(code="tools", name="Tools")
    focus = ProductFactory(sku="FAS-1", product_line=fasteners)
    other = ProductFactory(sku="TOOL-1", product_line=tools)
    program = ProgramFactory(code="widgets-2026", name="2026 widgets program")

    def customer(code, manager, segment=contractors):
        return CustomerFactory(code=code, name=f"Customer {code}", account_manager=manager, segment=segment)

    a, b = customer("A", am_one), customer("B", am_two)
    x, y, z = customer("X", am_one), customer("Y", am_two), customer("Z", am_two)
    w = customer("W", am_two, segment=retail)
    agreements = {}
    for who in (a, b):
        agreement = AgreementFactory(number=f"AG-{who.code}", customer=who, program=program, products=[focus])
        PerUnitRuleFactory(agreement=agreement, rate=Decimal("0.50"))
        agreements[who.code] = agreement
    # W has an agreement of another program: it is neither a program customer nor in the comparison group.
    AgreementFactory(number="AG-W", customer=w, products=[focus])

    buy(a, focus, D(2025, 1, 1), "100", "1000.00")
    buy(a, other, D(2025, 2, 1), "100", "1000.00")
    buy(a, focus, D(2026, 1, 1), "180", "1800.00")
    buy(a, other, D(2026, 2, 1), "100", "1000.00")
    buy(a, focus, D(2025, 6, 1), "999", "9990.00")  # outside both windows
    buy(b, focus, D(2025, 1, 1), "100", "1000.00")
    buy(b, focus, D(2026, 3, 1), "120", "1200.00")
    buy(x, focus, D(2025, 1, 1), "100", "1000.00")
    buy(x, other, D(2025, 1, 1), "100", "1000.00")
    buy(x, focus, D(2026, 1, 1), "110", "1100.00")
    buy(x, other, D(2026, 1, 1), "100", "1000.00")
    buy(y, focus, D(2025, 2, 1), "100", "1000.00")
    buy(z, focus, D(2026, 2, 1), "50", "500.00")
    buy(w, focus, D(2026, 1, 1), "5000", "50000.00")

    LedgerEntryFactory(agreement=agreements["A"], period=D(2026, 1, 1), amount=Decimal("90.00"))
    LedgerEntryFactory(agreement=agreements["B"], period=D(2026, 3, 1), amount=Decimal("60.00"))
    LedgerEntryFactory(agreement=agreements["A"], period=D(2026, 5, 1), amount=Decimal("999.00"))  # after the period
    settlement = Settlement.objects.create(agreement=agreements["A"], period_start=D(2026, 1, 1),
                                           period_end=D(2026, 3, 1), amount=Decimal("40.00"),
                                           accrued_total=Decimal("40.00"))
    LedgerEntryFactory(agreement=agreements["A"], period=D(2026, 3, 1), kind="payout", amount=Decimal("-40.00"),
                       settlement=settlement)
    LedgerEntryFactory(agreement=agreements["B"], period=D(2026, 3, 1), kind="forfeiture", amount=Decimal("-10.00"))
    return {"program": program, "agreements": agreements, "am_one": am_one, "am_two": am_two,
            "pricing": UserFactory(username="pricing.p", role=roles.PRICING_MANAGER),
            "finance": UserFactory(username="finance.f", role=roles.FINANCE),
            "erp": UserFactory(username="erp.e", role=roles.ERP_INTEGRATION)}
