"""The admin of market signals: detection rules with per product line overrides, claims, signals."""

from datetime import date

import pytest
from django.urls import reverse

from customers.models import AuditRecord
from pricing_signals.models import DetectionRule, MarketSignal, PriceClaim
from pricing_signals.services import signals_detect
from tests.factories import CustomerFactory, UserFactory
from tests.pricing_signals.conftest import YEAR_END, claim_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def test_the_global_default_rule_exists_with_product_md_numbers():
    rule = DetectionRule.objects.get(product_line__isnull=True)
    assert (rule.window_days, rule.min_customers, rule.tolerance_percent, rule.same_competitor) == (30, 3, 2, False)


def test_an_override_for_a_product_line_is_added_in_the_admin_and_used_by_detection(admin_client, product):
    for day in (1, 2):
        claim_on(product, CustomerFactory(), date(2026, 9, day))

    page = admin_client.post(reverse("admin:pricing_signals_detectionrule_add"), {
        "product_line": product.product_line_id, "window_days": 30, "min_customers": 2,
        "tolerance_percent": "2", "same_competitor": "",
    })
    assert page.status_code == 302

    signals_detect(as_of=YEAR_END)
    assert set(PriceClaim.objects.values_list("status", flat=True)) == {"corroborated"}


def test_a_second_global_default_is_refused(admin_client):
    page = admin_client.post(reverse("admin:pricing_signals_detectionrule_add"), {
        "product_line": "", "window_days": 10, "min_customers": 2, "tolerance_percent": "1",
    })
    assert page.status_code == 200
    assert b"already a global default" in page.content
    assert DetectionRule.objects.count() == 1


def test_the_global_default_cannot_be_deleted(admin_client):
    rule = DetectionRule.objects.get()
    page = admin_client.post(reverse("admin:pricing_signals_detectionrule_delete", args=[rule.pk]), {"post": "yes"})
    assert page.status_code == 403
    assert DetectionRule.objects.count() == 1


def test_the_recheck_action_applies_an_edited_rule_now(admin_client, product):
    for day in (1, 2):
        claim_on(product, CustomerFactory(), date(2026, 9, day))
    rule = DetectionRule.objects.get()
    rule.min_customers = 2
    rule.save()

    admin_client.post(reverse("admin:pricing_signals_detectionrule_changelist"),
                      {"action": "recheck_claims", "_selected_action": [rule.pk]})

    assert set(PriceClaim.objects.values_list("status", flat=True)) == {"corroborated"}


def test_signal_pages_show_their_claims_and_acknowledge_through_the_service(admin_client, seed):
    signals_detect(as_of=YEAR_END)
    signal = MarketSignal.objects.get()

    page = admin_client.get(reverse("admin:pricing_signals_marketsignal_change", args=[signal.pk]))
    assert page.status_code == 200 and b"SEED-001" in page.content

    admin_client.post(reverse("admin:pricing_signals_marketsignal_changelist"),
                      {"action": "acknowledge", "_selected_action": [signal.pk]})
    signal.refresh_from_db()
    assert signal.status == "acknowledged"


def test_claim_list_and_change_pages_load(admin_client, seed):
    assert admin_client.get(reverse("admin:pricing_signals_priceclaim_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:pricing_signals_priceclaim_change", args=[seed["claims"]["april"].pk]))
    assert page.status_code == 200


def test_detection_rules_saved_in_the_admin_are_audited(admin_client, product):
    page = admin_client.post(reverse("admin:pricing_signals_detectionrule_add"), {
        "product_line": product.product_line_id, "window_days": 30, "min_customers": 2,
        "tolerance_percent": "2", "same_competitor": "",
    })
    assert page.status_code == 302
    override = DetectionRule.objects.get(product_line=product.product_line)
    assert AuditRecord.objects.filter(action="detection_rule.create", target_id=str(override.pk),
                                      actor__username="admin").exists()

    default = DetectionRule.objects.get(product_line__isnull=True)
    page = admin_client.post(reverse("admin:pricing_signals_detectionrule_change", args=[default.pk]), {
        "window_days": 45, "min_customers": 3, "tolerance_percent": "2", "same_competitor": ""})
    assert page.status_code == 302
    assert DetectionRule.objects.get(pk=default.pk).window_days == 45
    audit = AuditRecord.objects.get(action="detection_rule.update", target_id=str(default.pk))
    assert audit.data == {"window_days": ["30", "45"]}
