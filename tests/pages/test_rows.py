"""The long tables written in Python rather than the template language (the dashboard's customers, a signal's
exposure and agreements to match, the settlements list) escape every text as the templates would, show the
same figures, and keep their links and buttons."""

from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Customer
from pricing_signals.models import MarketSignal
from rebates.models import Settlement

pytestmark = pytest.mark.django_db

MARKUP = '<script>alert("x")</script> & Sons'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Sons"


def html(response):
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def marked_up(signalled_scenario):
    """The other manager's customer C-2001 (exposed to the seed signal) and the seed customer named with markup."""
    Customer.objects.filter(code__in=["C-2001", "SEED-001"]).update(name=MARKUP)
    return signalled_scenario


def test_dashboard_rows_escape_customer_names(marked_up, client_for):
    page = html(client_for(marked_up["am"]).get(reverse("dashboard")))

    assert MARKUP not in page and ESCAPED in page
    assert f'href="{reverse("customer-detail", args=["SEED-001"])}"' in page


def test_signal_page_escapes_exposure_and_agreement_choices(marked_up, client_for):
    signal = MarketSignal.objects.get()

    page = html(client_for(marked_up["pricing"]).get(reverse("signal-detail", args=[signal.pk])))

    assert MARKUP not in page
    exposure = page[page.index('id="exposure"'):page.index("</table>", page.index('id="exposure"'))]
    assert f'<a href="{reverse("agreement-detail", args=["AG-C-2001-2026"])}">AG-C-2001-2026</a>' in exposure
    assert f"{ESCAPED} (C-2001)" in exposure and "Samuel Okafor" in exposure
    assert '<td class="num">$12.40</td>' in exposure  # its net price
    choices = page[page.index('id="decision-form"'):]
    assert f"AG-SEED-2026 · {ESCAPED} (SEED-001)" in choices
    assert 'value="AG-SEED-2026" id="id_agreements_' in choices


def test_settlement_rows_escape_names_and_carry_the_approve_form(marked_up, client_for):
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")

    page = html(client_for(marked_up["finance"]).get(reverse("settlements")))

    assert MARKUP not in page and ESCAPED in page
    row = page[page.index(f'id="settlement-{settlement.pk}"'):]
    row = row[:row.index("</tr>")]
    # The period links to the settlement's page (its figures and history).
    assert f'<td><a href="/settlements/{settlement.pk}/">January – December 2025</a></td>' in row
    assert f'<td class="num">${settlement.amount:,.2f}</td>' in row
    assert settlement.amount == Decimal("30.00")
    assert f'action="{reverse("settlement-approve", args=[settlement.pk])}"' in row
    assert 'name="csrfmiddlewaretoken"' in row and 'name="next" value="/settlements/"' in row
