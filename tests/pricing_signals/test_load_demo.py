"""`manage.py load_demo`: the demo data, the seed scenario of docs/product.md, and a rerun that changes nothing."""

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Count, Sum
from rest_framework.authtoken.models import Token

from customers.models import Customer
from customers.roles import ACCOUNT_MANAGER
from pricing_signals.models import MarketSignal, PriceClaim
from rebates.models import (
    EARNED_KINDS,
    AccrualRun,
    LedgerEntry,
    Product,
    ProductLine,
    PurchaseLine,
    RebateAgreement,
    RebateProgram,
    Settlement,
)
from rebates.selectors import customers_shortfall_months, dashboard_figures

DEMO_LOGINS = ("am.north", "am.south", "am.west", "pricing", "finance", "erp", "admin")

pytestmark = pytest.mark.django_db


def load_demo(*args):
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def row_counts():
    models = [
        model
        for label in ("customers", "rebates", "pricing_signals")
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    ]
    models += [get_user_model(), Group, Token]
    return {model._meta.label: model._default_manager.count() for model in models}


def seed_claims():
    return PriceClaim.objects.filter(customer__code="SEED-001").order_by("reported_on")


def test_loads_about_sixty_customers_twenty_products_in_four_lines_and_three_programs():
    load_demo()

    assert 55 <= Customer.objects.count() <= 65
    assert Product.objects.count() == 20
    assert ProductLine.objects.count() == 4
    assert RebateProgram.objects.count() == 3


def test_three_account_managers_are_in_the_account_manager_group_and_share_the_customers():
    load_demo()

    managers = get_user_model().objects.filter(groups__name=ACCOUNT_MANAGER)
    assert sorted(managers.values_list("username", flat=True)) == ["am.north", "am.south", "am.west"]
    assert Customer.objects.filter(account_manager__in=managers).count() == Customer.objects.count()


def test_erp_user_has_an_api_token():
    load_demo()

    assert Token.objects.filter(user__username="erp").exists()


def test_second_run_leaves_every_table_row_count_unchanged():
    load_demo()
    first = row_counts()

    load_demo()

    assert row_counts() == first


def test_second_run_keeps_the_erp_token_key():
    load_demo()
    key = Token.objects.get(user__username="erp").key

    load_demo()

    assert Token.objects.get(user__username="erp").key == key


def test_second_run_does_not_touch_purchase_lines_or_agreements():
    load_demo()
    purchases = dict(PurchaseLine.objects.values_list("erp_line_id", "updated_at"))
    agreements = dict(RebateAgreement.objects.values_list("number", "terms_changed_at"))

    load_demo()

    assert dict(PurchaseLine.objects.values_list("erp_line_id", "updated_at")) == purchases
    assert dict(RebateAgreement.objects.values_list("number", "terms_changed_at")) == agreements


def test_seed_agreement_is_12_10_net_with_a_per_unit_rebate_of_0_25():
    load_demo()

    agreement = RebateAgreement.objects.get(number="AG-SEED-2026")
    assert agreement.customer.code == "SEED-001"
    assert (agreement.start_month, agreement.end_month) == (date(2026, 1, 1), date(2026, 12, 1))
    assert agreement.committed_monthly_quantity == 10
    assert [(p.effective_from, p.net_price) for p in agreement.prices.all()] == [
        (date(2026, 1, 1), Decimal("12.10"))
    ]
    assert (agreement.rule.kind, agreement.rule.rate_type, agreement.rule.rate) == (
        "per_unit",
        "per_unit",
        Decimal("0.25"),
    )


def test_seed_customer_buys_10_units_every_month_for_1452_dollars_in_the_year():
    load_demo()

    lines = PurchaseLine.objects.filter(customer__code="SEED-001")
    assert lines.count() == 12
    assert set(lines.values_list("quantity", flat=True)) == {Decimal(10)}
    assert sorted(lines.values_list("month", flat=True)) == [date(2026, month, 1) for month in range(1, 13)]
    assert lines.aggregate(total=Sum("amount"))["total"] == Decimal("1452.00")


def test_seed_customer_claims_a_lower_price_in_april_june_and_september():
    load_demo()

    assert [claim.reported_on.month for claim in seed_claims()] == [4, 6, 9]


def test_september_is_the_seed_signal_and_april_and_june_are_unsubstantiated():
    load_demo()

    assert [claim.status for claim in seed_claims()] == ["unsubstantiated", "unsubstantiated", "corroborated"]
    signal = MarketSignal.objects.get()
    assert (signal.product.sku, signal.customer_count, signal.claim_count) == ("FAS-101", 3, 3)
    assert (signal.window_start, signal.window_end) == (date(2026, 9, 8), date(2026, 9, 22))
    assert signal.median_price == Decimal("11.4000")


def test_the_scattered_claims_on_other_products_make_no_signal():
    load_demo()

    assert MarketSignal.objects.count() == 1
    assert not PriceClaim.objects.exclude(product__sku="FAS-101").filter(status="corroborated").exists()


def test_september_claim_is_echoed_by_two_other_customers_within_30_days_and_2_percent():
    load_demo()
    september = seed_claims().get(reported_on__month=9)

    window = PriceClaim.objects.filter(
        product=september.product,
        reported_on__gte=september.reported_on,
        reported_on__lte=september.reported_on + timedelta(days=30),
    )
    prices = [claim.claimed_price for claim in window]
    assert window.aggregate(customers=Count("customer", distinct=True))["customers"] == 3
    assert max(prices) <= min(prices) * Decimal("1.02")


