"""The ingest service shared by the REST API and the file import: validate all, then upsert by erp_line_id."""

import datetime
from decimal import Decimal

import pytest

from config import clock
from customers.models import AuditRecord
from rebates.models import AccrualMark, ImportBatch, PurchaseLine, RebateAgreement
from rebates.services import PurchaseLinesInvalid, purchase_lines_ingest
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

API = PurchaseLine.Source.API


@pytest.fixture
def scenario():
    product = ProductFactory(sku="W-1")
    other_product = ProductFactory(sku="W-2")
    agreement = AgreementFactory(customer=CustomerFactory(code="C1"), products=[product])
    CustomerFactory(code="C2")
    return {"agreement": agreement, "product": product, "other_product": other_product}


def line(erp_line_id="L1", customer="C1", product="W-1", month="2026-03", quantity="10", unit_price="12.10",
         amount="121.00"):
    return {"erp_line_id": erp_line_id, "customer": customer, "product": product, "month": month,
            "quantity": quantity, "unit_price": unit_price, "amount": amount}


def test_new_lines_are_created_and_counted(scenario):
    result = purchase_lines_ingest(lines=[line("L1"), line("L2", month="2026-04")], source=API)
    assert (result.created, result.updated, result.unchanged, result.unmatched) == (2, 0, 0, 0)
    stored = PurchaseLine.objects.get(erp_line_id="L1")
    assert stored.month == datetime.date(2026, 3, 1)
    assert stored.quantity == Decimal("10.000") and stored.amount == Decimal("121.00")
    assert stored.import_batch == result.batch and result.batch.status == ImportBatch.Status.STORED
    assert AuditRecord.objects.filter(action="purchase_lines.ingest", target_id=str(result.batch.pk)).exists()


def test_resend_with_the_same_figures_is_unchanged_and_keeps_updated_at(scenario):
    purchase_lines_ingest(lines=[line("L1")], source=API)
    first = PurchaseLine.objects.get(erp_line_id="L1").updated_at
    result = purchase_lines_ingest(lines=[line("L1", quantity="10.000")], source=API)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert PurchaseLine.objects.get(erp_line_id="L1").updated_at == first


def test_same_erp_line_id_in_two_batches_is_one_row_with_the_second_figures(scenario):
    purchase_lines_ingest(lines=[line("L1")], source=API)
    result = purchase_lines_ingest(lines=[line("L1", quantity="8", amount="96.80")], source=API)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert PurchaseLine.objects.filter(erp_line_id="L1").count() == 1
    assert PurchaseLine.objects.get(erp_line_id="L1").quantity == Decimal("8")


def test_one_bad_line_stores_nothing_and_every_problem_is_named(scenario):
    lines = [line("L1"), line("L2", customer="NOPE", quantity="1.2345"), line("L3", month="2026-13"),
             line("L1", amount=1.5)]
    with pytest.raises(PurchaseLinesInvalid) as caught:
        purchase_lines_ingest(lines=lines, source=API)
    problems = [(e["line"], e["field"]) for e in caught.value.errors]
    assert problems == [(1, "customer"), (1, "quantity"), (2, "month"), (3, "erp_line_id"), (3, "amount")]
    assert PurchaseLine.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_unknown_customer_and_product_are_errors(scenario):
    with pytest.raises(PurchaseLinesInvalid) as caught:
        purchase_lines_ingest(lines=[line("L1", customer="NOPE", product="NONE")], source=API)
    assert [(e["line"], e["erp_line_id"], e["field"]) for e in caught.value.errors] == [
        (0, "L1", "customer"), (0, "L1", "product")]


def test_missing_fields_and_floats_are_named(scenario):
    with pytest.raises(PurchaseLinesInvalid) as caught:
        purchase_lines_ingest(lines=[{"erp_line_id": "L1", "quantity": 2.5}, "not a line"], source=API)
    fields = [(e["line"], e["field"]) for e in caught.value.errors]
    assert fields == [(0, "customer"), (0, "product"), (0, "month"), (0, "quantity"), (0, "unit_price"),
                      (0, "amount"), (1, "line")]
    assert "floating-point" in caught.value.errors[3]["message"]


