"""The agreement's monthly sheet with the competitor claims of each month.

Assembled here, in the app that depends on both: the rebates app writes the sheet but never reads price
claims, so this module reads the agreement's statement (rebates.selectors), gathers the claims of each month
and passes them in.
"""

import io
from collections import defaultdict
from datetime import date

from config import clock
from pricing_signals.models import PriceClaim
from pricing_signals.wording import claim_text
from rebates.engine.periods import add_months
from rebates.exports import (
    CSV_CONTENT_TYPE,
    XLSX_CONTENT_TYPE,
    ExportError,
    ExportFile,
    write_agreement_csv,
    write_agreement_xlsx,
)
from rebates.scope import covered_q
from rebates.selectors import AgreementStatement, agreement_statement


def claims_by_month(*, user, statement: AgreementStatement) -> dict[date, list[str]]:
    """The agreement customer's price claims on products the agreement covers in the month reported (the
    scope rule, rebates.scope), by that month, among the claims the user may see."""
    if not statement.months:
        return {}
    agreement = statement.agreement
    first, last = statement.months[0].month, statement.months[-1].month
    claims = (
        PriceClaim.objects.visible_to(user)
        .filter(covered_q(agreement, month="reported_on"), reported_on__gte=first, reported_on__lt=add_months(last, 1))
        .select_related("competitor", "product", "customer")
        .order_by("reported_on", "pk")
    )
    by_month: dict[date, list[str]] = defaultdict(list)
    for claim in claims:
        by_month[claim.reported_on.replace(day=1)].append(claim_text(claim))
    return dict(by_month)


def agreement_sheet_export(*, user, number, format="xlsx", as_of=None) -> ExportFile:
    """The agreement's monthly sheet for `user` as .xlsx or .csv; Http404 for an agreement the user may
    not see; ExportError for an unknown format."""
    if format not in ("xlsx", "csv"):
        raise ExportError(f"format must be xlsx or csv, got {format!r}.")
    statement = agreement_statement(user=user, number=number, as_of=as_of)
    claims = claims_by_month(user=user, statement=statement)
    buffer = io.BytesIO()
    if format == "xlsx":
        write_agreement_xlsx(buffer, statement, claims_by_month=claims)
    else:
        write_agreement_csv(buffer, statement, claims_by_month=claims)
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in statement.agreement.number)
    return ExportFile(name=f"agreement-{safe}-{clock.today():%Y-%m-%d}.{format}",
                      content_type=XLSX_CONTENT_TYPE if format == "xlsx" else CSV_CONTENT_TYPE,
                      content=buffer.getvalue())
