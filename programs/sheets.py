"""The programs' figures as rows for the sheets (written by rebates.exports.list_sheet, whose one cell writer
escapes every text, so no name becomes a formula) and as words for the pages and the API."""

from decimal import Decimal

from django.conf import settings

from programs.effectiveness import FORMULAS
from programs.whatif import Draft, draft_words, stored_totals
from rebates.currencies import missing_rate_reason
from rebates.engine.words import money

DASH = "—"


def percent(value, unit="%") -> str:
    return DASH if value is None else f"{value}{unit}"


def units(value) -> str:
    return DASH if value is None else f"{value.normalize():,f}" if value else "0"


NOT_CONVERTED = "Not converted: a rate is missing"


def rate_rows(report):
    """A row per rate used or lacked: ("Rate, EUR to USD, 2026-03", "1.085" or "missing", "", words)."""
    return [(f"Rate, {rate.currency} to {rate.to_currency}, {rate.month:%Y-%m}",
             "missing" if rate.rate is None else f"{rate.rate.normalize():f}", "",
             missing_rate_reason(rate.currency, rate.to_currency, rate.month) if rate.rate is None
             else f"1 {rate.currency} = {rate.rate.normalize():f} {rate.to_currency} in {rate.month:%Y-%m}")
            for rate in report.rates]


def effectiveness_rows(report):
    """One row per measure: (measure, program customers, comparison group, its formula in words), money in the
    reporting currency, then a row per rate used (a money figure a missing rate would need says so)."""
    m, formulas = report.measures, dict(FORMULAS)
    ours, theirs = m.program, m.comparison
    currency = report.currency or settings.REPORTING_CURRENCY

    def cash(value, known=None, places=2):  # known: False when a missing rate is why there is no figure
        known = value is not None if known is None else known
        return NOT_CONVERTED if value is None and not known else money(value, places, currency)

    def share(value, group, unit="%"):  # a measure of a group's net revenue
        return NOT_CONVERTED if value is None and not group.converted else percent(value, unit)

    return [
        ("Period", f"{report.period.start:%Y-%m} to {report.period.end:%Y-%m}",
         f"{report.period.year_before.start:%Y-%m} to {report.period.year_before.end:%Y-%m} (year before)", ""),
        ("Currency", f"{currency} (reporting currency)", f"{currency} (reporting currency)",
         formulas["Reporting currency"]),
        ("Customers", str(ours.customers), str(theirs.customers), formulas["Program customers"]),
        ("Segments", ", ".join(report.segments) or DASH, ", ".join(report.segments) or DASH,
         formulas["Comparison group"]),
        ("Focus lines", ", ".join(report.focus_lines) or DASH, ", ".join(report.focus_lines) or DASH,
         formulas["Focus lines"]),
        ("Units, period", units(ours.units_now), units(theirs.units_now), formulas["Volume, net revenue"]),
        ("Units, year before", units(ours.units_before), units(theirs.units_before), ""),
        ("Units growth", percent(ours.units_growth), percent(theirs.units_growth), formulas["Growth"]),
        ("Net revenue, period", cash(ours.revenue_now), cash(theirs.revenue_now), ""),
        ("Net revenue, year before", cash(ours.revenue_before), cash(theirs.revenue_before), ""),
        ("Net revenue growth", share(ours.revenue_growth, ours), share(theirs.revenue_growth, theirs),
         formulas["Growth"]),
        ("Rebate accrued", cash(m.cost.accrued), "", formulas["Rebate cost"]),
        ("Rebate paid", cash(m.cost.paid), "", ""),
        ("Rebate forfeited", cash(m.cost.forfeited), "", ""),
        ("Expected units", units(m.expected_units), "", formulas["Expected"]),
        ("Incremental units", units(m.incremental_units), "", formulas["Incremental"]),
        ("Expected net revenue", cash(m.expected_revenue, m.revenue_known), "", ""),
        ("Incremental net revenue", cash(m.incremental_revenue, m.revenue_known), "", ""),
        ("Cost per incremental unit", cash(m.cost_per_incremental_unit, m.per_unit_known), "",
         formulas["Cost per incremental unit"]),
        ("Cost per incremental dollar", cash(m.cost_per_incremental_dollar, m.per_dollar_known, 4), "",
         formulas["Cost per incremental dollar"]),
        ("Kept customers", str(ours.kept), str(theirs.kept), formulas["Retention"]),
        ("Lost customers", str(ours.lost), str(theirs.lost), ""),
        ("Retention", percent(ours.retention), percent(theirs.retention), ""),
        ("Focus share, period", share(ours.focus_share_now, ours), share(theirs.focus_share_now, theirs), ""),
        ("Focus share, year before", share(ours.focus_share_before, ours), share(theirs.focus_share_before, theirs),
         ""),
        ("Mix shift", share(ours.mix_shift, ours, " pts"), share(theirs.mix_shift, theirs, " pts"),
         formulas["Mix shift"]),
        *rate_rows(report),
    ]


def whatif_rows(job):
    """(headers, rows) of a finished what-if: per customer, the current terms and each draft in the customer's
    currency (the last column), then a total per currency, never added across currencies."""
    drafts = [Draft.from_json(data) for data in job.drafts]
    currencies = list(stored_totals(job.result or {})["total_current"])
    headers = (("Code", "text"), ("Customer", "text"), ("Agreements", "int"), ("Current terms", "money"),
               *((f"Draft {i + 1}: {draft_words(d, currencies)}"[:120], "money") for i, d in enumerate(drafts)),
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
