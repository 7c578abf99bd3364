"""The nightly outlook: after an accrual run, each agreement's next threshold and period-end forecast,
stored per run (AgreementForecast) so pages, the API and finance read them instead of recomputing.

Worked out by the pure engine (rebates/engine/outlook.py) over the same purchases in scope the run read,
plus the months before the term (last year's, which shape the forecast).
"""

from datetime import date

from django.db import transaction

from rebates import engine
from rebates.bulk import insert_rows
from rebates.engine.outlook import Forecast, NextTier, forecast, next_tier, settlement_period
from rebates.engine.periods import add_months, month_of
from rebates.models import AccrualRun, AgreementForecast, RebateAgreement
from rebates.terms import QUANTITY_STEP, AgreementInput, agreement_inputs, bonus_product_lines, outlook_month_totals

# Agreements read and worked out together: one query for their terms, one for their purchases (a pass
# over the lines, so the fewer the better; 20,000 agreements' lines are a few hundred MB at most).
OUTLOOK_CHUNK = 20_000
OUTLOOK_STATUSES = (RebateAgreement.Status.ACTIVE,)


def agreement_forecasts_record(*, run_id: int) -> int:
    """Store the outlook of every active agreement in its term on the run's as-of date; returns the rows
    stored (0 when the run has not succeeded, or its outlook is stored already: safe to run twice).

    One transaction: the run's row is locked first, so a second delivery waits for the first and then
    finds its rows; a worker killed midway stores nothing, and the next delivery stores it all.
    """
    with transaction.atomic():
        run = AccrualRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != AccrualRun.Status.SUCCEEDED:
            return 0
        if AgreementForecast.objects.filter(run_id=run_id).exists():
            return 0
        as_month = month_of(run.as_of)
        ids = list(RebateAgreement.objects.filter(status__in=OUTLOOK_STATUSES, rule__isnull=False,
                                                  start_month__lte=as_month, end_month__gte=as_month)
                   .order_by("pk").values_list("pk", flat=True))
        stored = 0
        for start in range(0, len(ids), OUTLOOK_CHUNK):
            rows = [_row(run, agreement, outlook)
                    for agreement, outlook in agreement_outlooks(ids[start:start + OUTLOOK_CHUNK], as_of=run.as_of)]
            insert_rows(AgreementForecast, COLUMNS, rows)
            stored += len(rows)
        return stored


def agreement_outlooks(ids: list[int], *, as_of: date) -> list[tuple[AgreementInput, tuple[Forecast, NextTier | None]]]:
    """The engine's outlook of these agreements as of a day: (agreement, (forecast, next tier or None))."""
    agreements = [a for a in agreement_inputs(ids) if a.terms.start_month <= month_of(as_of)]
    if not agreements:
        return []
    # From last year's first month of the earliest period under way, to the as-of month.
    earliest = add_months(min(settlement_period(a.terms, as_of).first for a in agreements), -12)
    lines = outlook_month_totals(agreements, earliest=earliest, latest=month_of(as_of))
    bonuses = bonus_product_lines(agreements)
    result = []
    for agreement in agreements:
        own = lines.get(agreement.pk, [])
        result.append((agreement, (
            forecast(agreement.terms, own, as_of=as_of, bonus_lines=bonuses.get(agreement.pk, ())),
            next_tier(agreement.terms, own, as_of=as_of) if _has_threshold(agreement.terms) else None,
        )))
    return result


def _has_threshold(terms: engine.AgreementTerms) -> bool:
    rule = terms.rule
    return rule.minimum is not None or rule.cap is not None or rule.kind_class.banded


COLUMNS = ("run", "agreement", "as_of", "period_start", "period_end", "payout_month", "volume_quantity",
           "volume_amount", "rebate", "rebate_to_date", "payout", "method", "next_kind", "next_measure",
           "next_threshold", "to_go_units", "to_go_amount", "next_extra", "next_extra_catch_up", "days_left",
           "needed_per_month", "own_per_month")
NO_NEXT_TIER = ("", "", None, None, None, None, None, None, None, None)


def _row(run: AccrualRun, agreement: AgreementInput, outlook) -> tuple:
    """One AgreementForecast as the values of COLUMNS, for COPY."""
    predicted, tier = outlook
    row = (run.pk, agreement.pk, run.as_of, predicted.period.first, predicted.period.last, predicted.payout_month,
           predicted.volume_quantity, predicted.volume_amount, predicted.rebate, predicted.rebate_to_date,
           predicted.payout, predicted.method)
    if tier is None:
        return row + NO_NEXT_TIER
    return row + (tier.threshold_kind, tier.measure, tier.threshold.quantize(QUANTITY_STEP), tier.to_go_units,
                  tier.to_go_amount, tier.extra, tier.extra_catch_up, tier.days_left, tier.needed_per_month,
                  tier.own_per_month)
