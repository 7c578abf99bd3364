"""The referral rule kind end to end: the referring customer's agreement earns its rate on its referred
customers' purchases in their referral windows, stated on the referred customers' records. Referrals and rules
set through the API and the admin, read in words on the agreement page, listed on the statement and the
agreement sheet, booked by the nightly run (incremental equal to full: late lines, deleted lines and a moved
window included), by the flat fast path when nothing else (a minimum, a cap, a bonus) needs the engine."""

import datetime
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import escape

from customers import roles
from customers.models import Customer
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
NUMBER = "AG-REF"
REFERRAL = {"kind": "referral", "rate_type": "percent", "rate": "2"}
# The worked example of docs/rule-kinds.md, booked: nothing in January and February, then 2% of N-1's $500
# (March to May) and of N-2's $1,000 (May and June).
WORKED = {datetime.date(2026, 3, 1): D("10.00"), datetime.date(2026, 4, 1): D("10.00"),
          datetime.date(2026, 5, 1): D("30.00"), datetime.date(2026, 6, 1): D("20.00")}


def month(m):
    return datetime.date(2026, m, 1)


def accrue(full=False):
    return ledger.accrue(AS_OF, full=full)


def referral_rule(agreement):
    RebateRule.objects.filter(agreement=agreement).update(kind="referral", rate_type="percent", rate=D(2))


def refer(customer, referrer, first, months):
    Customer.objects.filter(pk=customer.pk).update(referred_by=referrer, referral_from=first,
                                                   referral_months=months)


@pytest.fixture
def scenario():
    """R-REF (am.ref's) buys $1,000 of P-1 a month, January to June. am.other's N-1, referred by R-REF from
    March for 3 months, buys $500 a month; N-2, referred from May for 6 months, $1,000 in May and June."""
    am = UserFactory(username="am.ref", role=roles.ACCOUNT_MANAGER)
    other = UserFactory(username="am.other", role=roles.ACCOUNT_MANAGER)
    line = ProductLineFactory(code="ref")
    product = ProductFactory(sku="P-1", product_line=line)
    referrer = CustomerFactory(code="R-REF", account_manager=am)
    first = CustomerFactory(code="N-1", account_manager=other)
    second = CustomerFactory(code="N-2", account_manager=other)
    refer(first, referrer, month(3), 3)
    refer(second, referrer, month(5), 6)
    agreement = AgreementFactory(customer=referrer, number=NUMBER, products=[], settlement_frequency="quarterly",
                                 committed_monthly_quantity=None)
    agreement.product_lines.set([line])
    ContractPriceFactory(agreement=agreement, product=product, net_price=D("10.00"))
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in range(1, 7):
        PurchaseLineFactory(customer=referrer, product=product, month=month(m), quantity=D(100), unit_price=D(10))
        PurchaseLineFactory(customer=first, product=product, month=month(m), quantity=D(50), unit_price=D(10))
    for m in (5, 6):
        PurchaseLineFactory(customer=second, product=product, month=month(m), quantity=D(100), unit_price=D(10))
    erp = client_for(UserFactory(username="erp.ref", role=roles.ERP_INTEGRATION))
    return {"am": am, "other": other, "agreement": agreement, "referrer": referrer, "first": first,
            "second": second, "product": product, "erp": erp}


def test_a_referral_and_a_referral_rule_are_set_through_the_api(scenario):
    erp = scenario["erp"]
    CustomerFactory(code="N-3")
    referral = {"referred_by": "R-REF", "referral_from": "2026-04", "referral_months": 6}
    response = send(erp, "patch", "/api/v1/customers/N-3/", referral)
    assert response.status_code == 200, response.json()
    assert {name: response.json()[name] for name in referral} == referral
    stored = Customer.objects.get(code="N-3")
    assert (stored.referred_by.code, stored.referral_from, stored.referral_months) == ("R-REF", month(4), 6)

    response = send(erp, "post", "/api/v1/customers/", {"code": "N-4", "name": "Newcomer", **referral})
    assert response.status_code == 201, response.json()
    assert Customer.objects.get(code="N-4").referred_by == scenario["referrer"]

    response = send(erp, "patch", f"/api/v1/agreements/{NUMBER}/", {"rule": REFERRAL})
    assert response.status_code == 200, response.json()
    assert (response.json()["rule"]["kind"], response.json()["rule"]["rate"]) == ("referral", "2.000000")
    assert AccrualMark.objects.filter(agreement_id=scenario["agreement"].pk).exists()


