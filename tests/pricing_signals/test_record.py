"""Recording a price claim: validation, evidence files, visibility, audit, and its check queued on commit."""

import hashlib
from datetime import date
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from kombu.exceptions import OperationalError

from customers.models import AuditRecord
from pricing_signals import tasks
from pricing_signals.models import Competitor, PriceClaim
from pricing_signals.services import PriceClaimInvalid, price_claim_record, signals_detect
from tests.factories import CustomerFactory
from tests.pricing_signals.conftest import YEAR_END, claim_on

TODAY = date(2026, 9, 30)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def record(user, customer, product, **overrides):
    values = {"competitor": "Apex Supply", "claimed_unit_price": "11.40", "reported_on": date(2026, 9, 8),
              "channel": "call", "note": "Apex quoted 11.40 for 50 boxes.", "today": TODAY}
    values.update(overrides)
    return price_claim_record(user=user, customer=customer, product=product, **values)


def errors_of(excinfo):
    return excinfo.value.message_dict


@pytest.mark.django_db
class TestRecording:
    def test_a_claim_is_stored_pending_with_its_reporter_and_a_new_competitor(self, manager_a, product):
        customer = CustomerFactory(code="SEED-001", account_manager=manager_a)

        claim = record(manager_a, customer, product, competitor="  Apex   Supply ")

        claim.refresh_from_db()
        assert (claim.customer, claim.product, claim.claimed_price, claim.reported_on) == (
            customer, product, Decimal("11.4000"), date(2026, 9, 8))
        assert (claim.status, claim.signal, claim.reported_by, claim.channel) == ("pending", None, manager_a, "call")
        assert claim.competitor == Competitor.objects.get(name="Apex Supply")

    def test_customer_product_and_competitor_may_be_named_by_their_keys(self, manager_a, product):
        CustomerFactory(code="SEED-001", account_manager=manager_a)
        existing = Competitor.objects.create(name="Apex Supply")

        claim = record(manager_a, "SEED-001", "FAS-101", competitor="apex supply")

        assert claim.competitor == existing and claim.product == product

    def test_recording_writes_an_audit_row(self, manager_a, product):
        claim = record(manager_a, CustomerFactory(code="SEED-001", account_manager=manager_a), product)

        audit = AuditRecord.objects.get(action="price_claim.record")
        assert (audit.actor, audit.target_id) == (manager_a, str(claim.pk))
        assert "SEED-001 says Apex Supply sells FAS-101 at 11.40" in audit.summary

    def test_every_bad_field_is_named_in_plain_words_and_nothing_is_stored(self, manager_a, product):
        with pytest.raises(PriceClaimInvalid) as excinfo:
            price_claim_record(user=manager_a, customer="NOPE", product="NO-SKU", competitor=" ",
                               claimed_unit_price="-3", reported_on="8 Sept", channel="fax", note="x" * 2001)

        assert set(errors_of(excinfo)) == {"customer", "product", "competitor", "claimed_unit_price",
                                           "reported_on", "channel", "note"}
        assert PriceClaim.objects.count() == 0 and Competitor.objects.count() == 0

    @pytest.mark.parametrize("price, message", [
        (11.4, "not a float"),
        ("11.40001", "at most 4 decimal places"),
        ("0", "more than zero"),
        ("eleven", "decimal number"),
    ])
    def test_a_price_must_be_a_positive_decimal_with_at_most_four_places(self, manager_a, product, price, message):
        customer = CustomerFactory(account_manager=manager_a)
        with pytest.raises(PriceClaimInvalid) as excinfo:
            record(manager_a, customer, product, claimed_unit_price=price)
        assert message in errors_of(excinfo)["claimed_unit_price"][0]

    def test_a_claim_reported_in_the_future_is_refused(self, manager_a, product):
        with pytest.raises(PriceClaimInvalid) as excinfo:
            record(manager_a, CustomerFactory(account_manager=manager_a), product, reported_on=date(2026, 10, 1))
        assert "in the future" in errors_of(excinfo)["reported_on"][0]

    def test_a_customer_of_another_manager_is_refused_as_if_it_did_not_exist(self, manager_a, manager_b, product):
        theirs = CustomerFactory(code="B-001", account_manager=manager_b)

        with pytest.raises(PriceClaimInvalid) as theirs_error:
            record(manager_a, theirs, product)
        with pytest.raises(PriceClaimInvalid) as missing_error:
            record(manager_a, "B-002", product)

        assert errors_of(theirs_error)["customer"] == ["No customer 'B-001' among yours."]
        assert errors_of(missing_error)["customer"] == ["No customer 'B-002' among yours."]
        assert PriceClaim.objects.count() == 0

    def test_a_pricing_manager_may_record_for_any_customer(self, manager_b, pricing_manager, product):
        claim = record(pricing_manager, CustomerFactory(account_manager=manager_b), product)
        assert claim.reported_by == pricing_manager

    def test_finance_may_not_record_claims(self, finance, product):
        with pytest.raises(PermissionDenied):
            record(finance, CustomerFactory(), product)


