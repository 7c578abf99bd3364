"""The nightly outlook: after an accrual run, each agreement's next threshold and period-end forecast,
stored per run (AgreementForecast) so pages, the API and finance read them instead of recomputing.

Worked out by the pure engine (rebates/engine/outlook.py) over the same purchases in scope the run read,
plus the months before the term (last year's, which shape the forecast).
"""

from datetime import date

from django.db import transaction

from rebates import engine
from rebates.bulk import BATCH_SIZE
from rebates.engine.outlook import Forecast, NextTier, forecast, next_tier
from rebates.engine.periods import add_months, month_of
from rebates.models import AccrualRun, AgreementForecast, RebateAgreement
from rebates.terms import QUANTITY_STEP, AgreementInput, agreement_inputs, bonus_product_lines, outlook_month_totals

# Agreements read and worked out together: one query for their terms, one for their purchases.
OUTLOOK_CHUNK = 2000
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
            AgreementForecast.objects.bulk_create(rows, batch_size=BATCH_SIZE)
            stored += len(rows)
        return stored


def agreement_outlooks(ids: list[int], *, as_of: date) -> list[tuple[AgreementInput, tuple[Forecast, NextTier | None]]]:
    """The engine's outlook of these agreements as of a day: (agreement, (forecast, next tier or None))."""
    agreements = [a for a in agreement_inputs(ids) if a.terms.start_month <= month_of(as_of)]
    if not agreements:
        return []
    # Two years back: last year's same months of a period that began up to a year ago.
    lines = outlook_month_totals(agreements, earliest=add_months(month_of(as_of), -24))
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


def _row(run: AccrualRun, agreement: AgreementInput, outlook) -> AgreementForecast:
    predicted, tier = outlook
    row = AgreementForecast(
        run_id=run.pk, agreement_id=agreement.pk, as_of=run.as_of,
        period_start=predicted.period.first, period_end=predicted.period.last,
        payout_month=predicted.payout_month, volume_quantity=predicted.volume_quantity,
        volume_amount=predicted.volume_amount, rebate=predicted.rebate, rebate_to_date=predicted.rebate_to_date,
        payout=predicted.payout, method=predicted.method,
    )
    if tier is not None:
        row.next_kind = tier.threshold_kind
        row.next_measure = tier.measure
        row.next_threshold = tier.threshold.quantize(QUANTITY_STEP)
        row.to_go_units = tier.to_go_units
        row.to_go_amount = tier.to_go_amount
        row.next_extra = tier.extra
        row.next_extra_catch_up = tier.extra_catch_up
        row.days_left = tier.days_left
        row.needed_per_month = tier.needed_per_month
        row.own_per_month = tier.own_per_month
    return row

