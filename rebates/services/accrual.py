"""The accrual run: compute what each (agreement, month) should hold and book only the difference.

A run goes queued -> running -> succeeded (or skipped when another run is running, or failed when it
stops moving). `accrual_run_prepare` decides which agreements to recompute and cuts them into chunks;
each chunk is booked by `accrual_chunk_book` in one transaction, by whichever worker takes it, and the
chunk that completes the run closes it. Every step is safe to repeat: a chunk that is done books nothing
again, and each entry's booking key names its run, so the database refuses the same booking twice.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import F

from config import clock
from config.celery_app import app as celery_app
from config.celery_app import queue_on_commit
from customers.services import audit_record
from rebates.bulk import copy_lines
from rebates.collector import collector_paused
from rebates.engine import months_in_part, months_read_in_part
from rebates.engine.money import CENT, ZERO
from rebates.engine.periods import add_months, month_of
from rebates.models import EARNED_KINDS, AccrualChunk, AccrualRun, LedgerEntry, RebateAgreement
from rebates.period_locks import booking_months
from rebates.sql import accrual as sql
from rebates.sql import accrual_flat as flat_sql
from rebates.sql import marks as marks_sql
from rebates.terms import (
    agreement_inputs,
    as_date,
    exact,
    expected_ledger,
    scope_month_totals_drop,
    scope_month_totals_kept,
    scope_month_totals_store,
)

logger = logging.getLogger(__name__)

QUANTITY_STEP = Decimal("0.001")
# Terminated agreements are closed by their forfeiture and settled ones by their last payout.
ACCRUING_STATUSES = (RebateAgreement.Status.ACTIVE, RebateAgreement.Status.EXPIRED)
# A full run's chunks are this many times ACCRUAL_CHUNK_SIZE (see `_cut_into_chunks`).
FULL_RUN_CHUNK_FACTOR = 2
# An incremental run's chunks of flat agreements are up to this many times ACCRUAL_CHUNK_SIZE.
FLAT_CHUNK_FACTOR = 4
# Any number that names runs in PostgreSQL advisory locks; one lock serialises starting runs.
RUN_START_LOCK = 7_310_001


class AccrualRunError(Exception):
    """A run cannot be started as asked (a clear message for the operator)."""


@dataclass(frozen=True)
class ChunkResult:
    agreements: int
    entries: int
    total: Decimal
    booked: bool


BOOKING_COLUMNS = ("agreement_id", "period", "kind", "quantity", "eligible_amount", "amount", "accrual_run_id",
                   "booking_key", "booked_at")


class Booking(NamedTuple):
    """A ledger entry to insert, in BOOKING_COLUMNS order."""

    agreement_id: int
    period: date
    kind: str
    quantity: Decimal
    eligible_amount: Decimal
    amount: Decimal
    accrual_run_id: int | None
    booking_key: str
    booked_at: datetime


def chunk_size() -> int:
    return settings.ACCRUAL_CHUNK_SIZE


def stale_after() -> timedelta:
    return timedelta(seconds=settings.ACCRUAL_RUN_STALE_SECONDS)


def accrual_run_start(*, as_of: date, full: bool = False, trigger: str, started_by=None, queue: bool = True):
    """Record a run and, when `queue`, hand it to the Celery workers once this transaction commits."""
    if trigger not in AccrualRun.Trigger.values:
        raise AccrualRunError(f"unknown trigger {trigger!r}; one of {', '.join(AccrualRun.Trigger.values)}")
    with transaction.atomic():
        run = AccrualRun.objects.create(trigger=trigger, started_by=started_by, as_of=as_of, full=full)
        audit_record(
            actor=started_by, actor_label=AccrualRun.Trigger(trigger).label, action="accrual_run.start",
            target=run, summary=f"Accrual run {run.pk} as of {as_of:%Y-%m-%d}{' (full)' if full else ''} queued",
            data={"as_of": as_of.isoformat(), "full": full, "trigger": trigger},
        )
        if queue:
            from rebates.tasks import accrual_run_execute

            queue_on_commit(accrual_run_execute, run.pk)
    return run


def accrual_run_prepare(*, run_id: int) -> list[int]:
    """Mark the run running, pick the agreements to recompute and cut them into chunks.

    Returns the ids of the chunks still to book: all of them the first time, the unfinished ones when the
    same message is delivered again, none when the run is over or was skipped because another is running.
    """
    with collector_paused(), transaction.atomic():
        _lock_run_starts()
        run = AccrualRun.objects.select_for_update(no_key=True).get(pk=run_id)
        if run.status == AccrualRun.Status.RUNNING:
            return list(run.chunks.filter(status=AccrualChunk.Status.PENDING).values_list("pk", flat=True))
        if run.status != AccrualRun.Status.QUEUED:
            return []
        _fail_stale_runs()
        running = AccrualRun.objects.filter(status=AccrualRun.Status.RUNNING).exclude(pk=run.pk).first()
        if running is not None:
            run.status = AccrualRun.Status.SKIPPED
            run.error = f"Run {running.pk} was running; this run was skipped and booked nothing."
            run.finished_at = clock.now()
            run.save(update_fields=["status", "error", "finished_at"])
            audit_record(actor=None, actor_label="accrual run", action="accrual_run.skip", target=run,
                         summary=run.error)
            return []
        now = clock.now()
        # The marks committed by now are this run's to recompute (and to consume once it succeeds).
        run.marks_snapshot = marks_sql.current_snapshot()
        recompute = _agreements_to_recompute(as_of=run.as_of, full=run.full, snapshot=run.marks_snapshot)
        agreement_ids = sorted(recompute)
        run.status = AccrualRun.Status.RUNNING
        run.started_at = run.heartbeat_at = now
        run.changes_seen_until = _changes_seen_until(now)
        size = chunk_size()
        # A run that recomputes some agreements in part books its flat agreements in chunks of their own (see
        # `_cut_into_chunks`); one that recomputes every agreement whole (the first run) cuts them as a full run.
        in_part = any(months is not None for months in recompute.values())
        flat = frozenset(flat_sql.flat_agreement_ids(agreement_ids)) if in_part and not run.full else None
        pieces = _cut_into_chunks(agreement_ids, size, full=run.full, flat=flat)
        chunks = AccrualChunk.objects.bulk_create(
            AccrualChunk(run=run, number=n, first_agreement_id=ids[0], last_agreement_id=ids[-1], agreement_ids=ids,
                         changed_months={str(pk): sorted(m.isoformat() for m in recompute[pk])
                                         for pk in ids if recompute[pk] is not None})
            for n, ids in enumerate(pieces, start=1)
        )
        run.chunks_total = len(pieces)
        run.save(update_fields=["status", "started_at", "heartbeat_at", "changes_seen_until", "marks_snapshot",
                                "chunks_total"])
        # Many agreements recomputed whole read their purchases here, in one statement the database runs
        # with parallel workers; a few (an incremental run's) are read by their own chunks, side by side, so
        # the chunks need not wait for them. Those recomputed in part read only their changed months, each in
        # its own chunk.
        whole = [pk for pk in agreement_ids if recompute[pk] is None]
        if whole and (run.full or len(whole) > size):
            # A full run reads every line once; an incremental one only its agreements' customers' lines.
            scope_month_totals_store(run_id=run.pk, agreement_ids=whole, by_customer=not run.full)
        if not pieces:
            _finish(run)
        return [chunk.pk for chunk in chunks]


def _cut_into_chunks(agreement_ids: list[int], size: int, *, full: bool,
                     flat: frozenset[int] | None = None) -> list[list[int]]:
    """The agreements cut into chunks, each in id order: of `size` agreements each, but a full run's (of more
    than two larger chunks) of FULL_RUN_CHUNK_FACTOR x `size`, its last ones smaller (half, then a quarter of
    that) so the workers that book them side by side finish together.

    Every chunk costs the same few things whatever its size (planning the flat rules' statement, reading the
    terms, one commit); a full run's chunks are all alike (every agreement whole, from the run's own table), so
    fewer, larger ones cost less. An incremental run keeps `size` for the agreements the engine computes, but
    its `flat` agreements come first, in chunks of their own of up to FLAT_CHUNK_FACTOR x `size`, as even as
    can be: the database books each such chunk in one statement, which costs much the same to plan and
    little more to run for a thousand agreements than for a hundred, and the engine's chunks then have no
    flat statement to make at all."""
    big = FULL_RUN_CHUNK_FACTOR * size
    if not full and flat:
        flat_ids = [pk for pk in agreement_ids if pk in flat]
        others = [pk for pk in agreement_ids if pk not in flat]
        count = -(-len(flat_ids) // (FLAT_CHUNK_FACTOR * size))
        cuts = [len(flat_ids) * n // count for n in range(count + 1)]
        return ([flat_ids[cuts[n] : cuts[n + 1]] for n in range(count)]
                + _cut_into_chunks(others, size, full=False))
    if not full or len(agreement_ids) <= 2 * big:
        return [agreement_ids[i : i + size] for i in range(0, len(agreement_ids), size)]
    body, tail = agreement_ids[: -2 * big], agreement_ids[-2 * big :]
    # What does not fill a large chunk goes first, so the chunks only shrink from there.
    first = len(body) % big
    pieces = [body[:first]] if first else []
    cuts = [(body[first:], big), (tail[:big], max(1, big // 2)), (tail[big:], max(1, big // 4))]
    return pieces + [ids[i : i + step] for ids, step in cuts for i in range(0, len(ids), step)]


def accrual_chunk_book(*, chunk_id: int) -> ChunkResult:
    """Book one chunk in one transaction: the difference between the engine and the ledger, per month.

    A chunk already booked, or of a run that is no longer running, books nothing.
    """
    with collector_paused(), transaction.atomic():
        # Lock the chunk only: the run row stays free, so chunks book side by side.
        chunk = AccrualChunk.objects.select_for_update(of=("self",)).select_related("run").get(pk=chunk_id)
        run = chunk.run
        if chunk.status == AccrualChunk.Status.DONE or run.status != AccrualRun.Status.RUNNING:
            return ChunkResult(0, 0, ZERO, booked=False)
        # Lock the agreements in primary-key order, as every writer of their ledger does.
        locked = sql.agreements_lock(chunk.agreement_ids, [status.value for status in ACCRUING_STATUSES])
        changed = {int(pk): frozenset(map(date.fromisoformat, months)) for pk, months in chunk.changed_months.items()}
        # Agreements recomputed whole read the run's own table when the run made one, their lines otherwise.
        stored = any(pk not in changed for pk in locked) and scope_month_totals_kept(run_id=run.pk)
        # Flat rules are booked by the database in one statement; the engine computes the others.
        flat_ids, flat_entries, flat_total = _flat_book(flat_sql.flat_agreement_ids(locked), changed, run,
                                                        stored=stored)
        others = [pk for pk in locked if pk not in flat_ids]
        agreements = agreement_inputs(others) if others else []
        entries = ledger_differences(agreements, as_of=run.as_of, run=run, changed_months=changed,
                                     stored_input=stored)
        book(entries)
        count = flat_entries + len(entries)
        total = sum((entry.amount for entry in entries), flat_total)
        now = clock.now()
        chunk.status = AccrualChunk.Status.DONE
        chunk.entries_count = count
        chunk.total_amount = total
        chunk.finished_at = now
        chunk.save(update_fields=["status", "entries_count", "total_amount", "finished_at"])
        AccrualRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") + 1,
            agreements_count=F("agreements_count") + len(flat_ids) + len(agreements),
            entries_count=F("entries_count") + count,
            total_amount=F("total_amount") + total,
            heartbeat_at=now,
        )
        # Every lock on a run is NO KEY UPDATE: the chunks booking beside this one hold KEY SHARE on the run (their
        # entries name it, rebates/0035) until they commit, which a FOR UPDATE would wait for while they wait here.
        run = AccrualRun.objects.select_for_update(no_key=True).get(pk=run.pk)
        if run.chunks_done == run.chunks_total:
            _finish(run)
        return ChunkResult(len(flat_ids) + len(agreements), count, total, booked=True)


def _flat_book(agreement_ids: list[int], changed: dict[int, frozenset[date]], run: AccrualRun, *, stored: bool):
    """Book the agreements among these whose rule is flat (rebates/sql/accrual_flat.py) in one statement,
    those recomputed whole from the run's own table when `stored`, from their lines otherwise; (their ids as
    a set, entries booked, total amount). The caller passes those it read as flat (`flat_agreement_ids`), so
    a chunk with none makes no statement; the statement tells flat rules again, and any agreement it leaves
    out goes to the engine."""
    if not agreement_ids:
        return frozenset(), 0, ZERO
    whole = any(pk not in changed for pk in agreement_ids)
    flat_ids, entries, total = flat_sql.flat_bookings(
        agreement_ids=agreement_ids, changed_months={pk: changed[pk] for pk in agreement_ids if pk in changed},
        as_of_month=month_of(run.as_of), run_id=run.pk, now=clock.now(),
        whole="stored" if whole and stored else "lines" if whole else None)
    return frozenset(flat_ids), entries, total


def agreement_accrue(*, agreement: RebateAgreement, as_of: date) -> list[Booking]:
    """Bring one agreement's ledger up to date outside a run (before it is terminated or settled).

    The caller holds the agreement's row lock inside its own transaction.
    """
    entries = ledger_differences(agreement_inputs([agreement.pk]), as_of=as_of, run=None)
    book(entries)
    return entries


def book(bookings: list[Booking]) -> None:
    """Insert the bookings set-based (COPY); their keys make a second insert fail whole."""
    # Every field is a number, a date, a kind or a booking key: none needs CSV quoting. Dates and
    # timestamps repeat across entries (a few months, one booking time): each is formatted once.
    texts: dict = {}

    def text(value):
        formatted = texts.get(value)
        if formatted is None:
            formatted = texts[value] = value.isoformat()
        return formatted

    if not bookings:
        return
    # A booking's period is the month it is for; a locked month books it in the first open one after it.
    booked_in = booking_months()
    # Each entry carries where its journal posts: the agreement's program and currency (a code: no quoting).
    posts_to = {pk: f"{program_id},{currency}" for pk, program_id, currency in RebateAgreement.objects.filter(
        pk__in={b.agreement_id for b in bookings}).values_list("pk", "program_id", "customer__currency")}
    # The figures through str(): a Decimal formatted inside an f-string goes through its format-spec path, about
    # three times slower, and a full run formats some 300,000 of them. The same text either way.
    copy_lines(LedgerEntry, (*BOOKING_COLUMNS, "concerns", "program", "currency"), (
        f"{b.agreement_id},{text(booked_in(b.period))},{b.kind},{str(b.quantity)},{str(b.eligible_amount)},"
        f"{str(b.amount)},{'' if b.accrual_run_id is None else b.accrual_run_id},{b.booking_key},"
        f"{text(b.booked_at)},{text(b.period)},{posts_to.get(b.agreement_id, ',')}\n"
        for b in bookings
    ))


def ledger_differences(agreements, *, as_of: date, run: AccrualRun | None, changed_months=None,
                       stored_input: bool = True) -> list[Booking]:
    """New entries that bring each month's booked figures to what the engine expects by `as_of`.

    A month booked for the first time gets an accrual entry (and a catch-up entry when a tier or the
    minimum was reached that month); a month that already has entries gets one adjustment with the
    difference. Months after `as_of` are left alone; months that no longer accrue are brought to zero.
    `changed_months` maps an agreement recomputed in part to the months whose purchases changed: only
    the months that can differ are computed and compared (see `expected_ledger`); an agreement not in it
    is recomputed over its whole term, from the run's own table when `stored_input` (the run made one).
    """
    changed_months = changed_months or {}
    # Recomputed in part, an agreement's ledger is read for the months the engine reads only (the periods
    # holding a changed month); one whose changed months no accruing period holds has nothing to compare.
    windows = {a.pk: months_read_in_part(a.terms, months_in_part(a.terms, changed_months[a.pk], as_of=as_of)[0],
                                         as_of=as_of)
               for a in agreements if a.pk in changed_months}
    booked = _booked_by_month([a.pk for a in agreements if windows.get(a.pk, True) is not None],
                              {pk: window for pk, window in windows.items() if window is not None})
    expected = expected_ledger(agreements, as_of=as_of, run_id=run.pk if run is not None and stored_input else None,
                               changed_months=changed_months, booked=booked)
    last_month = month_of(as_of)
    now = clock.now()
    run_id = run.pk if run is not None else None
    stamp = f"r{run_id}" if run is not None else f"t{now:%Y%m%d%H%M%S%f}"
    accrual, catch_up, adjustment = (LedgerEntry.Kind.ACCRUAL.value, LedgerEntry.Kind.CATCH_UP.value,
                                     LedgerEntry.Kind.ADJUSTMENT.value)
    bookings = []
    # A booking key names its month as YYYY-MM: formatted once per month, not once per entry.
    month_keys: dict[date, str] = {}

    def month_key(month):
        text = month_keys.get(month)
        if text is None:
            text = month_keys[month] = f"{month:%Y-%m}"
        return text

    def first_booking(pk, month, result):
        if result.amount or result.quantity or result.eligible_amount:
            key = f"a{pk}:{month_key(month)}:{stamp}"
            bookings.append(Booking(pk, month, accrual, result.quantity, result.eligible_amount,
                                    result.amount - result.catch_up, run_id, f"{accrual}:{key}", now))
            if result.catch_up:
                bookings.append(Booking(pk, month, catch_up, ZERO, ZERO, result.catch_up, run_id,
                                        f"{catch_up}:{key}", now))

    for agreement in agreements:
        pk = agreement.pk
        results = {result.month: result for result in expected[pk]}
        held = booked.get(pk, {})
        # Recomputed in part: the months the engine gave are the only ones that can differ.
        held_months = {m for m in held if m <= last_month} if pk not in changed_months else set()
        for month in sorted(set(results) | held_months):
            result = results.get(month)
            if month not in held:
                first_booking(pk, month, result)
                continue
            want = (result.quantity, result.eligible_amount, result.amount) if result else (ZERO, ZERO, ZERO)
            have = held[month]
            if want != have:
                bookings.append(Booking(pk, month, adjustment, want[0] - have[0], want[1] - have[1],
                                        want[2] - have[2], run_id, f"{adjustment}:a{pk}:{month_key(month)}:{stamp}",
                                        now))
    return bookings


def _booked_by_month(agreement_ids, months=None) -> dict[int, dict[date, tuple[Decimal, Decimal, Decimal]]]:
    """Per agreement and month, the (quantity, eligible amount, amount) its earned entries hold; for an
    agreement in `months`, of the months from its first to its last there only."""
    booked: dict[int, dict] = {}
    if not agreement_ids:
        return booked
    for agreement_id, period, quantity, eligible, amount in sql.booked_rows(
            agreement_ids, [kind.value for kind in EARNED_KINDS], months):
        booked.setdefault(agreement_id, {})[as_date(period)] = (
            exact(quantity, QUANTITY_STEP), exact(eligible, CENT), exact(amount, CENT))
    return booked


def accrual_due(*, as_of: date) -> bool:
    """Whether a run as of `as_of` would recompute anything: changes marked since the last successful run,
    months began (or stopped) accruing between its as-of date and this one, or no run has succeeded yet
    while agreements accrue."""
    return bool(agreements_pending(as_of=as_of))


def agreements_pending(*, as_of: date) -> set[int]:
    """The ids of the agreements an incremental run as of `as_of` would recompute now."""
    return set(_agreements_to_recompute(as_of=as_of, full=False, snapshot=None))


def _agreements_to_recompute(*, as_of: date, full: bool, snapshot: str | None) -> dict[int, frozenset[date] | None]:
    """The agreements to recompute, each with the months whose purchases changed (None: its whole term).

    Every accruing agreement, whole, for a full run or the first run. Otherwise, from the marks `snapshot`
    sees (all of them when None; the triggers write them, whoever changes what): whole, the agreements
    marked themselves and those with months accruing (or no longer accruing) between the two as-of dates;
    in part, those a marked purchase cell counts for.
    """
    as_of_month = month_of(as_of)
    accruing = RebateAgreement.objects.filter(status__in=ACCRUING_STATUSES, start_month__lte=as_of_month)
    last = (
        AccrualRun.objects.filter(status=AccrualRun.Status.SUCCEEDED, changes_seen_until__isnull=False)
        .order_by("-changes_seen_until")
        .first()
    )
    if full or last is None:
        return dict.fromkeys(accruing.order_by("pk").values_list("pk", flat=True))
    statuses = [status.value for status in ACCRUING_STATUSES]
    recompute = _months_changed_by_marks(snapshot=snapshot, as_of_month=as_of_month)
    recompute.update(dict.fromkeys(marks_sql.marked_agreement_ids(snapshot=snapshot, statuses=statuses,
                                                                  started_by=as_of_month)))
    last_month = month_of(last.as_of)
    if as_of_month != last_month:
        # Months between the two as-of dates accrue now (or no longer do) with no new purchase.
        low, high = sorted((last_month, as_of_month))
        recompute.update(dict.fromkeys(
            accruing.filter(end_month__gte=low, start_month__lte=high).values_list("pk", flat=True)))
    return recompute


def _months_changed_by_marks(*, snapshot: str | None, as_of_month: date) -> dict[int, frozenset[date]]:
    """Per accruing agreement that a marked purchase cell counts for (the scope rule, a launch-bonus
    product, or for a rule measured against last year a month of the year before the term), the months
    those cells fall in. A rule measured against last year is recomputed in part too: a changed month moves
    its own period and the period of the same month a year later (see `expected_ledger`)."""
    months: dict[int, set[date]] = defaultdict(set)
    for pk, start, baseline, month in marks_sql.marked_cell_rows(
            snapshot=snapshot, statuses=[status.value for status in ACCRUING_STATUSES], started_by=as_of_month):
        month = as_date(month)
        # Only last year's same months count before the term.
        if month >= as_date(start) or (baseline == "last_year" and month >= add_months(as_date(start), -12)):
            months[pk].add(month)
    return {pk: frozenset(m) for pk, m in months.items()}


def _changes_seen_until(now):
    """The instant up to which this run is sure to see every purchase change.

    A writer stamps `updated_at` before it commits, so a transaction still open now may commit lines stamped
    earlier than now that this run cannot see; the next run must look back to the oldest such transaction.
    The database tells how long that transaction has been open (an age, measured on its own clock), so the
    moment is `now` less that age on the app's clock, the one that stamps the lines.
    """
    oldest_age = sql.oldest_transaction_age()
    return now - max(oldest_age, timedelta(0)) if oldest_age is not None else now


def _finish(run: AccrualRun) -> None:
    run.status = AccrualRun.Status.SUCCEEDED
    run.finished_at = clock.now()
    # Every chunk's entries are committed or in this transaction (it holds the run's row after the last chunk):
    # what the run booked per currency is final, and is kept so the pages never sum its entries again.
    booked = LedgerEntry.objects.filter(accrual_run_id=run.pk).booked_by_run_and_currency().get(run.pk, {})
    run.booked_totals = {code: str(amount) for code, amount in sorted(booked.items())}
    run.save(update_fields=["status", "finished_at", "booked_totals"])
    scope_month_totals_drop(run_id=run.pk)
    # Every change this run saw is booked: its marks go, in the transaction that says it succeeded.
    if run.marks_snapshot:
        marks_sql.marks_consume(snapshot=run.marks_snapshot)
    audit_record(
        actor=None, actor_label="accrual run", action="accrual_run.finish", target=run,
        summary=(f"Accrual run {run.pk} as of {run.as_of:%Y-%m-%d} booked {run.entries_count} entries "
                 f"totalling {run.total_amount} over {run.agreements_count} agreements"),
        data={"entries": run.entries_count, "total": str(run.total_amount), "chunks": run.chunks_total},
    )
    seconds = run.duration.total_seconds() if run.duration else None
    logger.info("accrual run finished", extra={
        "run_id": run.pk, "outcome": "ok", "agreements": run.agreements_count, "entries": run.entries_count,
        "total": str(run.total_amount), "duration_ms": seconds and round(seconds * 1000)})
    from rebates.tasks import agreement_forecasts_record, settlements_close_due

    # A period closes once it has ended in fact: a run as of a later date must not close the periods
    # still going on today, or their last purchases would miss their settlement.
    queue_on_commit(settlements_close_due, min(run.as_of, clock.today()).isoformat())
    queue_on_commit(agreement_forecasts_record, run.pk)
    # Value and risk follow the ledger (an edge app's task, named so that rebates does not import it).
    queue_on_commit(celery_app.signature("outlook.tasks.outlook_refresh"), min(run.as_of, clock.today()).isoformat())


def _stale_runs(*, cutoff) -> list[tuple[AccrualRun, list[int]]]:
    """Running runs that lost their worker, locked for update, each with its pending chunks' ids.

    A worker booking a chunk holds the chunk's row lock until it commits, and a killed worker's connection
    drops and releases it: so a run whose pending chunks are all unlocked, with no chunk finished since
    `cutoff`, has no live worker on it (its messages were lost with the worker, or wait in a queue).
    """
    stale = []
    for run in AccrualRun.objects.select_for_update(no_key=True).filter(status=AccrualRun.Status.RUNNING,
                                                             heartbeat_at__lt=cutoff):
        pending = run.chunks.filter(status=AccrualChunk.Status.PENDING)
        # Counted before the unlocked ones are read: a chunk that finishes in between still counts as live.
        waiting = pending.count()
        free = list(pending.order_by("number").select_for_update(skip_locked=True).values_list("pk", flat=True))
        if len(free) == waiting:
            stale.append((run, free))
    return stale


def _fail_stale_runs() -> None:
    """A running run with no live worker (see `_stale_runs`) is marked failed, so a new run never waits on it.

    What it booked stays (each chunk is whole); the new run recomputes from the last successful one.
    """
    for run, _ in _stale_runs(cutoff=clock.now() - stale_after()):
        run.status = AccrualRun.Status.FAILED
        run.error = f"No progress since {run.heartbeat_at:%Y-%m-%d %H:%M:%S}; its worker stopped midway."
        run.finished_at = clock.now()
        run.save(update_fields=["status", "error", "finished_at"])
        scope_month_totals_drop(run_id=run.pk)
        audit_record(actor=None, actor_label="accrual run", action="accrual_run.fail", target=run, summary=run.error)


def accrual_runs_resume_stale() -> int:
    """Queue again the pending chunks of every running run that lost its worker (see `_stale_runs`), once
    this transaction commits; returns how many were queued. The run's heartbeat is moved on, so the chunks
    are queued again only if they stay untouched for another ACCRUAL_RUN_STALE_SECONDS."""
    from rebates.tasks import accrual_chunk_book as chunk_task

    queued = 0
    with transaction.atomic():
        for run, chunk_ids in _stale_runs(cutoff=clock.now() - stale_after()):
            run.heartbeat_at = clock.now()
            run.save(update_fields=["heartbeat_at"])
            audit_record(actor=None, actor_label="accrual run", action="accrual_run.resume", target=run,
                         summary=f"Accrual run {run.pk} lost its worker; {len(chunk_ids)} chunks queued again")
            for chunk_id in chunk_ids:
                queue_on_commit(chunk_task, chunk_id, run.pk)
            queued += len(chunk_ids)
    return queued


def accrual_run_fail(*, run_id: int, error: str) -> None:
    """Mark a run failed after an error in one of its chunks; its booked chunks stay whole."""
    with transaction.atomic():
        run = AccrualRun.objects.select_for_update(no_key=True).get(pk=run_id)
        if run.status not in (AccrualRun.Status.RUNNING, AccrualRun.Status.QUEUED):
            return
        run.status = AccrualRun.Status.FAILED
        run.error = error[:2000]
        run.finished_at = clock.now()
        run.save(update_fields=["status", "error", "finished_at"])
        scope_month_totals_drop(run_id=run.pk)
        audit_record(actor=None, actor_label="accrual run", action="accrual_run.fail", target=run,
                     summary=f"Accrual run {run.pk} failed: {error}"[:300])


def _lock_run_starts() -> None:
    # One transaction at a time decides which run runs.
    sql.transaction_lock(RUN_START_LOCK)
