"""The admin saves agreements, rules, tier bands, bonus conditions, contract prices and line discounts
through the services the API uses: each change is audited, checked by the engine (a rule it cannot compute is
refused on the form, nothing kept) and marked for the next accrual run, which books it."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from customers.models import AuditRecord
from rebates.models import (
    AccrualMark,
    BonusCondition,
    ContractPrice,
    LedgerEntry,
    LineDiscount,
    Product,
    RebateAgreement,
    RebateRule,
    TierBand,
)
from rebates.services import accrual_run_perform, accrual_run_start
from tests.factories import (
    PASSWORD,
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    PerUnitRuleFactory,
    ProductFactory,
    ProductLineFactory,
    ProgramFactory,
    PurchaseLineFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2026, 6, 30)


def accrue(full=False):
    run = accrual_run_start(as_of=AS_OF, full=full, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk, close_settlements=False)


def booked(agreement):
    return sum(LedgerEntry.objects.filter(agreement=agreement).values_list("amount", flat=True), D("0"))


@pytest.fixture
def admin(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(user)
    return client, user


@pytest.fixture
def agreement():
    """P-1 bought 10 units a month, January to June, under a $0.25 a unit agreement: booked, 15.00."""
    line = ProductLineFactory(code="line-1")
    product = ProductFactory(sku="P-1", product_line=line)
    agreement = AgreementFactory(number="AG-ADMIN")
    agreement.products.set([product])
    ContractPriceFactory(agreement=agreement, product=product)
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in range(1, 7):
        PurchaseLineFactory(customer=agreement.customer, product=product, month=datetime.date(2026, m, 1))
    accrue()
    assert booked(agreement) == D("15.00")
    AccrualMark.objects.all().delete()
    return agreement


def rule_data(rule, bands=(), bonuses=(), **changes):
    data = {name: ("" if getattr(rule, name) is None else getattr(rule, name))
            for name in ("kind", "rate_type", "rate", "tier_basis", "tier_method", "baseline", "baseline_amount",
                         "minimum", "cap")}
    data["commitment_rule"] = "on" if rule.commitment_rule else ""
    data.update(changes)
    held_bands = list(rule.bands.order_by("threshold"))
    data.update({"bands-TOTAL_FORMS": len(bands), "bands-INITIAL_FORMS": len(held_bands),
                 "bonuses-TOTAL_FORMS": len(bonuses), "bonuses-INITIAL_FORMS": 0})
    for index, band in enumerate(bands):
        data.update({f"bands-{index}-{name}": value for name, value in band.items()})
        data[f"bands-{index}-rule"] = rule.pk
        if index < len(held_bands):
            data[f"bands-{index}-id"] = held_bands[index].pk
    for index, bonus in enumerate(bonuses):
        data.update({f"bonuses-{index}-{name}": value for name, value in bonus.items()})
        data[f"bonuses-{index}-rule"] = rule.pk
    return data


def post_rule(client, rule, data):
    return client.post(reverse("admin:rebates_rebaterule_change", args=[rule.pk]), data)


def agreement_data(agreement, prices=(), discounts=(), **changes):
    data = {"customer": agreement.customer_id, "program": agreement.program_id,
            "products": [p.pk for p in agreement.products.all()],
            "product_lines": [line.pk for line in agreement.product_lines.all()],
            "start_month": agreement.start_month, "end_month": agreement.end_month,
            "committed_monthly_quantity": agreement.committed_monthly_quantity or "",
            "settlement_frequency": agreement.settlement_frequency,
            "interim_frequency": agreement.interim_frequency, "status": agreement.status,
            "group_payout": agreement.group_payout}
    data.update(changes)
    held = list(agreement.prices.order_by("pk")) if agreement.pk else []
    data.update({"prices-TOTAL_FORMS": len(held) + len(prices), "prices-INITIAL_FORMS": len(held),
                 "line_discounts-TOTAL_FORMS": len(discounts), "line_discounts-INITIAL_FORMS": 0})
    for index, price in enumerate(held):
        data[f"prices-{index}-id"] = price.pk
        data[f"prices-{index}-agreement"] = agreement.pk
    for index, price in enumerate(prices, start=len(held)):
        data.update({f"prices-{index}-{name}": value for name, value in price.items()})
    for index, discount in enumerate(discounts):
        data.update({f"line_discounts-{index}-{name}": value for name, value in discount.items()})
    return data


def test_a_rate_changed_in_the_admin_is_audited_marked_and_booked_by_the_next_run(admin, agreement):
    client, user = admin
    rule = agreement.rule

    response = post_rule(client, rule, rule_data(rule, rate="0.30"))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert RebateRule.objects.get(pk=rule.pk).rate == D("0.300000")
    audit = AuditRecord.objects.get(action="agreement.update", target_id=str(agreement.pk))
    assert audit.actor == user and audit.summary == "Agreement AG-ADMIN changed: rule"
    assert AccrualMark.objects.filter(agreement_id=agreement.pk).exists()
    assert accrue().entries_count > 0
    assert booked(agreement) == D("18.00")
    assert accrue(full=True).entries_count == 0


def test_tier_bands_edited_in_the_admin_are_audited_and_booked_by_the_next_run(admin, agreement):
    client, user = admin
    rule = agreement.rule
    # Per unit becomes tiered: $0.10 a unit up to 30 units, $0.50 a unit from there (incremental).
    bands = [{"threshold": "0", "rate": "0.10"}, {"threshold": "30", "rate": "0.50"}]
    data = rule_data(rule, bands, kind="tiered", rate="", tier_basis="quantity", tier_method="incremental")

    response = post_rule(client, rule, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(TierBand.objects.filter(rule=rule).order_by("threshold").values_list("threshold", "rate")) == [
        (D("0.000"), D("0.100000")), (D("30.000"), D("0.500000"))]
    assert AuditRecord.objects.filter(action="agreement.update", actor=user, target_id=str(agreement.pk)).exists()
    accrue()
    assert booked(agreement) == D("3.00") + D("15.00")  # 30 units at 0.10, then 30 at 0.50
    assert accrue(full=True).entries_count == 0

    # One band's rate changed on its own row.
    rule.refresh_from_db()
    data = rule_data(rule, [{"threshold": "0", "rate": "0.10"}, {"threshold": "30", "rate": "1.00"}])
    assert post_rule(client, rule, data).status_code == 302
    assert AuditRecord.objects.filter(action="agreement.update", target_id=str(agreement.pk)).count() == 2
    accrue()
    assert booked(agreement) == D("3.00") + D("30.00")


def test_a_bonus_condition_added_in_the_admin_is_audited_and_marks_the_agreement(admin, agreement):
    client, _ = admin
    rule = agreement.rule
    product = agreement.products.get()
    data = rule_data(rule, bonuses=[{"product": product.pk, "minimum_quantity": "5", "extra_percent": "1"}])

    response = post_rule(client, rule, data)
    assert response.status_code == 302, response.context["errors"]
    assert BonusCondition.objects.filter(rule=rule, product=product).exists()
    assert AuditRecord.objects.filter(action="agreement.update", target_id=str(agreement.pk)).exists()
    assert AccrualMark.objects.filter(agreement_id=agreement.pk).exists()


def test_a_rule_the_engine_cannot_compute_is_refused_on_the_form_and_nothing_is_kept(admin, agreement):
    client, _ = admin
    rule = agreement.rule
    # The first band must start at 0: the engine refuses these terms.
    bands = [{"threshold": "100", "rate": "0.10"}]
    data = rule_data(rule, bands, kind="tiered", rate="", tier_basis="quantity", tier_method="incremental")

    response = post_rule(client, rule, data)

    assert response.status_code == 200
    assert "the first tier band must start at 0" in response.content.decode()
    assert RebateRule.objects.get(pk=rule.pk).kind == "per_unit"
    assert not TierBand.objects.filter(rule=rule).exists()
    assert not AuditRecord.objects.filter(action="agreement.update").exists()
    assert not AccrualMark.objects.exists()


def test_a_rule_added_in_the_admin_goes_through_the_service(admin):
    client, user = admin
    agreement = AgreementFactory(number="AG-NEW-RULE")
    data = {"agreement": agreement.pk, "kind": "per_unit", "rate_type": "per_unit", "rate": "0.40",
            "bands-TOTAL_FORMS": 0, "bands-INITIAL_FORMS": 0, "bonuses-TOTAL_FORMS": 0, "bonuses-INITIAL_FORMS": 0}

    response = client.post(reverse("admin:rebates_rebaterule_add"), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert RebateRule.objects.get(agreement=agreement).rate == D("0.400000")
    assert AuditRecord.objects.filter(action="agreement.update", actor=user, target_id=str(agreement.pk)).exists()


def test_a_rule_cannot_be_deleted_in_the_admin(admin, agreement):
    client, _ = admin
    response = client.post(reverse("admin:rebates_rebaterule_delete", args=[agreement.rule.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert RebateRule.objects.filter(agreement=agreement).exists()


def test_an_agreement_added_in_the_admin_is_created_by_the_service(admin):
    client, user = admin
    product = ProductFactory(sku="P-NEW")
    customer, program = CustomerFactory(code="C-NEW"), ProgramFactory(code="prog-new")
    data = {"number": "AG-FROM-ADMIN", "customer": customer.pk, "program": program.pk, "products": [product.pk],
            "product_lines": [], "start_month": "2026-01-01", "end_month": "2026-12-01",
            "committed_monthly_quantity": "", "settlement_frequency": "annual", "interim_frequency": "",
            "status": "draft", "group_payout": "group", "prices-TOTAL_FORMS": 1, "prices-INITIAL_FORMS": 0,
            "prices-0-product": product.pk, "prices-0-effective_from": "2026-01-01", "prices-0-net_price": "12.50",
            "prices-0-reason": "Agreed at signing", "line_discounts-TOTAL_FORMS": 0,
            "line_discounts-INITIAL_FORMS": 0}

    response = client.post(reverse("admin:rebates_rebateagreement_add"), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    agreement = RebateAgreement.objects.get(number="AG-FROM-ADMIN")
    assert list(agreement.products.all()) == [product]
    assert AuditRecord.objects.filter(action="agreement.create", actor=user, target_id=str(agreement.pk)).exists()
    price = ContractPrice.objects.get(agreement=agreement)
    assert (price.net_price, price.created_by) == (D("12.5000"), user)
    assert AuditRecord.objects.filter(action="contract_price.change", target_id=str(agreement.pk)).exists()


def test_a_scope_change_in_the_admin_is_audited_and_booked_by_the_next_run(admin, agreement):
    client, user = admin
    other = ProductFactory(sku="P-2", product_line=agreement.products.get().product_line)
    for m in range(1, 7):
        PurchaseLineFactory(customer=agreement.customer, product=other, month=datetime.date(2026, m, 1))
    AccrualMark.objects.all().delete()

    data = agreement_data(agreement, products=[*agreement.products.values_list("pk", flat=True), other.pk])
    response = client.post(reverse("admin:rebates_rebateagreement_change", args=[agreement.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    audit = AuditRecord.objects.get(action="agreement.update", target_id=str(agreement.pk))
    assert audit.actor == user and audit.data["products"] == ["P-1", "P-2"]
    accrue()
    assert booked(agreement) == D("30.00")


def test_a_contract_price_is_added_in_the_admin_through_the_service_and_history_is_not_edited(admin, agreement):
    client, user = admin
    product = agreement.products.get()
    held = ContractPrice.objects.get(agreement=agreement)
    data = agreement_data(agreement, prices=[{"product": product.pk, "effective_from": "2026-07-01",
                                              "net_price": "11.90", "reason": "Matched a competitor"}])
    data.update({"prices-0-net_price": "1.00", "prices-0-product": product.pk})  # an edit of a kept step

    response = client.post(reverse("admin:rebates_rebateagreement_change", args=[agreement.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert ContractPrice.objects.get(pk=held.pk).net_price == held.net_price
    new = ContractPrice.objects.get(agreement=agreement, effective_from=datetime.date(2026, 7, 1))
    assert (new.net_price, new.reason, new.created_by) == (D("11.9000"), "Matched a competitor", user)
    assert AuditRecord.objects.filter(action="contract_price.change", actor=user,
                                      target_id=str(agreement.pk)).count() == 1
    assert AccrualMark.objects.filter(agreement_id=agreement.pk).exists()


def test_a_price_outside_the_term_is_refused_on_the_form(admin, agreement):
    client, _ = admin
    product = agreement.products.get()
    data = agreement_data(agreement, prices=[{"product": product.pk, "effective_from": "2027-03-01",
                                              "net_price": "11.90", "reason": "Too late"}])

    response = client.post(reverse("admin:rebates_rebateagreement_change", args=[agreement.pk]), data)

    assert response.status_code == 200
    assert "New price of P-1: 2027-03 is outside AG-ADMIN" in response.content.decode()
    assert ContractPrice.objects.filter(agreement=agreement).count() == 1
    assert not AuditRecord.objects.filter(action="contract_price.change").exists()


def test_a_line_discount_is_added_in_the_admin_through_the_service(admin, agreement):
    client, user = admin
    line = agreement.products.get().product_line
    agreement.product_lines.set([line])
    data = agreement_data(agreement, discounts=[{"product_line": line.pk, "effective_from": "2026-04-01",
                                                 "discount_percent": "12.5", "reason": "Volume agreed"}])

    response = client.post(reverse("admin:rebates_rebateagreement_change", args=[agreement.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    discount = LineDiscount.objects.get(agreement=agreement)
    assert (discount.discount_percent, discount.created_by) == (D("12.500"), user)
    assert AuditRecord.objects.filter(action="line_discount.change", actor=user).exists()


def test_a_product_changed_in_the_admin_is_audited(admin):
    client, user = admin
    product = ProductFactory(sku="P-AUDIT")
    data = {"name": "Renamed", "product_line": product.product_line_id, "list_price": "15.00", "launched_on": "",
            "discontinued_on": ""}

    response = client.post(reverse("admin:rebates_product_change", args=[product.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Product.objects.get(pk=product.pk).name == "Renamed"
    assert AuditRecord.objects.filter(action="product.update", actor=user, target_id=str(product.pk)).exists()
