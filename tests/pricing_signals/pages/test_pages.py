"""The market signals pages through the real middleware: logging a claim (checked at once, bad input refused
beside its field, nothing saved half), the signals timeline, a signal's decision and its evidence record."""

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from pricing_signals.models import MarketSignal, PriceClaim
from rebates.models import ContractPrice
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db



def claim_post(scenario, **changes):
    data = {"customer": "SEED-001", "product": "FAS-101", "competitor": "Apex Supply", "claimed_unit_price": "11.40",
            "reported_on": "2026-09-08", "channel": "call", "note": "Quoted on the phone"}
    data.update(changes)
    return data


# --- logging a claim -------------------------------------------------------------------------------------


def test_logging_the_seed_september_claim_shows_it_corroborated_at_once(scenario, client_for):
    client = client_for(scenario["am"])
    response = client.post(reverse("claim-new"), claim_post(scenario), follow=True)
    page = html(response)
    claim = PriceClaim.objects.get(reported_on=date(2026, 9, 8))
    assert claim.status == PriceClaim.Status.CORROBORATED
    assert 'id="claim-status">Corroborated<' in page
    # The echo of the manager's own customer is named; the other manager's customer only counted.
    assert "Northgate Builders" in page and "Riverside Hardware" not in page
    assert "1 customer of other account managers" in page
    # $11.40 is below net-net $12.10 - $0.25 = $11.85.
    assert "undercuts our net-net price of <strong>$11.85</strong>" in page


def test_a_claim_above_net_net_says_it_does_not_undercut(scenario, client_for):
    client = client_for(scenario["am"])
    page = html(client.post(reverse("claim-new"), claim_post(scenario, claimed_unit_price="11.95"), follow=True))
    assert "It does not undercut us" in page


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"claimed_unit_price": "abc"}, "claimed_unit_price", "Give a price like 11.40."),
    ({"claimed_unit_price": "0"}, "claimed_unit_price", "A price is more than zero."),
    ({"reported_on": "2031-01-01"}, "reported_on", ""),
    ({"customer": "C-2001"}, "customer", "Choose one of your customers."),
    ({"competitor": ""}, "competitor", "Name the competitor."),
])
def test_a_bad_claim_is_refused_with_a_message_next_to_the_field_and_nothing_saved(scenario, client_for, changes, field,
                                                                                     message):
    before = PriceClaim.objects.count()
    response = client_for(scenario["am"]).post(reverse("claim-new"), claim_post(scenario, **changes))
    assert response.status_code == 400
    page = html(response)
    start = page.index(f'id="field-{field}"')
    block = page[start:page.index("</div>\n", page.index('class="error"', start)) + 6]
    assert 'class="error"' in block and message in block
    assert PriceClaim.objects.count() == before


def test_finance_may_not_log_claims(scenario, client_for):
    client = client_for(scenario["finance"])
    assert client.get(reverse("claim-new")).status_code == 403
    assert client.post(reverse("claim-new"), claim_post(scenario)).status_code == 403


def test_a_write_without_a_csrf_token_is_refused(scenario):
    client = Client(enforce_csrf_checks=True)
    client.force_login(scenario["am"])
    before = PriceClaim.objects.count()
    assert client.post(reverse("claim-new"), claim_post(scenario)).status_code == 403
    assert PriceClaim.objects.count() == before


# --- signals -------------------------------------------------------------------------------------------


def test_signals_page_draws_the_timeline_with_the_signal_window(signalled_scenario, client_for):
    page = html(client_for(signalled_scenario["am"]).get(reverse("signals")))
    signal = MarketSignal.objects.get()
    assert 'class="chart timeline"' in page
    assert f"Signal #{signal.pk}" in page and 'class="window open"' in page
    # The last half year: June's and September's claims of the seed customer and its echo by the manager's own
    # customer; the other manager's customer's claim is not drawn, nor April's (before the range). The page holds
    # two drawings, the wide one and the phone's, with the same claims.
    wide, narrow = page.split('class="chart-narrow"')
    assert wide.count('<circle class="claim') == narrow.count('<circle class="claim') == 3