def test_april_and_june_claims_have_no_other_customer_within_30_days():
    load_demo()

    for claim in seed_claims().filter(reported_on__month__in=[4, 6]):
        near = PriceClaim.objects.filter(
            product=claim.product,
            reported_on__range=(claim.reported_on - timedelta(days=30), claim.reported_on + timedelta(days=30)),
        ).exclude(customer=claim.customer)
        assert not near.exists()


def test_output_names_every_demo_login_and_the_erp_token():
    output = load_demo()

    for username in DEMO_LOGINS:
        assert username in output
    assert Token.objects.get(user__username="erp").key in output


def test_quiet_output_names_the_logins_without_the_row_counts():
    output = load_demo("--quiet")

    assert all(username in output for username in DEMO_LOGINS)
    assert "customers.Customer" not in output


# --- the demo is alive: accrued and settled as of the day it is loaded --------------------------------------


def seed_accrued_by_month():
    entries = LedgerEntry.objects.filter(agreement__number="AG-SEED-2026", kind__in=EARNED_KINDS)
    by_month = entries.order_by("period").values("period").annotate(total=Sum("amount"))
    return dict(by_month.values_list("period", "total"))


def test_the_demo_opens_accrued_to_today_with_the_seed_customer_at_2_50_a_month():
    load_demo()  # the suite's day: 23 November 2026

    assert seed_accrued_by_month() == {date(2026, month, 1): Decimal("2.50") for month in range(1, 12)}
    run = AccrualRun.objects.get()
    assert (run.status, run.as_of) == ("succeeded", date(2026, 11, 23))


def test_the_demo_closes_the_settlement_periods_ended_by_today_and_no_other():
    load_demo()

    closed = {}
    for frequency, end in Settlement.objects.values_list("agreement__settlement_frequency", "period_end"):
        closed[frequency] = max(closed.get(frequency, end), end)
    # Periods end with their last month: monthly ones through October, quarters through September; the
    # annual ones run to December.
    assert closed == {"monthly": date(2026, 10, 1), "quarterly": date(2026, 9, 1)}
    assert not Settlement.objects.filter(agreement__number="AG-SEED-2026").exists()


def test_the_seed_customer_on_the_first_dashboard_shows_its_accrual_and_no_shortfall(client):
    load_demo()
    manager = get_user_model().objects.get(username="am.north")
    seed = Customer.objects.get(code="SEED-001")

    assert dashboard_figures(user=manager)[seed.pk].accrued_to_date == Decimal("27.50")
    assert customers_shortfall_months(user=manager).get(seed.pk, 0) == 0
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert "Harbor Fasteners" in page and "$27.50" in page


@pytest.mark.today("2027-02-10")
def test_after_the_demo_year_the_seed_settlement_is_closed_with_the_year_s_30_dollars():
    load_demo()

    settlement = Settlement.objects.get(agreement__number="AG-SEED-2026")
    assert (settlement.period_start, settlement.period_end, settlement.status) == (
        date(2026, 1, 1), date(2026, 12, 1), "draft")
    assert settlement.amount == Decimal("30.00")
    assert RebateAgreement.objects.get(number="AG-SEED-2026").status == "expired"


def test_a_second_load_the_same_day_starts_no_run_and_a_later_one_accrues_the_new_month(pinned_clock):
    load_demo()
    load_demo()
    assert AccrualRun.objects.count() == 1

    pinned_clock.move_to(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    load_demo()

    assert AccrualRun.objects.count() == 2
    assert seed_accrued_by_month()[date(2026, 12, 1)] == Decimal("2.50")
    assert sum(seed_accrued_by_month().values()) == Decimal("30.00")


def test_output_says_to_which_day_the_demo_is_accrued_and_what_it_earned_per_currency():
    output = load_demo("--quiet")

    earned = dict(LedgerEntry.objects.filter(kind__in=EARNED_KINDS).order_by().values("agreement__customer__currency")
                  .annotate(total=Sum("amount")).values_list("agreement__customer__currency", "total"))
    assert set(earned) == {"EUR", "USD"} and all(total > 0 for total in earned.values())
    # Each currency in its own sign, never one sum of euros and dollars.
    assert f"Accrued as of 2026-11-23: €{earned['EUR']:,.2f} · ${earned['USD']:,.2f} earned, " in output


# --- the outlook: last year's purchases shape the forecasts and show who is falling ---------------------------


def test_the_demo_carries_last_years_purchases_of_every_customer_but_the_seed():
    load_demo()

    last_year = PurchaseLine.objects.filter(month__year=2025)
    # A buying group buys through its members, never itself.
    assert last_year.values("customer").distinct().count() == Customer.objects.filter(is_group=False).count() - 1
    assert not last_year.filter(customer__code="SEED-001").exists()


def test_the_demo_opens_with_forecasts_shaped_by_last_year_and_a_watchlist_of_falling_customers():
    from pages.watchlist import FALLING, watchlist
    from rebates.models import AgreementForecast

    load_demo()
    manager = get_user_model().objects.get(username="am.north")

    forecasts = AgreementForecast.objects.filter(run=AccrualRun.objects.get())
    assert forecasts.filter(method="last year").count() >= 20
    assert forecasts.get(agreement__number="AG-SEED-2026").rebate == Decimal("30.00")  # $2.50 a month
    items = watchlist(user=manager)
    assert any(item.kind == FALLING for item in items)
    assert all(Customer.objects.get(code=item.customer_code).account_manager == manager for item in items)
    assert [item.money for item in items] == sorted((item.money for item in items), reverse=True)
