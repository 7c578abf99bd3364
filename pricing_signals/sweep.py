"""Detection over the stored claims, and its results written back: statuses, signals and their figures.

Two entry points, both safe to run twice and at once:

- `signals_detect(as_of=...)` recomputes every claim (the nightly sweep and `manage.py detect_signals`),
  so claims whose check never ran (saved while the broker was down) are caught, and claims whose window
  has passed turn from pending to unsubstantiated.
- `price_claim_check(claim_id=..., as_of=...)` checks one new claim. Only claims within two windows of
  it can matter: statuses can change only within one window of it, and those depend only on claims within
  two. Adding a claim never breaks a witnessing set, so the signals of the claims it joins are merged with
  what it witnesses; everything else stays as stored.

A signal keeps its identity when recomputed: a group of corroborated claims keeps a signal its claims
already had: one with a decision (match or hold) first, the earliest decided; then one someone acknowledged
or closed; then the oldest. An open signal that merges into another is deleted; one someone acted on stays
on record, `merged_into` the signal that carries its claims on, its decision kept.

Claims are read as plain columns and written back set-based (claim_columns.py): only claims whose status
or signal changed. A million claims read, detected and compared take seconds; see docs/market-signals.md.

Concurrency: on PostgreSQL the sweep holds an exclusive advisory lock for its transaction; a claim check
and a decision hold it shared, plus an exclusive lock on their product, so two checks of one product, or
a check and the sweep, never interleave.
"""

import logging
import multiprocessing
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q

from config import clock
from pricing_signals.claim_columns import (
    EPOCH,
    SIGNAL_FIGURES,
    UPDATED_FIELDS,
    ClaimColumns,
    claims_update,
    median_scaled,
    signals_create,
)
from pricing_signals.detection import CORROBORATED, PENDING, UNSUBSTANTIATED, Rule, witness
from pricing_signals.models import DetectionRule, MarketSignal, PriceClaim
from pricing_signals.prices import drop_percent, our_average_prices
from rebates.models import Product

logger = logging.getLogger(__name__)

LOCK_ALL = 7_310_005  # (LOCK_ALL, 0): every detection; (LOCK_PRODUCT, product id): one product's claims
LOCK_PRODUCT = 7_310_006
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
    with connection.cursor() as cursor:
        if shared_only:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [LOCK_ALL])
        elif product_id is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_ALL])
        else:  # the shared lock first: the select list is evaluated left to right
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0), pg_advisory_xact_lock(%s, %s)",
                           [LOCK_ALL, LOCK_PRODUCT, int(product_id) % 2**31])


def signals_detect(*, as_of: date, products: Iterable[int] | None = None, workers: int = 1) -> DetectionResult:
    """Recompute every claim's status and every signal as of `as_of` (of some products only, when
    given), and store what changed. `workers` > 1 detects products side by side in that many forked
    processes (the command and the benchmark; not inside a Celery worker, whose children cannot fork)."""
    with transaction.atomic():
        detection_lock()
        with connection.cursor() as cursor:  # compiling plans for a million rows costs more than it saves
            cursor.execute("SET LOCAL jit = off")
        rules = rules_by_product()
        where, params = "TRUE", []
        if products is not None:
            products = sorted({int(pk) for pk in products}) or [0]
            where = f"c.product_id IN ({', '.join(map(str, products))})"
        claims = ClaimColumns.read(where, params, whole=True)
        plan = _Plan(claims, as_of)
        split = {pk for pk, rule in rules.items() if rule.same_competitor}
        groups = [(start, end, rules[claims.products[start]]) for start, end in claims.groups(split)]
        for (start, end, rule), found in zip(groups, _witness_groups(claims, groups, workers), strict=True):
            plan.detect(range(start, end), rule, found=found)
        # Every signal must hold claims after a full sweep (or go, or stay on record once acted on).
        held = MarketSignal.objects.all()
        if products is not None:
            held = held.filter(product_id__in=products)
        plan.orphans = set(held.values_list("pk", flat=True))
        return plan.write()


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
        rule = rule_for_line(claim["product__product_line_id"])
        day = (claim["reported_on"] - EPOCH).days
        reach = rule.window_days
        where = "c.product_id = %s AND c.reported_on BETWEEN %s AND %s"
        params = [claim["product_id"], claim["reported_on"] - timedelta(days=2 * reach),
                  claim["reported_on"] + timedelta(days=2 * reach)]
        if rule.same_competitor:
            where += " AND c.competitor_id = %s"
            params.append(claim["competitor_id"])
        claims = ClaimColumns.read(where, params)
        if not claims.has(claim_id):  # dismissed (or deleted) meanwhile: it takes no part
            return PriceClaim.objects.filter(pk=claim_id).values_list("status", flat=True).first()
        plan = _Plan(claims, as_of, refresh_prices=False)
        # Exact within one window of the claim; further out, only what the nearby claims prove is new.
        plan.detect(range(len(claims)), rule, exact=lambda at: abs(claims.days[at] - day) <= reach)
        plan.merge_stored()
        plan.write()
        return plan.status[claims.position(claim_id)]


