"""The demo shows units: one product sold by the box and the case, and some of its lines sent in them."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from rebates.models import Product, PurchaseLine

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_product_in_boxes_and_cases_and_lines_sent_in_them():
    call_command("load_demo", stdout=io.StringIO())
    glasses = Product.objects.get(sku="SAF-401")
    assert glasses.base_unit == "each"
    assert dict(glasses.units.values_list("code", "base_quantity")) == {"box": Decimal(10), "case": Decimal(120)}
    sent = PurchaseLine.objects.filter(product=glasses).exclude(unit="")
    assert sent.exists()
    for line in sent:
        size = {"box": 10, "case": 120}[line.unit]
        assert line.quantity == line.quantity_in_unit * size
        assert line.unit_price_in_unit == line.unit_price * size
    # Reloading the demo changes no line.
    before = list(PurchaseLine.objects.order_by("pk").values_list("pk", "updated_at"))
    call_command("load_demo", stdout=io.StringIO())
    assert list(PurchaseLine.objects.order_by("pk").values_list("pk", "updated_at")) == before
