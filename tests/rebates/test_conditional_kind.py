"""The conditional rule kind end to end: a month earns only when the customer bought in at least X of the last
Y months. Set through the API and the admin, read in words on the agreement page, shown on the statement and
the agreement sheet, booked by the nightly run (incremental equal to full), and never by the flat fast path."""

import datetime
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import escape

from customers import roles
from rebates.models import AccrualMark, PurchaseLine, RebateRule
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
NUMBER = "AG-COND"
# 2% in a month bought in at least 3 of the last 4 (that month included), settled quarterly.
CONDITION = {"kind": "condition", "rate_type": "percent", "rate": "2", "active_months": 3, "active_window": 4}
BOUGHT_IN = (1, 2, 3, 4, 6)  # 10 units at $10.00 in each of these months of 2026


def month(m):
    return datetime.date(2026, m, 1)


def accrue(full=False):
    return ledger.accrue(AS_OF, full=full)


@pytest.fixture
def scenario():
    am = UserFactory(username="am.cond", role=roles.ACCOUNT_MANAGER)
    product = ProductFactory(sku="COND-1", product_line=ProductLineFactory(code="cond"))
    customer = CustomerFactory(code="C-COND", account_manager=am)
    agreement = AgreementFactory(customer=customer, number=NUMBER, products=[product], settlement_frequency="quarterly",
                                 committed_monthly_quantity=None)
    ContractPriceFactory(agreement=agreement, product=product, net_price=D("10.00"))
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in BOUGHT_IN:
        PurchaseLineFactory(customer=customer, product=product, month=month(m), quantity=D(10), unit_price=D("10.00"))
    erp = client_for(UserFactory(username="erp.cond", role=roles.ERP_INTEGRATION))
    return {"am": am, "agreement": agreement, "erp": erp}


def test_a_conditional_rule_is_set_through_the_api_and_read_back(scenario):
    response = send(scenario["erp"], "patch", f"/api/v1/agreements/{NUMBER}/", {"rule": CONDITION})
    assert response.status_code == 200, response.json()
    rule = response.json()["rule"]
    assert (rule["kind"], rule["rate"], rule["active_months"], rule["active_window"]) == ("condition", "2.000000", 3, 4)
    stored = RebateRule.objects.get(agreement=scenario["agreement"])
    assert (stored.kind, stored.active_months, stored.active_window) == ("condition", 3, 4)
    assert AccrualMark.objects.filter(agreement_id=scenario["agreement"].pk).exists()


@pytest.mark.parametrize(("changes", "field"), [
    ({"active_months": None}, "active_months"),
    ({"active_window": None}, "active_window"),
    ({"active_months": 5}, "rule"),  # more months than the window looks at
    ({"active_window": 13}, "active_window"),
    ({"active_months": 0}, "active_months"),
])
def test_a_conditional_rule_without_a_sound_window_is_400_naming_it_and_nothing_changes(scenario, changes, field):
    response = send(scenario["erp"], "patch", f"/api/v1/agreements/{NUMBER}/", {"rule": {**CONDITION, **changes}})
    assert response.status_code == 400
    assert field in json.dumps(response.json())
    assert RebateRule.objects.get(agreement=scenario["agreement"]).kind == "per_unit"


def test_the_nightly_run_books_only_the_months_that_count_and_a_change_reaches_the_next_quarter(scenario):
    agreement = scenario["agreement"]
    RebateRule.objects.filter(agreement=agreement).update(kind="condition", rate_type="percent", rate=D(2),
                                                          active_months=3, active_window=4)
    accrue(full=True)
    # January and February do not count (1 and 2 months bought in); May counts but bought nothing.
    assert booked(agreement) == {month(3): D("2.00"), month(4): D("2.00"), month(6): D("2.00")}
    assert accrue(full=True).entries_count == 0

    # March's purchases are taken back: March stops counting, and so does June, in the next quarter.
    PurchaseLine.objects.filter(customer=agreement.customer, month=month(3)).delete()
    assert accrue().entries_count > 0
    assert booked(agreement) == {month(4): D("2.00")}
    assert accrue(full=True).entries_count == 0


def test_the_flat_fast_path_leaves_a_conditional_rule_to_the_engine(scenario):
    agreement = scenario["agreement"]
    RebateRule.objects.filter(agreement=agreement).update(kind="condition", rate_type="percent", rate=D(2),
                                                          active_months=3, active_window=4)
    flat_ids, entries = ledger.flat_path_books(agreement, as_of=AS_OF)
    assert (flat_ids, entries) == ([], 0)
    # The same agreement as a plain percent rule is flat.
    RebateRule.objects.filter(agreement=agreement).update(kind="percent", active_months=None, active_window=None)
    flat_ids, entries = ledger.flat_path_books(agreement, as_of=AS_OF)
    assert flat_ids == [agreement.pk] and entries == 5


def test_the_agreement_page_statement_and_sheet_show_a_conditional_rule(scenario, client):
    agreement = scenario["agreement"]
    RebateRule.objects.filter(agreement=agreement).update(kind="condition", rate_type="percent", rate=D(2),
                                                          active_months=3, active_window=4)
    accrue(full=True)
    client.login(username="am.cond", password=PASSWORD)

    response = client.get(reverse("agreement-detail", args=[NUMBER]))
    assert response.status_code == 200
    assert response.context["terms"][0] == (
        "2% of eligible net purchases in a month when the customer has bought in at least 3 of the last 4 months, "
        "that month included, paid quarterly.")
    # The words are on the page itself, not only handed to it.
    assert escape(response.context["terms"][0]) in response.content.decode()
    assert response.context["statement"].total_rebate == D("6.00")

    statement = client_for(scenario["am"]).get(f"/api/v1/agreements/{NUMBER}/statement/").json()
    assert {m["month"]: m["units"] for m in statement["months"] if m["accrued"] and D(m["units"] or 0)} == {
        f"2026-{m:02d}": "10.000" for m in BOUGHT_IN}

    sheet = client.get(reverse("agreement-sheet", args=[NUMBER]))
    rows = [r for r in values(workbook(sheet.content).active) if hasattr(r[0], "date")]
    assert {r[0].date(): D(str(r[4])) for r in rows if r[4]} == {month(3): D(2), month(4): D(2), month(6): D(2)}


@pytest.fixture
def admin(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    return client


def test_a_conditional_rule_is_set_in_the_admin_and_a_bad_window_is_refused_on_the_form(scenario, admin):
    rule = scenario["agreement"].rule
    data = {"kind": "condition", "rate_type": "percent", "rate": "2", "tier_basis": "", "tier_method": "",
            "baseline": "", "baseline_amount": "", "minimum": "", "cap": "", "active_months": "3",
            "active_window": "4", "bands-TOTAL_FORMS": 0, "bands-INITIAL_FORMS": 0, "bonuses-TOTAL_FORMS": 0,
            "bonuses-INITIAL_FORMS": 0}
    url = reverse("admin:rebates_rebaterule_change", args=[rule.pk])

    refused = admin.post(url, {**data, "active_months": "5"})
    assert refused.status_code == 200
    assert RebateRule.objects.get(pk=rule.pk).kind == "per_unit"

    response = admin.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = RebateRule.objects.get(pk=rule.pk)
    assert (stored.kind, stored.rate, stored.active_months, stored.active_window) == ("condition", D(2), 3, 4)
