"""Detection over the stored claims, and its results written back: statuses, signals and their figures.

Two entry points, both safe to run twice and at once:

- `signals_detect(as_of=...)` brings every claim to what detecting all of them finds (the nightly sweep and
  `manage.py detect_signals`), so claims whose check never ran (saved while the broker was down) are
  caught, and claims whose window has passed turn from pending to unsubstantiated. It detects again only
  the products whose claims or rule changed since their last whole detection (SweptProduct); the others'
  claims are only moved by the date, and their signals repriced. Products it is given are detected whole.
- `price_claim_check(claim_id=..., as_of=...)` checks one new claim. Only claims within two windows of
  it can matter: statuses can change only within one window of it, and those depend only on claims within
  two. Adding a claim never breaks a witnessing set, so the signals of the claims it joins are merged with
  what it witnesses; everything else stays as stored. It moves its product's SweptProduct record by what it
  writes, so a record in step stays in step.

A signal keeps its identity when recomputed: a group of corroborated claims keeps a signal its claims
already had: one with a decision (match or hold) first, the earliest decided; then one someone acknowledged
or closed; then the oldest. An open signal that merges into another is deleted; one someone acted on stays
on record, `merged_into` the signal that carries its claims on, its decision kept.

Statuses, signals and their figures (the median among them) are decided by the pure detection
(detection.detect_columns and signal_figures); this module reads the claims, keeps signal identity and
writes what changed. Claims are read as plain columns and written back set-based (stored_claims.py, its
SQL in sql.py): only claims whose status or signal changed. A million claims read, detected and compared
take seconds; see docs/market-signals.md. Neither entry point changes the schema: the first detection of a
bulk import may rebuild the claim table's indexes, but only as an operator's step
(`signals_detect_rebuilding_indexes`, i.e. `manage.py detect_signals --rebuild-indexes`).

Concurrency: on PostgreSQL the sweep holds an exclusive advisory lock for its transaction; a claim check
and a decision hold it shared, plus an exclusive lock on their product, so two checks of one product, or
a check and the sweep, never interleave.
"""

import logging
import multiprocessing
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from config import clock
from pricing_signals import sql
from pricing_signals.detection import (
    CORROBORATED,
    PENDING,
    UNSUBSTANTIATED,
    Found,
    Rule,
    detect_columns,
    signal_figures,
)
from pricing_signals.models import DetectionRule, MarketSignal, PriceClaim, SweptProduct
from pricing_signals.prices import drop_percent, our_average_prices
from pricing_signals.stored_claims import (
    EPOCH,
    SIGNAL_FIGURES,
    UPDATED_FIELDS,
    ClaimChanges,
    StoredClaims,
    claims_update,
    signals_create,
)
from rebates.bulk import indexes_rebuilt_after
from rebates.collector import collector_paused
from rebates.models import Product

logger = logging.getLogger(__name__)

MOST_OF_TABLE = 0.5  # claims changed at once, as a share of the table, from which the operator's step rebuilds
REBUILD_LOCK_WAIT_MS = 2000  # pages reading claims meanwhile: past this wait the indexes are kept instead
KNOWN_FIELDS = ("pk", "status", "decision", "decided_at", "claim_count", "our_average_price")
FIGURE_AT = {name: at for at, name in enumerate(KNOWN_FIELDS)}


@dataclass(frozen=True)
class DetectionResult:
    """What one detection wrote: claims looked at and changed, signals created, updated and removed, and
    how many of the claims looked at are corroborated, pending and unsubstantiated."""

    claims: int
    claims_changed: int
    signals_created: int
    signals_updated: int
    signals_removed: int
    corroborated: int
    pending: int
    unsubstantiated: int

    def __str__(self):
        return (f"{self.claims:,} claims checked, {self.claims_changed:,} changed; {self.corroborated:,} corroborated, "
                f"{self.pending:,} pending, {self.unsubstantiated:,} unsubstantiated; signals: "
                f"{self.signals_created:,} new, {self.signals_updated:,} updated, {self.signals_removed:,} removed")


