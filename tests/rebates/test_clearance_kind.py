"""The clearance rule kind end to end: the rule's rate on the eligible amount, and its clearance rate more on
products bought in their clearance window. Products and rules set through the API and the admin, read in
words on the agreement page, shown on the statement and the agreement sheet, booked by the nightly run
(incremental equal to full, a window change included), by the flat fast path when nothing else (a minimum, a
cap, a bonus) needs the engine."""

import datetime
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import escape

from customers import roles
from rebates.models import AccrualMark, Product, RebateRule
from tests import ledger
from tests.api.conftest import client_for, send
from tests.excel.readback import values, workbook
from tests.factories import (
    PASSWORD,
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    PerUnitRuleFactory,
    ProductFactory,
    ProductLineFactory,
    PurchaseLineFactory,
    UserFactory,
)
from tests.ledger import booked_by_month as booked

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-07-15")]

D = Decimal
AS_OF = datetime.date(2026, 6, 30)
NUMBER = "AG-CLR"
CLEARANCE = {"kind": "clearance", "rate_type": "percent", "rate": "1", "clearance_rate": "3"}


def month(m):
    return datetime.date(2026, m, 1)


def accrue(full=False):
    return ledger.accrue(AS_OF, full=full)


def clearance_rule(agreement):
    RebateRule.objects.filter(agreement=agreement).update(kind="clearance", rate_type="percent", rate=D(1),
                                                          clearance_rate=D(3))


@pytest.fixture
def scenario():
    """C-CLR buys, January to June, $600 a month of REG-1 and $400 of CLR-1, on clearance February to April."""
    am = UserFactory(username="am.clr", role=roles.ACCOUNT_MANAGER)
    line = ProductLineFactory(code="clr")
    regular = ProductFactory(sku="REG-1", product_line=line)
    cleared = ProductFactory(sku="CLR-1", product_line=line, clearance_from=month(2), clearance_until=month(4))
    customer = CustomerFactory(code="C-CLR", account_manager=am)
    agreement = AgreementFactory(customer=customer, number=NUMBER, products=[], settlement_frequency="quarterly",
                                 committed_monthly_quantity=None)
    agreement.product_lines.set([line])
    ContractPriceFactory(agreement=agreement, product=regular, net_price=D("10.00"))
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in range(1, 7):
        PurchaseLineFactory(customer=customer, product=regular, month=month(m), quantity=D(60), unit_price=D(10))
        PurchaseLineFactory(customer=customer, product=cleared, month=month(m), quantity=D(40), unit_price=D(10))
    erp = client_for(UserFactory(username="erp.clr", role=roles.ERP_INTEGRATION))
    return {"am": am, "agreement": agreement, "cleared": cleared, "erp": erp}


def test_a_clearance_window_and_rule_are_set_through_the_api(scenario):
    erp = scenario["erp"]
    window = {"clearance_from": "2026-03", "clearance_until": "2026-05"}
    response = send(erp, "patch", "/api/v1/products/CLR-1/", window)
    assert response.status_code == 200, response.json()
    assert (response.json()["clearance_from"], response.json()["clearance_until"]) == ("2026-03", "2026-05")
    assert Product.objects.get(sku="CLR-1").clearance_from == month(3)

    response = send(erp, "patch", f"/api/v1/agreements/{NUMBER}/", {"rule": CLEARANCE})
    assert response.status_code == 200, response.json()
    assert (response.json()["rule"]["kind"], response.json()["rule"]["clearance_rate"]) == ("clearance", "3.000000")
    assert AccrualMark.objects.filter(agreement_id=scenario["agreement"].pk).exists()


def test_a_window_out_of_order_or_a_rule_without_its_clearance_rate_is_400_and_nothing_changes(scenario):
    erp = scenario["erp"]
    backwards = {"clearance_from": "2026-05", "clearance_until": "2026-03"}
    response = send(erp, "patch", "/api/v1/products/CLR-1/", backwards)
    assert response.status_code == 400
    assert "clearance" in json.dumps(response.json())
    assert Product.objects.get(sku="CLR-1").clearance_from == month(2)

    response = send(erp, "patch", f"/api/v1/agreements/{NUMBER}/", {"rule": {**CLEARANCE, "clearance_rate": None}})
    assert response.status_code == 400
    assert "clearance_rate" in json.dumps(response.json())
    assert RebateRule.objects.get(agreement=scenario["agreement"]).kind == "per_unit"


