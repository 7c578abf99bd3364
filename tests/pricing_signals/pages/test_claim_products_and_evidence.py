"""The claim form offers the customer's own products first (those its agreements cover and those it bought),
finds products by SKU or name without a script, and never offers a discontinued product or a test item (a
product of the synthetic book, SKU "BK-..."); the claim page links the evidence file as a download for those who
may see the claim, and anyone else gets 404."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from pricing_signals.models import PriceClaim
from pricing_signals.services import price_claim_record
from tests.factories import AgreementFactory, ProductFactory, ProductLineFactory, PurchaseLineFactory
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@pytest.fixture
def catalogue(scenario):
    fasteners = scenario["product"].product_line
    safety = ProductLineFactory(code="safety", name="Safety")
    products = {
        "nut": ProductFactory(sku="FAS-102", name="Hex nut M10", product_line=fasteners),
        "glasses": ProductFactory(sku="SAF-401", name="Safety glasses", product_line=safety),
        "gloves": ProductFactory(sku="SAF-402", name="Work gloves", product_line=safety),
        "old": ProductFactory(sku="SAF-400", name="Old visor", product_line=safety, discontinued_on=date(2026, 10, 1)),
        "today": ProductFactory(sku="SAF-399", name="Visor gone today", product_line=safety,
                                discontinued_on=date(2026, 11, 23)),
        "later": ProductFactory(sku="SAF-403", name="Ear defenders", product_line=safety,
                                discontinued_on=date(2027, 3, 1)),
        "test": ProductFactory(sku="BK-000001", name="BK synthetic product 1", product_line=safety),
    }
    PurchaseLineFactory(customer=scenario["seed"], product=products["glasses"], month=date(2026, 5, 1))
    return {**scenario, **products}


def product_options(page: str) -> tuple[list[str], list[str]]:
    """The claim form's product select: (SKUs in the customer's group, every SKU offered, in order)."""
    select = page[page.index('name="product"'):]
    select = select[:select.index("</select>")]
    own = re.search(r'<optgroup label="Products of [^"]*">(.*?)</optgroup>', select, re.S)
    skus = re.findall(r'<option value="([^"]+)"', select)
    return (re.findall(r'<option value="([^"]+)"', own.group(1)) if own else []), skus


def test_the_customers_own_products_come_first(catalogue, client_for):
    page = html(client_for(catalogue["am"]).get(reverse("claim-new"), {"customer": "SEED-001"}))
    own, offered = product_options(page)
    # Its agreement covers FAS-101; it bought SAF-401.
    assert own == ["FAS-101", "SAF-401"]
    assert offered == ["FAS-101", "SAF-401", "FAS-102", "SAF-402", "SAF-403"]
    assert '<optgroup label="Other products">' in page


def test_an_agreement_on_a_product_line_makes_every_product_of_the_line_the_customers_own(catalogue, client_for):
    agreement = AgreementFactory(customer=catalogue["echo_one"], number="AG-LINE", products=[])
    agreement.product_lines.set([catalogue["glasses"].product_line])
    own, offered = product_options(html(client_for(catalogue["am"]).get(reverse("claim-new"),
                                                                         {"customer": "C-1002"})))
    assert own == ["FAS-101", "SAF-401", "SAF-402", "SAF-403"]
    assert offered == [*own, "FAS-102"]


def test_discontinued_products_and_test_items_are_not_offered(catalogue, client_for):
    for query in ({}, {"customer": "SEED-001"}):
        _, offered = product_options(html(client_for(catalogue["am"]).get(reverse("claim-new"), query)))
        assert offered and not {"SAF-400", "SAF-399", "BK-000001"} & set(offered)
        assert "SAF-403" in offered  # discontinued only next year


def test_a_hidden_product_is_refused_and_nothing_saved(catalogue, client_for):
    client = client_for(catalogue["am"])
    for sku in ("SAF-400", "BK-000001"):
        response = client.post(reverse("claim-new"), {
            "customer": "SEED-001", "product": sku, "competitor": "Apex Supply", "claimed_unit_price": "4.00",
            "reported_on": "2026-11-20", "channel": "call"})
        assert response.status_code == 400
        page = html(response)
        assert "Choose a product from the list." in page[page.index('id="field-product"'):][:2000]
    assert not PriceClaim.objects.filter(product__sku__in=("SAF-400", "BK-000001")).exists()


def test_products_are_found_by_words_of_their_sku_or_name(catalogue, client_for):
    client = client_for(catalogue["am"])
    _, found = product_options(html(client.get(reverse("claim-new"), {"customer": "SEED-001",
                                                                       "product_search": "glo"})))
    assert found == ["SAF-402"]
    own, found = product_options(html(client.get(reverse("claim-new"), {"customer": "SEED-001",
                                                                         "product_search": "saf"})))
    assert own == ["SAF-401"] and found == ["SAF-401", "SAF-402", "SAF-403"]
    page = html(client.get(reverse("claim-new"), {"customer": "SEED-001", "product_search": "glo"}))
    assert 'id="product-find"' in page and 'value="glo"' in page


def test_without_a_customer_the_products_are_one_list_by_sku(catalogue, client_for):
    own, offered = product_options(html(client_for(catalogue["am"]).get(reverse("claim-new"))))
    assert own == [] and offered == sorted(offered)


def test_another_managers_customer_gets_no_own_products(catalogue, client_for):
    own, _ = product_options(html(client_for(catalogue["am"]).get(reverse("claim-new"), {"customer": "C-2001"})))
    assert own == []


# --- evidence ---------------------------------------------------------------------------------------------


@pytest.fixture
def evidenced(scenario, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    claim = price_claim_record(user=scenario["am"], customer=scenario["seed"], product=scenario["product"],
                               competitor="Apex Supply", claimed_unit_price=Decimal("11.40"),
                               reported_on=date(2026, 11, 20), channel="quote",
                               evidence=ContentFile(PDF, name="apex-quote.pdf"))
    return {**scenario, "claim": claim}


@pytest.mark.parametrize("role", ["am", "pricing", "finance"])
def test_whoever_may_see_the_claim_downloads_its_evidence(evidenced, client_for, role):
    client = client_for(evidenced[role])
    claim = evidenced["claim"]
    page = html(client.get(reverse("claim-detail", args=[claim.pk])))
    assert f'href="{reverse("claim-evidence", args=[claim.pk])}" download' in page
    response = client.get(reverse("claim-evidence", args=[claim.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;") and "apex-quote" in response["Content-Disposition"]
    assert response["Content-Type"] == "application/octet-stream"


def test_another_manager_gets_404_for_the_evidence(evidenced, client_for):
    response = client_for(evidenced["other_am"]).get(reverse("claim-evidence", args=[evidenced["claim"].pk]))
    assert response.status_code == 404
    assert PDF not in response.content


def test_a_claim_without_evidence_has_no_download(evidenced, client_for):
    claim = evidenced["claims"]["april"]
    client = client_for(evidenced["am"])
    assert client.get(reverse("claim-evidence", args=[claim.pk])).status_code == 404
    assert reverse("claim-evidence", args=[claim.pk]) not in html(client.get(reverse("claim-detail", args=[claim.pk])))
