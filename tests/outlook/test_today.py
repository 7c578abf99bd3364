"""The dashboard's "What to do today" reads the standing watches the outlook refresh stores: the same items, in
the same order, with the same money, as working every watch out live; a logged contact leaves it at once; the
stored watches are rebuilt to the same rows however often the refresh runs."""

from datetime import date
from decimal import Decimal

import pytest

from customers.models import Customer
from customers.services import contact_log
from outlook import selectors
from outlook.models import TodayWatch
from outlook.services import WATCH_FACTORS, outlook_refresh, shortfall_words, today_watches_write
from pages import views
from pages.watchlist import COMMITMENT_AT_RISK, WatchItem, _outlook_items
from rebates.models import LedgerEntry, RebateAgreement
from rebates.selectors import customers_shortfall_months, dashboard_customer_list, dashboard_figures
from rebates.templatetags.figures import money
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory
from tests.pages.scenario import TODAY

pytestmark = pytest.mark.django_db
ZERO = Decimal("0.00")


def live_today(user, as_of):
    """What to do today worked out live, as the dashboard did before the watches were stored: every customer's
    nightly risk factors and every active agreement's months below its commitment read on the request."""
    at_stake = {pk: found.unpaid_balance for pk, found in dashboard_figures(user=user).items()}
    customers = list(Customer.objects.visible_to(user).values("pk", "code", "name", "value_tier", "risk_level",
                                                               "risk_reasons"))
    shortfall = customers_shortfall_months(user=user, as_of=as_of)
    cells = {customer["code"]: (customer["value_tier"], customer["risk_level"]) for customer in customers}
    url = selectors.customer_urls()
    watches = [item for item, _, _ in _outlook_items(user, commitments=False, cells=True)]
    for customer in customers:
        stake = at_stake.get(customer["pk"]) or ZERO
        for reason in customer["risk_reasons"] or ():
            kind = WATCH_FACTORS.get(reason["factor"])
            if kind is not None:
                watches.append(WatchItem(kind, customer["code"], customer["name"], None,
                                         f"{reason['words']} {money(stake)} of unpaid rebate at stake.", stake,
                                         url(customer["code"])))
        months = shortfall.get(customer["pk"], 0)
        if months:
            watches.append(WatchItem(COMMITMENT_AT_RISK, customer["code"], customer["name"], None,
                                     f"{shortfall_words(months)} {money(stake)} of unpaid rebate at stake.", stake,
                                     url(customer["code"])))
    watches.sort(key=lambda item: (-item.money, item.customer_code, item.kind, item.agreement_number or ""))
    extra = [selectors.today_candidate(selectors.TodayItem(
        item.kind, item.customer_code, item.customer_name, url(item.customer_code), *cells[item.customer_code],
        item.reason, item.money, None, None, detail_url=item.link), item.agreement_number) for item in watches]
    return selectors.today_items(user=user, as_of=as_of, limit=1000, extra=extra, at_stake=at_stake)


def stored_today(user):
    at_stake = {pk: found.unpaid_balance for pk, found in dashboard_figures(user=user).items()}
    views.TODAY_SHOWN, shown = 1000, views.TODAY_SHOWN
    try:
        section = views.today_section(user, at_stake)
        # As the dashboard calls it, with the customers it has read: the same items, order and money.
        read = list(dashboard_customer_list(user=user).values(*views.CUSTOMER_ROW_FIELDS))
        assert views.today_section(user, at_stake, customers=read) == section
    finally:
        views.TODAY_SHOWN = shown
    return section["items"], section["count"]


def short_of_commitment(scenario):
    """A customer of the account manager whose 2026 agreement booked 6 of its committed 10 units a month in
    September and October, 10 in the months before."""
    customer = CustomerFactory(code="C-1004", name="Eastbank Supply", account_manager=scenario["am"])
    agreement = AgreementFactory(customer=customer, number="AG-C-1004-2026", start_month=date(2026, 1, 1),
                                 end_month=date(2026, 12, 1), committed_monthly_quantity=Decimal("10"))
    for month in range(1, 11):
        LedgerEntryFactory(agreement=agreement, period=date(2026, month, 1),
                           quantity=Decimal("6") if month >= 9 else Decimal("10"))
    return agreement