def test_the_nightly_run_books_the_clearance_extra_and_a_window_change_incrementally(scenario):
    agreement = scenario["agreement"]
    clearance_rule(agreement)
    accrue(full=True)
    # 1% of $1,000 a month; 3% more of February to April's $400.
    assert booked(agreement) == {month(1): D("10.00"), month(2): D("22.00"), month(3): D("22.00"),
                                 month(4): D("22.00"), month(5): D("10.00"), month(6): D("10.00")}
    assert accrue(full=True).entries_count == 0

    # The window moves to May and June: the incremental run books it, and a full recompute then books nothing.
    Product.objects.filter(pk=scenario["cleared"].pk).update(clearance_from=month(5), clearance_until=month(6))
    assert accrue().entries_count > 0
    assert booked(agreement) == {month(1): D("10.00"), month(2): D("10.00"), month(3): D("10.00"),
                                 month(4): D("10.00"), month(5): D("22.00"), month(6): D("22.00")}
    assert accrue(full=True).entries_count == 0


def test_the_flat_fast_path_books_a_clearance_rule_as_the_engine_does(scenario):
    agreement = scenario["agreement"]
    clearance_rule(agreement)
    flat_ids, entries = ledger.flat_path_books(agreement, as_of=AS_OF)
    assert (flat_ids, entries) == ([agreement.pk], 6)
    assert booked(agreement) == {month(1): D("10.00"), month(2): D("22.00"), month(3): D("22.00"),
                                 month(4): D("22.00"), month(5): D("10.00"), month(6): D("10.00")}
    assert accrue(full=True).entries_count == 0


def test_the_flat_fast_path_leaves_a_clearance_rule_with_a_minimum_to_the_engine(scenario):
    agreement = scenario["agreement"]
    clearance_rule(agreement)
    RebateRule.objects.filter(agreement=agreement).update(minimum=D("100"))
    assert ledger.flat_path_books(agreement, as_of=AS_OF) == ([], 0)


def test_the_agreement_page_statement_and_sheet_show_a_clearance_rule(scenario, client):
    agreement = scenario["agreement"]
    clearance_rule(agreement)
    accrue(full=True)
    client.login(username="am.clr", password=PASSWORD)

    response = client.get(reverse("agreement-detail", args=[NUMBER]))
    assert response.status_code == 200
    assert response.context["terms"][0] == (
        "1% of eligible net purchases, and 3% more on products bought in their clearance window, paid quarterly.")
    # The words are on the page itself, not only handed to it.
    assert escape(response.context["terms"][0]) in response.content.decode()
    assert response.context["statement"].total_rebate == D("96.00")

    statement = client_for(scenario["am"]).get(f"/api/v1/agreements/{NUMBER}/statement/").json()
    assert D(statement["total_units"]) == D(600)

    sheet = client.get(reverse("agreement-sheet", args=[NUMBER]))
    rows = [r for r in values(workbook(sheet.content).active) if hasattr(r[0], "date")]
    assert [D(str(r[4])) for r in rows][:6] == [D(10), D(22), D(22), D(22), D(10), D(10)]


def test_a_clearance_rule_and_window_are_set_in_the_admin(scenario, client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    rule = scenario["agreement"].rule
    data = {"kind": "clearance", "rate_type": "percent", "rate": "1", "clearance_rate": "3", "tier_basis": "",
            "tier_method": "", "baseline": "", "baseline_amount": "", "minimum": "", "cap": "", "active_months": "",
            "active_window": "", "bands-TOTAL_FORMS": 0, "bands-INITIAL_FORMS": 0, "bonuses-TOTAL_FORMS": 0,
            "bonuses-INITIAL_FORMS": 0}
    response = client.post(reverse("admin:rebates_rebaterule_change", args=[rule.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert (RebateRule.objects.get(pk=rule.pk).kind, RebateRule.objects.get(pk=rule.pk).clearance_rate) == \
        ("clearance", D(3))

    product = scenario["cleared"]
    response = client.post(reverse("admin:rebates_product_change", args=[product.pk]), {
        "name": product.name, "product_line": product.product_line_id, "list_price": "10", "launched_on": "",
        "discontinued_on": "", "clearance_from": "2026-05-01", "clearance_until": "2026-06-01"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Product.objects.get(pk=product.pk).clearance_until == month(6)
