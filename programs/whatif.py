"""What-if: a program's agreements replayed through the engine on their actual lines, under drafted terms.

A draft is a rule (kind, rate, tiers, minimum, cap) put in place of each agreement's own; everything else
about the agreement (term, settlement frequency, commitment rule, launch bonuses, termination) stays as it
is. The replay calls `rebates.engine.calculate` for the current terms and for each draft on the same lines
and sums, per agreement, what the months of the chosen period would have earned. Nothing is booked.

The top half is pure (frozen values in, Decimals out); `program_replay` at the bottom reads the database.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache

from rebates import engine
from rebates.engine.money import ZERO_MONEY, parse_decimal

MAX_DRAFTS = 3
# Agreements read and replayed together: one read of their lines, one progress step.
REPLAY_CHUNK = 500
DRAFT_FIELDS = ("kind", "rate", "rate_type", "bands", "tier_basis", "tier_method", "baseline", "baseline_amount",
                "minimum", "cap")
# The kinds a draft's fields can state: the newer kinds need settings of their own (a clearance rate, a mix
# condition, a window of months) or lines of their own (referred purchases), which a draft does not carry.
KINDS = ("per_unit", "percent", "tiered", "growth")


class DraftError(ValueError):
    """A draft the engine cannot compute; `field` names the draft's field at fault ("" for the whole draft)."""

    def __init__(self, message, field=""):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Draft:
    """Alternative terms for every agreement of a program, in the engine's own fields (see
    rebates.engine.RebateRule): `rate` money per unit or a percent; `bands` (threshold, rate) pairs."""

    kind: str
    rate: Decimal | None = None
    rate_type: str = "per_unit"
    bands: tuple[tuple[Decimal, Decimal], ...] = ()
    tier_basis: str = ""
    tier_method: str = ""
    baseline: str = ""
    baseline_amount: Decimal | None = None
    minimum: Decimal | None = None
    cap: Decimal | None = None

    def as_json(self) -> dict:
        """The draft as a job stores it: decimals as strings, empty settings left out."""
        data = {"kind": self.kind, "rate_type": self.rate_type}
        for name in ("rate", "baseline_amount", "minimum", "cap"):
            if getattr(self, name) is not None:
                data[name] = str(getattr(self, name))
        for name in ("tier_basis", "tier_method", "baseline"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.bands:
            data["bands"] = [{"threshold": str(t), "rate": str(r)} for t, r in self.bands]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Draft":
        def number(name):
            value = data.get(name)
            return None if value in (None, "") else parse_decimal(value, places=4, digits=16)

        return cls(
            kind=data["kind"], rate=number("rate"), rate_type=data.get("rate_type") or "per_unit",
            bands=tuple((parse_decimal(b["threshold"], places=3, digits=16), parse_decimal(b["rate"], places=4,
                                                                                            digits=16))
                        for b in data.get("bands") or ()),
            tier_basis=data.get("tier_basis", ""), tier_method=data.get("tier_method", ""),
            baseline=data.get("baseline", ""), baseline_amount=number("baseline_amount"), minimum=number("minimum"),
            cap=number("cap"),
        )


@lru_cache(maxsize=256)
def draft_rule(draft: Draft, bonuses: tuple = (), commitment_rule: bool = False) -> engine.RebateRule:
    """The draft as the engine's rule, keeping an agreement's launch bonuses and commitment rule. Raises
    DraftError naming the field when the engine refuses it."""
    if draft.kind not in KINDS:
        raise DraftError(f"Choose a rule kind: {', '.join(KINDS)}.", "kind")
    try:
        return engine.RebateRule(
            kind=draft.kind, rate=draft.rate, rate_type=draft.rate_type,
            bands=tuple(engine.Band(threshold, rate) for threshold, rate in draft.bands),
            tier_basis=draft.tier_basis, tier_method=draft.tier_method, baseline=draft.baseline,
            baseline_amount=draft.baseline_amount, minimum=draft.minimum, cap=draft.cap,
            commitment_rule=commitment_rule, bonuses=bonuses,
        )
    except ValueError as error:
        raise DraftError(_field_words(str(error)), _field_of(str(error))) from None


def _field_of(message: str) -> str:
    for name in ("baseline_amount", "tier_basis", "tier_method", "baseline", "rate_type", "minimum", "cap", "band",
                 "rate"):
        if name in message:
            return "bands" if name == "band" else name
    return ""


def _field_words(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def draft_words(draft: Draft, currencies: Sequence[str] = ()) -> str:
    """The draft in a clerk's words, as an agreement's terms read ("$0.30 a unit"). A draft's amounts are read
    in each agreement's own currency: in the currency of `currencies` (the replayed customers') when they
    share one, else once per currency ("EUR: €0.30 a unit; USD: $0.30 a unit")."""
    rule = draft_rule(draft)
    codes = sorted(set(currencies))
    if len(codes) <= 1:
        return rule.kind_class.description(rule, codes[0] if codes else None)
    words = {code: rule.kind_class.description(rule, code) for code in codes}
    if len(set(words.values())) == 1:  # no amount in the draft: the same words in every currency
        return words[codes[0]]
    return "; ".join(f"{code}: {text}" for code, text in words.items())


def earned_in_period(terms: engine.AgreementTerms, lines: Sequence[engine.PurchaseLine],
                     bonus_lines: Sequence[engine.PurchaseLine], *, period_from: date, period_to: date,
                     kind_lines: dict | None = None) -> Decimal:
    """What the agreement's months from `period_from` to `period_to` earn under `terms` (accrual, catch-up
    and bonus), the engine reading every month of the term up to `period_to` as a nightly run would.
    `kind_lines` holds the lines the newer kinds read (`clearance_lines`, `mix_lines`, `referral_lines`)."""
    months = engine.calculate(terms, lines, as_of=period_to, last_year_lines=lines, bonus_lines=bonus_lines,
                              **(kind_lines or {}))
    return sum((month.amount for month in months if month.month >= period_from), ZERO_MONEY)


def replay(terms: engine.AgreementTerms, lines: Sequence[engine.PurchaseLine],
           bonus_lines: Sequence[engine.PurchaseLine], drafts: Sequence[Draft], *, period_from: date,
           period_to: date, kind_lines: dict | None = None) -> tuple[Decimal, tuple[Decimal, ...]]:
    """(earned under the current terms, earned under each draft) in the period, on the same lines. The current
    terms read `kind_lines` too (a clearance, product mix or referral rule earns on them); the drafts' kinds
    ignore them."""
    current = earned_in_period(terms, lines, bonus_lines, period_from=period_from, period_to=period_to,
                               kind_lines=kind_lines)
    rule = terms.rule
    drafted = tuple(
        earned_in_period(replace(terms, rule=draft_rule(draft, rule.bonuses, rule.commitment_rule)), lines,
                         bonus_lines, period_from=period_from, period_to=period_to)
        for draft in drafts)
    return current, drafted


@dataclass(frozen=True)
class CustomerReplay:
    """One customer's agreements of the program, replayed: what they earned under the current terms and
    would have earned under each draft in the period."""

    code: str
    name: str
    agreements: int
    current: Decimal
    drafts: tuple[Decimal, ...]
    currency: str = ""  # the customer's, which its agreements earn in ("": the default currency)


@dataclass(frozen=True)
class ReplayResult:
    """The replay per customer, and in total: `current` and `drafts` the plain sums (a figure only in a program
    whose customers share one currency), `by_currency` the totals per currency ({currency: (current, drafts)}),
    never added across currencies."""

    customers: tuple[CustomerReplay, ...]
    current: Decimal
    drafts: tuple[Decimal, ...]
    agreements: int
    by_currency: dict[str, tuple[Decimal, tuple[Decimal, ...]]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "agreements": self.agreements, "current": str(self.current), "drafts": [str(d) for d in self.drafts],
            "currencies": {code: {"current": str(current), "drafts": [str(d) for d in drafted]}
                           for code, (current, drafted) in sorted(self.by_currency.items())},
            "customers": [{"code": c.code, "name": c.name, "agreements": c.agreements, "current": str(c.current),
                           "drafts": [str(d) for d in c.drafts], "currency": c.currency} for c in self.customers],
        }


def totals(rows: Iterable[tuple], draft_count: int) -> ReplayResult:
    """Per agreement (customer code, customer name, current, drafts[, currency]) rows summed per customer, per
    currency and in total."""
    by_customer: dict[str, list] = {}
    count = 0
    for code, name, current, drafted, *currency in rows:
        count += 1
        found = by_customer.setdefault(code, [name, 0, ZERO_MONEY, [ZERO_MONEY] * draft_count,
                                              currency[0] if currency else ""])
        found[1] += 1
        found[2] += current
        found[3] = [a + b for a, b in zip(found[3], drafted, strict=True)]
    customers = tuple(CustomerReplay(code, name, agreements, current, tuple(drafted), currency)
                      for code, (name, agreements, current, drafted, currency) in sorted(by_customer.items()))
    by_currency = {}
    for code in sorted({c.currency for c in customers}):
        mine = [c for c in customers if c.currency == code]
        by_currency[code] = (sum((c.current for c in mine), ZERO_MONEY),
                             tuple(sum((c.drafts[i] for c in mine), ZERO_MONEY) for i in range(draft_count)))
    return ReplayResult(
        customers=customers, agreements=count,
        current=sum((c.current for c in customers), ZERO_MONEY),
        drafts=tuple(sum((c.drafts[i] for c in customers), ZERO_MONEY) for i in range(draft_count)),
        by_currency=by_currency,
    )


def stored_totals(result: dict) -> dict:
    """A finished what-if's stored result (`ReplayResult.as_json`): its totals per currency, never added across
    currencies, the current terms' and each draft's as {currency: amount} (a result stored before it was kept
    per currency: in the default one)."""
    from django.conf import settings

    currencies = result.get("currencies")
    if currencies is None and "current" in result:
        currencies = {settings.DEFAULT_CURRENCY: {"current": result["current"], "drafts": result.get("drafts", [])}}
    currencies = {code or settings.DEFAULT_CURRENCY: figures for code, figures in (currencies or {}).items()}
    return {"total_current": {code: Decimal(f["current"]) for code, f in currencies.items()},
            "total_drafts": [{code: Decimal(f["drafts"][i]) for code, f in currencies.items()}
                             for i in range(len(result.get("drafts", ())))]}


# --- the database ------------------------------------------------------------------------------------------


def program_agreement_ids(*, user, program, period_from: date, period_to: date) -> list[int]:
    """The program's agreements the user may see whose term meets the period (drafts, and agreements with no
    rule yet, aside), by primary key."""
    from rebates.models import RebateAgreement

    return list(RebateAgreement.objects.visible_to(user)
                .filter(program=program, start_month__lte=period_to, end_month__gte=period_from, rule__isnull=False)
                .exclude(status=RebateAgreement.Status.DRAFT)
                .order_by("pk").values_list("pk", flat=True))


def program_replay(*, agreement_ids: list[int], drafts: Sequence[Draft], period_from: date, period_to: date,
                   progress: Callable[[int, int], None] | None = None) -> ReplayResult:
    """Replay these agreements (read by chunks: their terms, their lines in scope per month, their launch-bonus
    products, the newer kinds' clearance, product-line and referred lines) under their current terms and each
    draft; `progress(done, total)` after each chunk."""
    from customers.models import Customer
    from rebates.models import RebateAgreement
    from rebates.terms import (
        agreement_inputs,
        bonus_product_lines,
        clearance_lines,
        mix_lines,
        referral_lines,
        scope_month_totals,
    )

    customer_of = dict(RebateAgreement.objects.filter(pk__in=agreement_ids).values_list("pk", "customer_id"))
    customers = list(Customer.objects.filter(pk__in=set(customer_of.values()))
                     .values_list("pk", "code", "name", "currency"))
    names = {pk: (code, name) for pk, code, name, _ in customers}
    currency_of = {pk: currency for pk, _, _, currency in customers}
    rows = []
    total = len(agreement_ids)
    for start in range(0, total, REPLAY_CHUNK):
        inputs = agreement_inputs(agreement_ids[start:start + REPLAY_CHUNK])
        lines = scope_month_totals(inputs)
        bonuses = bonus_product_lines(inputs)
        # The newer kinds' own lines, read as the nightly run reads them (only for agreements of those kinds).
        kind_lines = {"clearance_lines": clearance_lines(inputs), "mix_lines": mix_lines(inputs),
                      "referral_lines": referral_lines(inputs)}
        for agreement in inputs:
            own = {name: by_agreement[agreement.pk] for name, by_agreement in kind_lines.items()
                   if agreement.pk in by_agreement}
            current, drafted = replay(agreement.terms, lines.get(agreement.pk, []), bonuses.get(agreement.pk, ()),
                                      drafts, period_from=period_from, period_to=period_to, kind_lines=own)
            rows.append((*names[agreement.customer_id], current, drafted, currency_of[agreement.customer_id]))
        if progress is not None:
            progress(min(total, start + REPLAY_CHUNK), total)
    return totals(rows, len(drafts))
