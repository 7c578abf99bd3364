"""The settlements list's `totals` in the API: the whole filtered selection (every page, not the page), per
currency, with what the user may approve and pay now; an account manager's only their customers'; the same
figures as the settlements page's totals row for the same filters."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from rebates.models import Settlement
from rebates.templatetags.figures import money
from tests.api.conftest import client_for
from tests.factories import AgreementFactory, CustomerFactory, second_finance_user

D = Decimal
API = "/api/v1/settlements/"


def _settlement(agreement, amount, month, **fields):
    period = datetime.date(2026, month, 1)
    return Settlement.objects.create(agreement=agreement, period_start=period, period_end=period, interim=True,
                                     accrued_total=D(amount), amount=D(amount), **fields)


@pytest.fixture
def book(users, scenario):
    """Manager am.a's dollar customer C-A: drafts of $10.00 and $250.00 and $40.00 approved by another finance
    user; their euro customer C-E: drafts of €100.00 and €5.50; manager am.b's C-B: a $900.00 draft."""
    euro = CustomerFactory(code="C-E", currency="EUR", account_manager=users["account_manager"])
    euro_agreement = AgreementFactory(number="AG-E", customer=euro, products=[scenario["product"]])
    _settlement(scenario["my_agreement"], "10.00", 1)
    _settlement(scenario["my_agreement"], "250.00", 2)
    _settlement(scenario["my_agreement"], "40.00", 3, status=Settlement.Status.APPROVED,
                approved_by=second_finance_user(), approved_at=datetime.datetime(2026, 4, 2, tzinfo=datetime.UTC))
    _settlement(euro_agreement, "100.00", 1)
    _settlement(euro_agreement, "5.50", 2)
    _settlement(scenario["their_agreement"], "900.00", 1)
    return {**scenario, "euro_agreement": euro_agreement}


def _get(user, query=None):
    answer = client_for(user).get(API, query or {})
    assert answer.status_code == 200, answer.content
    return answer.json()


def _total(count, **currencies):
    return {"count": count, "currencies": [{"currency": code, "count": n, "amount": amount}
                                           for code, (n, amount) in sorted(currencies.items())]}


def test_totals_of_all_settlements_per_currency_with_what_finance_may_approve_and_pay(users, book):
    body = _get(users["finance"])
    assert body["count"] == 6
    assert body["totals"] == {**_total(6, EUR=(2, "105.50"), USD=(4, "1200.00")),
                              "to_approve": _total(5, EUR=(2, "105.50"), USD=(3, "1160.00")),
                              "to_pay": _total(1, USD=(1, "40.00"))}


def test_totals_follow_the_filters_over_every_page_not_the_page(users, book):
    query = {"status": "draft", "amount_min": "10", "page_size": 2}
    pages = [_get(users["finance"], query), _get(users["finance"], {**query, "page": 2})]
    rows = [row for page in pages for row in page["results"]]
    assert len(pages[0]["results"]) == 2 and len(rows) == 4
    expected = _total(4, EUR=(1, "100.00"), USD=(3, "1160.00"))
    for page in pages:
        assert {key: page["totals"][key] for key in ("count", "currencies")} == expected
        assert page["totals"]["to_pay"] == _total(0)
    # The totals are the sum of the filtered rows themselves.
    assert sum(D(row["amount"]) for row in rows) == D("1260.00")


def test_totals_follow_the_program_filter(users, book):
    body = _get(users["finance"], {"program": book["euro_agreement"].program.code})
    assert {key: body["totals"][key] for key in ("count", "currencies")} == _total(2, EUR=(2, "105.50"))


def test_a_managers_totals_leave_out_the_other_managers_settlements(users, book):
    mine = _get(users["account_manager"])["totals"]
    assert {key: mine[key] for key in ("count", "currencies")} == _total(5, EUR=(2, "105.50"), USD=(3, "300.00"))
    theirs = _get(users["other_manager"])["totals"]
    assert {key: theirs[key] for key in ("count", "currencies")} == _total(1, USD=(1, "900.00"))


def test_a_bad_filter_answers_400_naming_it_not_totals(users, book):
    answer = client_for(users["finance"]).get(API, {"amount_min": "lots"})
    assert answer.status_code == 400 and "amount_min" in answer.content.decode()


def test_the_settlements_pages_totals_row_shows_the_same_figures(users, book, client):
    query = {"status": "draft", "amount_min": "10"}
    totals = _get(users["finance"], {**query, "page_size": 1})["totals"]
    client.force_login(users["finance"])
    page = client.get(reverse("settlements"), query).content.decode()
    row = page[page.index('id="settlements-totals"'):]
    row = row[:row.index("</tr>")]
    amounts = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert f'<th scope="row">Total of {totals["count"]}</th>' in row
    # The Amount column: the seventh of the list's, the sixth after the row's heading.
    assert amounts[5] == " · ".join(money(D(each["amount"]), each["currency"]) for each in totals["currencies"])


def test_the_schema_describes_the_totals_and_exemplifies_them(db):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    answer = schema["paths"][API]["get"]["responses"]["200"]["content"]["application/json"]
    page = schema["components"]["schemas"][answer["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert "totals" in page["required"]
    assert set(page["properties"]["totals"]["properties"]) == {"count", "currencies", "to_approve", "to_pay"}
    example = next(iter(answer["examples"].values()))["value"]
    assert example["totals"]["currencies"][0] == {"currency": "EUR", "count": 1, "amount": "30.00"}
    assert example["results"][0]["agreement"] == "AG-2026-0042"
