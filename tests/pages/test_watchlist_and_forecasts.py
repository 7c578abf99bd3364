"""The watchlist, the forecasts page and the agreement page's outlook, in the browser's pages and over REST."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers import roles
from pages.watchlist import watchlist
from rebates.models import RebateRule, TierBand
from rebates.services import accrual_run_perform, accrual_run_start
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory, PurchaseLineFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-03-05")]

D = Decimal
NEAR = Decimal("450")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def month(m, year=2026):
    return datetime.date(year, m, 1)


def tiered(customer, units=NEAR, months=(1, 2)):
    """docs/product.md's retroactive tiers, bought `units` a month at $10.00."""
    product = ProductFactory()
    agreement = AgreementFactory(customer=customer, products=[product])
    rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                     tier_basis="quantity", tier_method="retroactive")
    for threshold, rate in ((0, 1), (1000, 2), (5000, 3)):
        TierBand.objects.create(rule=rule, threshold=D(threshold), rate=D(rate))
    for m in months:
        PurchaseLineFactory(customer=customer, product=product, month=month(m), quantity=units, unit_price=D("10.00"))
    return agreement, product


def accrue(as_of=datetime.date(2026, 2, 28)):
    run = accrual_run_start(as_of=as_of, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk)


@pytest.fixture
def managers(db):
    return UserFactory(username="am.a", role=roles.ACCOUNT_MANAGER), UserFactory(username="am.b",
                                                                                   role=roles.ACCOUNT_MANAGER)


def test_an_agreement_100_units_from_its_tier_is_on_the_watchlist_with_what_reaching_it_adds(managers):
    mine, _ = managers
    agreement, _ = tiered(CustomerFactory(account_manager=mine))  # 900 units after February
    accrue()

    [item] = watchlist(user=mine, as_of=datetime.date(2026, 3, 5))

    assert (item.kind, item.agreement_number) == ("near_tier", agreement.number)
    # 1,000 units at 2 % ($200.00) less the $90.00 booked at 1 %.
    assert item.money == D("110.00")
    assert "100 units to the next tier" in item.reason and "$90.00 of it catch-up" in item.reason
    assert item.link == reverse("agreement-detail", args=[agreement.number])


def test_a_customer_buying_a_fifth_less_than_last_year_is_on_the_watchlist_with_the_drop(managers):
    mine, _ = managers
    customer = CustomerFactory(account_manager=mine)
    product = ProductFactory()
    for m in (1, 2):
        PurchaseLineFactory(customer=customer, product=product, month=month(m, 2025), quantity=D("100"),
                            unit_price=D("10.00"))
        PurchaseLineFactory(customer=customer, product=product, month=month(m), quantity=D("80"),
                            unit_price=D("10.00"))

    [item] = watchlist(user=mine, as_of=datetime.date(2026, 2, 20))

    assert (item.kind, item.customer_code, item.money) == ("falling_volume", customer.code, D("400.00"))
    assert "20% less" in item.reason


def test_the_watchlist_holds_only_the_managers_own_customers_sorted_by_money(managers):
    mine, theirs = managers
    small, _ = tiered(CustomerFactory(account_manager=mine), units=D("480"))
    large, _ = tiered(CustomerFactory(account_manager=mine), units=D("450"))
    tiered(CustomerFactory(account_manager=theirs), units=D("450"))
    accrue()

    items = watchlist(user=mine, as_of=datetime.date(2026, 3, 5))

    assert [item.agreement_number for item in items] == [large.number, small.number]
    assert [item.money for item in items] == sorted((item.money for item in items), reverse=True)


def test_the_watchlist_page_lists_and_exports_the_items(client, managers):
    mine, _ = managers
    agreement, _ = tiered(CustomerFactory(account_manager=mine))
    accrue()
    client.force_login(mine)

    page = client.get(reverse("watchlist"))
    exported = client.get(reverse("watchlist"), {"export": "xlsx"})

    assert page.status_code == 200
    assert agreement.number in page.content.decode() and "$110.00" in page.content.decode()
    assert exported.status_code == 200 and exported["Content-Type"] == XLSX
    assert client.get(reverse("watchlist"), {"export": "pdf"}).status_code == 400


def test_the_watchlist_over_rest_names_kind_customer_agreement_reason_money_and_link(managers):
    mine, theirs = managers
    agreement, _ = tiered(CustomerFactory(account_manager=mine))
    accrue()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=mine).key}")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=theirs).key}")

    [item] = api.get("/api/v1/watchlist/").json()

    assert (item["kind"], item["agreement"], item["money"]) == ("near_tier", agreement.number, "110.00")
    assert item["link"] == f"/agreements/{agreement.number}/"
    assert other.get("/api/v1/watchlist/").json() == []


def test_the_agreement_page_says_how_far_the_next_tier_is_and_the_forecast(client, managers):
    mine, _ = managers
    agreement, _ = tiered(CustomerFactory(account_manager=mine), units=D("400"))
    accrue()
    client.force_login(mine)

    page = client.get(reverse("agreement-detail", args=[agreement.number])).content.decode()

    assert "Next tier and forecast" in page
    assert "200 units to the next tier of January – December 2026; reaching it adds $120.00" in page
    assert "Forecast for January – December 2026: $960.00 of rebate" in page


def test_finance_sees_the_forecast_liability_by_month_of_payout_as_a_page_a_sheet_and_over_rest(client, managers):
    mine, _ = managers
    tiered(CustomerFactory(account_manager=mine), units=D("400"))
    accrue()
    finance = UserFactory(role=roles.FINANCE)
    client.force_login(finance)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=finance).key}")

    page = client.get(reverse("forecasts")).content.decode()
    sheet = client.get(reverse("forecasts"), {"export": "xlsx"})

    assert "January 2027" in page and "$960.00" in page
    assert sheet["Content-Type"] == XLSX
    assert api.get("/api/v1/forecast-liability/").json() == [
        {"month": "2027-01", "agreements": 1, "rebate": "960.00", "payout": "960.00", "earned_to_date": "80.00",
         "currency": "USD"}]
    assert api.get("/api/v1/exports/forecast-liability.xlsx")["Content-Type"] == XLSX
    [row] = api.get("/api/v1/forecasts/").json()["results"]
    assert (row["next_threshold"], row["to_go_units"], row["next_extra"]) == ("tier", "200.000", "120.00")
