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

Concurrency: on PostgreSQL the sweep holds an exclusive advisory lock for its transaction; a claim check
and a decision hold it shared, plus an exclusive lock on their product, so two checks of one product, or
a check and the sweep, never interleave.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from pricing_signals import detection
from pricing_signals.detection import CORROBORATED, PENDING, UNSUBSTANTIATED, Rule
from pricing_signals.models import DetectionRule, MarketSignal, PriceClaim
from pricing_signals.prices import drop_percent, our_average_prices
from rebates.models import Product

logger = logging.getLogger(__name__)

LOCK_ALL = 7_310_005  # (LOCK_ALL, 0): every detection; (LOCK_PRODUCT, product id): one product's claims
LOCK_PRODUCT = 7_310_006
UPDATE_BATCH = 20_000
SIGNAL_FIGURES = ("competitor_id", "window_start", "window_end", "claim_count", "customer_count", "median_price",
                  "our_average_price", "drop_percent")


class StoredClaim(NamedTuple):
    id: int
    customer: int
    reported_on: date
    price: Decimal
    competitor: int
    product: int
    status: str
    signal: int | None


STORED_FIELDS = ("id", "customer_id", "reported_on", "claimed_price", "competitor_id", "product_id", "status",
                 "signal_id")


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


def detection_lock(product_id: int | None = None) -> None:
    """Inside a transaction: exclusive on all detection (no product), or shared plus this product's own."""
    if connection.vendor != "postgresql":
        return  # SQLite, the embedded default, has one writer at a time anyway
    with connection.cursor() as cursor:
        if product_id is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_ALL])
        else:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [LOCK_ALL])
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_PRODUCT, int(product_id) % 2**31])


def signals_detect(*, as_of: date, products: Iterable[int] | None = None) -> DetectionResult:
    """Recompute every claim's status and every signal as of `as_of` (of some products only, when
    given), and store what changed."""
    with transaction.atomic():
        detection_lock()
        rules = rules_by_product()
        groups = defaultdict(list)
        stored = PriceClaim.objects.exclude(status=PriceClaim.Status.DISMISSED).order_by()
        signals = MarketSignal.objects.filter(claims__isnull=False)
        if products is not None:
            products = [int(pk) for pk in products]
            stored = stored.filter(product_id__in=products)
            signals = signals.filter(product_id__in=products)
        for row in stored.values_list(*STORED_FIELDS).iterator(chunk_size=20_000):
            claim = StoredClaim._make(row)
            rule = rules[claim.product]
            groups[detection.group_key(claim, rule, claim.product)].append(claim)
        plan = _Plan(as_of=as_of)
        for key, claims in groups.items():
            rule = rules[key[0]]
            found = detection.detect(claims, rule, as_of=as_of)
            plan.statuses(claims, found.statuses)
            for signal in found.signals:
                plan.component(signal.claim_ids, rule=rule)
        plan.orphans(signals.distinct().values_list("pk", flat=True))
        return plan.write()


def price_claim_check(*, claim_id: int, as_of: date) -> str | None:
    """Check one claim against the claims of its product within two windows of it; store what changed.
    Returns the claim's status (None when the claim no longer exists)."""
    with transaction.atomic():
        claim = PriceClaim.objects.filter(pk=claim_id).values("product_id", "competitor_id", "reported_on").first()
        if claim is None:
            return None
        detection_lock(claim["product_id"])
        current = PriceClaim.objects.filter(pk=claim_id).values_list("status", flat=True).first()
        if current == PriceClaim.Status.DISMISSED:
            return current
        rule = rules_by_product([claim["product_id"]])[claim["product_id"]]
        low, high = detection.window_around(claim["reported_on"], rule, windows=2)
        near = PriceClaim.objects.filter(product_id=claim["product_id"], reported_on__range=(low, high)).exclude(
            status=PriceClaim.Status.DISMISSED).order_by()
        if rule.same_competitor:
            near = near.filter(competitor_id=claim["competitor_id"])
        claims = [StoredClaim._make(row) for row in near.values_list(*STORED_FIELDS)]
        found = detection.detect(claims, rule, as_of=as_of)

        # Exact within one window of the claim; further out, only what the nearby claims prove is new.
        inner_low, inner_high = detection.window_around(claim["reported_on"], rule, windows=1)
        statuses = {}
        for stored in claims:
            status = found.statuses[stored.id]
            if status != CORROBORATED and not inner_low <= stored.reported_on <= inner_high:
                status = stored.status
            elif stored.status == CORROBORATED:
                status = CORROBORATED
            statuses[stored.id] = status
        plan = _Plan(as_of=as_of)
        plan.statuses(claims, statuses)
        plan.merge(found.signals, claims, rule=rule)
        plan.write()
        return plan.status_of.get(claim_id, current)


