"""The agreement's monthly sheet, with that month's competitor claims assembled at the pricing_signals edge."""

import datetime

import pytest
from django.http import Http404

from pages.sheets import agreement_sheet_export, claims_by_month
from rebates.selectors import agreement_statement
from tests.excel.ledgers import (
    D,
    accrue,
    finance_user,
    month,
    seed_agreement,
    tiered_agreement,
    two_managers_agreements,
)
from tests.excel.readback import csv_rows, money, values, workbook
from tests.factories import CompetitorFactory, PriceClaimFactory, ProductFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 12, 31)
HEADER = ["Month", "Units", "Net price", "Rebate per unit", "Monthly rebate", "Cumulative rebate",
          "Competitor claims that month", "Shortfall", "Booked in a later month"]


def sheet_rows(content):
    rows = values(workbook(content).worksheets[0])
    start = rows.index(HEADER)
    return rows[start + 1:]


def test_seed_example_reads_2_50_a_month_and_30_for_the_year():
    agreement = seed_agreement()
    accrue(AS_OF)
    rows = sheet_rows(agreement_sheet_export(user=finance_user(), number=agreement.number, as_of=AS_OF).content)
    body, total = rows[:12], rows[12]
    assert [(r[0].date(), r[1], money(r[2]), money(r[3]), money(r[4]), money(r[5]), r[7]) for r in body] == [
        (month(m), 10, D("12.10"), D("0.25"), D("2.50"), D("2.50") * m, "No") for m in range(1, 13)]
    assert (total[0], total[1], money(total[4])) == ("Total", 120, D("30.00"))


def test_sheet_has_its_agreement_on_top_and_a_frozen_header():
    agreement = seed_agreement()
    accrue(AS_OF)
    sheet = workbook(agreement_sheet_export(user=finance_user(), number=agreement.number, as_of=AS_OF).content)[
        agreement.number]
    assert sheet["A1"].value == f"Monthly sheet of agreement {agreement.number}"
    assert sheet.freeze_panes == "A9"
    assert sheet["A9"].is_date and sheet["E9"].number_format.startswith('"$"')


def test_tiered_sheet_shows_the_catch_up_month_and_the_shortfalls():
    agreement = tiered_agreement()
    accrue(datetime.date(2026, 3, 31))
    content = agreement_sheet_export(user=finance_user(), number=agreement.number,
                                     as_of=datetime.date(2026, 3, 31)).content
    rows = sheet_rows(content)
    assert [(r[0].date(), money(r[4]), money(r[5]), r[7]) for r in rows[:3]] == [
        (month(1), D("40.00"), D("40.00"), "Yes"), (month(2), D("40.00"), D("80.00"), "Yes"),
        (month(3), D("160.00"), D("240.00"), "Yes")]
    assert money(rows[2][3]) == D("0.20")


def test_competitor_claims_of_each_month_are_listed():
    agreement = seed_agreement()
    accrue(AS_OF)
    product = agreement.products.get()
    PriceClaimFactory(customer=agreement.customer, product=product, competitor=CompetitorFactory(name="Apex Supply"),
                      claimed_price=D("11.40"), reported_on=datetime.date(2026, 9, 8))
    PriceClaimFactory(customer=agreement.customer, product=product, competitor=CompetitorFactory(name="Bolt & Co"),
                      claimed_price=D("11.2500"), reported_on=datetime.date(2026, 9, 20), channel="visit")
    PriceClaimFactory(customer=agreement.customer, product=ProductFactory(), reported_on=datetime.date(2026, 9, 9))
    rows = sheet_rows(agreement_sheet_export(user=finance_user(), number=agreement.number, as_of=AS_OF).content)
    september = rows[8]
    assert september[6] == ("Apex Supply $11.40 on FAS-101 (call, 2026-09-08); "
                            "Bolt & Co $11.25 on FAS-101 (visit, 2026-09-20)")
    assert all(r[6] is None for i, r in enumerate(rows[:12]) if i != 8)


def test_claims_are_read_for_the_user_only():
    manager_a, manager_b, seed, tiered = two_managers_agreements()
    PriceClaimFactory(customer=seed.customer, product=seed.products.get(), reported_on=datetime.date(2026, 3, 2))
    statement = agreement_statement(user=manager_a, number=seed.number, as_of=AS_OF)
    assert list(claims_by_month(user=manager_a, statement=statement)) == [month(3)]
    assert claims_by_month(user=manager_b, statement=statement) == {}


def test_another_managers_agreement_sheet_is_404():
    manager_a, manager_b, seed, tiered = two_managers_agreements()
    with pytest.raises(Http404):
        agreement_sheet_export(user=manager_a, number=tiered.number)


def test_agreement_csv():
    agreement = seed_agreement()
    accrue(AS_OF)
    export = agreement_sheet_export(user=finance_user(), number=agreement.number, as_of=AS_OF, format="csv")
    rows = csv_rows(export.content)
    assert rows[0] == ["Agreement", *HEADER]
    # Units without padding zeros; money and prices with their places.
    assert rows[1] == ["AG-SEED", "2026-01", "10", "12.1000", "0.2500", "2.50", "2.50", "", "No", ""]
    assert rows[13][0] == "Total" and rows[13][2] == "120" and rows[13][5] == "30.00"