@pytest.mark.django_db
class TestEvidence:
    def test_a_pdf_is_stored_through_the_storage_with_its_size_and_digest(self, manager_a, product):
        customer = CustomerFactory(account_manager=manager_a)

        claim = record(manager_a, customer, product, evidence=ContentFile(PDF, name="apex-quote.pdf"))

        claim.refresh_from_db()
        assert claim.evidence.name.startswith("claims/evidence/2026/09/apex-quote")
        assert default_storage.open(claim.evidence.name).read() == PDF
        assert claim.evidence_size == len(PDF)
        assert claim.evidence_sha256 == hashlib.sha256(PDF).hexdigest()

    def test_a_claim_that_fails_to_save_leaves_no_evidence_file_behind(self, manager_a, product, monkeypatch,
                                                                         settings):
        def audit_fails(**kwargs):
            raise RuntimeError("audit table unavailable")

        monkeypatch.setattr("pricing_signals.services.claims.audit_record", audit_fails)

        with pytest.raises(RuntimeError):
            record(manager_a, CustomerFactory(account_manager=manager_a), product,
                   evidence=ContentFile(PDF, name="apex-quote.pdf"))

        assert PriceClaim.objects.count() == 0
        assert [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file()] == []

    @pytest.mark.parametrize("name, content, message", [
        ("quote.exe", b"MZ\x90\x00", "Evidence must be one of"),
        ("quote.pdf", b"MZ\x90\x00 not a pdf", "not really a PDF file"),
        ("photo.png", b"\xff\xd8\xff\xe0 a jpeg", "not really a PNG file"),
        ("note.txt", b"text\x00with a NUL", "not a text file"),
        ("empty.pdf", b"", "empty"),
    ])
    def test_a_file_of_the_wrong_type_is_refused(self, manager_a, product, name, content, message):
        with pytest.raises(PriceClaimInvalid) as excinfo:
            record(manager_a, CustomerFactory(account_manager=manager_a), product,
                   evidence=ContentFile(content, name=name))
        assert message in errors_of(excinfo)["evidence"][0]
        assert PriceClaim.objects.count() == 0

    def test_a_file_over_the_size_limit_is_refused(self, manager_a, product, monkeypatch):
        from pricing_signals.services import claims as services

        monkeypatch.setattr(services, "EVIDENCE_MAX_BYTES", 1024)
        with pytest.raises(PriceClaimInvalid) as excinfo:
            record(manager_a, CustomerFactory(account_manager=manager_a), product,
                   evidence=ContentFile(PDF + b"0" * 2000, name="big.pdf"))
        assert "at most" in errors_of(excinfo)["evidence"][0]

    def test_a_file_whose_declared_size_is_small_but_whose_content_is_not_is_refused(self, manager_a, product,
                                                                                      monkeypatch):
        from pricing_signals.services import claims as services

        monkeypatch.setattr(services, "EVIDENCE_MAX_BYTES", 1024)
        lying = ContentFile(PDF + b"0" * 20_000, name="big.pdf")
        lying.size = 10
        with pytest.raises(PriceClaimInvalid):
            record(manager_a, CustomerFactory(account_manager=manager_a), product, evidence=lying)


def _queued():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return [message for message in client.lrange("celery", 0, -1) if b"price_claim_check" in message]


@pytest.fixture
def empty_queue():
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")
    yield
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")


@pytest.mark.django_db(transaction=True)
def test_the_check_is_queued_only_when_the_claim_commits(manager_a, product, empty_queue):
    customer = CustomerFactory(account_manager=manager_a)

    with pytest.raises(RuntimeError), transaction.atomic():
        record(manager_a, customer, product)
        raise RuntimeError("the request failed after recording")
    assert PriceClaim.objects.count() == 0 and _queued() == []

    with transaction.atomic():
        claim = record(manager_a, customer, product)
        assert _queued() == []  # not before the commit
    [message] = _queued()
    assert str(claim.pk).encode() in message


@pytest.mark.django_db(transaction=True)
def test_the_queued_check_gives_the_claim_its_status(manager_a, product, empty_queue):
    customers = [CustomerFactory(account_manager=manager_a) for _ in range(3)]
    claims = [record(manager_a, customer, product, reported_on=date(2026, 9, 8 + i))
              for i, customer in enumerate(customers)]

    for claim in claims:  # what the worker does with each message
        tasks.price_claim_check.apply(args=[claim.pk]).get()

    assert set(PriceClaim.objects.values_list("status", flat=True)) == {"corroborated"}


@pytest.mark.django_db(transaction=True)
def test_claims_saved_while_the_broker_is_down_are_kept_and_caught_by_the_nightly_sweep(
        manager_a, product, monkeypatch, empty_queue):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    monkeypatch.setattr(tasks.price_claim_check, "apply_async", broker_down)
    claims = [record(manager_a, CustomerFactory(account_manager=manager_a), product, reported_on=date(2026, 9, 8 + i))
              for i in range(3)]
    assert set(PriceClaim.objects.values_list("status", flat=True)) == {"pending"}  # saved, never checked

    tasks.nightly_signal_sweep.apply().get()

    assert {PriceClaim.objects.get(pk=claim.pk).status for claim in claims} == {"corroborated"}


@pytest.mark.django_db
def test_a_claim_recorded_without_its_check_is_still_judged_by_the_next_sweep(product):
    lone = claim_on(product, CustomerFactory(), date(2026, 6, 10))

    signals_detect(as_of=YEAR_END)

    assert PriceClaim.objects.get(pk=lone.pk).status == "unsubstantiated"