@dataclass
class _NewSignal:
    row: MarketSignal
    claim_ids: tuple[int, ...]


@dataclass
class _Plan:
    """What a detection found, turned into the writes that bring the database there."""

    as_of: date
    claims: dict[int, StoredClaim] = field(default_factory=dict)
    status_of: dict[int, str] = field(default_factory=dict)
    signal_of: dict[int, object] = field(default_factory=dict)  # claim id -> signal id or _NewSignal
    components: list = field(default_factory=list)  # (claim ids, rule)
    kept: dict[int, tuple[int, ...]] = field(default_factory=dict)  # signal id -> its claims from now on
    gone: dict[int, int | None] = field(default_factory=dict)  # signal id -> the signal its claims went to

    def statuses(self, claims: list[StoredClaim], statuses: dict[int, str]) -> None:
        for claim in claims:
            self.claims[claim.id] = claim
            self.status_of[claim.id] = statuses[claim.id]
            if statuses[claim.id] != CORROBORATED:
                self.signal_of[claim.id] = None
            elif claim.id not in self.signal_of:
                self.signal_of[claim.id] = claim.signal

    def component(self, claim_ids, *, rule: Rule) -> None:
        self.components.append((tuple(claim_ids), rule))

    def merge(self, signals, claims: list[StoredClaim], *, rule: Rule) -> None:
        """A claim check: each signal found nearby joins the stored signals of its claims (and everything
        those hold), since a new claim only ever adds witnessing sets."""
        parent = {}

        def find(node):
            while parent.setdefault(node, node) != node:
                node = parent[node]
            return node

        by_id = {claim.id: claim for claim in claims}
        for index, signal in enumerate(signals):
            for claim_id in signal.claim_ids:
                stored = by_id[claim_id].signal
                if stored is not None:
                    parent[find(("stored", stored))] = find(("found", index))
        groups = defaultdict(set)
        for index, signal in enumerate(signals):
            groups[find(("found", index))].update(signal.claim_ids)
        stored_ids = {node[1] for node in parent if node[0] == "stored"}
        held = defaultdict(list)
        held_claims = PriceClaim.objects.filter(signal_id__in=stored_ids).exclude(status=PriceClaim.Status.DISMISSED)
        for claim_row in held_claims.order_by().values_list(*STORED_FIELDS):
            held[claim_row[-1]].append(StoredClaim._make(claim_row))
        for signal_id in stored_ids:
            group = groups[find(("stored", signal_id))]
            for claim in held[signal_id]:
                if claim.id not in self.claims:  # outside the nearby claims: corroborated as stored
                    self.claims[claim.id] = claim
                    self.status_of[claim.id] = CORROBORATED
                    self.signal_of[claim.id] = claim.signal
                group.add(claim.id)
        for group in groups.values():
            for claim_id in group:
                self.status_of[claim_id] = CORROBORATED
            self.component(sorted(group), rule=rule)

    def orphans(self, signal_ids: Iterable[int]) -> None:
        """A full sweep: stored signals that kept no claim at all."""
        self._all_stored = set(signal_ids)

    def _assign(self) -> list:
        """Give each component a signal: the best one its claims already had that no earlier component
        took, else a new one."""
        candidates = {self.signal_of[claim_id] for ids, _ in self.components for claim_id in ids} - {None}
        known = {signal.pk: signal for signal in MarketSignal.objects.filter(pk__in=candidates)}

        def preference(signal):
            # A decision (match or hold) first, the earliest decided; then one someone acknowledged or
            # closed; then the oldest.
            return (not signal.decision, signal.status == MarketSignal.Status.OPEN, signal.decided_at is None,
                    signal.decided_at or 0, signal.pk)

        def first_claim(component):
            ids, _ = component
            return min((self.claims[i].reported_on, i) for i in ids)

        assigned = []
        taken = set()
        for ids, rule in sorted(self.components, key=first_claim):
            mine = sorted({known[s] for i in ids if (s := self.signal_of[i]) in known and s not in taken},
                          key=preference)
            chosen = mine[0] if mine else None
            if chosen is not None:
                taken.add(chosen.pk)
            for other in mine[1:]:
                self.gone.setdefault(other.pk, chosen.pk if chosen else None)
            assigned.append((ids, rule, chosen))
        for signal_id in taken:
            self.gone.pop(signal_id, None)
        return assigned, known

    def write(self) -> DetectionResult:
        assigned, known = self._assign()
        created, updated, now = [], [], timezone.now()
        averages = our_average_prices({self.claims[ids[0]].product for ids, _, _ in assigned}, as_of=self.as_of)
        for ids, rule, chosen in assigned:
            figures = self._figures(ids, rule, averages)
            if chosen is None:
                new = _NewSignal(MarketSignal(**figures), ids)
                created.append(new)
                target = new
            else:
                if any(getattr(chosen, name) != value for name, value in figures.items()):
                    for name, value in figures.items():
                        setattr(chosen, name, value)
                    chosen.updated_at = now
                    updated.append(chosen)
                target = chosen.pk
            for claim_id in ids:
                self.signal_of[claim_id] = target
        MarketSignal.objects.bulk_create([new.row for new in created], batch_size=2000)
        MarketSignal.objects.bulk_update(updated, [*SIGNAL_FIGURES, "updated_at"], batch_size=2000)

        changes = []
        for claim_id, claim in self.claims.items():
            target = self.signal_of.get(claim_id)
            signal_id = target.row.pk if isinstance(target, _NewSignal) else target
            status = self.status_of[claim_id]
            if status != claim.status or signal_id != claim.signal:
                changes.append((claim_id, status, signal_id))
        _claims_update(changes)

        still_held = {s for ids, _, chosen in assigned if chosen is not None for s in [chosen.pk]}
        for signal_id in getattr(self, "_all_stored", set()) - still_held:
            self.gone.setdefault(signal_id, None)
        removed = self._retire(self.gone, known)
        counts = defaultdict(int)
        for status in self.status_of.values():
            counts[status] += 1
        result = DetectionResult(
            claims=len(self.claims), claims_changed=len(changes), signals_created=len(created),
            signals_updated=len(updated), signals_removed=removed, corroborated=counts[CORROBORATED],
            pending=counts[PENDING], unsubstantiated=counts[UNSUBSTANTIATED],
        )
        if changes or created or updated or removed:
            logger.info("market signal detection as of %s: %s", self.as_of, result)
        return result

    def _retire(self, gone: dict[int, int | None], known: dict[int, MarketSignal]) -> int:
        """Signals whose claims all went elsewhere (or lost corroboration): deleted while open; kept on
        record, pointing at where their claims went, once someone acted on them."""
        if not gone:
            return 0
        merged = []
        for signal in MarketSignal.objects.filter(pk__in=list(gone)).exclude(status=MarketSignal.Status.OPEN):
            if gone[signal.pk] is not None and signal.merged_into_id != gone[signal.pk]:
                signal.merged_into_id = gone[signal.pk]
                signal.updated_at = timezone.now()
                merged.append(signal)
        MarketSignal.objects.bulk_update(merged, ["merged_into", "updated_at"])
        # Re-checked at delete time: a decision taken meanwhile keeps its signal.
        deleted, _ = MarketSignal.objects.filter(pk__in=list(gone), status=MarketSignal.Status.OPEN,
                                                 claims__isnull=True).delete()
        return deleted + len(merged)

    def _figures(self, ids, rule: Rule, averages: dict[int, Decimal]) -> dict:
        claims = [self.claims[claim_id] for claim_id in ids]
        product = claims[0].product
        competitors = {claim.competitor for claim in claims}
        median = detection.median_price([claim.price for claim in claims])
        ours = averages.get(product)
        return {
            "product_id": product,
            "competitor_id": competitors.pop() if len(competitors) == 1 else None,
            "window_start": min(claim.reported_on for claim in claims),
            "window_end": max(claim.reported_on for claim in claims),
            "claim_count": len(claims),
            "customer_count": len({claim.customer for claim in claims}),
            "median_price": median,
            "our_average_price": ours,
            "drop_percent": drop_percent(ours, median),
        }


def _claims_update(changes: list[tuple[int, str, int | None]]) -> None:
    """Set status and signal of many claims, set-based: one UPDATE ... FROM a list of values per batch.
    Ids are ints and statuses come from the model's choices, so the values are written inline."""
    table = connection.ops.quote_name(PriceClaim._meta.db_table)
    valid = set(PriceClaim.Status.values)
    for start in range(0, len(changes), UPDATE_BATCH):
        batch = changes[start:start + UPDATE_BATCH]
        if any(status not in valid for _, status, _ in batch):
            raise ValueError("a claim status outside the model's choices")
        values = ", ".join(
            f"({int(pk)}, '{status}', {'CAST(NULL AS BIGINT)' if signal is None else int(signal)})"
            for pk, status, signal in batch
        )
        sql = (f"WITH v (id, status, signal_id) AS (VALUES {values}) "
               f"UPDATE {table} SET status = v.status, signal_id = v.signal_id FROM v WHERE {table}.id = v.id")
        with connection.cursor() as cursor:
            cursor.execute(sql)


__all__ = ["DetectionResult", "detection_lock", "price_claim_check", "rules_by_product", "signals_detect"]
