"""Figures over agreements in several currencies: each in its own currency's sign, totals per currency ("€90.00
· $90.00"), never one sum across currencies and never a "$" on a euro figure; where finance needs one number,
the total in the reporting currency at the rates named. A customer in euros and one in dollars, each buying
900 units at 10.00 (in its own currency) in January and February 2026 on docs/product.md's retroactive tiers
(1 % to 1,000 units): each accrues 90.00, 45.00 a month."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers import roles
from rebates.models import AccrualRun, ExchangeRate, RebateRule, Settlement, TierBand
from rebates.services import accrual_run_perform, accrual_run_start
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory, PurchaseLineFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-03-05")]

D = Decimal
MARCH = datetime.date(2026, 3, 1)
UNITS = D("450")


def tiered(customer, units=UNITS):
    product = ProductFactory()
    agreement = AgreementFactory(customer=customer, products=[product])
    rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                     tier_basis="quantity", tier_method="retroactive")
    for threshold, rate in ((0, 1), (1000, 2), (5000, 3)):
        TierBand.objects.create(rule=rule, threshold=D(threshold), rate=D(rate))
    for m in (1, 2):
        PurchaseLineFactory(customer=customer, product=product, month=datetime.date(2026, m, 1), quantity=units,
                            unit_price=D("10.00"))
    return agreement


@pytest.fixture
def book():
    manager = UserFactory(username="am.a", role=roles.ACCOUNT_MANAGER)
    euros = tiered(CustomerFactory(code="C-EU", name="Euro GmbH", currency="EUR", account_manager=manager))
    dollars = tiered(CustomerFactory(code="C-US", name="Dollar Ltd", account_manager=manager))
    run = accrual_run_start(as_of=datetime.date(2026, 2, 28), trigger="command", queue=False)
    accrual_run_perform(run_id=run.pk)
    return {"manager": manager, "finance": UserFactory(username="fin", role=roles.FINANCE),
            "euros": euros, "dollars": dollars, "run": AccrualRun.objects.get(pk=run.pk)}


def page(client, user, name, *args, **query):
    client.force_login(user)
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def element(html: str, element_id: str) -> str:
    """The text of the element with that id, tags left out."""
    start = html.index(f'id="{element_id}"')
    start = html.index(">", start) + 1
    depth, at = 1, start
    for tag in re.finditer(r"<(/?)(\w+)[^>]*?(/?)>", html[start:]):
        if tag.group(3) or tag.group(2) in ("br", "input"):
            continue
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            at = start + tag.start()
            break
    return re.sub(r"<[^>]+>", "", html[start:at]).strip()


def no_dollar_on_euros(html: str):
    """No figure of the euro customer's is written with "$": 90.00 and 45.00 in dollars belong to the dollar
    customer only, so each "$90.00" must sit beside a "€90.00"."""
    assert html.count("$90.00") <= html.count("€90.00") and html.count("$45.00") <= html.count("€45.00")


def test_the_finance_dashboard_gives_the_liability_runs_and_settlements_per_currency(book, client):
    Settlement.objects.create(agreement=book["euros"], period_start=datetime.date(2026, 1, 1), period_end=MARCH,
                              accrued_total=D("90.00"), amount=D("90.00"))
    Settlement.objects.create(agreement=book["dollars"], period_start=datetime.date(2026, 1, 1), period_end=MARCH,
                              accrued_total=D("90.00"), amount=D("90.00"))
    html = page(client, book["finance"], "dashboard")
    assert element(html, "liability") == "€90.00 · $90.00"
    # Finance's one number: in dollars at March's rate, which is missing, so it is named and not guessed.
    assert "no EUR rate to USD for 2026-03" in element(html, "liability-reported")
    assert element(html, "drafts-amount") == "€90.00 · $90.00"
    runs = element(html, "last-runs")
    assert "€90.00 · $90.00" in runs and "$180.00" not in runs
    no_dollar_on_euros(html)

    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=MARCH, rate=D("1.085"))
    reported = element(page(client, book["finance"], "dashboard"), "liability-reported")
    # 90.00 EUR x 1.085 = 97.65 USD, and 90.00 USD: 187.65 USD, with the rate used named.
    assert reported.startswith("$187.65 in USD at 2026-03 rates") and "1 EUR = 1.085 USD" in reported


def test_the_account_managers_dashboard_and_today_keep_each_customers_currency(book, client):
    html = page(client, book["manager"], "dashboard")
    assert "€90.00 · $90.00 unpaid rebate at stake" in element(html, "at-stake")
    rows = html[html.index('id="customers"'):]
    euro_row = next(row for row in rows.split("<tr>") if "C-EU" in row)
    assert "€90.00" in euro_row and "$" not in euro_row
    no_dollar_on_euros(html)


def test_the_accrual_runs_list_and_a_runs_page_give_what_it_booked_per_currency(book, client):
    runs = page(client, book["finance"], "accrual-runs")
    assert "€90.00 · $90.00" in runs and "$180.00" not in runs
    detail = page(client, book["finance"], "accrual-run-detail", book["run"].pk)
    assert element(detail, "run-total") == "€90.00 · $90.00"


def test_the_month_close_gives_each_months_bookings_per_currency(book, client):
    html = page(client, book["finance"], "months")
    assert html.count("€45.00 · $45.00") == 2  # January and February
    assert "$90.00" not in html


def test_the_settlements_pages_total_in_all_per_currency(book, client):
    approver = UserFactory(username="approver", role=roles.FINANCE)
    for agreement in (book["euros"], book["dollars"]):
        Settlement.objects.create(agreement=agreement, period_start=datetime.date(2026, 1, 1), period_end=MARCH,
                                  accrued_total=D("90.00"), amount=D("90.00"))
    html = page(client, book["finance"], "settlements")
    assert "for you in this selection, €90.00 · $90.00 in all." in html
    Settlement.objects.update(status=Settlement.Status.APPROVED, approved_by=approver)
    listed = page(client, book["finance"], "settlements")
    assert "you may pay in this selection, €90.00 · $90.00 in all." in listed
    paying = page(client, book["finance"], "settlements-pay")
    assert "€90.00 · $90.00 in all" in paying and "$180.00" not in paying
    no_dollar_on_euros(paying)


def test_the_forecasts_give_each_month_in_its_currency_and_totals_per_currency(book, client):
    html = page(client, book["finance"], "forecasts")
    total = element(html, "forecast-total-rebate")
    assert re.fullmatch(r"€[\d,.]+ · \$[\d,.]+", total)
    euros, dollars = total.split(" · ")
    assert euros[1:] == dollars[1:]  # the two customers buy alike: the same figure, never added up
    months = element(html, "forecast-months")
    assert "€" in months and "$" in months
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=book['finance']).key}")
    rows = api.get("/api/v1/forecast-liability/").json()
    assert sorted(row["currency"] for row in rows) == ["EUR", "USD"]


def test_the_watchlist_gives_each_watch_in_its_customers_currency_and_totals_per_currency(book, client):
    # 900 units after February, 100 from the 2 % tier: reaching it adds 110.00 (200.00 less the 90.00 booked).
    html = page(client, book["manager"], "watchlist")
    assert element(html, "watchlist-total") == "€110.00 · $110.00"
    euro_row = next(row for row in html[html.index('id="watchlist"'):].split("<tr") if "C-EU" in row)
    assert "€110.00" in euro_row and "$" not in euro_row
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=book['manager']).key}")
    items = {item["customer"]: item for item in api.get("/api/v1/watchlist/").json()}
    assert (items["C-EU"]["currency"], items["C-US"]["currency"]) == ("EUR", "USD")


def test_the_journal_gives_its_lines_and_checks_in_their_currencies(book, client):
    html = page(client, book["finance"], "journal", month_from="2026-01", month_to="2026-02")
    checks = element(html, "journal-checks")
    assert "Debits €90.00 · $90.00 · credits €90.00 · $90.00" in checks
    lines = html[html.index('id="journal-lines"'):]
    euro_lines = [row for row in lines.split("<tr>") if "<td>EUR</td>" in row]
    assert euro_lines and all("€45.00" in row and "$" not in row.split("<td>EUR</td>")[0] for row in euro_lines)


def test_the_settlements_waiting_count_each_status_in_its_own_currencies(book):
    from rebates.selectors import finance_overview

    approver = UserFactory(username="approver", role=roles.FINANCE)
    Settlement.objects.create(agreement=book["euros"], period_start=datetime.date(2026, 1, 1), period_end=MARCH,
                              accrued_total=D("90.00"), amount=D("90.00"))
    Settlement.objects.create(agreement=book["dollars"], period_start=datetime.date(2026, 1, 1), period_end=MARCH,
                              accrued_total=D("90.00"), amount=D("45.00"), status=Settlement.Status.APPROVED,
                              approved_by=approver)
    overview = finance_overview(user=book["finance"])
    # A currency with approved settlements only is not among the drafts' amounts, and the other way round.
    assert overview["drafts"] == {"count": 1, "amount": {"EUR": D("90.00")}}
    assert overview["approved"] == {"count": 1, "amount": {"USD": D("45.00")}}


def test_a_settlement_carries_its_customers_currency_drafted_at_night_or_by_hand(book):
    from rebates.models import RebateAgreement
    from rebates.services import settlement_interim, settlements_close_due

    RebateAgreement.objects.filter(pk=book["euros"].pk).update(settlement_frequency="monthly")
    closed = Settlement.objects.filter(pk__in=settlements_close_due(as_of=MARCH))
    interim = settlement_interim(agreement=book["dollars"], through=datetime.date(2026, 2, 1), by=book["finance"])
    # The nightly close drafts January and February of the monthly euro agreement, in its own statement.
    assert sorted(closed.values_list("agreement__number", "period_start", "currency", "amount")) == [
        (book["euros"].number, datetime.date(2026, 1, 1), "EUR", D("45.00")),
        (book["euros"].number, datetime.date(2026, 2, 1), "EUR", D("45.00"))]
    interim.refresh_from_db()
    assert (interim.currency, interim.amount) == ("USD", D("90.00"))


def test_a_settlement_written_without_its_currency_counts_in_its_customers(book):
    from rebates.selectors import finance_overview

    Settlement.objects.create(agreement=book["euros"], period_start=datetime.date(2026, 1, 1), period_end=MARCH,
                              accrued_total=D("90.00"), amount=D("90.00"))
    # A bulk write skips save(), so these two carry no currency: summed through their customers, with the rest.
    Settlement.objects.bulk_create([
        Settlement(agreement=book["euros"], period_start=datetime.date(2026, 1, 1), period_end=MARCH, interim=True,
                   accrued_total=D("10.00"), amount=D("10.00")),
        Settlement(agreement=book["dollars"], period_start=datetime.date(2026, 1, 1), period_end=MARCH,
                   accrued_total=D("45.00"), amount=D("45.00"))])
    assert Settlement.objects.filter(currency__isnull=True).count() == 2
    overview = finance_overview(user=book["finance"])
    assert overview["drafts"] == {"count": 3, "amount": {"EUR": D("100.00"), "USD": D("45.00")}}
    assert overview["approved"] == {"count": 0, "amount": {}}


def test_the_finance_figures_take_five_reads_in_a_book_of_two_currencies(book, django_assert_num_queries):
    from rebates.selectors import finance_overview

    Settlement.objects.create(agreement=book["euros"], period_start=datetime.date(2026, 1, 1), period_end=MARCH,
                              accrued_total=D("90.00"), amount=D("90.00"))
    finance = book["finance"]
    finance.has_perm("customers.view_all_customers")  # the user's permissions, read once a request
    # The balances per currency, this month's rates, the last runs (their stored totals), the settlements
    # waiting and those written without a currency: no read of every customer's currency, none per currency.
    with django_assert_num_queries(5):
        overview = finance_overview(user=finance)
    assert overview["liability"] == {"EUR": D("90.00"), "USD": D("90.00")}
    assert overview["runs"] == [(book["run"], {"EUR": D("90.00"), "USD": D("90.00")})]
    assert overview["drafts"] == {"count": 1, "amount": {"EUR": D("90.00")}}