def rule_of(model: DetectionRule | None) -> Rule:
    if model is None:
        return Rule()
    return Rule(window_days=model.window_days, min_customers=model.min_customers,
                tolerance_percent=model.tolerance_percent, same_competitor=model.same_competitor)


def rules_by_product(product_ids: Iterable[int] | None = None) -> dict[int, Rule]:
    """The detection rule of each product: its product line's override, else the global default."""
    by_line = {rule.product_line_id: rule_of(rule) for rule in DetectionRule.objects.all()}
    default = by_line.get(None, Rule())
    products = Product.objects.all() if product_ids is None else Product.objects.filter(pk__in=list(product_ids))
    return {pk: by_line.get(line, default) for pk, line in products.values_list("pk", "product_line_id")}


def rule_for_line(line_id: int | None) -> Rule:
    """The detection rule of a product line: its override, else the global default (one query)."""
    found = {rule.product_line_id: rule for rule in DetectionRule.objects.filter(
        Q(product_line_id=line_id) | Q(product_line__isnull=True))}
    return rule_of(found.get(line_id) or found.get(None))


def detection_lock(product_id: int | None = None, *, shared_only: bool = False) -> None:
    """Inside a transaction: exclusive on all detection (no product), or shared plus this product's own
    (`shared_only`: the shared one alone; taking it again later is harmless)."""
    if shared_only:
        sql.detection_lock_shared()
    elif product_id is None:
        sql.detection_lock_all()
    else:
        sql.detection_lock_product(product_id)


def signals_detect(*, as_of: date, products: Iterable[int] | None = None, workers: int = 1) -> DetectionResult:
    """Recompute every claim's status and every signal as of `as_of` (of some products only, when
    given), and store what changed. `workers` > 1 detects products side by side in that many forked
    processes (the command and the benchmark; not inside a Celery worker, whose children cannot fork)."""
    return _sweep(as_of, products, workers, rebuild_indexes=False)


def signals_detect_rebuilding_indexes(*, as_of: date, products: Iterable[int] | None = None,
                                      workers: int = 1) -> DetectionResult:
    """An operator's step, for the first detection of a bulk import of claims (only `manage.py
    detect_signals --rebuild-indexes` calls it): `signals_detect`, except that when it changes at least
    half of the claims, the claim table's index on the signal and its signal key are dropped for the write
    and rebuilt after it (rebates.bulk.indexes_rebuilt_after). With no index over the columns written, a
    claim's new version is written beside it on its page (claim pages are filled to 45 % for this), and the
    other indexes need no new entry. The claims table is locked against readers and writers meanwhile
    (waiting at most REBUILD_LOCK_WAIT_MS for it, else the index is kept): never from a request or a task."""
    return _sweep(as_of, products, workers, rebuild_indexes=True)


def _sweep(as_of, products, workers, *, rebuild_indexes) -> DetectionResult:
    # Its own transaction: what it reads beside the claims (agreements, prices) is committed, so our average
    # prices can be read on a connection of their own while this one reads the claims
    # (_averages_on_own_connection). Inside a caller's transaction they are read here, seeing what it wrote.
    beside = ThreadPoolExecutor(max_workers=1) if not connection.in_atomic_block else None
    try:
        with collector_paused(), transaction.atomic():
            return _sweep_in(as_of, products, workers, rebuild_indexes=rebuild_indexes, beside=beside)
    finally:
        if beside is not None:
            beside.shutdown(wait=True)