def test_pricing_manager_matches_the_signal_and_the_price_history_shows_it(signalled_scenario, client_for):
    client = client_for(signalled_scenario["pricing"])
    signal = MarketSignal.objects.get()
    terms = {"decision": "match", "match_price": "11.40", "effective_from": "2026-11", "agreements": ["AG-SEED-2026"],
             "reason": "Three customers quoted Apex at 11.40"}
    # First the preview: nothing recorded yet.
    preview = html(client.post(reverse("signal-detail", args=[signal.pk]), terms))
    assert 'id="match-preview"' in preview and "Record the match" in preview
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN
    previewed = re.search(r'name="previewed" value="([^"]+)"', preview).group(1)
    response = client.post(reverse("signal-detail", args=[signal.pk]), {**terms, "previewed": previewed},
                           follow=True)
    assert response.status_code == 200
    signal.refresh_from_db()
    assert signal.status == MarketSignal.Status.MATCHED
    page = html(client.get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    assert f"matched market signal #{signal.pk}" in page and "$11.40" in page


def test_a_match_without_a_month_says_so_next_to_the_field_and_changes_no_price(signalled_scenario, client_for):
    client = client_for(signalled_scenario["pricing"])
    signal = MarketSignal.objects.get()
    before = ContractPrice.objects.count()
    response = client.post(reverse("signal-detail", args=[signal.pk]), {
        "decision": "match", "match_price": "11.40", "effective_from": "November", "agreements": ["AG-SEED-2026"]})
    assert response.status_code == 400
    assert "Give a month as YYYY-MM" in html(response)
    assert ContractPrice.objects.count() == before
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN


def test_a_hold_needs_a_reason(signalled_scenario, client_for):
    signal = MarketSignal.objects.get()
    response = client_for(signalled_scenario["pricing"]).post(reverse("signal-detail", args=[signal.pk]),
                                                              {"decision": "hold", "reason": ""})
    assert response.status_code == 400
    assert "Say why prices are held." in html(response)


def test_only_a_pricing_manager_sees_and_sends_the_decision_form(signalled_scenario, client_for):
    signal = MarketSignal.objects.get()
    client = client_for(signalled_scenario["am"])
    assert 'id="decision-form"' not in html(client.get(reverse("signal-detail", args=[signal.pk])))
    assert client.post(reverse("signal-detail", args=[signal.pk]), {"decision": "hold", "reason": "no"}
                       ).status_code == 403
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN


def test_evidence_record_downloads(signalled_scenario, client_for):
    signal = MarketSignal.objects.get()
    response = client_for(signalled_scenario["pricing"]).get(reverse("signal-evidence", args=[signal.pk]))
    assert response.status_code == 200
    assert b"Market signal evidence record" in response.content




def test_a_signal_page_lists_the_largest_exposure_and_lists_the_rest_on_asking(signalled_scenario, client_for,
                                                                              monkeypatch):
    from pricing_signals import views

    client = client_for(signalled_scenario["pricing"])
    signal = MarketSignal.objects.get()
    url = reverse("signal-detail", args=[signal.pk])
    exposed = [row.number for row in client.get(url).context["exposure"]]
    assert exposed
    monkeypatch.setattr(views, "EXPOSURE_LISTED", 0)

    response = client.get(url)
    page = html(response)

    # The tiles still count every exposed agreement; the table and the checklist list none of them here.
    assert [row.number for row in response.context["exposure"]] == exposed
    table = page[page.index('id="exposure"'):page.index("</table>", page.index('id="exposure"'))]
    assert all(number not in table for number in exposed)
    assert f'href="{url}?show=all#exposure"' in page and f"Show all {len(exposed)} exposed agreements" in page
    choices = page[page.index('id="decision-form"'):]
    assert 'value="AG-SEED-2026" id="id_agreements_' in choices  # the claimant's own, checked
    assert all(f'value="{number}"' not in choices for number in exposed)
    assert f'href="{url}?show=all#decide"' in choices

    everything = html(client.get(url + "?show=all"))
    assert 'id="exposure-listed"' not in everything and 'id="agreements-listed"' not in everything
    start = everything.index('id="exposure"')
    table = everything[start:everything.index("</table>", start)]
    choices = everything[everything.index('id="decision-form"'):]
    assert all(number in table and f'value="{number}"' in choices for number in exposed)


def test_a_signal_page_checklist_keeps_its_checked_agreements_and_ids_when_listing_few(signalled_scenario,
                                                                                      client_for, monkeypatch):
    from pricing_signals import views

    client = client_for(signalled_scenario["pricing"])
    signal = MarketSignal.objects.get()
    url = reverse("signal-detail", args=[signal.pk])
    full = html(client.get(url + "?show=all"))
    seed_id = re.search(r'value="AG-SEED-2026" id="(id_agreements_\d+)"', full).group(1)
    monkeypatch.setattr(views, "EXPOSURE_LISTED", 0)

    # Sent with an error, the agreement checked stays listed and checked, under the same id.
    page = html(client.post(url, {"decision": "match", "match_price": "11.40", "effective_from": "November",
                                  "agreements": ["AG-SEED-2026"]}))

    assert f'value="AG-SEED-2026" id="{seed_id}" checked' in page
