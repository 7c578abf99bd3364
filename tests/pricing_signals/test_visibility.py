"""Account manager A never sees B's claims: in lists, by id, behind a signal, in the admin."""

from datetime import date

import pytest
from django.http import Http404
from django.urls import reverse

from pricing_signals.models import MarketSignal
from pricing_signals.selectors import (
    claim_for_user,
    claims_visible,
    customer_credibility,
    signal_claims,
    signals_visible,
)
from pricing_signals.services import signals_detect
from tests.factories import UserFactory
from tests.pricing_signals.conftest import YEAR_END

pytestmark = pytest.mark.django_db


def test_an_account_manager_lists_only_their_customers_claims(seed, manager_a, manager_b, pricing_manager):
    codes = {user.username: sorted(claims_visible(user=user).values_list("customer__code", flat=True))
             for user in (manager_a, manager_b, pricing_manager)}

    assert codes["am.a"] == ["C-1002", "SEED-001", "SEED-001", "SEED-001"]
    assert codes["am.b"] == ["C-1003"]
    assert len(codes["pricing"]) == 5


def test_another_managers_claim_by_id_is_not_found(seed, manager_a, manager_b):
    theirs = seed["claims"]["echo_two"]

    with pytest.raises(Http404):
        claim_for_user(user=manager_a, pk=theirs.pk)
    assert claim_for_user(user=manager_b, pk=theirs.pk) == theirs


def test_the_claims_behind_a_signal_are_filtered_by_customer(seed, manager_a, manager_b):
    signals_detect(as_of=YEAR_END)
    signal = MarketSignal.objects.get()

    assert list(signals_visible(user=manager_b)) == [signal]  # the market fact is shared
    assert [c.customer.code for c in signal_claims(user=manager_a, signal=signal)] == ["SEED-001", "C-1002"]
    assert [c.customer.code for c in signal_claims(user=manager_b, signal=signal)] == ["C-1003"]


def test_another_managers_customer_has_no_credibility_to_read(seed, manager_b):
    with pytest.raises(Http404):
        customer_credibility(user=manager_b, customer=seed["customer"])


def test_a_user_without_a_role_sees_no_claims_and_no_signals(seed):
    nobody = UserFactory()
    signals_detect(as_of=YEAR_END)

    assert claims_visible(user=nobody).count() == 0
    assert signals_visible(user=nobody).count() == 0


def test_the_admin_lists_only_the_claims_a_staff_user_may_see(seed, manager_b, client):
    manager_b.is_staff = True
    manager_b.save()
    client.force_login(manager_b)

    page = client.get(reverse("admin:pricing_signals_priceclaim_changelist"))

    assert page.status_code == 200
    assert b"C-1003" in page.content and b"SEED-001" not in page.content
    hidden = client.get(reverse("admin:pricing_signals_priceclaim_change", args=[seed["claims"]["april"].pk]))
    assert hidden.status_code in (302, 404)


def test_claims_of_a_lost_customer_stay_visible_to_its_manager(seed, manager_a):
    seed["customer"].status, seed["customer"].lost_on = "lost", date(2026, 10, 1)
    seed["customer"].save()

    assert claims_visible(user=manager_a).filter(customer=seed["customer"]).count() == 3
