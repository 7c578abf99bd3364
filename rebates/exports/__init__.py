"""Excel and CSV exports: the finance accrual sheet with the liability report, and the agreement's monthly
sheet; small exports answer at once, large ones run as a background ExportJob."""

from rebates.exports.accrual_sheet import write_accrual_csv, write_accrual_xlsx, write_liability_csv
from rebates.exports.agreement_sheet import write_agreement_csv, write_agreement_xlsx
from rebates.exports.cells import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, csv_text
from rebates.exports.jobs import (
    ExportError,
    ExportFile,
    accrual_filters,
    accruals_export,
    export_job_run,
    export_job_start,
)

__all__ = [
    "CSV_CONTENT_TYPE",
    "XLSX_CONTENT_TYPE",
    "ExportError",
    "ExportFile",
    "accrual_filters",
    "accruals_export",
    "csv_text",
    "export_job_run",
    "export_job_start",
    "write_accrual_csv",
    "write_accrual_xlsx",
    "write_agreement_csv",
    "write_agreement_xlsx",
    "write_liability_csv",
]
