"""The product mix rule kind end to end: a settlement period earns only once its purchases span enough product
lines (or its focus line has its share). Set through the API and the admin, read in words on the agreement
page, shown on the statement and the agreement sheet, booked by the nightly run (incremental equal to full,
a product moved to another line included), and never by the flat fast path."""

import datetime
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import escape

from customers import roles
from rebates.models import AccrualMark, LedgerEntry, Product, RebateRule
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
NUMBER = "AG-MIX"
MIX = {"kind": "mix", "rate_type": "percent", "rate": "2", "min_product_lines": 2}


def month(m):
    return datetime.date(2026, m, 1)


def accrue(full=False):
    return ledger.accrue(AS_OF, full=full)


def mix_rule(agreement):
    RebateRule.objects.filter(agreement=agreement).update(kind="mix", rate_type="percent", rate=D(2),
                                                          min_product_lines=2)


@pytest.fixture
def scenario():
    """C-MIX buys $1,000 of TOOL-1 (line tools) each month, January to June, and $500 of PAINT-1 (line paint)
    in March; the agreement covers both lines, settled quarterly."""
    am = UserFactory(username="am.mix", role=roles.ACCOUNT_MANAGER)
    tools, paint = ProductLineFactory(code="tools"), ProductLineFactory(code="paint")
    tool = ProductFactory(sku="TOOL-1", product_line=tools)
    brush = ProductFactory(sku="PAINT-1", product_line=paint)
    customer = CustomerFactory(code="C-MIX", account_manager=am)
    agreement = AgreementFactory(customer=customer, number=NUMBER, products=[], settlement_frequency="quarterly",
                                 committed_monthly_quantity=None)
    agreement.product_lines.set([tools, paint])
    ContractPriceFactory(agreement=agreement, product=tool, net_price=D("10.00"))
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in range(1, 7):
        PurchaseLineFactory(customer=customer, product=tool, month=month(m), quantity=D(100), unit_price=D(10))
    PurchaseLineFactory(customer=customer, product=brush, month=month(3), quantity=D(50), unit_price=D(10))
    erp = client_for(UserFactory(username="erp.mix", role=roles.ERP_INTEGRATION))
    return {"am": am, "agreement": agreement, "tools": tools, "paint": paint, "brush": brush, "erp": erp}


def test_a_product_mix_rule_is_set_through_the_api(scenario):
    body = {**MIX, "focus_line": "paint", "focus_share": "10"}
    response = send(scenario["erp"], "patch", f"/api/v1/agreements/{NUMBER}/", {"rule": body})
    assert response.status_code == 200, response.json()
    rule = response.json()["rule"]
    assert (rule["kind"], rule["min_product_lines"], rule["focus_line"], rule["focus_share"]) == (
        "mix", 2, "paint", "10.000000")
    assert RebateRule.objects.get(agreement=scenario["agreement"]).focus_line == scenario["paint"]
    assert AccrualMark.objects.filter(agreement_id=scenario["agreement"].pk).exists()


@pytest.mark.parametrize(("changes", "field"), [
    ({"min_product_lines": None}, "min_product_lines"),  # no condition at all
    ({"focus_share": "10"}, "focus"),  # a share without its line
    ({"focus_line": "nowhere", "focus_share": "10"}, "focus_line"),
    ({"min_product_lines": 0}, "min_product_lines"),
])
def test_a_product_mix_rule_without_a_sound_condition_is_400_naming_it_and_nothing_changes(scenario, changes, field):
    response = send(scenario["erp"], "patch", f"/api/v1/agreements/{NUMBER}/", {"rule": {**MIX, **changes}})
    assert response.status_code == 400
    assert field in json.dumps(response.json())
    assert RebateRule.objects.get(agreement=scenario["agreement"]).kind == "per_unit"


