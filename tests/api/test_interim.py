"""Interim payments (docs/product.md, "Settlement, interim payments and forfeiture"): an agreement states an
interim frequency inside its settlement period; the nightly close drafts an interim payment (earned to date less
paid) when an interim period ends; finance drafts one on demand; a closed period gets none."""

import datetime
from decimal import Decimal

import pytest

from rebates.models import RebateAgreement, Settlement
from rebates.services import accrual_run_perform, accrual_run_start, settlement_approve, settlement_pay
from tests.api.conftest import client_for, send
from tests.factories import PerUnitRuleFactory, PurchaseLineFactory, second_finance_user

pytestmark = pytest.mark.django_db

D = Decimal
INTERIM = "/api/v1/settlements/interim/"


def accrue(as_of):
    """The nightly run up to `as_of`, with its settlement close."""
    run = accrual_run_start(as_of=as_of, trigger="finance", queue=False)
    return accrual_run_perform(run_id=run.pk)


@pytest.fixture
def seeded(scenario):
    """The seed agreement on each manager's customer: $0.25 a unit, 10 units every month of 2026, annual."""
    for agreement in (scenario["my_agreement"], scenario["their_agreement"]):
        PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
        for month in range(1, 13):
            PurchaseLineFactory(customer=agreement.customer, product=scenario["product"],
                                month=datetime.date(2026, month, 1), quantity=D("10"))
    return scenario


def interims(number):
    return list(Settlement.objects.filter(agreement__number=number, interim=True).order_by("period_end")
                .values_list("period_start", "period_end", "amount"))


def test_the_erp_states_quarterly_interims_on_an_annual_agreement(erp, seeded):
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"interim_frequency": "quarterly"})
    assert response.status_code == 200, response.json()
    assert response.json()["interim_frequency"] == "quarterly"
    assert RebateAgreement.objects.get(number="AG-A").interim_frequency == "quarterly"


@pytest.mark.parametrize(("settlement_frequency", "interim_frequency"), [
    ("annual", "annual"), ("quarterly", "quarterly"), ("monthly", "monthly"), ("quarterly", "weekly"),
])
def test_an_interim_frequency_not_shorter_than_the_period_is_refused(erp, seeded, settlement_frequency,
                                                                      interim_frequency):
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"settlement_frequency": settlement_frequency,
                                                                "interim_frequency": interim_frequency})
    assert response.status_code == 400
    assert RebateAgreement.objects.get(number="AG-A").interim_frequency == ""


def test_the_nightly_close_drafts_each_quarters_interim_once_and_the_closing_pays_the_rest(users, seeded):
    RebateAgreement.objects.filter(number="AG-A").update(interim_frequency="quarterly")
    finance = users["finance"]

    accrue(datetime.date(2026, 3, 31))
    assert interims("AG-A") == []  # March is not over yet
    accrue(datetime.date(2026, 4, 1))
    accrue(datetime.date(2026, 4, 2))  # the next night: nothing new
    assert interims("AG-A") == [(datetime.date(2026, 1, 1), datetime.date(2026, 3, 1), D("7.50"))]
    first = Settlement.objects.get(agreement__number="AG-A", interim=True)
    settlement_approve(settlement=first, by=second_finance_user())
    settlement_pay(settlement=first, by=finance, paid_on=datetime.date(2026, 4, 10), payment_reference="CN-Q1")

    accrue(datetime.date(2026, 7, 1))
    accrue(datetime.date(2026, 10, 1))
    assert interims("AG-A") == [(datetime.date(2026, 1, 1), datetime.date(2026, 3, 1), D("7.50")),
                                (datetime.date(2026, 1, 1), datetime.date(2026, 6, 1), D("7.50")),
                                (datetime.date(2026, 1, 1), datetime.date(2026, 9, 1), D("7.50"))]
    assert interims("AG-B") == []  # no interim frequency: none

    accrue(datetime.date(2027, 1, 2))
    closing = Settlement.objects.get(agreement__number="AG-A", interim=False)
    assert (closing.accrued_total, closing.already_paid, closing.amount) == (D("30.00"), D("22.50"), D("7.50"))
    assert len(interims("AG-A")) == 3  # December's quarter is the closing's


def test_finance_drafts_an_interim_on_demand(users, seeded):
    accrue(datetime.date(2026, 5, 2))

    response = send(client_for(users["finance"]), "post", INTERIM, {"agreement": "AG-A", "through": "2026-04"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["interim"], body["period_start"], body["period_end"], body["amount"], body["status"]) == \
        (True, "2026-01", "2026-04", "10.00", "draft")


def test_the_same_interim_twice_is_a_conflict(users, seeded):
    accrue(datetime.date(2026, 5, 2))
    finance = client_for(users["finance"])
    assert send(finance, "post", INTERIM, {"agreement": "AG-A", "through": "2026-04"}).status_code == 201

    again = send(finance, "post", INTERIM, {"agreement": "AG-A", "through": "2026-04"})

    assert again.status_code == 409 and "already has an interim payment through 2026-04" in again.json()["message"]
    assert len(interims("AG-A")) == 1


def test_an_interim_of_a_closed_period_is_refused(users, seeded):
    RebateAgreement.objects.filter(number="AG-A").update(settlement_frequency="quarterly")
    accrue(datetime.date(2026, 4, 2))  # the first quarter closes

    response = send(client_for(users["finance"]), "post", INTERIM, {"agreement": "AG-A", "through": "2026-02"})

    assert response.status_code == 409 and "closed" in response.json()["message"]
    assert interims("AG-A") == []


@pytest.mark.parametrize(("body", "field"), [
    ({"agreement": "AG-A", "through": "2027-03"}, "through"),  # after the term
    ({"agreement": "AG-A", "through": "2025-11"}, "through"),  # before it
    ({"agreement": "AG-A", "through": "March"}, "through"),
    ({"through": "2026-03"}, "agreement"),
])
def test_a_bad_interim_names_the_field(users, seeded, body, field):
    response = send(client_for(users["finance"]), "post", INTERIM, body)
    assert response.status_code == 400
    assert field in [detail["field"] for detail in response.json()["details"]]
    assert Settlement.objects.count() == 0


def test_no_interim_for_a_terminated_agreement(users, seeded):
    accrue(datetime.date(2026, 6, 30))
    finance = client_for(users["finance"])
    send(finance, "post", "/api/v1/agreements/AG-A/terminate/", {"terminated_on": "2026-06-30", "reason": "Left"})

    response = send(finance, "post", INTERIM, {"agreement": "AG-A", "through": "2026-05"})

    assert response.status_code == 409
    assert interims("AG-A") == []


@pytest.mark.parametrize(("role", "status"), [
    ("account_manager", 403), ("pricing_manager", 403), ("finance", 201), ("erp", 403), ("administrator", 201),
])
def test_role_matrix_for_interims(users, seeded, role, status):
    accrue(datetime.date(2026, 4, 2))
    response = send(client_for(users[role]), "post", INTERIM, {"agreement": "AG-A", "through": "2026-03"})
    assert response.status_code == status
    assert len(interims("AG-A")) == (1 if status == 201 else 0)
