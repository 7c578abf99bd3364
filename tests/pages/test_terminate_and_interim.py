"""Terminating from the agreement page and the admin, marking a customer lost in the admin, drafting an interim
payment on the settlements page: allowed exactly for the roles that may, a bad field named beside it with
nothing done, and the forfeiture shown on the agreement page and the finance dashboard."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.urls import reverse

from customers.models import Customer
from rebates.models import LedgerEntry, RebateAgreement, Settlement
from tests.factories import PASSWORD
from tests.pages.fixtures import html
from tests.pages.scenario import agreement_on

pytestmark = pytest.mark.django_db

D = Decimal
SEED = "AG-SEED-2026"  # 10 units a month January to October at $0.25 a unit: $25.00 unpaid on 2026-11-23



def forfeited(number):
    return -(LedgerEntry.objects.filter(agreement__number=number, kind="forfeiture")
             .aggregate(t=Sum("amount"))["t"] or D("0"))


def terminate(client, number=SEED, **fields):
    body = {"terminated_on": "2026-06-30", "reason": "Moved to a competitor", **fields}
    return client.post(reverse("agreement-terminate", args=[number]), body)


@pytest.mark.parametrize("role", ["finance", "pricing"])
def test_the_agreement_page_terminates_and_then_shows_the_forfeiture(scenario, client_for, role):
    client = client_for(scenario[role])
    assert 'id="terminate-form"' in html(client.get(reverse("agreement-detail", args=[SEED])))

    response = terminate(client)

    assert response.status_code == 302 and response["Location"] == reverse("agreement-detail", args=[SEED])
    assert forfeited(SEED) == D("15.00")
    page = html(client.get(response["Location"]))
    assert 'id="forfeited">$15.00<' in page and "forfeited when the customer left on 2026-06-30" in page
    assert "Moved to a competitor" in page and "$15.00 forfeited" in page
    assert 'id="terminate-form"' not in page and 'id="at-stake"' not in page
    assert "next run" not in page


def test_an_account_manager_may_not_terminate_even_their_own_agreement(scenario, client_for):
    client = client_for(scenario["am"])
    assert 'id="terminate-form"' not in html(client.get(reverse("agreement-detail", args=[SEED])))
    assert terminate(client).status_code == 403
    assert RebateAgreement.objects.get(number=SEED).status == "active"


def test_an_account_manager_asking_to_terminate_another_managers_agreement_gets_404(scenario, client_for):
    assert terminate(client_for(scenario["am"]), number="AG-C-2001-2026").status_code == 404
    assert RebateAgreement.objects.get(number="AG-C-2001-2026").status == "active"


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"reason": ""}, "reason", "This field is required."),
    ({"terminated_on": "2027-03-31"}, "terminated_on", "outside the term"),
    ({"terminated_on": "31/06/2026"}, "terminated_on", "Enter a valid date."),
])
def test_a_bad_termination_field_is_named_beside_it_and_nothing_is_forfeited(scenario, client_for, fields, field,
                                                                              message):
    response = terminate(client_for(scenario["finance"]), **fields)

    assert response.status_code == 400
    page = html(response)
    assert message in page[page.index(f'id="field-{field}"'):][:800]
    assert RebateAgreement.objects.get(number=SEED).status == "active" and forfeited(SEED) == D("0")


def test_terminating_twice_from_the_page_forfeits_once(scenario, client_for):
    client = client_for(scenario["finance"])
    terminate(client)
    response = terminate(client, terminated_on="2026-07-31")
    assert response.status_code == 302
    assert "already terminated on 2026-06-30" in html(client.get(response["Location"]))
    assert LedgerEntry.objects.filter(agreement__number=SEED, kind="forfeiture").count() == 1


def test_a_terminated_agreement_whose_ledger_differs_promises_no_next_run(scenario, client_for):
    # As the demo's lost customers' agreements were: terminated, with months no run will ever book.
    agreement_on(scenario["echo_one"], scenario["product"], "AG-C-1002-LOST", status="terminated",
                 terminated_on=datetime.date(2026, 6, 30))
    page = html(client_for(scenario["finance"]).get(reverse("agreement-detail", args=["AG-C-1002-LOST"])))
    assert 'id="sheet"' in page and "2026-06" in page
    assert "next run" not in page


def test_the_finance_dashboard_shows_what_was_forfeited(scenario, client_for):
    client = client_for(scenario["finance"])
    terminate(client)
    page = html(client.get(reverse("dashboard")))
    assert 'id="forfeited">$15.00<' in page


# --- interim payments on the settlements page ---------------------------------------------------------------


def test_finance_drafts_an_interim_payment_on_the_settlements_page(scenario, client_for):
    client = client_for(scenario["finance"])
    assert 'id="interim-form"' in html(client.get(reverse("settlements")))

    response = client.post(reverse("settlement-interim"), {"agreement": SEED, "through": "2026-09"})

    assert response.status_code == 302
    settlement = Settlement.objects.get(agreement__number=SEED, interim=True)
    assert (settlement.period_end, settlement.amount, settlement.status) == \
        (datetime.date(2026, 9, 1), D("22.50"), "draft")
    assert "Interim payment of AG-SEED-2026 through 2026-09 drafted: $22.50" in html(client.get(reverse("settlements")))


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"agreement": SEED, "through": "2026-13"}, "through", "YYYY-MM"),
    ({"agreement": SEED, "through": "2027-02"}, "through", "outside the term"),
    ({"agreement": "AG-NOPE", "through": "2026-09"}, "agreement", "No agreement AG-NOPE"),
    ({"agreement": "AG-SEED-2025", "through": "2025-06"}, "through", "settled"),
])
def test_a_bad_interim_field_is_named_and_nothing_is_drafted(scenario, client_for, fields, field, message):
    RebateAgreement.objects.filter(number="AG-SEED-2025").update(status="settled")
    response = client_for(scenario["finance"]).post(reverse("settlement-interim"), fields)
    assert response.status_code == 400
    page = html(response)
    assert message in page[page.index(f'id="field-{field}"'):][:800]
    assert not Settlement.objects.filter(interim=True).exists()


@pytest.mark.parametrize("role", ["am", "pricing"])
def test_only_finance_drafts_interim_payments_on_the_page(scenario, client_for, role):
    client = client_for(scenario[role])
    assert 'id="interim-form"' not in html(client.get(reverse("settlements")))
    assert client.post(reverse("settlement-interim"), {"agreement": SEED, "through": "2026-09"}).status_code == 403
    assert not Settlement.objects.filter(interim=True).exists()


# --- the admin ------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, scenario):
    user = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(user)
    return client


def test_the_admin_action_terminates_the_selected_agreements_through_the_service(admin_client):
    agreement = RebateAgreement.objects.get(number=SEED)
    response = admin_client.post(reverse("admin:rebates_rebateagreement_changelist"), {
        "action": "terminate", "_selected_action": [agreement.pk], "terminated_on": "2026-06-30",
        "reason": "Moved to a competitor"}, follow=True)
    assert response.status_code == 200
    agreement.refresh_from_db()
    assert (agreement.status, agreement.termination_reason) == ("terminated", "Moved to a competitor")
    assert forfeited(SEED) == D("15.00")
    assert "Terminated AG-SEED-2026 on 2026-06-30: 15.00 forfeited." in html(response)


def test_the_admin_action_needs_a_date_and_a_reason(admin_client):
    agreement = RebateAgreement.objects.get(number=SEED)
    response = admin_client.post(reverse("admin:rebates_rebateagreement_changelist"), {
        "action": "terminate", "_selected_action": [agreement.pk], "terminated_on": "", "reason": ""}, follow=True)
    assert "Give the termination date and the reason" in html(response)
    assert RebateAgreement.objects.get(number=SEED).status == "active"


def test_the_admin_form_cannot_set_an_agreement_terminated(admin_client):
    agreement = RebateAgreement.objects.get(number=SEED)
    page = admin_client.get(reverse("admin:rebates_rebateagreement_change", args=[agreement.pk]))
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"status": "terminated", "products": [p.pk for p in agreement.products.all()],
                 "prices-TOTAL_FORMS": 0, "prices-INITIAL_FORMS": 0, "start_month": "2026-01-01",
                 "end_month": "2026-12-01"})
    response = admin_client.post(reverse("admin:rebates_rebateagreement_change", args=[agreement.pk]), data)
    assert response.status_code == 200 and "Terminate action" in html(response)
    assert RebateAgreement.objects.get(number=SEED).status == "active" and forfeited(SEED) == D("0")


def test_marking_a_customer_lost_in_the_admin_terminates_its_agreements(admin_client):
    customer = Customer.objects.get(code="SEED-001")
    page = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"status": "lost", "lost_on": "2026-06-30"})

    response = admin_client.post(reverse("admin:customers_customer_change", args=[customer.pk]), data)

    assert response.status_code == 302, html(response)[:3000]
    assert Customer.objects.get(pk=customer.pk).status == "lost"
    agreement = RebateAgreement.objects.get(number=SEED)
    assert (agreement.status, agreement.terminated_on) == ("terminated", datetime.date(2026, 6, 30))
    assert forfeited(SEED) == D("15.00")
    assert RebateAgreement.objects.get(number="AG-SEED-2025").status == "expired"  # ended before: settles


def test_the_admin_refuses_a_lost_customer_without_a_date(admin_client):
    customer = Customer.objects.get(code="SEED-001")
    page = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"status": "lost"})
    response = admin_client.post(reverse("admin:customers_customer_change", args=[customer.pk]), data)
    assert response.status_code == 200 and "Say when the customer was lost" in html(response)
    assert RebateAgreement.objects.get(number=SEED).status == "active"
