"""An agreement's terms in a clerk's words, for its page: what the rule's kind earns and when it is paid,
then the minimum, cap, commitment and bonuses, one sentence each. Each kind words itself
(rebates/engine/kinds.py); this module adds what every rule shares."""

from datetime import date
from functools import cached_property

from django.db.models import Q

from rebates.engine import rule_kind
from rebates.engine.words import money, plain
from rebates.models import Product
from rebates.templatetags.figures import units

_PAID = {"annual": "paid annually", "quarterly": "paid quarterly", "monthly": "paid monthly"}


class _RuleAsStored:
    """A model rule as the kinds' descriptions read a rule: its fields, and its bands as a tuple (read only
    by a banded kind, so other rules cost no query)."""

    def __init__(self, rule):
        self._rule = rule

    def __getattr__(self, name):
        return getattr(self._rule, name)

    @cached_property
    def bands(self):
        return tuple(self._rule.bands.all())


def terms_in_words(agreement) -> list[str]:
    """The agreement's rule as a clerk would say it: "$0.25 a unit, paid annually", then any tiers,
    minimum, cap, commitment and bonus, one sentence each. Amounts are in the agreement's currency (its
    customer's): "€0.25 a unit" for an agreement in EUR."""
    rule = getattr(agreement, "rule", None)
    paid = _PAID.get(agreement.settlement_frequency,
                     f"paid {agreement.get_settlement_frequency_display().lower()}")
    if rule is None:
        return [f"No rebate rule yet, {paid}."]
    currency = agreement.currency
    lines = [rule_kind(rule.kind).terms(_RuleAsStored(rule), paid, currency)]
    if rule.minimum:
        lines.append(f"Nothing is earned until {plain(rule.minimum)} period to date.")
    if rule.cap is not None:
        lines.append(f"At most {money(rule.cap, 2, currency)} a settlement period.")
    if rule.commitment_rule:
        lines.append("A month below the committed quantity earns no rebate.")
    for bonus in rule.bonuses.all():
        lines.append(f"Bonus: {plain(bonus.extra_percent)}% more on the whole scope in a period with at least "
                     f"{plain(bonus.minimum_quantity)} units of {bonus.product.sku}.")
    lines.extend(units_in_words(agreement))
    return lines


def units_in_words(agreement) -> list[str]:
    """The unit the agreement's quantities, per-unit rates, tiers and minimums count in, and the units its
    products are also sold in: "Units are each: rates, tiers and minimums per each; a box is 50 each, a case
    600 each." Nothing when every product of the scope is counted in each and sold in no other unit."""
    # One query: each base unit of the scope, with the units its products are sold in (none: NULLs). The scope
    # is asked as two subqueries of the agreement's own products and lines: joined instead, a line's products
    # met every agreement of that line (seconds on the generated book).
    in_scope = (Q(pk__in=agreement.products.values("pk"))
                | Q(product_line__in=agreement.product_lines.values("pk")))
    rows = set(Product.objects.filter(in_scope).order_by()
               .values_list("base_unit", "units__base_quantity", "units__code").distinct())
    base_units = sorted({base for base, _, _ in rows})
    sizes = sorted((size, code, base) for base, size, code in rows if code is not None)
    if not sizes and base_units in ([], ["each"]):
        return []
    if len(base_units) == 1:
        words = f"Units are {base_units[0]}: rates, tiers and minimums per {base_units[0]}"
    else:
        words = f"Units are each product's base unit ({', '.join(base_units)}): rates, tiers and minimums per it"
    if sizes:
        words += "; " + ", ".join(f"a {code} is {plain(size)} {base}" for size, code, base in sizes)
    return [words + "."]


def period_in_words(start, end=None) -> str:
    """A period of months as a clerk says it: "November 2026" for one month, "January – March 2026" within a
    year, "November 2025 – January 2026" across years (never "2026-11 – 2026-11")."""
    if end is None or (start.year, start.month) == (end.year, end.month):
        return f"{start:%B %Y}"
    if start.year == end.year:
        return f"{start:%B} – {end:%B %Y}"
    return f"{start:%B %Y} – {end:%B %Y}"


_EXPORT_FILTER_WORDS = (
    ("customer", "customer {}"),
    ("manager", "account manager {}"),
    ("program", "program {}"),
    ("agreement", "agreement {}"),
)


def export_filters_in_words(filters: dict) -> str:
    """An export's filters (the accruals API's: customer, manager, program, agreement, month_from, month_to,
    months as YYYY-MM) as a sentence: "Customer SEED-001, account manager am.north; November 2026"; "Everything"
    when there is none."""
    def month(text):
        try:
            year, number = (int(part) for part in str(text).split("-")[:2])
            return date(year, number, 1)
        except (TypeError, ValueError):
            return None

    said = [words.format(filters[key]) for key, words in _EXPORT_FILTER_WORDS if filters.get(key)]
    first, last = month(filters.get("month_from")), month(filters.get("month_to"))
    if first and last:
        months = period_in_words(first, last)
    elif first:
        months = f"from {period_in_words(first)}"
    elif last:
        months = f"up to {period_in_words(last)}"
    else:
        months = "every month"
    subject = ", ".join(said) if said else "every customer you may see"
    text = f"{subject}; {months}"
    return text[0].upper() + text[1:]


_THRESHOLD = {"tier": "the next tier", "minimum": "the minimum", "cap": "the cap"}
_METHOD = {"actual": "the period has ended: its actual",
           "last year": "the months left shaped by last year's same months",
           "run-rate": "the average month so far, repeated"}


def _measure(forecast, value) -> str:
    if forecast.next_measure == "units":
        return f"{units(value)} units"
    return money(value)


def outlook_in_words(forecast) -> list[str]:
    """A stored outlook (AgreementForecast) in sentences: where the settlement period stands against its next
    threshold, and its forecast end; empty for none."""
    if forecast is None:
        return []
    lines = []
    period = period_in_words(forecast.period_start, forecast.period_end)
    if forecast.next_kind:
        catch_up = (f" ({money(forecast.next_extra_catch_up)} of it catch-up on the period's earlier months)"
                    if forecast.next_extra_catch_up else "")
        to_go = forecast.to_go_units if forecast.next_measure == "units" else forecast.to_go_amount
        lines.append(f"{_measure(forecast, to_go)} to {_THRESHOLD[forecast.next_kind]} of {period}; reaching it adds "
                     f"{money(forecast.next_extra)}{catch_up}.")
        pace = "on track" if forecast.own_per_month >= forecast.needed_per_month else "behind"
        lines.append(f"{forecast.days_left} days left: it needs {_measure(forecast, forecast.needed_per_month)} "
                     f"a month, and buys {_measure(forecast, forecast.own_per_month)} a month so far ({pace}).")
    lines.append(f"Forecast for {period}: {money(forecast.rebate)} of rebate on {money(forecast.volume_amount)} of "
                 f"purchases, {money(forecast.payout)} paid in {forecast.payout_month:%B %Y} "
                 f"({_METHOD[forecast.method]}); {money(forecast.rebate_to_date)} earned by {forecast.as_of:%Y-%m-%d}.")
    return lines
