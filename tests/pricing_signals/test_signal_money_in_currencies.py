"""A signal's figures over customers in several currencies: each exposed agreement's net price and unpaid
rebate in its customer's currency, the rebate at stake per currency (on the signal's page and the pricing
manager's dashboard), never one sum across currencies; the signal's prices in its claimants' currency."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from pricing_signals.wording import claim_words
from tests.factories import CustomerFactory, LedgerEntryFactory, PurchaseLineFactory
from tests.pricing_signals.conftest import agreement_for, signal_on

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-16")]


@pytest.fixture
def exposed(product, manager_a):
    """Two customers priced above the signal's 11.40 median, one in euros and one in dollars, each with unpaid
    rebate; the claimant buys in euros too."""
    euros = CustomerFactory(code="C-EU", name="Euro GmbH", currency="EUR", account_manager=manager_a)
    dollars = CustomerFactory(code="C-US", name="Dollar Ltd", account_manager=manager_a)
    claimant = CustomerFactory(code="C-CLAIM", currency="EUR", account_manager=manager_a)
    for customer, unpaid in ((euros, "17.05"), (dollars, "20.00")):
        agreement = agreement_for(customer, product)
        PurchaseLineFactory(customer=customer, product=product, month=date(2026, 10, 1))
        LedgerEntryFactory(agreement=agreement, period=date(2026, 10, 1), amount=Decimal(unpaid))
    return signal_on(product, "11.40", claimant)


def test_a_signals_page_gives_the_exposure_per_currency_and_its_prices_in_the_claimants_currency(
        exposed, pricing_manager, client):
    client.force_login(pricing_manager)
    html = client.get(reverse("signal-detail", args=[exposed.pk])).content.decode()
    tile = re.search(r'id="exposure-total">([^<]*)<', html).group(1)
    assert tile == "€17.05 · $20.00"  # never 37.05
    table = html[html.index('id="exposure"'):html.index("</table>", html.index('id="exposure"'))]
    euro_row = next(row for row in table.split("<tr>") if "C-EU" in row)
    assert "€12.10" in euro_row and "€17.05" in euro_row and "$" not in euro_row
    assert re.search(r'id="median-price">€11.40<', html)  # the one claimant buys in euros


def test_the_pricing_managers_dashboard_gives_each_signals_rebate_at_stake_per_currency(
        exposed, pricing_manager, client):
    client.force_login(pricing_manager)
    html = client.get(reverse("dashboard")).content.decode()
    signals = html[html.index('id="open-signals"'):html.index("</table>", html.index('id="open-signals"'))]
    assert "€17.05 · $20.00" in signals and "$37.05" not in signals
    assert "€11.40" in signals and "$11.40" not in signals


def test_a_claim_in_words_is_in_its_customers_currency():
    words = claim_words(competitor="Acme", price=Decimal("11.4"), sku="FAS-101", channel="Phone",
                        reported_on=date(2026, 9, 3), currency="EUR")
    assert words == "Acme €11.40 on FAS-101 (phone, 2026-09-03)"
    assert claim_words(competitor="Acme", price=Decimal("11.405"), sku="FAS-101", channel="Phone",
                       reported_on=date(2026, 9, 3)) == "Acme $11.4050 on FAS-101 (phone, 2026-09-03)"


def _timeline_titles(client):
    html = client.get(reverse("signals"), {"from": "2026-08-01", "to": "2026-11-16"}).content.decode()
    return re.findall(r"<title>([^<]*)</title>", html)


def test_the_timeline_gives_a_signals_median_and_its_claims_in_the_claimants_currency(
        exposed, pricing_manager, client):
    client.force_login(pricing_manager)
    titles = _timeline_titles(client)
    window = next(title for title in titles if title.startswith(f"Signal #{exposed.pk} "))
    assert window.endswith("1 customers, median €11.40")
    claim = next(title for title in titles if title.startswith("Claim of C-CLAIM"))
    assert "€11.40 on" in claim and "$" not in claim


def test_the_timeline_names_the_currencies_of_a_signal_claimed_in_several(product, manager_a, pricing_manager,
                                                                          client):
    euros = CustomerFactory(code="T-EU", currency="EUR", account_manager=manager_a)
    dollars = CustomerFactory(code="T-US", currency="USD", account_manager=manager_a)
    signal = signal_on(product, "11.40", euros, dollars)
    client.force_login(pricing_manager)
    titles = _timeline_titles(client)
    window = next(title for title in titles if title.startswith(f"Signal #{signal.pk} "))
    assert window.endswith("2 customers, median 11.40 (claims in EUR, USD)")
    claims = {code: title for title in titles for code in ("T-EU", "T-US") if title.startswith(f"Claim of {code}")}
    assert "€11.40 on" in claims["T-EU"] and "$11.40 on" in claims["T-US"]


def test_the_exposure_totals_per_currency_add_up_to_the_signals_totals_in_one_read(
        exposed, pricing_manager, django_assert_max_num_queries):
    from pricing_signals.selectors import signals_exposure_totals

    plain = signals_exposure_totals(user=pricing_manager, signals=[exposed])[exposed.pk]
    with django_assert_max_num_queries(3):  # the products' lines, JIT off, the aggregate
        split = signals_exposure_totals(user=pricing_manager, signals=[exposed], by_currency=True)[exposed.pk]
    assert split["unpaid_by_currency"] == {"EUR": Decimal("17.05"), "USD": Decimal("20.00")}
    assert {name: split[name] for name in plain} == plain == {"agreements": 2, "customers": 2,
                                                              "unpaid_rebate": Decimal("37.05")}