def _sweep_in(as_of, products, workers, *, rebuild_indexes, beside) -> DetectionResult:
    detection_lock()
    sql.jit_off()  # compiling plans for a million rows costs more than it saves
    rules = rules_by_product()
    if products is not None:
        products = sorted({int(pk) for pk in products})
    # Every product swept (those named, else every product), before the claims tell which have any.
    swept = list(rules) if products is None else products
    averaged = None if beside is None else beside.submit(_averages_on_own_connection, swept, as_of)
    # A whole sweep detects again only the products whose claims or rule changed since their last detection.
    unchanged = _unchanged_products(rules, as_of) if products is None else {}
    detecting = [pk for pk in swept if pk not in unchanged] if unchanged else products
    claims = StoredClaims.whole(detecting)
    outcome = _DetectionOutcome(claims, as_of, rebuild_indexes=rebuild_indexes)
    split = {pk for pk, rule in rules.items() if rule.same_competitor}
    # A group none of whose claims holds a signal yet (all of them, in the first detection of an import)
    # makes only new signals: their figures are worked out beside the detection, in the workers.
    groups = [(start, end, rules[claims.products[start]], not claims.holds_signal(start, end))
              for start, end in claims.groups(split)]

    def meanwhile():  # read while the workers detect: our side of every product swept, the stored signals
        if averaged is None:
            outcome.averages = our_average_prices(set(claims.products) | unchanged.keys(), as_of=as_of)
        held = MarketSignal.objects.all()
        if detecting is not None:
            held = held.filter(product_id__in=detecting)
        # The detection lock keeps them as read: a decision waits for the sweep.
        outcome.stored_signals = {row[0]: row for row in held.values_list(*KNOWN_FIELDS)}

    detected = _detect_groups(claims, groups, outcome.as_of_day, workers, meanwhile=meanwhile)
    if averaged is not None:
        outcome.averages = averaged.result()
    for (start, end, _, _), group in zip(groups, detected, strict=True):
        outcome.take(range(start, end), group)
    # Every claim swept is checked: the sweeper need not queue its own check again. Marked before the
    # results are written, while the claims' indexes are all in place (a rebuild leaves them unusable to
    # the rest of its transaction).
    unchecked = PriceClaim.objects.filter(check_pending=True)
    if products is not None:
        unchecked = unchecked.filter(product_id__in=products)
    unchecked.update(check_pending=False)
    # Every signal must hold claims after a full sweep (or go, or stay on record once acted on).
    outcome.orphans = set(outcome.stored_signals)
    result = outcome.write()
    if unchanged:
        result = _unchanged_write(unchanged, outcome.averages, result)
    _swept_record(swept if detecting is None else detecting, rules, as_of)
    _logged(result, as_of)
    return result


class _Unchanged(NamedTuple):
    """A product whose claims and rule are as its last whole detection left them (sql.claims_state): how
    many claims it has, corroborated and pending as of the sweep's date, and the claims that date moves."""

    claims: int
    corroborated: int
    pending: int
    to_pending: list[int]
    to_unsubstantiated: list[int]


def _unchanged_products(rules: dict[int, Rule], as_of: date) -> dict[int, _Unchanged]:
    """The products whose rule, claims (each claim's id, customer, competitor, date, price, signal and
    whether corroborated) and checks are as recorded after their last whole detection (SweptProduct):
    detecting them again would find the same corroborated claims in the same signals, so only the date can
    move their other claims between pending and unsubstantiated. One pass over the claims."""
    recorded = {pk: rest for pk, *rest in SweptProduct.objects.values_list(
        "product_id", "window_days", "min_customers", "tolerance_percent", "same_competitor", "claim_count",
        "fingerprint")}
    candidates = [pk for pk in rules if pk in recorded]
    cutoffs = [as_of - timedelta(days=rules[pk].window_days) for pk in candidates]
    unchanged = {}
    for product, count, fingerprint, checks, corroborated, pending, to_unsubstantiated, to_pending in (
            sql.claims_state(candidates, cutoffs)):
        rule = rules[product]
        if not checks and recorded[product] == [rule.window_days, rule.min_customers, rule.tolerance_percent,
                                                rule.same_competitor, count, fingerprint]:
            unchanged[product] = _Unchanged(count, corroborated, pending, to_pending, to_unsubstantiated)
    return unchanged


