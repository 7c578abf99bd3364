"""Excel and CSV exports, written: the finance accrual sheet with the liability report, and the agreement's
monthly sheet. The use cases (small exports answer at once, large ones run as a background ExportJob) are
rebates.services.exports."""

from rebates.exports.accrual_export import ExportError, ExportFile, accrual_filters
from rebates.exports.accrual_sheet import write_accrual_csv, write_accrual_xlsx, write_liability_csv
from rebates.exports.agreement_sheet import write_agreement_csv, write_agreement_xlsx
from rebates.exports.cells import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, csv_text

__all__ = [
    "CSV_CONTENT_TYPE",
    "XLSX_CONTENT_TYPE",
    "ExportError",
    "ExportFile",
    "accrual_filters",
    "csv_text",
    "write_accrual_csv",
    "write_accrual_xlsx",
    "write_agreement_csv",
    "write_agreement_xlsx",
    "write_liability_csv",
]
