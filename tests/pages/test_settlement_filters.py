"""The settlements list's filters by program, period, manager and amount: each narrows the rows of the page
and of the API alike (an account manager's to their own customers), and a bad value answers 400 naming the
filter on both."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from rebates.models import Settlement
from tests.pages.fixtures import html
from tests.pages.test_lists import column

pytestmark = pytest.mark.django_db

API = "/api/v1/settlements/"


@pytest.fixture
def settled(scenario):
    """Besides the run's settlement of AG-SEED-2025 ($30.00 for 2025), one interim settlement of each 2026
    agreement but the other manager's second customer's: $10.00 (seed), $250.00 (C-1002, the same manager)
    and $900.00 (C-1003, the other manager's)."""
    for key, amount, month in (("seed", "10.00", 1), ("echo_one", "250.00", 2), ("echo_two", "900.00", 3)):
        period = date(2026, month, 1)
        Settlement.objects.create(agreement=scenario["agreements"][key], period_start=period, period_end=period,
                                  interim=True, accrued_total=Decimal(amount), amount=Decimal(amount))
    return scenario


def _program(scenario, key):
    return scenario["agreements"][key].program.code


def _page_rows(client, query):
    response = client.get(reverse("settlements"), {"status": "", **query})
    assert response.status_code == 200, html(response)
    return sorted(column(html(response), "settlements", 0))


def _api_rows(client, query):
    answer = client.get(API, {"page_size": 100, **query})
    assert answer.status_code == 200, answer.content
    return sorted(row["agreement"] for row in answer.json()["results"])


FILTERS = [
    ({"program": "echo_one"}, {"finance": ["AG-C-1002-2026"], "am": ["AG-C-1002-2026"]}),
    ({"program": "echo_two"}, {"finance": ["AG-C-1003-2026"], "am": []}),
    ({"amount_min": "100"}, {"finance": ["AG-C-1002-2026", "AG-C-1003-2026"], "am": ["AG-C-1002-2026"]}),
    ({"amount_max": "100"}, {"finance": ["AG-SEED-2025", "AG-SEED-2026"], "am": ["AG-SEED-2025", "AG-SEED-2026"]}),
    ({"amount_min": "30.00", "amount_max": "250"}, {"finance": ["AG-C-1002-2026", "AG-SEED-2025"],
                                                    "am": ["AG-C-1002-2026", "AG-SEED-2025"]}),
    ({"month_from": "2026-02"}, {"finance": ["AG-C-1002-2026", "AG-C-1003-2026"], "am": ["AG-C-1002-2026"]}),
    ({"month_to": "2025-12"}, {"finance": ["AG-SEED-2025"], "am": ["AG-SEED-2025"]}),
    ({"month_from": "2026-01", "month_to": "2026-02"}, {"finance": ["AG-C-1002-2026", "AG-SEED-2026"],
                                                        "am": ["AG-C-1002-2026", "AG-SEED-2026"]}),
    ({"manager": "am.south"}, {"finance": ["AG-C-1003-2026"], "am": []}),
    ({"manager": "am.north", "amount_min": "20"}, {"finance": ["AG-C-1002-2026", "AG-SEED-2025"],
                                                   "am": ["AG-C-1002-2026", "AG-SEED-2025"]}),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
@pytest.mark.parametrize("role", ["finance", "am"])
def test_each_filter_narrows_the_page_and_the_api_to_the_same_rows(settled, client_for, role, query, expected):
    if "program" in query:
        query = {**query, "program": _program(settled, query["program"])}
    client = client_for(settled[role])
    assert _page_rows(client, query) == expected[role]
    assert _api_rows(client, query) == expected[role]


def test_without_a_filter_every_settlement_is_listed(settled, client_for):
    client = client_for(settled["finance"])
    every = sorted(Settlement.objects.values_list("agreement__number", flat=True))
    assert _page_rows(client, {}) == _api_rows(client, {}) == every
    assert every == ["AG-C-1002-2026", "AG-C-1003-2026", "AG-SEED-2025", "AG-SEED-2026"]


@pytest.mark.parametrize(("query", "field"), [
    ({"amount_min": "abc"}, "amount_min"),
    ({"amount_max": "ten"}, "amount_max"),
    ({"program": "no-such-program"}, "program"),
    ({"manager": "nobody"}, "manager"),
    ({"month_to": "2026-13"}, "month_to"),
])
def test_a_bad_filter_value_answers_400_naming_it_on_the_page_and_in_the_api(settled, client_for, query, field):
    client = client_for(settled["finance"])
    response = client.get(reverse("settlements"), query)
    assert response.status_code == 400
    page = html(response)
    banner = page[page.index('id="settlements-errors"'):]
    assert f"<li>{field}: " in banner[:banner.index("</div>")]
    assert 'id="settlements"' not in page  # no rows beside a refused filter
    answer = client.get(API, query)
    assert answer.status_code == 400
    assert [detail["field"] for detail in answer.json()["details"]] == [field], answer.json()
