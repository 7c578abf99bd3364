"""The dashboard and a signal's own page tell the same story: a customer the dashboard marks as exposed to a
signal is listed in that signal's exposure table, and every customer listed there is marked on the
dashboard, for every role (an account manager sees their own customers on both). A claimant is not exposed
(the dashboard marks the signal as theirs), nor is an agreement priced at or below the median, one outside
its term this month, or one whose scope does not cover the product, or a line scope that prices the
product only by its line's discount and never bought it."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from pricing_signals.selectors import open_signals_by_customer, signal_exposure, signals_exposure_totals
from tests.factories import (
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    LineDiscountFactory,
    ProductFactory,
    ProductLineFactory,
    PurchaseLineFactory,
)
from tests.pricing_signals.conftest import signal_on

pytestmark = pytest.mark.django_db


def agreement(customer, *, products=(), lines=(), price="12.10", discount=None, **fields):
    """Every product named, or of a named line, at `price`; or, with `discount`, the lines' products at that
    discount off list price (and the named products at `price`)."""
    made = AgreementFactory(customer=customer, products=list(products), **fields)
    made.product_lines.set(lines)
    priced = set(products) | ({p for line in lines for p in line.products.all()} if discount is None else set())
    for product in priced:
        ContractPriceFactory(agreement=made, product=product, net_price=Decimal(price))
    for line in lines if discount is not None else ():
        LineDiscountFactory(agreement=made, product_line=line, discount_percent=Decimal(discount))
    return made


@pytest.fixture
def scenario(manager_a, manager_b):
    fasteners = ProductLineFactory(code="fasteners")
    bolt = ProductFactory(sku="BOLT", product_line=fasteners, list_price=Decimal("20.00"))
    nut = ProductFactory(sku="NUT", product_line=fasteners, list_price=Decimal("20.00"))
    people = {code: CustomerFactory(code=code, name=f"Customer {code}", account_manager=manager)
              for code, manager in (("BY-PRODUCT", manager_a), ("BY-LINE", manager_b), ("BOTH", manager_a),
                                    ("CHEAP", manager_b), ("CLAIMANT", manager_a), ("ENDED", manager_a),
                                    ("FUTURE", manager_b), ("NUT-ONLY", manager_b), ("DRAFT", manager_a),
                                    ("LINE-BOUGHT-BOLT", manager_a), ("LINE-NEVER-BOUGHT", manager_b))}
    agreement(people["BY-PRODUCT"], products=[bolt])
    agreement(people["BY-LINE"], lines=[fasteners], price="12.50")
    agreement(people["BOTH"], products=[bolt], lines=[fasteners], price="12.30")
    agreement(people["CHEAP"], products=[bolt], price="11.00")
    agreement(people["CLAIMANT"], products=[bolt])
    # Still active, but their terms do not hold this month (November 2026).
    agreement(people["ENDED"], products=[bolt], start_month=date(2025, 1, 1), end_month=date(2025, 12, 1))
    agreement(people["FUTURE"], products=[bolt], start_month=date(2027, 1, 1), end_month=date(2027, 12, 1))
    agreement(people["NUT-ONLY"], products=[nut])
    agreement(people["DRAFT"], products=[bolt], status="draft")
    # Line scopes priced by a 10 % discount off the $20.00 list price ($18.00): one bought bolts this year,
    # the other never bought anything of the line. Only the first prices a product, and only bolts.
    agreement(people["LINE-BOUGHT-BOLT"], lines=[fasteners], discount="10")
    PurchaseLineFactory(customer=people["LINE-BOUGHT-BOLT"], product=bolt, month=date(2026, 3, 1))
    agreement(people["LINE-NEVER-BOUGHT"], lines=[fasteners], discount="10")
    signals = {"bolt": signal_on(bolt, "11.40", people["CLAIMANT"]), "nut": signal_on(nut, "11.00")}
    return {"people": people, "signals": signals}


EXPOSED = {"bolt": {"BY-PRODUCT", "BY-LINE", "BOTH", "LINE-BOUGHT-BOLT"}, "nut": {"BY-LINE", "BOTH", "NUT-ONLY"}}


def html(response):
    assert response.status_code == 200
    return response.content.decode()


def dashboard_marks(page) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """Per signal id, the codes of the customers whose dashboard row marks them exposed to it, and of those
    whose row marks it as their own claims' signal."""
    exposed, claimed = {}, {}
    for code, cells in re.findall(r'<tr><td>([^<]+)</td>(.*?)</tr>', page):
        for kind, pk in re.findall(r'class="status (open|claimed)" href="/signals/(\d+)/"', cells):
            (exposed if kind == "open" else claimed).setdefault(int(pk), set()).add(code)
    return exposed, claimed


def exposure_table(page) -> set[str]:
    """The customer codes the signal page's exposure table lists."""
    if 'id="exposure"' not in page:
        return set()
    table = page[page.index('id="exposure"'):page.index("</table>", page.index('id="exposure"'))]
    return set(re.findall(r"\(([^()<]+)\)</td>", table))


@pytest.mark.parametrize("who", ["pricing_manager", "manager_a", "manager_b"])
def test_the_dashboard_marks_exposed_exactly_the_customers_the_signal_page_lists(scenario, client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    exposed, claimed = dashboard_marks(html(client.get(reverse("dashboard"))))
    mine = {customer.code for customer in scenario["people"].values() if who == "pricing_manager"
            or customer.account_manager_id == user.pk}

    for name, signal in scenario["signals"].items():
        listed = exposure_table(html(client.get(reverse("signal-detail", args=[signal.pk]))))
        assert exposed.get(signal.pk, set()) == listed == EXPOSED[name] & mine
    # The claimant's row still shows the signal, as theirs, not as an exposure.
    assert claimed == ({scenario["signals"]["bolt"].pk: {"CLAIMANT"}} if "CLAIMANT" in mine else {})


@pytest.mark.parametrize("who", ["pricing_manager", "manager_a", "manager_b"])
def test_the_reads_behind_the_pages_agree_customer_for_customer(scenario, request, who):
    user = request.getfixturevalue(who)
    marks = open_signals_by_customer(user=user)
    signals = list(scenario["signals"].values())
    totals = signals_exposure_totals(user=user, signals=signals)

    for signal in signals:
        marked = {customer_id for customer_id, found in marks.items()
                  for mark in found if mark.signal.pk == signal.pk and not mark.claimed}
        rows = list(signal_exposure(user=user, signal=signal))
        assert marked == {row.customer_id for row in rows}
        assert totals[signal.pk]["customers"] == len(marked)
        assert totals[signal.pk]["agreements"] == len(rows)
