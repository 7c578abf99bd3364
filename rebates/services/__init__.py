"""Writes of the rebates app, one function per use case (`<entity>_<action>`), each in one transaction."""

from rebates.services.accrual import (
    AccrualRunError,
    accrual_chunk_book,
    accrual_due,
    accrual_run_fail,
    accrual_run_prepare,
    accrual_run_start,
    accrual_runs_resume_stale,
    agreement_accrue,
)
from rebates.services.checks import accrual_check_sample
from rebates.services.pricing import contract_price_change as contract_price_change
from rebates.services.pricing import line_discount_change as line_discount_change
from rebates.services.purchases import IngestResult, PurchaseLinesInvalid, purchase_lines_ingest
from rebates.services.recovery import rebate_work_requeue
from rebates.services.runs import accrual_run_perform
from rebates.services.settlement import (
    CreditNoteNumbering,
    SettlementApprovals,
    SettlementConflict,
    SettlementError,
    SettlementPayment,
    SettlementsNotPayable,
    agreement_terminate,
    settlement_approve,
    settlement_close,
    settlement_interim,
    settlement_pay,
    settlements_approve,
    settlements_close_due,
    settlements_pay,
)

__all__ = [
    "AccrualRunError",
    "CreditNoteNumbering",
    "SettlementApprovals",
    "SettlementPayment",
    "SettlementsNotPayable",
    "IngestResult",
    "PurchaseLinesInvalid",
    "SettlementConflict",
    "SettlementError",
    "accrual_check_sample",
    "accrual_chunk_book",
    "accrual_due",
    "accrual_run_fail",
    "accrual_run_perform",
    "accrual_run_prepare",
    "accrual_run_start",
    "accrual_runs_resume_stale",
    "agreement_accrue",
    "agreement_terminate",
    "purchase_lines_ingest",
    "rebate_work_requeue",
    "settlement_approve",
    "settlements_approve",
    "settlement_close",
    "settlement_interim",
    "settlement_pay",
    "settlements_close_due",
    "settlements_pay",
]
