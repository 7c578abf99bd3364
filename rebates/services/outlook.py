"""The nightly outlook: after an accrual run, each agreement's next threshold and period-end forecast,
stored per run (AgreementForecast) so pages, the API and finance read them instead of recomputing.

Worked out by the pure engine (rebates/engine/outlook.py) over the same purchases in scope the run read,
plus the months before the term (last year's, which shape the forecast).
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import NamedTuple

from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F

from rebates import engine
from rebates.bulk import insert_rows
from rebates.collector import collector_paused
from rebates.engine.outlook import Forecast, NextTier, forecast, next_tier, settlement_period
from rebates.engine.periods import add_months, month_of
from rebates.models import AccrualRun, AgreementForecast, RebateAgreement
from rebates.terms import (
    QUANTITY_STEP,
    AgreementInput,
    agreement_inputs,
    bonus_product_lines,
    clearance_lines,
    mix_lines,
    outlook_month_totals,
    referral_lines,
)

# The outlook is worked in chunks of agreements by primary-key range (agreement pk // OUTLOOK_CHUNK_IDS), each
# its own task and transaction, so the workers share it as they share a run's chunks. The ranges follow from
# the ids alone: a second delivery finds the same chunks, whatever changed in between. A chunk reads its
# customers' purchase lines by index (rebates.sql.terms.window_month_rows), so many small chunks, which share
# out evenly among the workers, cost no more than a few large ones.
OUTLOOK_CHUNK_IDS = 1_000
OUTLOOK_STATUSES = (RebateAgreement.Status.ACTIVE,)


def _in_term(run: AccrualRun):
    as_month = month_of(run.as_of)
    return RebateAgreement.objects.filter(status__in=OUTLOOK_STATUSES, rule__isnull=False,
                                          start_month__lte=as_month, end_month__gte=as_month)


def _chunk_range(number: int) -> tuple[int, int]:
    return number * OUTLOOK_CHUNK_IDS, (number + 1) * OUTLOOK_CHUNK_IDS - 1


def _succeeded(run_id: int) -> AccrualRun | None:
    run = AccrualRun.objects.filter(pk=run_id).first()
    return run if run is not None and run.status == AccrualRun.Status.SUCCEEDED else None


def agreement_forecast_chunks(*, run_id: int) -> list[tuple[int, int]]:
    """The (first, last) agreement pk ranges of the run's outlook still to store: every range holding an
    active agreement in its term on the run's as-of date and none of the run's forecasts. Empty when the run
    has not succeeded or its outlook is whole (the sweeper re-queues a run whose list is not empty)."""
    run = _succeeded(run_id)
    if run is None:
        return []
    # The ranges' numbers (pk // OUTLOOK_CHUNK_IDS, integer division in the database), each once: ten
    # thousand agreements' keys are not sent to be divided here.
    wanted = set(_in_term(run).order_by().values_list(F("pk") / OUTLOOK_CHUNK_IDS, flat=True).distinct())
    stored = set(AgreementForecast.objects.filter(run_id=run_id).order_by()
                 .values_list(F("agreement_id") / OUTLOOK_CHUNK_IDS, flat=True).distinct())
    return [_chunk_range(number) for number in sorted(wanted - stored)]


def agreement_forecasts_chunk_record(*, run_id: int, first: int, last: int, read=None) -> int:
    """Store the outlook of the run's agreements with a pk from `first` to `last`; returns the rows stored.

    One transaction: a worker killed midway stores nothing and the next delivery stores it all. A range
    holding any of the run's forecasts is stored already (0); two deliveries at once both write, and the
    unique (run, agreement) constraint makes the later one wait for the earlier and, once that one has
    committed, roll back and store nothing. `read`, when given, is the range's `outlook_inputs` read
    beforehand (by `agreement_forecasts_record`).
    """
    run = _succeeded(run_id)
    if run is None:
        return 0
    try:
        with collector_paused(), transaction.atomic():
            stored = AgreementForecast.objects.filter(run_id=run_id, agreement_id__gte=first, agreement_id__lte=last)
            if stored.exists():
                return 0
            if read is None:
                read = outlook_inputs(_chunk_ids(run, first, last), as_of=run.as_of)
            rows = [_row(run, agreement, outlook) for agreement, outlook in outlooks_of(read, as_of=run.as_of)]
            with connection.wrap_database_errors:  # the driver's unique violation as Django's IntegrityError
                insert_rows(AgreementForecast, COLUMNS, rows)
            return len(rows)
    except IntegrityError:
        return 0


def _chunk_ids(run: AccrualRun, first: int, last: int) -> list[int]:
    return list(_in_term(run).filter(pk__range=(first, last)).order_by("pk").values_list("pk", flat=True))


def agreement_forecasts_record(*, run_id: int) -> int:
    """Store the outlook of every active agreement in its term on the run's as-of date, chunk after chunk in
    this process (the workers take one chunk each: rebates.tasks); returns the rows stored (0 when the run
    has not succeeded, or its outlook is stored already: safe to run twice).

    Outside a transaction, the next chunk's purchases are read on a connection of their own while the
    engine works on this one (the database and this process each busy at once); each chunk still stores
    in its own transaction. Inside one (tests, a caller's atomic block), where another connection would not
    see its uncommitted rows, chunk after chunk."""
    chunks = agreement_forecast_chunks(run_id=run_id)
    if connection.in_atomic_block or len(chunks) < 2:
        return sum(agreement_forecasts_chunk_record(run_id=run_id, first=first, last=last) for first, last in chunks)
    run = _succeeded(run_id)
    with ThreadPoolExecutor(max_workers=1) as reader:
        try:
            ahead = reader.submit(_read_chunk, run, *chunks[0])
            stored = 0
            for number, (first, last) in enumerate(chunks):
                read = ahead.result()
                if number + 1 < len(chunks):
                    ahead = reader.submit(_read_chunk, run, *chunks[number + 1])
                stored += agreement_forecasts_chunk_record(run_id=run_id, first=first, last=last, read=read)
            return stored
        finally:
            reader.submit(connections.close_all).result()


def _read_chunk(run: AccrualRun, first: int, last: int):
    """A chunk's `outlook_inputs`, read in a transaction of this thread's connection."""
    with transaction.atomic():
        return outlook_inputs(_chunk_ids(run, first, last), as_of=run.as_of)


class OutlookInputs(NamedTuple):
    """What the engine reads for a chunk's outlook: its agreements, and by agreement id their purchases' totals
    per month (`months`) and the lines of their kinds' other reads."""

    agreements: list[AgreementInput]
    months: dict
    bonuses: dict
    cleared: dict
    mixed: dict
    referred: dict


def outlook_inputs(ids: list[int], *, as_of: date) -> OutlookInputs:
    """The agreements (those started by the as-of date) and their purchases the outlook reads, as of a day."""
    agreements = [a for a in agreement_inputs(ids) if a.terms.start_month <= month_of(as_of)] if ids else []
    if not agreements:
        return OutlookInputs([], {}, {}, {}, {}, {})
    # Each agreement's own window: from last year's first month of its period under way to the as-of month.
    firsts = {a.pk: add_months(settlement_period(a.terms, as_of).first, -12) for a in agreements}
    return OutlookInputs(agreements, outlook_month_totals(agreements, firsts=firsts, latest=month_of(as_of)),
                         bonus_product_lines(agreements), clearance_lines(agreements), mix_lines(agreements),
                         referral_lines(agreements))


def outlooks_of(read: OutlookInputs, *, as_of: date) -> list[tuple[AgreementInput, tuple[Forecast, NextTier | None]]]:
    """The engine's outlook of the agreements read: (agreement, (forecast, next tier or None))."""
    result = []
    for agreement in read.agreements:
        own = read.months.get(agreement.pk, {})
        result.append((agreement, (
            forecast(agreement.terms, own, as_of=as_of, bonus_lines=read.bonuses.get(agreement.pk, ()),
                     clearance_lines=read.cleared.get(agreement.pk, ()), mix_lines=read.mixed.get(agreement.pk, ()),
                     referral_lines=read.referred.get(agreement.pk, ())),
            next_tier(agreement.terms, own, as_of=as_of) if _has_threshold(agreement.terms) else None,
        )))
    return result


def agreement_outlooks(ids: list[int], *, as_of: date) -> list[tuple[AgreementInput, tuple[Forecast, NextTier | None]]]:
    """The engine's outlook of these agreements as of a day: (agreement, (forecast, next tier or None))."""
    return outlooks_of(outlook_inputs(ids, as_of=as_of), as_of=as_of)


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
