"""Lines in a box or a case: stored in the product's base unit with the unit and figures as sent; an unknown
unit rejects the batch naming the line and the field."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rebates.models import ProductUnit, PurchaseLine
from rebates.services import PurchaseLinesInvalid, purchase_lines_ingest
from rebates.services.catalog import product_update
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

API = PurchaseLine.Source.API


@pytest.fixture
def widget():
    product = ProductFactory(sku="W-1", base_unit="each")
    ProductUnit.objects.create(product=product, code="box", base_quantity=Decimal(50))
    ProductUnit.objects.create(product=product, code="case", base_quantity=Decimal(600))
    AgreementFactory(customer=CustomerFactory(code="C1"), products=[product])
    return product


def line(erp_line_id="L1", quantity="10", unit_price="12.10", amount="121.00", unit=None, product="W-1"):
    sent = {"erp_line_id": erp_line_id, "customer": "C1", "product": product, "month": "2026-03",
            "quantity": quantity, "unit_price": unit_price, "amount": amount}
    return sent if unit is None else {**sent, "unit": unit}


def test_a_line_in_boxes_is_stored_in_each_with_the_boxes_beside(widget):
    purchase_lines_ingest(lines=[line(quantity="3", unit_price="12.10", amount="36.30", unit="box")], source=API)
    stored = PurchaseLine.objects.get()
    assert (stored.quantity, stored.unit_price, stored.amount) == (Decimal("150"), Decimal("0.2420"),
                                                                   Decimal("36.30"))
    assert (stored.unit, stored.quantity_in_unit, stored.unit_price_in_unit) == ("box", Decimal(3), Decimal("12.10"))


def test_a_case_is_twelve_boxes(widget):
    purchase_lines_ingest(lines=[line("L1", quantity="1", unit="case"), line("L2", quantity="12", unit="box")],
                          source=API)
    assert {line.quantity for line in PurchaseLine.objects.all()} == {Decimal(600)}


def test_a_line_without_a_unit_or_in_the_base_unit_is_in_the_base_unit(widget):
    purchase_lines_ingest(lines=[line("L1"), line("L2", unit="each"), line("L3", unit="")], source=API)
    assert [(line.quantity, line.unit, line.quantity_in_unit) for line in PurchaseLine.objects.all()] == [
        (Decimal(10), "", None)] * 3


def test_an_unknown_unit_rejects_the_batch_naming_the_line_and_the_field(widget):
    with pytest.raises(PurchaseLinesInvalid) as refused:
        purchase_lines_ingest(lines=[line("L1", unit="box"), line("L2", unit="pallet")], source=API)
    assert [(e["line"], e["erp_line_id"], e["field"]) for e in refused.value.errors] == [(1, "L2", "unit")]
    assert "pallet" in refused.value.errors[0]["message"]
    assert PurchaseLine.objects.count() == 0


def test_a_unit_of_another_product_is_unknown_here(widget):
    ProductUnit.objects.create(product=ProductFactory(sku="W-2"), code="pallet", base_quantity=Decimal(2400))
    with pytest.raises(PurchaseLinesInvalid) as refused:
        purchase_lines_ingest(lines=[line(unit="pallet")], source=API)
    assert refused.value.errors[0]["field"] == "unit"


def test_a_quantity_that_does_not_convert_exactly_is_refused_on_quantity():
    product = ProductFactory(sku="G-1", base_unit="kg")
    ProductUnit.objects.create(product=product, code="g", base_quantity=Decimal("0.001"))
    CustomerFactory(code="C1")
    with pytest.raises(PurchaseLinesInvalid) as refused:
        purchase_lines_ingest(lines=[line(quantity="0.5", product="G-1", unit="g")], source=API)
    assert refused.value.errors[0]["field"] == "quantity"


def test_a_resend_in_the_same_unit_is_unchanged_and_in_another_unit_is_an_update(widget):
    purchase_lines_ingest(lines=[line(quantity="2", unit="box")], source=API)
    again = purchase_lines_ingest(lines=[line(quantity="2.000", unit="box")], source=API)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    # The same 100 each, now sent in each: the base figures are the same, how it was sent is not.
    changed = purchase_lines_ingest(lines=[line(quantity="100", unit_price="0.242")], source=API)
    assert (changed.updated, changed.unchanged) == (1, 0)
    stored = PurchaseLine.objects.get()
    assert (stored.quantity, stored.unit, stored.quantity_in_unit) == (Decimal(100), "", None)


def test_a_larger_batch_in_units_goes_in_by_copy_exactly(widget):
    lines = [line(f"L{i}", quantity=str(i % 7 + 1), unit=("box", "case", None)[i % 3]) for i in range(30)]
    purchase_lines_ingest(lines=lines, source=API)
    sizes = {"box": 50, "case": 600, None: 1}
    assert sum(line.quantity for line in PurchaseLine.objects.all()) == sum(
        (i % 7 + 1) * sizes[("box", "case", None)[i % 3]] for i in range(30))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(min_value=-5, max_value=40), st.sampled_from(["each", "box", "case"])),
                min_size=1, max_size=8))
def test_the_stored_base_total_does_not_depend_on_the_units_sent(widget, sent):
    PurchaseLine.objects.all().delete()
    sizes = {"each": 1, "box": 50, "case": 600}
    in_units = [line(f"U{i}", quantity=str(q), unit=u) for i, (q, u) in enumerate(sent)]
    in_each = [line(f"E{i}", quantity=str(q * sizes[u])) for i, (q, u) in enumerate(sent)]
    purchase_lines_ingest(lines=in_units + in_each, source=API)
    lines = PurchaseLine.objects.all()
    assert sum(x.quantity for x in lines if x.erp_line_id[0] == "U") == sum(
        x.quantity for x in lines if x.erp_line_id[0] == "E")


def test_units_are_replaced_whole_and_a_base_unit_code_is_refused(widget):
    from django.core.exceptions import ValidationError

    product_update(by=None, product=widget, units=[{"code": "box", "base_quantity": Decimal(48)}])
    assert list(widget.units.values_list("code", "base_quantity")) == [("box", Decimal(48))]
    with pytest.raises(ValidationError):
        product_update(by=None, product=widget, units=[{"code": "each", "base_quantity": Decimal(1)}])


def test_the_base_unit_cannot_change_once_lines_are_counted_in_it(widget):
    from django.core.exceptions import ValidationError

    purchase_lines_ingest(lines=[line()], source=API)
    with pytest.raises(ValidationError) as refused:
        product_update(by=None, product=widget, base_unit="kg")
    assert "base_unit" in refused.value.message_dict


def test_the_generated_book_sends_three_lines_in_ten_in_boxes_or_cases_with_the_same_base_figures():
    from io import StringIO

    from django.core.management import call_command

    call_command("generate_synthetic", customers=20, agreements=30, products=10, lines=1000, stdout=StringIO())
    lines = PurchaseLine.objects.filter(erp_line_id__startswith="BK-")
    in_units = lines.exclude(unit="")
    assert in_units.count() == 300
    assert set(in_units.values_list("unit", flat=True)) == {"box", "case"}
    sizes = dict(ProductUnit.objects.filter(product__sku__startswith="BK-").values_list("code", "base_quantity")
                 .distinct())
    assert sizes == {"box": Decimal(10), "case": Decimal(100)}
    for line in in_units:
        assert line.quantity_in_unit * sizes[line.unit] == line.quantity
        assert line.unit_price_in_unit == line.unit_price * sizes[line.unit]
    # Lines not sent in a unit hold no figures of one.
    assert not lines.filter(unit="", quantity_in_unit__isnull=False).exists()


@pytest.fixture
def superuser(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("root", "root@example.com", "a long pass phrase 42")
    client.force_login(user)
    return client, user


def test_units_are_kept_in_the_admin_inline_through_the_service(superuser, widget):
    from django.urls import reverse

    from customers.models import AuditRecord

    client, user = superuser
    response = client.post(reverse("admin:rebates_product_change", args=[widget.pk]), {
        "name": widget.name, "product_line": widget.product_line_id, "list_price": "14.00", "base_unit": "each",
        "units-TOTAL_FORMS": "1", "units-INITIAL_FORMS": "0",
        "units-0-code": "pallet", "units-0-base_quantity": "2400"})
    assert response.status_code == 302, response.content.decode()[:2000]
    # The inline's rows are the whole list: the box and the case were not sent again.
    assert list(widget.units.values_list("code", "base_quantity")) == [("pallet", Decimal(2400))]
    assert AuditRecord.objects.filter(action="product.update", actor=user, target_id=str(widget.pk)).exists()


def test_a_line_sent_in_boxes_is_edited_in_the_admin_as_sent(superuser, widget):
    from django.urls import reverse

    client, _ = superuser
    purchase_lines_ingest(lines=[line(quantity="3", unit_price="12.10", amount="36.30", unit="box")], source=API)
    stored = PurchaseLine.objects.get()
    page = client.get(reverse("admin:rebates_purchaseline_change", args=[stored.pk])).content.decode()
    assert 'name="quantity" value="3.000"' in page and 'name="unit" value="box"' in page
    response = client.post(reverse("admin:rebates_purchaseline_change", args=[stored.pk]), {
        "customer": stored.customer_id, "product": widget.pk, "month": "2026-03-01", "unit": "case",
        "quantity": "1", "unit_price": "140.00", "amount": "140.00"})
    assert response.status_code == 302, response.content.decode()[:2000]
    stored.refresh_from_db()
    assert (stored.quantity, stored.unit, stored.quantity_in_unit) == (Decimal(600), "case", Decimal(1))
