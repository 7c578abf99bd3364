"""A signal's evidence record as a file: the claims (dates, channels, evidence files with their digests),
the decision with who and when, the price changes it led to and its history, kept in good faith to show
that a price was lowered to meet competition.

CSV or .xlsx; no text cell can run as a formula (R14, by the rule in rebates.exports.cells).
"""

import io
import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied

from config import clock
from customers.models import AuditRecord
from pricing_signals.models import MarketSignal, SignalPriceMatch
from pricing_signals.selectors import VIEW_SIGNALS, signal_claims
from rebates.exports.cells import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, CsvOut, XlsxWorkbook, excel_serial
from rebates.models import RebateAgreement

FORMATS = ("csv", "xlsx")
CLAIM_HEADERS = ("Reported on", "Customer code", "Customer", "Competitor", "Claimed unit price", "Channel",
                 "Reported by", "Note", "Evidence file", "Evidence bytes", "Evidence SHA-256", "Status")
PRICE_HEADERS = ("Agreement", "Customer", "Product", "Net unit price", "From", "Reason", "Changed by", "Changed at")
HISTORY_HEADERS = ("At", "Who", "Action", "What")


@dataclass(frozen=True)
class EvidenceRecord:
    """Rows of the record, in order; a row is a tuple of cells (text, Decimal, int, date, datetime or None);
    an empty tuple is a blank line."""

    signal: MarketSignal
    rows: tuple[tuple, ...]


def _who(user) -> str:
    if user is None:
        return ""
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


def signal_evidence(*, user, signal: MarketSignal, exported_at: datetime | None = None) -> EvidenceRecord:
    """The evidence record of a signal as the user may see it: the claims of customers they may not see
    are left out (and counted, so the record never looks complete when it is not)."""
    if user is None or not user.is_authenticated or not user.has_perm(VIEW_SIGNALS):
        raise PermissionDenied("You may not see market signals.")
    signal = (MarketSignal.objects.select_related("product", "competitor", "decided_by", "merged_into")
              .prefetch_related("matched_agreements").get(pk=signal.pk))
    claims = list(signal_claims(user=user, signal=signal))
    exported_at = exported_at or clock.now()
    rows = [
        ("Market signal evidence record",),
        ("Signal", f"#{signal.pk}"),
        ("Product", f"{signal.product.sku} {signal.product.name}"),
        ("Competitor", signal.competitor.name if signal.competitor else "several"),
        ("Window", signal.window_start, signal.window_end),
        ("Claims", signal.claim_count),
        ("Distinct customers", signal.customer_count),
        ("Median claimed unit price", signal.median_price),
        ("Our average net unit price", signal.our_average_price),
        ("Drop (percent)", signal.drop_percent),
        ("Status", signal.get_status_display()),
        ("Decision", signal.get_decision_display() if signal.decision else "none yet"),
        ("Reason", signal.decision_reason),
        ("Decided by", _who(signal.decided_by)),
        ("Decided at", clock.local(signal.decided_at) if signal.decided_at else None),
    ]
    if signal.decision == MarketSignal.Decision.MATCH:
        rows.append(("Matched net unit price", signal.match_price, "from", signal.match_effective_from))
        visible = RebateAgreement.objects.visible_to(user).filter(pk__in=signal.matched_agreements.values("pk"))
        rows.append(("Matched agreements", ", ".join(visible.order_by("number").values_list("number", flat=True))))
    if signal.merged_into_id:
        rows.append(("Merged into signal", f"#{signal.merged_into_id}"))
    rows.append(("Exported by", _who(user), "at", clock.local(exported_at)))
    hidden = signal.claim_count - len(claims)
    if hidden > 0:
        rows.append(("Claims left out", hidden, "of customers you do not manage"))

    rows += [(), ("Claims",), CLAIM_HEADERS]
    for claim in claims:
        rows.append((
            claim.reported_on, claim.customer.code, claim.customer.name, claim.competitor.name, claim.claimed_price,
            claim.get_channel_display(), _who(claim.reported_by), claim.note,
            os.path.basename(claim.evidence.name) if claim.evidence else "", claim.evidence_size,
            claim.evidence_sha256, claim.get_status_display(),
        ))

    # Only the agreements the user may see: an account manager never sees another manager's prices.
    matches = (SignalPriceMatch.objects.filter(
                   signal=signal, contract_price__agreement__in=RebateAgreement.objects.visible_to(user))
               .select_related("contract_price__agreement__customer", "contract_price__created_by",
                               "contract_price__product")
               .order_by("contract_price__agreement__number"))
    rows += [(), ("Price changes",), PRICE_HEADERS]
    for match in matches:
        price = match.contract_price
        rows.append((price.agreement.number, price.agreement.customer.code, price.product.sku, price.net_price,
                     price.effective_from,
                     price.reason, _who(price.created_by), clock.local(price.created_at)))

    history = (AuditRecord.objects.filter(target_type=MarketSignal._meta.label_lower, target_id=str(signal.pk))
               .select_related("actor").order_by("at", "pk"))
    # A decision's summary names the agreements it touched: only users who see every customer read it whole.
    sees_all = user.has_perm("customers.view_all_customers")
    rows += [(), ("History",), HISTORY_HEADERS]
    for record in history:
        summary = record.summary if sees_all else "(details for users who see every customer)"
        rows.append((clock.local(record.at), _who(record.actor) or record.actor_label, record.action,
                     summary))
    return EvidenceRecord(signal=signal, rows=tuple(rows))


def evidence_csv(record: EvidenceRecord) -> bytes:
    buffer = io.BytesIO()
    out = CsvOut(buffer)
    for row in record.rows:
        out.row(row)
    out.close()
    return buffer.getvalue()


def evidence_xlsx(record: EvidenceRecord) -> bytes:
    target = io.BytesIO()
    workbook = XlsxWorkbook(target)
    sheet = workbook.sheet("Evidence")
    widths = (26, 22, 30, 22, 16, 12, 24, 40, 28, 12, 66, 16)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    formats = workbook.formats
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm", "align": "left"})
    for row_number, row in enumerate(record.rows):
        header = row in (CLAIM_HEADERS, PRICE_HEADERS, HISTORY_HEADERS)
        for col, cell in enumerate(row):
            if cell is None:
                continue
            if isinstance(cell, str):
                style = formats["header"] if header else formats["title"] if len(row) == 1 else None
                sheet.write_string(row_number, col, cell, style)
            elif isinstance(cell, datetime):
                moment = cell.replace(tzinfo=None)
                serial = excel_serial(moment.date()) + (moment - moment.replace(hour=0, minute=0, second=0,
                                                                                microsecond=0)).seconds / 86400
                sheet.write_number(row_number, col, serial, datetime_format)
            elif isinstance(cell, date):
                sheet.write_number(row_number, col, excel_serial(cell), formats["date"])
            elif isinstance(cell, Decimal):
                sheet.write_number(row_number, col, cell, formats["unit_price"] if cell.as_tuple().exponent == -4
                                   else None)
            else:
                sheet.write_number(row_number, col, cell)
    workbook.close()
    return target.getvalue()


def signal_evidence_file(*, user, signal: MarketSignal, file_format: str = "csv") -> tuple[str, str, bytes]:
    """(file name, content type, content) of the signal's evidence record as .csv or .xlsx."""
    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    record = signal_evidence(user=user, signal=signal)
    name = f"market-signal-{signal.pk}-evidence.{file_format}"
    if file_format == "xlsx":
        return name, XLSX_CONTENT_TYPE, evidence_xlsx(record)
    return name, CSV_CONTENT_TYPE, evidence_csv(record)