@pytest.mark.parametrize(("code", "body", "field"), [
    ("R-REF", {"referred_by": "R-REF", "referral_from": "2026-03", "referral_months": 3}, "referred_by"),
    ("N-1", {"referred_by": "NOBODY", "referral_from": "2026-03", "referral_months": 3}, "referred_by"),
    ("N-1", {"referred_by": "R-REF", "referral_from": "2026-13", "referral_months": 3}, "referral_from"),
    ("N-1", {"referred_by": "R-REF", "referral_from": "2026-03-01", "referral_months": 3}, "referral_from"),
    ("N-1", {"referred_by": "R-REF", "referral_from": "2026-03", "referral_months": 0}, "referral_months"),
    ("N-1", {"referred_by": "R-REF", "referral_from": None, "referral_months": 3}, "referral_from"),
], ids=["self", "unknown-code", "bad-month", "a-day", "no-months", "not-whole"])
def test_a_bad_referral_is_400_naming_the_field_and_nothing_changes(scenario, code, body, field):
    before = list(Customer.objects.order_by("pk").values_list("referred_by", "referral_from", "referral_months"))
    response = send(scenario["erp"], "patch", f"/api/v1/customers/{code}/", body)
    assert response.status_code == 400, response.json()
    assert field in json.dumps(response.json())
    assert list(Customer.objects.order_by("pk").values_list("referred_by", "referral_from",
                                                            "referral_months")) == before


def test_the_nightly_run_books_the_referred_purchases_and_their_changes_incrementally(scenario):
    agreement = scenario["agreement"]
    referral_rule(agreement)
    accrue(full=True)
    assert booked(agreement) == WORKED
    assert accrue(full=True).entries_count == 0

    # A late line of N-1 in April (in its window) marks the referrer and is booked by the incremental run.
    late = PurchaseLineFactory(customer=scenario["first"], product=scenario["product"], month=month(4),
                               quantity=D(25), unit_price=D(10))
    assert AccrualMark.objects.filter(reason="referral", customer=scenario["referrer"], month=month(4)).exists()
    assert accrue().entries_count > 0
    assert booked(agreement) == {**WORKED, month(4): D("15.00")}
    assert accrue(full=True).entries_count == 0

    # Deleted again, and a line out of N-1's window (June): the first is rebooked, the second marks nothing.
    PurchaseLine.objects.filter(pk=late.pk).delete()
    PurchaseLineFactory(customer=scenario["first"], product=scenario["product"], month=month(6), quantity=D(25),
                        unit_price=D(10))
    assert not AccrualMark.objects.filter(reason="referral", month=month(6)).exists()
    accrue()
    assert booked(agreement) == WORKED
    assert accrue(full=True).entries_count == 0


def test_a_moved_referral_window_marks_both_windows_and_is_rebooked_incrementally(scenario):
    agreement = scenario["agreement"]
    referral_rule(agreement)
    accrue(full=True)
    AccrualMark.objects.all().delete()

    # N-1's window moves from March–May to January–February.
    refer(scenario["first"], scenario["referrer"], month(1), 2)
    marked = set(AccrualMark.objects.filter(reason="referral", customer=scenario["referrer"])
                 .values_list("month", flat=True))
    assert marked == {month(1), month(2), month(3), month(4), month(5)}
    assert accrue().entries_count > 0
    assert booked(agreement) == {month(1): D("10.00"), month(2): D("10.00"), month(5): D("20.00"),
                                 month(6): D("20.00")}
    assert accrue(full=True).entries_count == 0

    # No referral at all: its old window marked, nothing earned on N-1 any more.
    refer(scenario["first"], None, None, None)
    accrue()
    assert booked(agreement) == {month(5): D("20.00"), month(6): D("20.00")}
    assert accrue(full=True).entries_count == 0


def test_the_flat_fast_path_books_a_referral_rule_as_the_engine_does(scenario):
    agreement = scenario["agreement"]
    referral_rule(agreement)
    flat_ids, entries = ledger.flat_path_books(agreement, as_of=AS_OF)
    assert flat_ids == [agreement.pk] and entries > 0
    assert booked(agreement) == WORKED
    assert accrue(full=True).entries_count == 0