def test_the_stored_watches_give_the_same_items_in_the_same_order_with_the_same_money(signalled_scenario):
    short_of_commitment(signalled_scenario)
    outlook_refresh(as_of=TODAY)
    user = signalled_scenario["am"]
    stored, live = stored_today(user), live_today(user, TODAY)
    assert stored == live
    items, count = stored
    kinds = {item.kind for item in items}
    assert {"contact", "undercutting_claim", "signal_exposure", COMMITMENT_AT_RISK} <= kinds
    assert count == len(items) and count > 6
    assert TodayWatch.objects.filter(customer__code="C-1004", kind=COMMITMENT_AT_RISK).get().words == (
        "2 months below a committed quantity: under the commitment rule such a month earns nothing.")


def test_the_money_at_stake_is_read_with_the_page_not_stored(signalled_scenario):
    outlook_refresh(as_of=TODAY)
    user = signalled_scenario["am"]
    # An adjustment books against the balance after the refresh (a new entry: the ledger is append-only).
    LedgerEntryFactory(agreement=RebateAgreement.objects.get(number="AG-SEED-2026"), period=date(2026, 10, 1),
                       kind=LedgerEntry.Kind.ADJUSTMENT, quantity=Decimal("0"), amount=Decimal("-5.00"))
    assert stored_today(user) == live_today(user, TODAY)
    seed = [item for item in stored_today(user)[0] if item.customer_code == "SEED-001"]
    assert {item.at_stake for item in seed} == {Decimal("50.00")}


def test_a_logged_contact_leaves_what_to_do_today_at_once(signalled_scenario):
    outlook_refresh(as_of=TODAY)
    user = signalled_scenario["am"]
    seed = Customer.objects.get(code="SEED-001")
    assert any(item.kind == "contact" and item.customer_code == "SEED-001" for item in stored_today(user)[0])
    contact_log(by=user, customer=seed, kind="call", contacted_on=TODAY, note="Went through the claims")
    items, _ = stored_today(user)
    assert not any(item.kind == "contact" and item.customer_code == "SEED-001" for item in items)
    assert stored_today(user) == live_today(user, TODAY)


def test_the_refresh_stores_the_same_watches_twice_and_drops_those_that_no_longer_hold(signalled_scenario):
    short_of_commitment(signalled_scenario)
    outlook_refresh(as_of=TODAY)
    first = set(TodayWatch.objects.values_list("pk", "customer_id", "kind", "words"))
    outlook_refresh(as_of=TODAY)
    assert set(TodayWatch.objects.values_list("pk", "customer_id", "kind", "words")) == first  # nothing rewritten
    assert today_watches_write({(pk, kind, words) for _, pk, kind, words in first}) == (0, 0)
    RebateAgreement.objects.filter(number="AG-C-1004-2026").update(committed_monthly_quantity=Decimal("5"))
    outlook_refresh(as_of=TODAY)
    assert not TodayWatch.objects.filter(kind=COMMITMENT_AT_RISK).exists()
    assert set(TodayWatch.objects.values_list("customer_id", "kind", "words")) == {
        (customer_id, kind, words) for _, customer_id, kind, words in first if kind != COMMITMENT_AT_RISK}


def test_a_refresh_that_fails_midway_leaves_the_stored_watches_as_they_were(signalled_scenario, monkeypatch):
    short_of_commitment(signalled_scenario)
    outlook_refresh(as_of=TODAY)
    TodayWatch.objects.filter(pk=TodayWatch.objects.order_by("pk").first().pk).delete()  # the refresh adds it back
    before = set(TodayWatch.objects.values_list("customer_id", "kind", "words"))
    Customer.objects.filter(code="SEED-001").update(risk_reasons=[], risk_points=0)

    def killed(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr("outlook.services.insert_rows", killed)  # the watches' COPY
    with pytest.raises(RuntimeError):
        outlook_refresh(as_of=TODAY)
    assert set(TodayWatch.objects.values_list("customer_id", "kind", "words")) == before
    assert Customer.objects.get(code="SEED-001").risk_points == 0  # the valuations were rolled back with them


def test_the_stored_kinds_are_the_watchlist_s_kinds():
    from pages.watchlist import KINDS

    assert set(WATCH_FACTORS.values()) | {COMMITMENT_AT_RISK} <= set(KINDS)
