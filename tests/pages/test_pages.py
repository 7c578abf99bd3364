"""The pages app through the real middleware: what each role sees on the dashboard, a customer's page and
an agreement's page (terms in words, the monthly sheet with its claims, the chart) and its sheet download."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from pricing_signals.models import MarketSignal
from rebates.models import AccrualRun, LedgerEntry
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db




# --- dashboard -------------------------------------------------------------------------------------------


def test_account_manager_dashboard_shows_accrued_at_stake_shortfall_and_open_signals(signalled_scenario, client_for):
    page = html(client_for(signalled_scenario["am"]).get(reverse("dashboard")))
    assert "Harbor Fasteners" in page and "Northgate Builders" in page
    assert "Someone Else Ltd" not in page and "Riverside Hardware" not in page
    # Worked example 1: 10 units a month at $0.25: 2025's $30.00 and January to October 2026's $25.00.
    assert "$55.00" in page
    signal = MarketSignal.objects.get()
    assert f"#{signal.pk} FAS-101" in page


def test_pricing_manager_dashboard_lists_open_signals_with_their_exposure(signalled_scenario, client_for):
    page = html(client_for(signalled_scenario["pricing"]).get(reverse("dashboard")))
    signal = MarketSignal.objects.get()
    assert reverse("signal-detail", args=[signal.pk]) in page
    assert "Open market signals" in page
    # Exposure: the other manager's C-2001 at $12.40 is above the signal's median; claimants are not counted.
    assert "1 (1 customers)" in page


def test_finance_dashboard_shows_last_runs_liability_and_settlements_waiting(scenario, client_for):
    page = html(client_for(scenario["finance"]).get(reverse("dashboard")))
    run = AccrualRun.objects.get()
    assert reverse("accrual-run-detail", args=[run.pk]) in page
    liability = sum(LedgerEntry.objects.values_list("amount", flat=True), Decimal("0"))
    assert f"${liability:,.2f}" in page
    assert "draft settlements to approve" in page


# --- customer and agreement pages ------------------------------------------------------------------------


def test_customer_page_shows_agreements_purchases_by_month_claims_and_credibility(scenario, client_for):
    page = html(client_for(scenario["am"]).get(reverse("customer-detail", args=["SEED-001"])))
    assert "AG-SEED-2026" in page and "AG-SEED-2025" in page
    assert "<svg" in page and "2026-10" in page
    # April and June: nobody echoed them, so the customer's credibility is 0 of 2.
    assert "0.0%" in page and "(0 of 2)" in page


def test_agreement_page_says_the_terms_in_words_and_draws_the_sheet(scenario, client_for):
    page = html(client_for(scenario["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    assert "$0.25 a unit, paid annually." in page
    assert '<svg class="chart"' in page and "polyline" in page
    # Ten months of worked example 1: $2.50 each, $25.00 to date, all of it at stake.
    assert page.count("$2.50") >= 10
    assert 'id="at-stake">$25.00<' in page
    assert "contract start" in page


def test_agreement_page_counts_complete_months_short_and_flags_the_month_under_way_so_far(scenario, client_for):
    page = html(client_for(scenario["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    # Ten units bought January to October, nothing yet in November, the month under way: no shortfall yet.
    assert re.search(r'<div class="figure" id="shortfall-months">0</div><div class="muted">shortfall months', page)
    november = page[page.index("<td>2026-11</td>"):]
    assert november[:november.index("</tr>")].rstrip().endswith("<td>below so far</td>")


def test_agreement_chart_axes_step_in_round_amounts(scenario, client_for):
    page = html(client_for(scenario["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    chart = page[page.index('<svg class="chart"'):page.index("</svg>")]
    axis = re.findall(r'<text class="axis" x="[\d.]+" y="[\d.]+" text-anchor="(?:end|start)">([^<]+)</text>', chart)
    # $2.50 a month on a $0-$4 scale, $25.00 to date on a $0-$40 one: every grid line a round amount.
    assert axis == ["$0.00", "$0", "$1.00", "$10", "$2.00", "$20", "$3.00", "$30", "$4.00", "$40"]


def test_agreement_sheet_downloads_as_excel(scenario, client_for):
    response = client_for(scenario["finance"]).get(reverse("agreement-sheet", args=["AG-SEED-2026"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.content[:2] == b"PK"


