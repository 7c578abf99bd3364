"""Every change that can alter an agreement's expected ledger is marked by the database, whoever makes it,
so the next incremental run books what `--full` would: after each change below the incremental run books
the difference and a full recompute then books nothing (R1)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers import roles
from customers.models import Customer
from rebates.models import AccrualMark, ContractPrice, PurchaseLine, RebateAgreement, RebateRule, TierBand
from rebates.services import (
    accrual_chunk_book,
    accrual_run_fail,
    accrual_run_perform,
    accrual_run_prepare,
    accrual_run_start,
)
from tests.factories import (
    PASSWORD,
    AgreementFactory,
    CustomerFactory,
    PerUnitRuleFactory,
    ProductFactory,
    ProductLineFactory,
    PurchaseLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2026, 6, 30)


def month(m):
    return datetime.date(2026, m, 1)


def accrue(full=False):
    run = accrual_run_start(as_of=AS_OF, full=full, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk)


def incremental_then_full():
    """(entries the incremental run booked, entries a full recompute booked after it)."""
    return accrue().entries_count, accrue(full=True).entries_count


@pytest.fixture
def scenario():
    """Customer C-1 under two agreements: one covering product line A, one covering line B. The product
    P-A (line A) is bought 10 units a month, January to June, and booked."""
    line_a, line_b = ProductLineFactory(code="line-a"), ProductLineFactory(code="line-b")
    product = ProductFactory(sku="P-A", product_line=line_a)
    other = ProductFactory(sku="P-B", product_line=line_b)
    customer = CustomerFactory(code="C-1")
    by_line_a = AgreementFactory(number="AG-LINE-A", customer=customer)
    by_line_a.product_lines.set([line_a])
    by_line_b = AgreementFactory(number="AG-LINE-B", customer=customer)
    by_line_b.product_lines.set([line_b])
    PerUnitRuleFactory(agreement=by_line_a, rate=D("0.25"))
    PerUnitRuleFactory(agreement=by_line_b, rate=D("0.40"))
    lines = [PurchaseLineFactory(customer=customer, product=product, month=month(m), quantity=D("10"))
             for m in range(1, 7)]
    assert accrue().entries_count == 6
    return {"line_a": line_a, "line_b": line_b, "product": product, "other": other, "customer": customer,
            "by_line_a": by_line_a, "by_line_b": by_line_b, "lines": lines}


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    return client


def test_a_product_moved_to_another_product_line_through_the_api_is_booked_by_the_incremental_run(scenario):
    erp = UserFactory(username="erp", role=roles.ERP_INTEGRATION)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=erp).key}")
    response = api.patch("/api/v1/products/P-A/", {"product_line": "line-b"}, format="json")
    assert response.status_code == 200, response.content
    # Six months leave line A's agreement and six join line B's.
    assert incremental_then_full() == (12, 0)


def test_a_purchase_line_deleted_in_the_admin_is_booked_by_the_incremental_run(scenario, admin_client):
    line = scenario["lines"][2]
    response = admin_client.post(reverse("admin:rebates_purchaseline_delete", args=[line.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not PurchaseLine.objects.filter(pk=line.pk).exists()
    assert incremental_then_full() == (1, 0)


def test_a_purchase_line_moved_to_another_month_in_the_admin_is_booked_by_the_incremental_run(scenario, admin_client):
    line = scenario["lines"][0]
    data = {"erp_line_id": line.erp_line_id, "customer": line.customer_id, "product": line.product_id,
            "month": "2026-05-01", "quantity": "10", "unit_price": "12.10", "amount": "121.00", "source": "api",
            "import_batch": ""}
    response = admin_client.post(reverse("admin:rebates_purchaseline_change", args=[line.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PurchaseLine.objects.get(pk=line.pk).month == month(5)
    # January down to nothing, May up by ten units.
    assert incremental_then_full() == (2, 0)


def test_a_purchase_line_changed_by_raw_sql_is_booked_by_the_incremental_run(scenario):
    with connection.cursor() as cursor:
        # updated_at untouched: only the database sees this change.
        cursor.execute("UPDATE rebates_purchaseline SET quantity = 30, amount = 363 WHERE id = %s",
                       [scenario["lines"][3].pk])
    assert incremental_then_full() == (1, 0)


def test_a_purchase_line_moved_to_another_customer_by_raw_sql_is_booked_by_the_incremental_run(scenario):
    elsewhere = AgreementFactory(customer=CustomerFactory(code="C-2"))
    elsewhere.product_lines.set([scenario["line_a"]])
    PerUnitRuleFactory(agreement=elsewhere)
    assert accrue().entries_count == 0
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rebates_purchaseline SET customer_id = %s WHERE id = %s",
                       [elsewhere.customer_id, scenario["lines"][1].pk])
    # February leaves C-1's agreement and joins C-2's.
    assert incremental_then_full() == (2, 0)


def test_a_scope_change_made_through_the_orm_is_booked_by_the_incremental_run(scenario):
    # The admin saves the agreement's scope as this does: the link rows change, the agreement row does not.
    scenario["by_line_b"].products.add(scenario["product"])
    assert incremental_then_full() == (6, 0)


def test_tier_bands_changed_through_the_orm_are_booked_by_the_incremental_run(scenario):
    rule = RebateRule.objects.get(agreement=scenario["by_line_a"])
    RebateRule.objects.filter(pk=rule.pk).update(kind="tiered", rate_type="per_unit", rate=None,
                                                 tier_basis="quantity", tier_method="incremental")
    TierBand.objects.bulk_create([TierBand(rule=rule, threshold=D("0"), rate=D("0.25")),
                                  TierBand(rule=rule, threshold=D("30"), rate=D("0.50"))])
    assert incremental_then_full()[1] == 0
    TierBand.objects.filter(rule=rule, threshold=D("30")).update(rate=D("1.00"))
    # April to June are above 30 units: three months change.
    assert incremental_then_full() == (3, 0)


def test_an_agreement_activated_by_a_queryset_update_is_booked_by_the_incremental_run(scenario):
    draft = AgreementFactory(customer=scenario["customer"], status=RebateAgreement.Status.DRAFT)
    draft.product_lines.set([scenario["line_a"]])
    PerUnitRuleFactory(agreement=draft)
    assert incremental_then_full() == (0, 0)
    # auto_now does not run for update(): nothing but the database sees the new status.
    RebateAgreement.objects.filter(pk=draft.pk).update(status=RebateAgreement.Status.ACTIVE)
    assert incremental_then_full() == (6, 0)


def test_a_commitment_changed_by_a_queryset_update_is_booked_by_the_incremental_run(scenario):
    RebateRule.objects.filter(agreement=scenario["by_line_a"]).update(commitment_rule=True)
    RebateAgreement.objects.filter(pk=scenario["by_line_a"].pk).update(committed_monthly_quantity=D("5"))
    assert incremental_then_full()[1] == 0
    RebateAgreement.objects.filter(pk=scenario["by_line_a"].pk).update(committed_monthly_quantity=D("20"))
    # Every month is now below the commitment and earns nothing.
    assert incremental_then_full() == (6, 0)


def test_a_customer_status_change_marks_every_agreement_of_the_customer(scenario):
    AccrualMark.objects.all().delete()
    # Straight in the database, as a script would: the service would also terminate the agreements.
    Customer.objects.filter(pk=scenario["customer"].pk).update(status="lost", lost_on=month(6))
    assert set(AccrualMark.objects.values_list("agreement_id", "reason")) == {
        (scenario["by_line_a"].pk, "customer"), (scenario["by_line_b"].pk, "customer")}
    run = accrue()
    assert set(run.chunks.get().agreement_ids) == {scenario["by_line_a"].pk, scenario["by_line_b"].pk}
    assert AccrualMark.objects.count() == 0  # consumed by the run that recomputed them


def test_a_contract_price_change_marks_its_agreement(scenario):
    AccrualMark.objects.all().delete()
    ContractPrice.objects.create(agreement=scenario["by_line_a"], product=scenario["product"], effective_from=month(4),
                                 net_price=D("11.90"),
                                 reason="matched market signal #12")
    assert list(AccrualMark.objects.values_list("agreement_id", "reason")) == [(scenario["by_line_a"].pk, "price")]


def test_a_run_that_fails_after_reading_the_marks_leaves_them_for_the_next_run(scenario):
    PurchaseLineFactory(customer=scenario["customer"], product=scenario["product"], month=month(2), quantity=D("4"))
    run = accrual_run_start(as_of=AS_OF, trigger="command", queue=False)
    assert accrual_run_prepare(run_id=run.pk)  # killed before booking its chunk
    accrual_run_fail(run_id=run.pk, error="worker lost")
    assert AccrualMark.objects.exists()
    assert incremental_then_full() == (1, 0)
    assert not AccrualMark.objects.exists()


def test_a_rerun_with_nothing_changed_recomputes_nothing(scenario):
    run = accrue()
    assert (run.agreements_count, run.entries_count, run.chunks_total) == (0, 0, 0)


def test_an_agreement_that_expires_at_its_terms_end_is_not_marked(scenario):
    # Active and expired agreements accrue alike: expiry changes nothing the run computes.
    AccrualMark.objects.all().delete()
    RebateAgreement.objects.filter(pk=scenario["by_line_a"].pk).update(status=RebateAgreement.Status.EXPIRED)
    assert not AccrualMark.objects.exists()
    assert incremental_then_full() == (0, 0)


def test_an_agreement_that_stops_accruing_by_a_queryset_update_is_still_marked(scenario):
    AccrualMark.objects.all().delete()
    RebateAgreement.objects.filter(pk=scenario["by_line_a"].pk).update(status=RebateAgreement.Status.SETTLED)
    assert list(AccrualMark.objects.values_list("agreement_id", "reason")) == [(scenario["by_line_a"].pk, "agreement")]


def test_a_run_that_saw_every_mark_empties_the_table(scenario):
    PurchaseLineFactory(customer=scenario["customer"], product=scenario["product"], month=month(2), quantity=D("4"))
    assert AccrualMark.objects.exists()
    assert accrue().entries_count == 1
    assert not AccrualMark.objects.exists()


def test_a_mark_written_after_the_runs_snapshot_survives_the_run(scenario):
    PurchaseLineFactory(customer=scenario["customer"], product=scenario["product"], month=month(2), quantity=D("4"))
    run = accrual_run_start(as_of=AS_OF, trigger="command", queue=False)
    chunk_ids = accrual_run_prepare(run_id=run.pk)
    # A mark committed after the run's snapshot: the run must leave it for the next one.
    with connection.cursor() as cursor:
        # A transaction id past the snapshot's: one that had not committed when the snapshot was taken.
        cursor.execute("INSERT INTO rebates_accrualmark (reason, agreement_id, xact) "
                       "VALUES ('agreement', %s, pg_current_xact_id()::text::bigint + 1000)",
                       [scenario["by_line_b"].pk])
    for chunk_id in chunk_ids:
        accrual_chunk_book(chunk_id=chunk_id)
    assert list(AccrualMark.objects.values_list("agreement_id", flat=True)) == [scenario["by_line_b"].pk]
