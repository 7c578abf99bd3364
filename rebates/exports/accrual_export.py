"""What an accrual export is made of: its filters, formats and reports, its file name and header, and the
writing of its rows (`write_export`). The use cases that answer with the file or record and run an ExportJob
are rebates.services.exports.

Every export reads its rows for the user who asked (`visible_to`), in the background too: an account
manager's export holds only their own customers.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from django.conf import settings

from config import clock
from rebates.engine.periods import month_of
from rebates.exports.accrual_sheet import (
    write_accrual_csv,
    write_accrual_xlsx,
    write_liability_csv,
)
from rebates.exports.cells import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from rebates.models import ExportJob

FILTER_KEYS = ("customer", "manager", "program", "agreement", "month_from", "month_to")
REPORTS = ("accruals", "liability")
FORMATS = tuple(ExportJob.Format.values)
CONTENT_TYPES = {"xlsx": XLSX_CONTENT_TYPE, "csv": CSV_CONTENT_TYPE}


class ExportError(ValueError):
    """The export cannot be made as asked (a bad filter, format or report); the message says why."""


@dataclass(frozen=True)
class ExportFile:
    """A finished export: what to send back as the download."""

    name: str
    content_type: str
    content: bytes


def inline_rows() -> int:
    """Exports up to this many rows answer at once; larger ones become a background ExportJob."""
    return getattr(settings, "EXCEL_EXPORT_INLINE_ROWS", 5000)


def _month(name, value):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return month_of(value)
    try:
        year, month = str(value).strip().split("-")[:2]
        return date(int(year), int(month), 1)
    except (TypeError, ValueError):
        raise ExportError(f"{name} must be a month written YYYY-MM, got {value!r}.") from None


def accrual_filters(raw: Mapping | None) -> dict:
    """The accruals filters as the selector takes them: customer code, manager username, program id or
    code, agreement number, month_from / month_to as YYYY-MM (or dates). Empty values are dropped."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(FILTER_KEYS) - {"report"})
    if unknown:
        raise ExportError(f"Unknown filter {', '.join(unknown)}; the filters are {', '.join(FILTER_KEYS)}.")
    filters = {}
    for key in ("customer", "manager", "program", "agreement"):
        value = raw.get(key)
        if value not in (None, ""):
            filters[key] = str(value)
    for key in ("month_from", "month_to"):
        month = _month(key, raw.get(key))
        if month is not None:
            filters[key] = month
    if "month_from" in filters and "month_to" in filters and filters["month_from"] > filters["month_to"]:
        raise ExportError("month_from is after month_to.")
    return filters


def filters_json(filters: dict, report: str) -> dict:
    stored = {key: (f"{value:%Y-%m}" if isinstance(value, date) else value) for key, value in filters.items()}
    stored["report"] = report
    return stored


def report_for(format, report):
    """The report to write for this format (CSV is one report a file; the .xlsx holds both), or
    ExportError for an unknown format or report."""
    if format not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {format!r}.")
    if report not in REPORTS:
        raise ExportError(f"report must be one of {', '.join(REPORTS)}, got {report!r}.")
    if report == "liability" and format == "xlsx":
        # The .xlsx accrual sheet holds the liability on its second sheet.
        return "accruals"
    return report


def file_name(report, format, filters: dict, stamp: date) -> str:
    parts = [report, *(str(filters[key]) for key in ("customer", "manager", "agreement") if key in filters),
             f"{stamp:%Y-%m-%d}"]
    # What the file holds and the day: accruals-2026-12-03.xlsx, accruals-C00042-2026-12-03.xlsx.
    safe = "-".join("".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in part) for part in parts)
    return f"{safe}.{format}"


def write_export(target, *, user, filters: dict, format: str, report: str, progress=None, about=()) -> int:
    """Write the report's rows for `user` to `target` (a binary file); returns the rows it holds."""
    if format == "xlsx":
        return write_accrual_xlsx(target, user=user, filters=filters, about=about, progress=progress)
    if report == "liability":
        return write_liability_csv(target, user=user, filters=filters, progress=progress)
    return write_accrual_csv(target, user=user, filters=filters, progress=progress)


def sheet_about(user, filters, report, when):
    shown = ", ".join(f"{key} {value:%Y-%m}" if isinstance(value, date) else f"{key} {value}"
                      for key, value in filters.items()) or "none (every agreement the user may see)"
    return (("Report", "Finance accrual sheet and liability"), ("Exported by", user.get_username()),
            ("Exported at", f"{clock.local(when):%Y-%m-%d %H:%M}"), ("Filters", shown))
