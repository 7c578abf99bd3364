"""The programs' figures as rows for the sheets (written by rebates.exports.list_sheet, whose one cell writer
escapes every text, so no name becomes a formula) and as words for the pages and the API."""

from decimal import Decimal

from django.conf import settings

from programs.effectiveness import FORMULAS
from programs.whatif import Draft, draft_words
from rebates.engine.words import money

DASH = "—"


def percent(value, unit="%") -> str:
    return DASH if value is None else f"{value}{unit}"


def units(value) -> str:
    return DASH if value is None else f"{value.normalize():,f}" if value else "0"


def per_dollar(value) -> str:
    return DASH if value is None else money(value, 4)


def effectiveness_rows(report):
    """One row per measure: (measure, program customers, comparison group, its formula in words)."""
    m, formulas = report.measures, dict(FORMULAS)
    ours, theirs = m.program, m.comparison
    return [
        ("Period", f"{report.period.start:%Y-%m} to {report.period.end:%Y-%m}",
         f"{report.period.year_before.start:%Y-%m} to {report.period.year_before.end:%Y-%m} (year before)", ""),
        ("Customers", str(ours.customers), str(theirs.customers), formulas["Program customers"]),
        ("Segments", ", ".join(report.segments) or DASH, ", ".join(report.segments) or DASH,
         formulas["Comparison group"]),
        ("Focus lines", ", ".join(report.focus_lines) or DASH, ", ".join(report.focus_lines) or DASH,
         formulas["Focus lines"]),
        ("Units, period", units(ours.units_now), units(theirs.units_now), formulas["Volume, net revenue"]),
        ("Units, year before", units(ours.units_before), units(theirs.units_before), ""),
        ("Units growth", percent(ours.units_growth), percent(theirs.units_growth), formulas["Growth"]),
        ("Net revenue, period", money(ours.revenue_now), money(theirs.revenue_now), ""),
        ("Net revenue, year before", money(ours.revenue_before), money(theirs.revenue_before), ""),
        ("Net revenue growth", percent(ours.revenue_growth), percent(theirs.revenue_growth), formulas["Growth"]),
        ("Rebate accrued", money(m.cost.accrued), "", formulas["Rebate cost"]),
        ("Rebate paid", money(m.cost.paid), "", ""),
        ("Rebate forfeited", money(m.cost.forfeited), "", ""),
        ("Expected units", units(m.expected_units), "", formulas["Expected"]),
        ("Incremental units", units(m.incremental_units), "", formulas["Incremental"]),
        ("Expected net revenue", money(m.expected_revenue), "", ""),
        ("Incremental net revenue", money(m.incremental_revenue), "", ""),
        ("Cost per incremental unit", money(m.cost_per_incremental_unit), "", formulas["Cost per incremental unit"]),
        ("Cost per incremental dollar", per_dollar(m.cost_per_incremental_dollar), "",
         formulas["Cost per incremental dollar"]),
        ("Kept customers", str(ours.kept), str(theirs.kept), formulas["Retention"]),
        ("Lost customers", str(ours.lost), str(theirs.lost), ""),
        ("Retention", percent(ours.retention), percent(theirs.retention), ""),
        ("Focus share, period", percent(ours.focus_share_now), percent(theirs.focus_share_now), ""),
        ("Focus share, year before", percent(ours.focus_share_before), percent(theirs.focus_share_before), ""),
        ("Mix shift", percent(ours.mix_shift, " pts"), percent(theirs.mix_shift, " pts"), formulas["Mix shift"]),
    ]


def whatif_rows(job):
    """(headers, rows) of a finished what-if: per customer, the current terms and each draft in the customer's
    currency (the last column), then a total per currency, never added across currencies."""
    drafts = [Draft.from_json(data) for data in job.drafts]
    headers = (("Code", "text"), ("Customer", "text"), ("Agreements", "int"), ("Current terms", "money"),
               *((f"Draft {i + 1}: {draft_words(d)}"[:120], "money") for i, d in enumerate(drafts)),
               ("Currency", "text"))
    result = job.result
    rows = [(c["code"], c["name"], c["agreements"], Decimal(c["current"]), *(Decimal(d) for d in c["drafts"]),
             c.get("currency") or settings.DEFAULT_CURRENCY) for c in result.get("customers", ())]
    totals = {}
    for row in rows:
        count, current, drafted = totals.get(row[-1], (0, Decimal("0.00"), [Decimal("0.00")] * len(drafts)))
        totals[row[-1]] = (count + row[2], current + row[3], [a + b for a, b in zip(drafted, row[4:-1], strict=True)])
    rows += [("Total", "", count, current, *drafted, code)
             for code, (count, current, drafted) in sorted(totals.items())]
    if not totals:
        rows.append(("Total", "", 0, Decimal("0.00"), *([Decimal("0.00")] * len(drafts)), settings.DEFAULT_CURRENCY))
    return headers, rows