def test_the_nightly_run_books_a_period_once_it_spans_two_lines_and_a_line_change_incrementally(scenario):
    agreement = scenario["agreement"]
    mix_rule(agreement)
    accrue(full=True)
    # March brings the second line: 2% of the quarter's $3,500; the second quarter buys from one line only.
    assert booked(agreement) == {month(3): D("70.00")}
    assert LedgerEntry.objects.get(agreement=agreement, kind="catch_up").amount == D("40.00")
    assert accrue(full=True).entries_count == 0

    # PAINT-1 moves to the tools line: the first quarter no longer spans two lines.
    Product.objects.filter(pk=scenario["brush"].pk).update(product_line=scenario["tools"])
    assert accrue().entries_count > 0
    assert booked(agreement) == {}
    assert accrue(full=True).entries_count == 0

    # A paint purchase in May: the second quarter earns, booked incrementally.
    PurchaseLineFactory(customer=agreement.customer, product=ProductFactory(sku="PAINT-2",
                        product_line=scenario["paint"]), month=month(5), quantity=D(10), unit_price=D(10))
    assert accrue().entries_count > 0
    # 2% of $2,100 (April and May, April's $20 as catch-up), then of June's $1,000.
    assert booked(agreement) == {month(5): D("42.00"), month(6): D("20.00")}
    assert accrue(full=True).entries_count == 0


def test_the_flat_fast_path_leaves_a_product_mix_rule_to_the_engine(scenario):
    agreement = scenario["agreement"]
    mix_rule(agreement)
    flat_ids, entries = ledger.flat_path_books(agreement, as_of=AS_OF)
    assert (flat_ids, entries) == ([], 0)


def test_the_agreement_page_statement_and_sheet_show_a_product_mix_rule(scenario, client):
    agreement = scenario["agreement"]
    RebateRule.objects.filter(agreement=agreement).update(kind="mix", rate_type="percent", rate=D(2),
                                                          min_product_lines=2, focus_line=scenario["paint"],
                                                          focus_share=D(10))
    accrue(full=True)
    client.login(username="am.mix", password=PASSWORD)

    response = client.get(reverse("agreement-detail", args=[NUMBER]))
    assert response.status_code == 200
    assert response.context["terms"][0] == (
        "2% of eligible net purchases in a settlement period with purchases from at least 2 product lines and at "
        "least 10% of them in product line paint, paid quarterly.")
    # The words are on the page itself, not only handed to it.
    assert escape(response.context["terms"][0]) in response.content.decode()
    assert response.context["statement"].total_rebate == D("70.00")

    statement = client_for(scenario["am"]).get(f"/api/v1/agreements/{NUMBER}/statement/").json()
    assert D(statement["total_units"]) == D(650)

    sheet = client.get(reverse("agreement-sheet", args=[NUMBER]))
    rows = [r for r in values(workbook(sheet.content).active) if hasattr(r[0], "date")]
    assert [D(str(r[4])) for r in rows][:3] == [D(0), D(0), D(70)]


def test_a_product_mix_rule_is_set_in_the_admin(scenario, client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    rule = scenario["agreement"].rule
    data = {"kind": "mix", "rate_type": "percent", "rate": "2", "min_product_lines": "2",
            "focus_line": scenario["paint"].pk, "focus_share": "10", "clearance_rate": "", "tier_basis": "",
            "tier_method": "", "baseline": "", "baseline_amount": "", "minimum": "", "cap": "", "active_months": "",
            "active_window": "", "bands-TOTAL_FORMS": 0, "bands-INITIAL_FORMS": 0, "bonuses-TOTAL_FORMS": 0,
            "bonuses-INITIAL_FORMS": 0}
    url = reverse("admin:rebates_rebaterule_change", args=[rule.pk])
    assert client.post(url, {**data, "focus_line": ""}).status_code == 200  # a share without its line
    assert RebateRule.objects.get(pk=rule.pk).kind == "per_unit"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = RebateRule.objects.get(pk=rule.pk)
    assert (stored.kind, stored.min_product_lines, stored.focus_line, stored.focus_share) == (
        "mix", 2, scenario["paint"], D(10))
