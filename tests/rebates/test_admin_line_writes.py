"""The admin's remaining writes go through services too: purchase lines typed, changed or deleted by hand
(validated as the ERP's lines are, audited, booked by the next run), product lines and customer segments."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from customers.models import AuditRecord, Segment
from rebates.models import ImportBatch, LedgerEntry, ProductLine, PurchaseLine
from rebates.services import accrual_run_perform, accrual_run_start
from tests.factories import (
    PASSWORD,
    AgreementFactory,
    ContractPriceFactory,
    PerUnitRuleFactory,
    ProductFactory,
    ProductLineFactory,
    PurchaseLineFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2026, 6, 30)


def accrue():
    run = accrual_run_start(as_of=AS_OF, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk, close_settlements=False)


def booked(agreement):
    return sum(LedgerEntry.objects.filter(agreement=agreement).values_list("amount", flat=True), D("0"))


@pytest.fixture
def admin(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    return client


@pytest.fixture
def agreement():
    """10 units a month of P-1, January to March, at $0.25 a unit: 7.50 booked."""
    product = ProductFactory(sku="P-1", product_line=ProductLineFactory(code="line-1"))
    agreement = AgreementFactory(number="AG-LINES")
    agreement.products.set([product])
    ContractPriceFactory(agreement=agreement, product=product)
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in (1, 2, 3):
        PurchaseLineFactory(erp_line_id=f"L-{m}", customer=agreement.customer, product=product,
                            month=datetime.date(2026, m, 1), quantity=D("10"), unit_price=D("12.10"),
                            amount=D("121.00"))
    accrue()
    assert booked(agreement) == D("7.50")
    return agreement


def line_form(agreement, **changes):
    data = {"erp_line_id": "MAN-1", "customer": agreement.customer_id, "product": agreement.products.get().pk,
            "month": "2026-04-01", "quantity": "20", "unit_price": "12.10", "amount": "242.00"}
    data.update(changes)
    return data


def test_a_line_typed_in_the_admin_is_stored_as_manual_audited_and_booked(admin, agreement):
    response = admin.post(reverse("admin:rebates_purchaseline_add"), line_form(agreement))
    assert response.status_code == 302, response.content.decode()[:2000]
    line = PurchaseLine.objects.get(erp_line_id="MAN-1")
    assert (line.source, line.quantity, line.import_batch.source) == ("manual", D("20"), ImportBatch.Source.MANUAL)
    assert AuditRecord.objects.filter(action="purchase_lines.ingest", actor__username="root").count() == 1
    accrue()
    assert booked(agreement) == D("12.50")  # 20 more units at $0.25


def test_a_bad_line_typed_in_the_admin_is_refused_on_the_form_and_nothing_is_kept(admin, agreement):
    response = admin.post(reverse("admin:rebates_purchaseline_add"), line_form(agreement, quantity="1.23456"))
    assert response.status_code == 200
    assert "quantity" in response.context["adminform"].form.errors
    assert not PurchaseLine.objects.filter(erp_line_id="MAN-1").exists()
    assert not AuditRecord.objects.filter(action="purchase_lines.ingest").exists()
    assert not ImportBatch.objects.filter(source="manual").exists()


def test_a_line_changed_in_the_admin_keeps_its_id_is_audited_and_booked(admin, agreement):
    line = PurchaseLine.objects.get(erp_line_id="L-2")
    response = admin.post(reverse("admin:rebates_purchaseline_change", args=[line.pk]),
                          line_form(agreement, erp_line_id="ANOTHER", month="2026-02-01", quantity="30",
                                    amount="363.00"))
    assert response.status_code == 302, response.content.decode()[:2000]
    line.refresh_from_db()
    assert (line.erp_line_id, line.quantity) == ("L-2", D("30"))  # the id is read-only
    assert not PurchaseLine.objects.filter(erp_line_id="ANOTHER").exists()
    assert AuditRecord.objects.filter(action="purchase_lines.ingest").count() == 1
    accrue()
    assert booked(agreement) == D("12.50")  # February up by 20 units


def test_lines_deleted_in_the_admin_one_or_many_are_audited_and_booked(admin, agreement):
    one = PurchaseLine.objects.get(erp_line_id="L-1")
    assert admin.post(reverse("admin:rebates_purchaseline_delete", args=[one.pk]), {"post": "yes"}).status_code == 302
    rest = list(PurchaseLine.objects.filter(erp_line_id__in=["L-2", "L-3"]).values_list("pk", flat=True))
    response = admin.post(reverse("admin:rebates_purchaseline_changelist"),
                          {"action": "delete_selected", "_selected_action": rest, "post": "yes"})
    assert response.status_code == 302
    assert not PurchaseLine.objects.exists()
    summaries = list(AuditRecord.objects.filter(action="purchase_lines.delete").order_by("pk")
                     .values_list("summary", flat=True))
    assert summaries == ["1 purchase line deleted: L-1", "2 purchase lines deleted: L-2, L-3"]
    accrue()
    assert booked(agreement) == D("0.00")


def test_product_lines_and_segments_saved_in_the_admin_are_audited(admin):
    assert admin.post(reverse("admin:rebates_productline_add"), {"code": "abrasives", "name": "Abrasives"}
                      ).status_code == 302
    line = ProductLine.objects.get(code="abrasives")
    assert admin.post(reverse("admin:rebates_productline_change", args=[line.pk]),
                      {"code": "abrasives", "name": "Abrasive discs"}).status_code == 302
    segment = SegmentFactory(code="retail", name="Retail")
    assert admin.post(reverse("admin:customers_segment_change", args=[segment.pk]),
                      {"code": "retail", "name": "Retail trade"}).status_code == 302
    assert list(AuditRecord.objects.order_by("pk").values_list("action", "summary")) == [
        ("product_line.create", "Product line abrasives created"),
        ("product_line.update", "Product line abrasives changed: name"),
        ("segment.update", "Segment retail changed: name"),
    ]
    assert Segment.objects.get(pk=segment.pk).name == "Retail trade"