def _unchanged_write(unchanged: dict[int, _Unchanged], averages: dict, result: DetectionResult) -> DetectionResult:
    """Bring the unchanged products where detecting them again would: their claims the date moves between
    pending and unsubstantiated, our average price (and the drop) on the signals their claims hold, their
    open signals that hold no claim retired. Returns `result` with their claims and writes added."""
    moves = sorted([(pk, PENDING) for product in unchanged.values() for pk in product.to_pending]
                   + [(pk, UNSUBSTANTIATED) for product in unchanged.values() for pk in product.to_unsubstantiated])
    if moves:
        sql.claims_set([pk for pk, _ in moves], [status for _, status in moves], [None] * len(moves))
    products = sorted(unchanged)
    now = clock.now()
    repriced = []
    for pk, product, median in sql.signals_priced_otherwise(products, [averages.get(pk) for pk in products]):
        ours = averages.get(product)
        repriced.append(MarketSignal(pk=pk, our_average_price=ours, drop_percent=drop_percent(ours, median),
                                     updated_at=now))
    MarketSignal.objects.bulk_update(repriced, ["our_average_price", "drop_percent", "updated_at"], batch_size=500)
    empty = MarketSignal.objects.filter(product_id__in=products, status=MarketSignal.Status.OPEN).filter(
        ~Exists(PriceClaim.objects.filter(signal=OuterRef("pk")))).values_list("pk", flat=True)
    removed = _retire(dict.fromkeys(empty))
    corroborated = sum(product.corroborated for product in unchanged.values())
    pending = sum(product.pending for product in unchanged.values())
    claims = sum(product.claims for product in unchanged.values())
    return replace(
        result, claims=result.claims + claims, claims_changed=result.claims_changed + len(moves),
        signals_updated=result.signals_updated + len(repriced), signals_removed=result.signals_removed + removed,
        corroborated=result.corroborated + corroborated, pending=result.pending + pending,
        unsubstantiated=result.unsubstantiated + claims - corroborated - pending)


def _swept_record(products: list[int], rules: dict[int, Rule], as_of: date) -> None:
    """Record what the whole detection of `products` left stored (SweptProduct), once its results are written."""
    found = sql.claims_fingerprints(products)
    SweptProduct.objects.filter(product_id__in=products).exclude(product_id__in=[row[0] for row in found]).delete()
    fields = ["swept_on", "window_days", "min_customers", "tolerance_percent", "same_competitor", "claim_count",
              "fingerprint"]
    SweptProduct.objects.bulk_create([
        SweptProduct(product_id=pk, swept_on=as_of, window_days=rules[pk].window_days,
                     min_customers=rules[pk].min_customers, tolerance_percent=rules[pk].tolerance_percent,
                     same_competitor=rules[pk].same_competitor, claim_count=count, fingerprint=fingerprint)
        for pk, count, fingerprint in found], batch_size=1000, update_conflicts=True, unique_fields=["product"],
        update_fields=fields)


def _logged(result: DetectionResult, as_of: date) -> None:
    if result.claims_changed or result.signals_created or result.signals_updated or result.signals_removed:
        logger.info("market signal detection as of %s: %s", as_of, result)


def _averages_on_own_connection(product_ids, as_of):
    """our_average_prices, on this thread's own connection (closed after): run beside the sweep's reading of
    the claims, which leaves a core idle, rather than beside the detecting workers, which take both."""
    try:
        return our_average_prices(product_ids, as_of=as_of)
    finally:
        connection.close()


