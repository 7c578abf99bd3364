"""One figure everywhere: a customer's units, shortfall months, accrued, unpaid and rebate at stake read the same
on the dashboard, the customer page, the agreement page, the signal page, the statement and accruals APIs, the
agreement sheet and the accrual sheet with its liability summary (docs/product.md, "Shortfall months")."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from customers import roles
from pricing_signals.models import MarketSignal
from pricing_signals.services import signals_detect
from rebates.models import AccrualRun, Settlement
from rebates.services import accrual_run_perform, accrual_run_start
from rebates.services.exports import accruals_export
from rebates.services.settlement import settlement_approve, settlement_pay
from tests.api.conftest import client_for
from tests.excel.readback import money, values, workbook
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
    second_finance_user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-23")]

D = Decimal
NUMBER = "AG-FIG-2026"
RUN_AS_OF = date(2026, 9, 30)  # October and November are not accrued yet
ACCRUED_MONTHS = [date(2026, m, 1) for m in range(1, 10)]
# Booked net units: February's credit note (-2) counted, March short; May's late credit note (-1) arrives
# after the run, so May holds 10 booked units (not a shortfall) until the next run books it.
UNITS = {date(2026, 1, 1): D("10"), date(2026, 2, 1): D("8"), date(2026, 3, 1): D("4"),
         **{date(2026, m, 1): D("10") for m in range(4, 10)}}
SHORTFALL = {date(2026, 2, 1), date(2026, 3, 1)}
ACCRUED = D("20.50")  # 82 units at $0.25
PAID = D("5.50")  # the first quarter's settlement, paid
UNPAID = ACCRUED - PAID


def _buy(customer, product, month, units):
    PurchaseLineFactory(customer=customer, product=product, month=month, quantity=D(units), unit_price=D("12.10"))


@pytest.fixture
def scenario():
    people = {
        "am": UserFactory(username="am.fig", role=roles.ACCOUNT_MANAGER),
        "pricing": UserFactory(username="pricing.fig", role=roles.PRICING_MANAGER),
        "finance": UserFactory(username="finance.fig", role=roles.FINANCE),
    }
    product = ProductFactory(sku="FIG-1", product_line=ProductLineFactory(code="figs"))
    customer = CustomerFactory(code="C-FIG", name="Figure Works", account_manager=people["am"])
    agreement = AgreementFactory(customer=customer, number=NUMBER, products=[product], start_month=date(2026, 1, 1),
                                 end_month=date(2026, 12, 1), committed_monthly_quantity=D("10"),
                                 settlement_frequency="quarterly")
    ContractPriceFactory(agreement=agreement, net_price=D("12.10"))
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in range(1, 11):
        _buy(customer, product, date(2026, m, 1), "4" if m == 3 else "10")
    _buy(customer, product, date(2026, 2, 1), "-2")  # a credit note
    run = accrual_run_start(as_of=RUN_AS_OF, trigger=AccrualRun.Trigger.COMMAND, queue=False)
    accrual_run_perform(run_id=run.pk)
    _buy(customer, product, date(2026, 5, 1), "-1")  # a late credit note, not booked yet
    first_quarter = Settlement.objects.get(agreement=agreement, period_start=date(2026, 1, 1))
    settlement_approve(settlement=first_quarter, by=second_finance_user())
    settlement_pay(settlement=first_quarter, by=people["finance"], paid_on=date(2026, 10, 5),
                   payment_reference="CN-FIG-1")
    # Three other customers quote 11.40: an open signal, to which Figure Works (at 12.10) is exposed.
    for index, day in enumerate((3, 6, 9)):
        claimant = CustomerFactory(code=f"C-CLAIM-{index}", account_manager=people["am"])
        PriceClaimFactory(customer=claimant, product=product, reported_on=date(2026, 11, day),
                          claimed_price=D("11.40"), reported_by=people["am"])
    signals_detect(as_of=date(2026, 11, 23))
    signal = MarketSignal.objects.get(product=product)
    return {**people, "customer": customer, "agreement": agreement, "signal": signal}


def _page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response


def _tile(html, element_id) -> str:
    return re.search(rf'id="{element_id}">([^<]*)<', html).group(1).strip()


def _amount(text) -> Decimal:
    return D(text.replace("$", "").replace(",", ""))


def test_every_surface_shows_the_same_units_shortfall_accrued_unpaid_and_exposure(client, scenario):
    am, finance, pricing = scenario["am"], scenario["finance"], scenario["pricing"]
    shortfall_months = len(SHORTFALL)

    # Dashboard: the customer's row and the rebate at stake.
    html = _page(client, am, reverse("dashboard")).content.decode()
    row = re.search(r"<tr><td>C-FIG</td>(.*?)</tr>", html).group(1)
    cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', row)
    assert [_amount(cells[1]), _amount(cells[2]), int(cells[3])] == [ACCRUED, UNPAID, shortfall_months]
    # The rebate at stake per currency: the customer buys in dollars.
    assert _page(client, am, reverse("dashboard")).context["at_stake"] == {"USD": UNPAID}

    # Customer page: the same three figures, and the agreement's own.
    response = _page(client, am, reverse("customer-detail", args=["C-FIG"]))
    html = response.content.decode()
    assert (_amount(_tile(html, "accrued")), _amount(_tile(html, "at-stake")), int(_tile(html, "shortfall-months"))) \
        == (ACCRUED, UNPAID, shortfall_months)
    [(agreement, agreement_shortfall)] = response.context["agreements"]
    assert (agreement.accrued, agreement.balance, agreement_shortfall) == (ACCRUED, UNPAID, shortfall_months)

    # Agreement page: the same, and each month's units and flag; the months after the run say so.
    response = _page(client, am, reverse("agreement-detail", args=[NUMBER]))
    html = response.content.decode()
    assert (_amount(_tile(html, "at-stake")), int(_tile(html, "shortfall-months"))) == (UNPAID, shortfall_months)
    months = [month for month, _claims in response.context["rows"]]
    assert {m.month: m.units for m in months if m.accrued} == UNITS
    assert {m.month for m in months if m.shortfall} == SHORTFALL
    assert [(m.month, m.accrued, m.units, m.shortfall) for m in months if not m.accrued] == [
        (date(2026, 10, 1), False, None, None), (date(2026, 11, 1), False, None, None)]
    assert html.count("not accrued yet") == 4  # units and shortfall of October and November
    assert response.context["statement"].total_rebate == ACCRUED

    # Signal page: the agreement's unpaid rebate at stake, and the pricing dashboard's total for the signal.
    response = _page(client, pricing, reverse("signal-detail", args=[scenario["signal"].pk]))
    assert [(row.number, row.unpaid_rebate) for row in response.context["exposure"]] == [(NUMBER, UNPAID)]
    assert _amount(_tile(response.content.decode(), "exposure-total")) == UNPAID
    # Each open signal: its exposure totals, then its rebate at stake per currency (the customer buys in dollars).
    stakes = {signal: (totals, at_stake) for signal, totals, at_stake, _ in
              _page(client, pricing, reverse("dashboard")).context["open_signals"]}
    totals, at_stake = stakes[scenario["signal"]]
    assert (totals["unpaid_rebate"], at_stake) == (UNPAID, {"USD": UNPAID})

    # Statement API: units per month, shortfall, and "not accrued yet" as a flag with nulls.
    api = client_for(finance)
    statement = api.get(f"/api/v1/agreements/{NUMBER}/statement/").json()
    accrued_rows = [m for m in statement["months"] if m["accrued"]]
    assert {date.fromisoformat(m["month"] + "-01"): D(m["units"]) for m in accrued_rows} == UNITS
    assert {date.fromisoformat(m["month"] + "-01") for m in accrued_rows if m["shortfall"]} == SHORTFALL
    assert [(m["month"], m["units"], m["shortfall"]) for m in statement["months"] if not m["accrued"]] == [
        ("2026-10", None, None), ("2026-11", None, None)]
    assert D(statement["total_units"]) == sum(UNITS.values())

    # Accruals API: the same units per month, accrued and unpaid.
    answer = api.get("/api/v1/accruals/", {"agreement": NUMBER}).json()
    rows = answer["results"] if isinstance(answer, dict) else answer
    assert {date.fromisoformat(r["month"] + "-01"): D(r["quantity"]) for r in rows} == UNITS
    assert (sum(D(r["accrued"]) for r in rows), sum(D(r["unpaid"]) for r in rows)) == (ACCRUED, UNPAID)

    # Agreement sheet (.xlsx): the same units and shortfall months, "Not accrued yet" after the run.
    content = _page(client, am, reverse("agreement-sheet", args=[NUMBER])).content
    sheet_rows = [r for r in values(workbook(content).active) if hasattr(r[0], "date")]
    assert {r[0].date(): D(str(r[1])) for r in sheet_rows if r[7] != "Not accrued yet"} == UNITS
    assert {r[0].date() for r in sheet_rows if r[7] == "Yes"} == SHORTFALL
    assert [(r[0].date(), r[1], r[7]) for r in sheet_rows if r[7] == "Not accrued yet"] == [
        (date(2026, 10, 1), None, "Not accrued yet"), (date(2026, 11, 1), None, "Not accrued yet")]

    # Accrual sheet and liability (.xlsx).
    accruals_workbook = workbook(accruals_export(user=finance, filters={}, format="xlsx").content)
    accrual_rows = [r for r in values(accruals_workbook["Accruals"])[1:] if r[0] == NUMBER]
    assert {r[5].date(): D(str(r[6])) for r in accrual_rows} == UNITS
    assert (sum(money(r[8]) for r in accrual_rows), sum(money(r[11]) for r in accrual_rows)) == (ACCRUED, UNPAID)
    [liability] = [r for r in values(accruals_workbook["Liability"]) if r[0] == "C-FIG"]
    assert (money(liability[4]), money(liability[5]), money(liability[7])) == (ACCRUED, PAID, UNPAID)
