"""An agreement's history says who matched a competitor's price on it (the contract price the match wrote)
and who terminated it, on its page and in the API, newest first."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from pricing_signals.models import MarketSignal
from pricing_signals.services import market_signal_decide
from rebates.services import agreement_terminate
from tests.api.conftest import client_for as api_client_for
from tests.pages.fixtures import html
from tests.pages.test_lists import table_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def matched_then_terminated(signalled_scenario):
    """The pricing manager matches the seed signal's price on AG-SEED-2026 from November 2026; then finance
    terminates the agreement in November 2026."""
    agreement = signalled_scenario["agreements"]["seed"]
    signal = (MarketSignal.objects.filter(product=signalled_scenario["product"], status=MarketSignal.Status.OPEN,
                                          merged_into__isnull=True).order_by("pk").first())
    assert signal is not None
    market_signal_decide(user=signalled_scenario["pricing"], signal=signal, decision="match",
                         match_price=Decimal("11.40"), effective_from=date(2026, 11, 1), agreements=[agreement.number])
    agreement_terminate(agreement=agreement, terminated_on=date(2026, 11, 15), reason="Moved to a competitor",
                        by=signalled_scenario["finance"])
    return {**signalled_scenario, "signal": signal, "agreement": agreement}


def _row(rows, words):
    found = [row for row in rows if words in row[-1]]
    assert len(found) == 1, rows
    return found[0]


@pytest.mark.parametrize("role", ["am", "finance"])
def test_the_agreement_page_says_who_matched_and_who_terminated_it(matched_then_terminated, client_for, role):
    scenario = matched_then_terminated
    page = html(client_for(scenario[role]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    rows = table_rows(page, "history-rows")
    terminated = _row(rows, "Terminated AG-SEED-2026 on 2026-11-15")
    assert terminated[1] == "Felix Brandt" and "Moved to a competitor" in terminated[3]
    assert terminated[2] == f"agreement {scenario['agreement'].pk}"
    matched = _row(rows, f"matched market signal #{scenario['signal'].pk}")
    assert matched[1] == "Priya Raman" and "FAS-101" in matched[3] and "11.40" in matched[3]
    assert rows.index(terminated) < rows.index(matched)  # newest first


def test_the_customer_page_shows_them_too_and_another_manager_does_not_read_them(matched_then_terminated,
                                                                                client_for):
    scenario = matched_then_terminated
    page = html(client_for(scenario["am"]).get(reverse("customer-detail", args=["SEED-001"])))
    rows = table_rows(page, "history-rows")
    assert _row(rows, "Terminated AG-SEED-2026")[1] == "Felix Brandt"
    assert _row(rows, "matched market signal")[1] == "Priya Raman"
    other = client_for(scenario["other_am"])
    assert other.get(reverse("agreement-detail", args=["AG-SEED-2026"])).status_code == 404


def test_the_api_history_says_who_matched_and_who_terminated_it(matched_then_terminated):
    scenario = matched_then_terminated
    body = api_client_for(scenario["am"]).get("/api/v1/agreements/AG-SEED-2026/history/").json()
    rows = [(row["action"], row["username"], row["who"], row["subject"], row["subject_id"])
            for row in body["results"]]
    key = str(scenario["agreement"].pk)
    terminate = ("agreement.terminate", "finance", "Felix Brandt", "agreement", key)
    match = ("contract_price.change", "pricing", "Priya Raman", "agreement", key)
    assert terminate in rows and match in rows and rows.index(terminate) < rows.index(match)
    summaries = {row["action"]: row["summary"] for row in body["results"]}
    assert summaries["agreement.terminate"].startswith("Terminated AG-SEED-2026 on 2026-11-15: ")
    assert "(Moved to a competitor)" in summaries["agreement.terminate"]
    assert summaries["contract_price.change"].endswith(f"matched market signal #{scenario['signal'].pk}")
    customer = api_client_for(scenario["finance"]).get("/api/v1/customers/SEED-001/history/").json()
    assert {"agreement.terminate", "contract_price.change"} <= {row["action"] for row in customer["results"]}
    assert api_client_for(scenario["other_am"]).get("/api/v1/agreements/AG-SEED-2026/history/").status_code == 404
