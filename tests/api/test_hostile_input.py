"""R18: hostile input answers 4xx naming what is wrong, never 500: deeply nested JSON, bad Unicode, NUL
characters, oversized bodies, duplicate or zero-valued tier bands and bonuses, codes a URL cannot carry,
months and terms outside the years the desk books. Each case goes to the API, and to the pages and forms
where it can reach them."""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client

from customers.models import Customer
from pricing_signals.forms import DecisionForm, PriceClaimForm
from pricing_signals.models import MarketSignal
from rebates.forms import AccrualRunForm, ExportForm
from rebates.models import AccrualRun, Product, PurchaseLine, RebateAgreement
from rebates.services.imports import purchase_import_file
from tests.api.conftest import client_for, line
from tests.excel.workbooks import purchase_csv
from tests.factories import ProgramFactory

SHAPE = {"status", "code", "message", "details"}


def refused(response, status, field):
    """The answer is `status` in the one error shape and its details name `field`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == SHAPE and body["status"] == status, body
    assert field in [detail["field"] for detail in body["details"]], body
    return body


def post_raw(client, url, raw: bytes | str, **headers):
    return client.post(url, data=raw, content_type="application/json", **headers)


def post(client, url, body, **headers):
    return post_raw(client, url, json.dumps(body), **headers)


@pytest.fixture
def program(db):
    return ProgramFactory(code="p-1")


AGREEMENT = {"number": "AG-NEW", "customer": "C-A", "program": "p-1", "products": ["W-1"], "start_month": "2026-01",
             "end_month": "2026-12", "status": "active", "net_price": "12.10",
             "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.25"}}
TIERED = {"kind": "tiered", "rate_type": "percent", "tier_basis": "quantity", "tier_method": "retroactive"}
CLAIM = {"customer": "C-A", "product": "W-1", "competitor": "Apex", "claimed_unit_price": "11.40",
         "reported_on": "2026-09-08", "channel": "call"}


# --- deeply nested JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "[" * 100_000 + "]" * 100_000,
    '{"erp_line_id": "L1", "customer": ' + "[" * 5_000 + "]" * 5_000 + "}",
], ids=["nested-body", "nested-in-a-field"])
def test_json_nested_past_the_parser_is_400_naming_the_body(erp, scenario, raw):
    refused(post_raw(erp, "/api/v1/purchases/", raw), 400, "body")
    assert PurchaseLine.objects.count() == 0


def test_json_nested_deeper_than_the_limit_names_where(erp, scenario, program):
    kind = "per_unit"
    for _ in range(40):
        kind = [kind]
    body = refused(post(erp, "/api/v1/agreements/", {**AGREEMENT, "rule": {**AGREEMENT["rule"], "kind": kind}}),
                   400, "rule.kind" + ".0" * 30)
    assert "Nested too deep" in body["message"]


# --- bad Unicode --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "body", "field"), [
    ("/api/v1/price-claims/", {**CLAIM, "channel": "\ud800"}, "channel"),
    ("/api/v1/customers/", {"code": "C-NEW", "name": "New", "status": "\udfff"}, "status"),
    ("/api/v1/agreements/", {**AGREEMENT, "rule": {**AGREEMENT["rule"], "kind": "\ud83d"}}, "rule.kind"),
], ids=["claim-channel", "customer-status", "agreement-rule-kind"])
def test_a_lone_surrogate_in_a_choice_field_is_400_naming_it(erp, users, scenario, program, url, body, field):
    client = client_for(users["administrator"])
    raw = json.dumps(body)  # ensure_ascii: the surrogate goes as its \\ud800 escape, as a client sends it
    assert "\\ud8" in raw or "\\udf" in raw
    refused(post_raw(client, url, raw), 400, field)


def test_a_lone_surrogate_in_a_purchase_line_names_the_line_and_field(erp, scenario):
    body = refused(post_raw(erp, "/api/v1/purchases/", json.dumps([line("L1"), line("L2", product="W-\udc00")])),
                   400, "product")
    assert body["details"][0]["line"] == 1


def test_a_body_that_is_not_utf8_is_400_naming_the_body(erp, scenario):
    refused(post_raw(erp, "/api/v1/customers/", b'{"code": "C-\xff\xfe", "name": "x"}'), 400, "body")
    assert not Customer.objects.filter(name="x").exists()


@pytest.mark.parametrize("field", ["account_manager", "segment"])
def test_an_empty_text_for_a_named_row_is_400_as_the_schema_says(users, scenario, field):
    # The schema takes a name or null; DRF alone would read "" as null and accept it.
    response = post(client_for(users["administrator"]), "/api/v1/customers/", {"code": "C-NEW", "name": "N", field: ""})
    refused(response, 400, field)


# --- NUL characters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "field"), [
    ("/api/v1/customers/C%00A/", "path"),
    ("/api/v1/agreements/AG%00A/statement/", "path"),
    ("/api/v1/price-claims/?customer=C%00A", "customer"),
    ("/api/v1/purchases/?product=%00", "product"),
    ("/api/v1/agreements/?customer=C-A&program=%00", "program"),
], ids=["customer-path", "statement-path", "claims-filter", "purchases-filter", "agreements-filter"])
def test_nul_in_the_path_or_query_is_400_naming_it(erp, scenario, path, field):
    refused(erp.get(path), 400, field)


@pytest.mark.parametrize(("url", "body", "field"), [
    ("/api/v1/customers/", {"code": "C-NEW", "name": "New", "segment": "seg\u0000"}, "segment"),
    ("/api/v1/price-claims/", {**CLAIM, "competitor": "Apex\u0000"}, "competitor"),
], ids=["customer-segment", "claim-competitor"])
def test_nul_in_body_text_is_400_naming_the_field(users, scenario, url, body, field):
    refused(post(client_for(users["administrator"]), url, body), 400, field)


def test_nul_in_a_page_path_or_query_is_400(users, scenario):
    page = Client(raise_request_exception=False)
    page.force_login(users["administrator"])
    assert page.get("/customers/C%00A/").status_code == 400
    assert page.get("/?q=%00").status_code == 400
    assert page.get("/agreements/AG%00A/").status_code == 400


# --- oversized bodies ---------------------------------------------------------------------------------


def _padded_batch(size: int) -> str:
    """A batch of lines whose JSON is at least `size` bytes."""
    one = json.dumps(line("L" + "x" * 70))
    return "[" + ",".join([one] * (size // len(one) + 1)) + "]"


def test_a_body_over_the_limit_with_an_idempotency_key_is_413(erp, scenario, settings):
    settings.API_MAX_BODY_BYTES = 1024 * 1024
    response = post_raw(erp, "/api/v1/purchases/", _padded_batch(3 * 1024 * 1024), HTTP_IDEMPOTENCY_KEY="big-1")
    body = refused(response, 413, "body")
    assert body["code"] == "too_large"
    assert PurchaseLine.objects.count() == 0


def test_a_body_over_the_default_limit_is_413_and_never_parsed(erp, scenario, monkeypatch):
    parsed = []
    import config.api.parsers as parsers

    real_load = parsers.json.load
    monkeypatch.setattr(parsers.json, "load", lambda *args, **kwargs: parsed.append(1) or real_load(*args, **kwargs))
    response = post_raw(erp, "/api/v1/purchases/", _padded_batch(9 * 1024 * 1024))
    refused(response, 413, "body")
    assert parsed == []
    assert PurchaseLine.objects.count() == 0


def test_a_declared_length_over_the_limit_is_413_before_reading(erp, scenario, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = erp.generic("POST", "/api/v1/purchases/", data=b"[]", content_type="application/json",
                           CONTENT_LENGTH="5000")
    refused(response, 413, "body")


def test_a_batch_of_10000_lines_fits_the_limit_and_is_stored(erp, scenario, settings):
    longest = {"erp_line_id": "L" * 80, "customer": "C" * 40, "product": "P" * 60, "month": "2026-03",
               "quantity": "-99999999999.999", "unit_price": "9999999999.9999", "amount": "-99999999999999.99"}
    assert len(json.dumps([longest] * 10_000, indent=2)) < settings.API_MAX_BODY_BYTES
    lines = [line(f"INV-{i:05d}") for i in range(10_000)]
    response = post(erp, "/api/v1/purchases/", lines, HTTP_IDEMPOTENCY_KEY="batch-10000")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == 10_000


# --- tier bands and bonus conditions ------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "field"), [
    ({**TIERED, "bands": [{"threshold": "0", "rate": "1"}, {"threshold": "1000", "rate": "2"},
                          {"threshold": "1000.000", "rate": "3"}]}, "rule.bands.2.threshold"),
    ({**AGREEMENT["rule"], "bonuses": [{"product": "W-1", "minimum_quantity": "0", "extra_percent": "1"}]},
     "rule.bonuses.0.minimum_quantity"),
    ({**AGREEMENT["rule"], "bonuses": [{"product": "W-1", "minimum_quantity": "10", "extra_percent": "0"}]},
     "rule.bonuses.0.extra_percent"),
    ({**AGREEMENT["rule"], "bonuses": [{"product": "W-1", "minimum_quantity": "10", "extra_percent": "1"},
                                       {"product": "W-1", "minimum_quantity": "10", "extra_percent": "2"}]},
     "rule.bonuses.1.product"),
], ids=["same-threshold", "zero-bonus-minimum", "zero-bonus-percent", "same-bonus-twice"])
def test_duplicate_or_zero_bands_and_bonuses_are_400_naming_the_field(erp, scenario, program, rule, field):
    refused(post(erp, "/api/v1/agreements/", {**AGREEMENT, "rule": rule}), 400, field)
    assert not RebateAgreement.objects.filter(number="AG-NEW").exists()


def test_a_change_to_duplicate_bands_is_400_and_keeps_the_rule(erp, scenario, program):
    assert post(erp, "/api/v1/agreements/", AGREEMENT).status_code == 201
    rule = {**TIERED, "bands": [{"threshold": "0", "rate": "1"}, {"threshold": "0", "rate": "2"}]}
    response = erp.patch("/api/v1/agreements/AG-NEW/", data=json.dumps({"rule": rule}),
                         content_type="application/json")
    refused(response, 400, "rule.bands.1.threshold")
    assert RebateAgreement.objects.get(number="AG-NEW").rule.kind == "per_unit"


# --- codes a URL carries ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["C/1", "C 1", "C?1", "C#1", "C%2F1", ".."])
def test_a_customer_code_a_url_cannot_carry_is_400_naming_it(erp, users, scenario, code):
    refused(post(client_for(users["administrator"]), "/api/v1/customers/", {"code": code, "name": "New"}), 400,
            "code")
    assert not Customer.objects.filter(code=code).exists()


def test_skus_agreement_numbers_and_program_codes_with_a_slash_are_400(users, scenario, program):
    admin = client_for(users["administrator"])
    product = {"sku": "W/9", "name": "Disc", "product_line": scenario["product"].product_line.code, "list_price": "1"}
    refused(post(admin, "/api/v1/products/", product), 400, "sku")
    refused(post(admin, "/api/v1/agreements/", {**AGREEMENT, "number": "AG/9"}), 400, "number")
    refused(post(admin, "/api/v1/programs/", {"code": "p/9", "name": "Slashed"}), 400, "code")
    assert not Product.objects.filter(sku="W/9").exists()
    # Letters and digits of any script, - _ . ~ are kept, and the row is addressable by them.
    assert post(admin, "/api/v1/customers/", {"code": "MÜLLER_1.a~b", "name": "Müller"}).status_code == 201
    assert admin.get("/api/v1/customers/MÜLLER_1.a~b/").status_code == 200


# --- months, days and terms ---------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"start_month": "1000-01", "end_month": "9999-12"}, "start_month"),
    ({"start_month": "2026-01", "end_month": "9999-12"}, "end_month"),
    ({"start_month": "2026-01", "end_month": "2099-12"}, "end_month"),
], ids=["year-1000", "year-9999", "term-too-long"])
def test_a_term_outside_the_years_or_too_long_is_400_naming_the_month(erp, scenario, program, change, field):
    refused(post(erp, "/api/v1/agreements/", {**AGREEMENT, **change}), 400, field)
    assert not RebateAgreement.objects.filter(number="AG-NEW").exists()


def test_the_longest_term_is_kept(erp, scenario, program):
    from config.validators import MAX_TERM_MONTHS

    end = f"{2026 + MAX_TERM_MONTHS // 12 - 1}-12"
    assert post(erp, "/api/v1/agreements/", {**AGREEMENT, "end_month": end}).status_code == 201


@pytest.mark.parametrize("month", ["1999-12", "2100-01", "1000-01"])
def test_a_purchase_month_outside_the_years_is_400_naming_line_and_field(erp, scenario, month):
    body = refused(post(erp, "/api/v1/purchases/", [line("L1"), line("L2", month=month)]), 400, "month")
    assert body["details"][0]["line"] == 1
    assert PurchaseLine.objects.count() == 0


def test_an_imported_month_outside_the_years_names_row_and_column(users, scenario):
    content = purchase_csv([("L1", "C-A", "W-1", "2026-03", "1", "1", "1"),
                            ("L2", "C-A", "W-1", "1000-01", "1", "1", "1")])
    batch = purchase_import_file(user=users["finance"], upload=content, name="p.csv", commit=True).batch
    assert [(error["row"], error["column"], error["field"]) for error in batch.errors] == [(3, "D", "month")]
    assert PurchaseLine.objects.count() == 0


@pytest.mark.parametrize(("role", "method", "url", "body", "field"), [
    ("account_manager", "post", "/api/v1/price-claims/", {**CLAIM, "reported_on": "0001-01-01"}, "reported_on"),
    ("finance", "post", "/api/v1/accrual-runs/", {"as_of": "0001-01-01"}, "as_of"),
    ("finance", "get", "/api/v1/agreements/AG-A/statement/?as_of=9999-12-31", None, "as_of"),
    ("finance", "get", "/api/v1/purchases/?month_from=1000-01", None, "month_from"),
    ("finance", "get", "/api/v1/accruals/?month_to=9999-12", None, "month_to"),
], ids=["claim-reported-on", "run-as-of", "statement-as-of", "purchases-filter", "accruals-filter"])
def test_days_and_months_outside_the_years_are_400_naming_them(users, scenario, role, method, url, body, field):
    client = client_for(users[role])
    response = post(client, url, body) if method == "post" else client.get(url)
    refused(response, 400, field)
    assert not AccrualRun.objects.exists()


def test_a_decision_month_outside_the_years_is_400_naming_it(users, scenario):
    signal = MarketSignal.objects.create(product=scenario["product"], window_start=datetime.date(2026, 9, 1),
                                         window_end=datetime.date(2026, 9, 20), claim_count=3, customer_count=3,
                                         median_price=Decimal("11.40"))
    response = post(client_for(users["pricing_manager"]), f"/api/v1/market-signals/{signal.pk}/decision/",
                    {"decision": "match", "match_price": "11.40", "effective_from": "9999-01", "agreements": ["AG-A"]})
    refused(response, 400, "effective_from")


# --- the same on the pages ----------------------------------------------------------------------------


def test_page_forms_refuse_days_and_months_outside_the_years(users, scenario):
    assert "as_of" in AccrualRunForm(data={"as_of": "0001-01-01"}).errors
    assert "month_from" in ExportForm(data={"report": "accruals", "format": "csv", "month_from": "1000-01"}).errors
    claim = PriceClaimForm(data={**CLAIM, "reported_on": "0001-01-01"}, user=users["administrator"])
    assert "reported_on" in claim.errors
    decision = DecisionForm(data={"decision": "match", "match_price": "11.40", "effective_from": "9999-01"})
    assert "effective_from" in decision.errors


def test_accrual_run_page_answers_a_form_error_for_year_one(users, scenario):
    page = Client(raise_request_exception=False)
    page.force_login(users["finance"])
    response = page.post("/accruals/runs/", {"as_of": "0001-01-01"})
    assert response.status_code in (200, 400) and b"2000-01-01" in response.content
    assert not AccrualRun.objects.exists()


def test_signals_page_ignores_a_day_outside_the_years(users, scenario):
    page = Client(raise_request_exception=False)
    page.force_login(users["pricing_manager"])
    assert page.get("/signals/?to=0001-01-01").status_code == 200
    assert page.get("/signals/?from=9999-12-31").status_code == 200


@pytest.mark.today("2028-02-29")
def test_accrual_run_form_on_29_february_allows_up_to_a_year_ahead():
    assert AccrualRunForm(data={"as_of": "2029-02-28"}).is_valid()
    assert "as_of" in AccrualRunForm(data={"as_of": "2029-03-01"}).errors
    assert AccrualRunForm(data={"as_of": "2028-02-29"}).is_valid()