def price_claim_check(*, claim_id: int, as_of: date) -> str | None:
    """Check one claim against the claims of its product within two windows of it; store what changed.
    Returns the claim's status (None when the claim no longer exists)."""
    with transaction.atomic():
        # Wait for a running sweep before touching the claims table: a sweep that rewrites most claims
        # locks the table whole, and a check holding it while waiting for the sweep would deadlock.
        detection_lock(shared_only=True)
        claim = PriceClaim.objects.filter(pk=claim_id).values(
            "product_id", "competitor_id", "reported_on", "product__product_line_id").first()
        if claim is None:
            return None
        detection_lock(claim["product_id"])
        # Checked, whatever it finds (this transaction stores it): the sweeper need not queue it again.
        PriceClaim.objects.filter(pk=claim_id, check_pending=True).update(check_pending=False)
        rule = rule_for_line(claim["product__product_line_id"])
        day = (claim["reported_on"] - EPOCH).days
        reach = rule.window_days
        claims = StoredClaims.near(claim["product_id"], claim["reported_on"] - timedelta(days=2 * reach),
                                   claim["reported_on"] + timedelta(days=2 * reach),
                                   claim["competitor_id"] if rule.same_competitor else None)
        if not claims.has(claim_id):  # dismissed (or deleted) meanwhile: it takes no part
            return PriceClaim.objects.filter(pk=claim_id).values_list("status", flat=True).first()
        outcome = _DetectionOutcome(claims, as_of, refresh_prices=False)
        outcome.record_kept = claim["product_id"], claim_id
        # Exact within one window of the claim; further out, only what the nearby claims prove is new.
        outcome.detect(range(len(claims)), rule, exact=lambda at: abs(claims.days[at] - day) <= reach)
        outcome.merge_stored()
        _logged(outcome.write(), as_of)
        return outcome.status[claims.position(claim_id)]