class _Plan:
    """What a detection found, turned into the writes that bring the database there."""

    def __init__(self, claims: ClaimColumns, as_of: date, refresh_prices: bool = True):
        self.claims = claims
        # A claim check keeps a signal's stored average price (the nightly sweep refreshes them all).
        self.refresh_prices = refresh_prices
        self.as_of = as_of
        self.as_of_day = (as_of - EPOCH).days
        self.status = list(claims.statuses)
        self.signal = list(claims.signals)  # a stored signal id, a _NewSignal, or None
        self.components = []  # lists of positions, each becoming one signal
        self.orphans = set()  # stored signals that must hold claims after a full sweep, or go
        self.copies = set()  # positions of claims read a second time (the first copy counts)

    def detect(self, positions: range, rule: Rule, exact=None, found=None) -> None:
        """Detect over the claims at `positions` (one product, or product and competitor), or take what
        `_witness_range` `found` for them. With `exact`, only positions it accepts get the computed status
        when not corroborated, and corroboration stored earlier is kept (a claim check: adding a claim
        never breaks a witnessing set)."""
        claims = self.claims
        root = found if found is not None else _witness_range(claims, positions.start, positions.stop, rule)
        days = claims.days[positions.start:positions.stop]
        window, as_of_day, stored = rule.window_days, self.as_of_day, claims.statuses
        members = defaultdict(list)
        status, signal = self.status, self.signal
        for k, at in enumerate(positions):
            if root[k] >= 0:
                status[at] = CORROBORATED
                members[root[k]].append(at)
            elif exact is None:
                status[at] = PENDING if as_of_day <= days[k] + window else UNSUBSTANTIATED
                signal[at] = None
            elif stored[at] != CORROBORATED and exact(at):
                status[at] = PENDING if as_of_day <= days[k] + window else UNSUBSTANTIATED
                signal[at] = None
        self.components.extend(members.values())

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
        claims.add(f"c.signal_id IN ({', '.join(map(str, stored_ids))})", [])
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
        held = [set(map(stored.__getitem__, group)) for group in self.components]
        candidates = set().union(*held) - {None}
        # Many signals are read whole rather than named in a list of ids as long as the table.
        signals = MarketSignal.objects.filter(pk__in=candidates) if len(candidates) <= 1000 else MarketSignal.objects
        known = {row[0]: row for row in signals.values_list(*KNOWN_FIELDS) if row[0] in candidates}

        def preference(pk):
            # A decision (match or hold) first, the earliest decided; then one someone acknowledged or
            # closed; then the oldest.
            _, status, decision, decided_at, *_ = known[pk]
            return (not decision, status == MarketSignal.Status.OPEN, decided_at is None, decided_at or 0, pk)

        def oldest_claim(index):  # components choose in a fixed order: the one with the oldest claim first
            return min(map(ids.__getitem__, self.components[index]))

        assigned, taken, gone = [], set(), {}
        for index in sorted(range(len(self.components)), key=oldest_claim):
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
                created.append((MarketSignal(**self._figures(group, ours(group, None))), group))
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
        signals_create([signal for signal, _ in created], now)
        for signal, group in created:
            for at in group:
                self.signal[at] = signal.pk
        MarketSignal.objects.bulk_update(updated, [*UPDATED_FIELDS, "updated_at"], batch_size=500)

        status, signal = self.status, self.signal
        stored_status, stored_signal, ids = claims.statuses, claims.signals, claims.ids
        positions = range(len(claims))
        if self.copies:
            positions = [at for at in positions if at not in self.copies]
        changes = [(ids[at], status[at], signal[at]) for at in positions
                   if status[at] != stored_status[at] or signal[at] != stored_signal[at]]
        counts = Counter(status[at] for at in positions)
        claims_update(changes)
        removed = _retire(gone)
        result = DetectionResult(
            claims=len(positions), claims_changed=len(changes), signals_created=len(created),
            signals_updated=len(updated), signals_removed=removed, corroborated=counts[CORROBORATED],
            pending=counts[PENDING], unsubstantiated=counts[UNSUBSTANTIATED],
        )
        if changes or created or updated or removed:
            logger.info("market signal detection as of %s: %s", self.as_of, result)
        return result

    def _figures(self, group, ours: Decimal | None) -> dict:
        claims = self.claims
        product = claims.products[group[0]]
        competitor_of, day_of, price_of, customer_of = claims.competitors, claims.days, claims.prices, claims.customers
        competitors = set(map(competitor_of.__getitem__, group))
        days = list(map(day_of.__getitem__, group))
        median = median_scaled(list(map(price_of.__getitem__, group)))
        return {
            "product_id": product,
            "competitor_id": competitors.pop() if len(competitors) == 1 else None,
            "window_start": EPOCH + timedelta(days=min(days)),
            "window_end": EPOCH + timedelta(days=max(days)),
            "claim_count": len(group),
            "customer_count": len(set(map(customer_of.__getitem__, group))),
            "median_price": median,
            "our_average_price": ours,
            "drop_percent": drop_percent(ours, median),
        }


def _witness_range(claims, start, end, rule) -> list[int]:
    """Per claim of positions start..end: its union-find root when corroborated, -1 when not."""
    corroborated, root = witness(claims.days[start:end], claims.prices[start:end], claims.customers[start:end], rule)
    return [r if c else -1 for c, r in zip(corroborated, root, strict=True)]


_FORKED = None  # the claims a forked worker reads (inherited from the parent, never pickled)


def _witness_forked(start, end, rule):
    return _witness_range(_FORKED, start, end, rule)


def _witness_groups(claims, groups, workers):
    """`_witness_range` of every (start, end, rule) group, in `workers` forked processes when > 1."""
    global _FORKED
    if workers <= 1 or len(groups) < 2:
        return [_witness_range(claims, start, end, rule) for start, end, rule in groups]
    _FORKED = claims
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.starmap(_witness_forked, groups, chunksize=max(1, len(groups) // (workers * 8)))
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


__all__ = ["DetectionResult", "detection_lock", "price_claim_check", "rules_by_product", "signals_detect"]