def test_line_matching_no_agreement_is_stored_and_reported_unmatched(scenario):
    result = purchase_lines_ingest(
        lines=[line("L1"), line("L2", product="W-2"), line("L3", customer="C2"), line("L4", month="2027-01")],
        source=API)
    assert result.unmatched_lines == ["L2", "L3", "L4"]
    assert PurchaseLine.objects.count() == 4


def marked_cells():
    """(customer code, sku, month) of the purchase cells marked for the next accrual run."""
    return set(AccrualMark.objects.filter(customer__isnull=False).values_list(
        "customer__code", "product__sku", "month"))


def test_a_line_that_moves_marks_the_cell_it_leaves_and_the_one_it_joins(scenario):
    purchase_lines_ingest(lines=[line("L1")], source=API)
    AccrualMark.objects.all().delete()  # as a successful run consumes them
    purchase_lines_ingest(lines=[line("L1", customer="C2", month="2026-04")], source=API)
    assert marked_cells() == {("C1", "W-1", datetime.date(2026, 3, 1)), ("C2", "W-1", datetime.date(2026, 4, 1))}


def test_a_resend_with_the_same_figures_marks_nothing(scenario):
    purchase_lines_ingest(lines=[line("L1")], source=API)
    AccrualMark.objects.all().delete()
    purchase_lines_ingest(lines=[line("L1", quantity="10.000", unit_price="12.1")], source=API)
    assert marked_cells() == set()


def test_a_change_in_figures_only_leaves_the_agreement_terms_alone(scenario):
    purchase_lines_ingest(lines=[line("L1")], source=API)
    earlier = clock.now() - datetime.timedelta(days=1)
    RebateAgreement.objects.filter(pk=scenario["agreement"].pk).update(terms_changed_at=earlier)
    purchase_lines_ingest(lines=[line("L1", quantity="11")], source=API)
    assert RebateAgreement.objects.get(pk=scenario["agreement"].pk).terms_changed_at == earlier


def test_validate_only_counts_what_a_commit_would_and_stores_nothing(scenario):
    purchase_lines_ingest(lines=[line("L1")], source=API)
    result = purchase_lines_ingest(lines=[line("L1", quantity="3"), line("L2"), line("L3", product="W-2")],
                                   source=API, validate_only=True)
    assert (result.created, result.updated, result.unchanged, result.unmatched_lines) == (2, 1, 0, ["L3"])
    assert PurchaseLine.objects.count() == 1
    assert PurchaseLine.objects.get(erp_line_id="L1").quantity == Decimal("10")


def test_a_given_import_batch_gets_the_lines_and_the_counts(scenario):
    batch = ImportBatch.objects.create(source=ImportBatch.Source.FILE, file_name="march.xlsx")
    seen = []
    purchase_lines_ingest(lines=[line("L1"), line("L2")], source=PurchaseLine.Source.FILE, import_batch=batch,
                          progress=lambda done, total: seen.append((done, total)))
    batch.refresh_from_db()
    assert (batch.status, batch.line_count, batch.created_count) == (ImportBatch.Status.STORED, 2, 2)
    assert set(PurchaseLine.objects.values_list("import_batch", flat=True)) == {batch.pk}
    assert seen == [(2, 2)]


def test_dates_and_decimals_are_accepted_as_months_and_numbers(scenario):
    purchase_lines_ingest(lines=[line("L1", month=datetime.date(2026, 5, 17), quantity=Decimal("2"), amount=24,
                                      unit_price=Decimal("12"))], source=API)
    stored = PurchaseLine.objects.get(erp_line_id="L1")
    assert (stored.month, stored.amount) == (datetime.date(2026, 5, 1), Decimal("24.00"))


def test_a_large_batch_reports_the_same_unmatched_lines(scenario):
    lines = [line(f"L{i:04d}", product="W-2" if i % 100 == 7 else "W-1") for i in range(1200)]
    result = purchase_lines_ingest(lines=lines, source=API)
    assert result.created == 1200
    assert result.unmatched_lines == [f"L{i:04d}" for i in range(1200) if i % 100 == 7]