class _DetectionOutcome:
    """What a detection found, turned into the writes that bring the database there."""

    def __init__(self, claims: StoredClaims, as_of: date, refresh_prices: bool = True, rebuild_indexes: bool = False):
        self.claims = claims
        self.rebuild_indexes = rebuild_indexes  # the operator's step after a bulk import only
        # A claim check keeps a signal's stored average price (the nightly sweep refreshes them all).
        self.refresh_prices = refresh_prices
        self.as_of = as_of
        self.as_of_day = (as_of - EPOCH).days
        self.status = list(claims.statuses)
        self.signal = list(claims.signals)  # a stored signal id, a _NewSignal, or None
        self.components = []  # lists of positions, each becoming one signal
        # Per component, the stored signals its claims hold and its oldest claim id, when worked out with the
        # detection (a sweep's groups); None: worked out when assigning (a claim check).
        self.held, self.oldest = [], []
        self.orphans = set()  # stored signals that must hold claims after a full sweep, or go
        self.copies = set()  # positions of claims read a second time (the first copy counts)
        self.averages = None  # our average price per product, when read already (a sweep reads it early)
        self.stored_signals = None  # {pk: KNOWN_FIELDS row} of the signals swept, when read already (a sweep)
        self.found_figures = {}  # a component's first position: its Figures, when worked out with the detection
        # A claim check: (product, claim checked), whose product's SweptProduct record moves with what it writes.
        self.record_kept = None

    def detect(self, positions: range, rule: Rule, exact=None, found: Found | None = None,
               figures: list | None = None) -> None:
        """Take the pure detection's statuses and signals for the claims at `positions` (one product, or
        product and competitor), detecting them here unless `found` already holds them. With `exact`, only
        positions it accepts take a status other than corroborated, and corroboration stored earlier is
        kept (a claim check: adding a claim never breaks a witnessing set). `figures`, when given, are those
        of `found`'s signals, in the same order."""
        claims = self.claims
        start, end = positions.start, positions.stop
        self.held = self.oldest = None
        if found is None:
            found = _detect_range(claims, start, end, rule, self.as_of_day)
        status, signal, stored = self.status, self.signal, claims.statuses
        if exact is None:
            status[start:end] = found.statuses
            signal[start:end] = [held if now == CORROBORATED else None
                                 for now, held in zip(found.statuses, signal[start:end], strict=True)]
        else:
            for at, now in enumerate(found.statuses, start):
                if now == CORROBORATED:
                    status[at] = now
                elif stored[at] != CORROBORATED and exact(at):
                    status[at], signal[at] = now, None
        self.components.extend([start + k for k in group] for group in found.signals)
        if figures is not None:
            self.found_figures.update((start + group[0], its)
                                      for group, its in zip(found.signals, figures, strict=True))

    def take(self, positions: range, group: "_GroupDetected") -> None:
        """A sweep: take the detection of the claims at `positions` (one product, or product and competitor)
        as _detect_group worked it out."""
        start, end = positions.start, positions.stop
        self.status[start:end] = group.statuses
        self.signal[start:end] = group.signals
        self.components.extend(group.components)
        self.held.extend(group.held)
        self.oldest.extend(group.oldest)
        if group.figures is not None:
            self.found_figures.update((members[0], its) for members, its in
                                      zip(group.components, group.figures, strict=True))

    def merge_stored(self) -> None:
        """A claim check: each component found joins the stored signals of its claims, with every claim
        those hold (read in when outside the nearby claims)."""
        claims = self.claims
        parent = {}

        def find(node):
            while parent.setdefault(node, node) != node:
                node = parent[node]
            return node

        for index, group in enumerate(self.components):
            for at in group:
                if claims.signals[at] is not None:
                    parent[find(("stored", claims.signals[at]))] = find(("found", index))
        stored_ids = sorted(node[1] for node in parent if node[0] == "stored")
        if not stored_ids:
            return
        known = set(claims.ids)
        before = len(claims)
        claims.add(sql.claims_of_signals(stored_ids))
        # Claims read twice (nearby and held by a signal) count once: the second copy is left out.
        extra = [at for at in range(before, len(claims)) if claims.ids[at] not in known]
        self.copies = set(range(before, len(claims))) - set(extra)
        self.status.extend(claims.statuses[before:])
        self.signal.extend(claims.signals[before:])
        merged = defaultdict(list)
        for index, group in enumerate(self.components):
            merged[find(("found", index))].extend(group)
        for at in extra:
            merged[find(("stored", claims.signals[at]))].append(at)
            self.status[at] = CORROBORATED
        for at in range(before):  # nearby claims of a joined signal that no component holds now
            if ("stored", claims.signals[at]) in parent and self.status[at] == CORROBORATED:
                merged[find(("stored", claims.signals[at]))].append(at)
        self.components = [sorted(set(group)) for group in merged.values()]

    def _assign(self):
        """Give each component a signal: the best one its claims already had that no earlier component
        took, else a new one. Returns [(positions, chosen signal row values or None)] and the retired."""
        claims = self.claims
        stored, ids = claims.signals, claims.ids
        held, oldest = self.held, self.oldest
        if held is None:
            held = [set(map(stored.__getitem__, group)) for group in self.components]
            oldest = [min(map(ids.__getitem__, group)) for group in self.components]
        candidates = set().union(*held) - {None}
        stored = self.stored_signals or {}
        known = {pk: stored[pk] for pk in candidates if pk in stored}
        missing = candidates - known.keys()
        if missing:
            # Many signals are read whole rather than named in a list of ids as long as the table.
            signals = MarketSignal.objects.filter(pk__in=missing) if len(missing) <= 1000 else MarketSignal.objects
            known.update((row[0], row) for row in signals.values_list(*KNOWN_FIELDS) if row[0] in missing)

        def preference(pk):
            # A decision (match or hold) first, the earliest decided; then one someone acknowledged or
            # closed; then the oldest.
            _, status, decision, decided_at, *_ = known[pk]
            return (not decision, status == MarketSignal.Status.OPEN, decided_at is None, decided_at or 0, pk)

        assigned, taken, gone = [], set(), {}
        # Components choose in a fixed order: the one with the oldest claim first.
        for index in sorted(range(len(self.components)), key=oldest.__getitem__):
            group = self.components[index]
            mine = [pk for pk in held[index] if pk in known and pk not in taken]
            if len(mine) > 1:
                mine.sort(key=preference)
            chosen = mine[0] if mine else None
            if chosen is not None:
                taken.add(chosen)
            for other in mine[1:]:
                gone.setdefault(other, chosen)
            # The same claims as before: all of them, and only them, already held by the chosen signal.
            same = (chosen is not None and held[index] == {chosen}
                    and known[chosen][FIGURE_AT["claim_count"]] == len(group))
            assigned.append((group, chosen, same))
        for pk in taken:
            gone.pop(pk, None)
        for pk in self.orphans - taken:
            gone.setdefault(pk, None)
        return assigned, known, gone

    def write(self) -> DetectionResult:
        claims = self.claims
        assigned, known, gone = self._assign()
        averages = self.averages
        if averages is None:
            averages = our_average_prices({claims.products[group[0]] for group, chosen, _ in assigned
                                           if self.refresh_prices or chosen is None}, as_of=self.as_of)

        def ours(group, chosen):
            if self.refresh_prices or chosen is None:
                return averages.get(claims.products[group[0]])
            return known[chosen][FIGURE_AT["our_average_price"]]

        created, now = [], clock.now()
        recompute = []
        for group, chosen, same in assigned:
            if chosen is None:
                created.append((self._figures(group, ours(group, None)), group))
                continue
            # Unchanged claims and our price unchanged: nothing to recompute (the nightly case).
            price = ours(group, chosen)
            if not same or price != known[chosen][FIGURE_AT["our_average_price"]]:
                recompute.append((chosen, self._figures(group, price)))
            if not same:
                for at in group:
                    self.signal[at] = chosen
        stored_figures = {row[0]: row[1:] for row in MarketSignal.objects.filter(
            pk__in=[pk for pk, _ in recompute]).values_list("pk", *SIGNAL_FIGURES)} if recompute else {}
        updated = [MarketSignal(pk=pk, updated_at=now, **figures) for pk, figures in recompute
                   if tuple(figures.values()) != stored_figures[pk]]
        for pk, (_, group) in zip(signals_create([figures for figures, _ in created], now), created, strict=True):
            for at in group:
                self.signal[at] = pk
        MarketSignal.objects.bulk_update(updated, [*UPDATED_FIELDS, "updated_at"], batch_size=500)

        changes = ClaimChanges.between(claims, self.status, self.signal, left_out=self.copies)
        with _indexes_rebuilt(len(changes)) if self.rebuild_indexes else nullcontext():
            if self.record_kept is None:
                claims_update(changes)
            else:
                _claims_update_keeping_record(changes, *self.record_kept)
        removed = _retire(gone)
        counts = changes.counts
        result = DetectionResult(
            claims=changes.claims, claims_changed=len(changes), signals_created=len(created),
            signals_updated=len(updated), signals_removed=removed, corroborated=counts[CORROBORATED],
            pending=counts[PENDING], unsubstantiated=counts[UNSUBSTANTIATED],
        )
        return result

    def _figures(self, group, ours: Decimal | None) -> dict:
        claims = self.claims
        product = claims.products[group[0]]
        competitors = set(map(claims.competitors.__getitem__, group))
        figures = self.found_figures.get(group[0])
        if figures is None or figures.claim_count != len(group):
            figures = signal_figures(claims.days, claims.prices, claims.customers, group)
        return {
            "product_id": product,
            "competitor_id": competitors.pop() if len(competitors) == 1 else None,
            "window_start": EPOCH + timedelta(days=figures.first_day),
            "window_end": EPOCH + timedelta(days=figures.last_day),
            "claim_count": figures.claim_count,
            "customer_count": figures.customer_count,
            "median_price": figures.median_price,
            "our_average_price": ours,
            "drop_percent": drop_percent(ours, figures.median_price),
        }