def test_the_flat_fast_path_leaves_a_referral_rule_with_a_cap_to_the_engine(scenario):
    agreement = scenario["agreement"]
    referral_rule(agreement)
    RebateRule.objects.filter(agreement=agreement).update(cap=D("15.00"))
    assert ledger.flat_path_books(agreement, as_of=AS_OF) == ([], 0)


def test_the_agreement_page_statement_and_sheet_show_a_referral_rule(scenario, client):
    agreement = scenario["agreement"]
    referral_rule(agreement)
    accrue(full=True)
    client.login(username="am.ref", password=PASSWORD)

    response = client.get(reverse("agreement-detail", args=[NUMBER]))
    assert response.status_code == 200
    assert response.context["terms"][0] == (
        "2% of the net purchases of referred customers in their first months, as each referred customer's "
        "record states, paid quarterly.")
    # The words are on the page itself, not only handed to it.
    assert escape(response.context["terms"][0]) in response.content.decode()
    assert response.context["statement"].total_rebate == D("70.00")
    page = response.content.decode()
    assert 'id="referred"' in page and "N-2" in page

    am = client_for(scenario["am"])
    statement = am.get(f"/api/v1/agreements/{NUMBER}/statement/").json()
    assert D(statement["total_rebate"]) == D("70.00")
    assert [(r["month"], r["customer"], D(r["amount"])) for r in statement["referred"]] == [
        ("2026-03", "N-1", D(500)), ("2026-04", "N-1", D(500)), ("2026-05", "N-1", D(500)),
        ("2026-05", "N-2", D(1000)), ("2026-06", "N-2", D(1000))]
    # The referred customers are another manager's: their code and amount only, never their records.
    assert am.get("/api/v1/customers/N-1/").status_code == 404
    assert client.get(reverse("customer-detail", args=["N-1"])).status_code == 404

    sheet = client.get(reverse("agreement-sheet", args=[NUMBER]))
    rows = list(values(workbook(sheet.content).active))
    months = [r for r in rows if hasattr(r[0], "date") and r[1] not in ("N-1", "N-2")]
    assert [D(str(r[4])) for r in months][:6] == [D(0), D(0), D(10), D(10), D(30), D(20)]
    assert [(r[1], D(str(r[4]))) for r in rows if r[1] in ("N-1", "N-2")] == [
        ("N-1", D(500)), ("N-1", D(500)), ("N-1", D(500)), ("N-2", D(1000)), ("N-2", D(1000))]


def test_a_referral_rule_and_a_referral_are_set_in_the_admin(scenario, client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    rule = scenario["agreement"].rule
    data = {"kind": "referral", "rate_type": "percent", "rate": "2", "tier_basis": "", "tier_method": "",
            "baseline": "", "baseline_amount": "", "minimum": "", "cap": "", "active_months": "",
            "active_window": "", "clearance_rate": "", "min_product_lines": "", "focus_share": "",
            "bands-TOTAL_FORMS": 0, "bands-INITIAL_FORMS": 0, "bonuses-TOTAL_FORMS": 0, "bonuses-INITIAL_FORMS": 0}
    response = client.post(reverse("admin:rebates_rebaterule_change", args=[rule.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert RebateRule.objects.get(pk=rule.pk).kind == "referral"

    customer = scenario["second"]
    response = client.post(reverse("admin:customers_customer_change", args=[customer.pk]), {
        "code": customer.code, "name": customer.name, "segment": customer.segment_id,
        "account_manager": customer.account_manager_id, "status": "active", "lost_on": "", "currency": "USD",
        "referred_by": scenario["referrer"].pk, "referral_from": "2026-04-01", "referral_months": "2"})
    assert response.status_code == 302, response.content.decode()[:3000]
    customer.refresh_from_db()
    assert (customer.referral_from, customer.referral_months) == (month(4), 2)

    response = client.post(reverse("admin:customers_customer_change", args=[customer.pk]), {
        "code": customer.code, "name": customer.name, "segment": customer.segment_id,
        "account_manager": customer.account_manager_id, "status": "active", "lost_on": "", "currency": "USD",
        "referred_by": customer.pk, "referral_from": "2026-04-01", "referral_months": "2"})
    assert response.status_code == 200
    assert "cannot refer itself" in response.content.decode()