def _claims_update_keeping_record(changes: ClaimChanges, product_id: int, claim_id: int) -> None:
    """claims_update for the check of `claim_id`, moving its product's SweptProduct record (if any) by the
    same difference as the claims' fingerprint: the claim checked counted in, and every claim it changes
    hashed out as it was and in as it is. A record in step with the claims but the one checked (they are as
    a whole detection left them) is in step after the check, which leaves them as a whole detection of
    them all would: the nightly sweep need not detect the product again. A record out of step (claims
    changed otherwise since) stays out of step by the same difference."""
    others = sorted(set(changes.ids.tolist()) - {claim_id})
    before = sql.claims_hash(others)
    claims_update(changes)
    sql.swept_record_moved(product_id, before, [*others, claim_id])


def _indexes_rebuilt(rows_written: int):
    """The operator's step around the write of the claims (see signals_detect_rebuilding_indexes)."""
    return indexes_rebuilt_after(PriceClaim._meta.db_table, rows_written=rows_written, share=MOST_OF_TABLE,
                                 columns=["signal_id"], lock_wait_ms=REBUILD_LOCK_WAIT_MS, indexes_on=["signal_id"])


def _detect_range(claims, start, end, rule, as_of_day) -> Found:
    """The pure detection of the claims at positions start..end (positions in it count from `start`)."""
    return detect_columns(claims.days[start:end], claims.prices[start:end], claims.customers[start:end], rule,
                          as_of_day=as_of_day)


_FORKED = None  # the claims a forked worker reads (inherited from the parent, never pickled)


class _GroupDetected(NamedTuple):
    """The detection of one group of a sweep, with what the sweep takes from it worked out where it ran (in a
    forked worker, beside the others, rather than one group after another in the sweep's process): each
    claim's status, and its stored signal while corroborated (None otherwise); each signal found as
    positions among all the claims, the stored signals its claims hold and its oldest claim id; and, when
    asked, each signal's figures (signal_figures), in the same order."""

    statuses: list[str]
    signals: list
    components: list[list[int]]
    held: list[set]
    oldest: list[int]
    figures: list | None


def _detect_group(claims, start, end, rule, as_of_day, with_figures) -> _GroupDetected:
    """`_detect_range` of the claims at start..end, as the sweep takes it (_GroupDetected)."""
    found = _detect_range(claims, start, end, rule, as_of_day)
    stored, ids = claims.signals, claims.ids
    components = [[start + k for k in group] for group in found.signals]
    figures = None
    if with_figures:
        days, prices, customers = claims.days[start:end], claims.prices[start:end], claims.customers[start:end]
        figures = [signal_figures(days, prices, customers, group) for group in found.signals]
    return _GroupDetected(
        statuses=found.statuses,
        signals=[held if now == CORROBORATED else None
                 for now, held in zip(found.statuses, stored[start:end], strict=True)],
        components=components,
        held=[set(map(stored.__getitem__, group)) for group in components],
        oldest=[min(map(ids.__getitem__, group)) for group in components],
        figures=figures,
    )


def _detect_forked(start, end, rule, as_of_day, with_figures):
    return _detect_group(_FORKED, start, end, rule, as_of_day, with_figures)


def _detect_groups(claims, groups, as_of_day, workers, meanwhile=lambda: None):
    """`_detect_group` of every (start, end, rule, with figures) group, in `workers` forked processes when > 1;
    this process runs `meanwhile` as they work (before detecting, when alone)."""
    global _FORKED
    if workers <= 1 or len(groups) < 2:
        meanwhile()
        return [_detect_group(claims, start, end, rule, as_of_day, with_figures)
                for start, end, rule, with_figures in groups]
    _FORKED = claims
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            found = pool.starmap_async(_detect_forked, [(start, end, rule, as_of_day, with_figures)
                                                        for start, end, rule, with_figures in groups],
                                       chunksize=max(1, len(groups) // (workers * 8)))
            meanwhile()
            return found.get()
    finally:
        _FORKED = None


def _retire(gone: dict[int, int | None]) -> int:
    """Signals whose claims all went elsewhere (or lost corroboration): deleted while open; kept on record,
    pointing at where their claims went, once someone acted on them."""
    if not gone:
        return 0
    merged = []
    for pk, merged_into in (MarketSignal.objects.filter(pk__in=list(gone)).exclude(status=MarketSignal.Status.OPEN)
                            .values_list("pk", "merged_into_id")):
        if gone[pk] is not None and merged_into != gone[pk]:
            merged.append(MarketSignal(pk=pk, merged_into_id=gone[pk], updated_at=clock.now()))
    MarketSignal.objects.bulk_update(merged, ["merged_into", "updated_at"])
    # Re-checked at delete time: a decision taken meanwhile keeps its signal.
    deleted, _ = MarketSignal.objects.filter(pk__in=list(gone), status=MarketSignal.Status.OPEN,
                                             claims__isnull=True).delete()
    return deleted + len(merged)
