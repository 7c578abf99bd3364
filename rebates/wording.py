"""An agreement's terms in a clerk's words, for its page: what the rule's kind earns and when it is paid,
then the minimum, cap, commitment and bonuses, one sentence each. Each kind words itself
(rebates/engine/kinds.py); this module adds what every rule shares."""

from functools import cached_property

from rebates.engine import rule_kind
from rebates.engine.words import money, plain

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
    minimum, cap, commitment and bonus, one sentence each."""
    rule = getattr(agreement, "rule", None)
    paid = _PAID.get(agreement.settlement_frequency,
                     f"paid {agreement.get_settlement_frequency_display().lower()}")
    if rule is None:
        return [f"No rebate rule yet, {paid}."]
    lines = [rule_kind(rule.kind).terms(_RuleAsStored(rule), paid)]
    if rule.minimum:
        lines.append(f"Nothing is earned until {plain(rule.minimum)} period to date.")
    if rule.cap is not None:
        lines.append(f"At most {money(rule.cap)} a settlement period.")
    if rule.commitment_rule:
        lines.append("A month below the committed quantity earns no rebate.")
    for bonus in rule.bonuses.all():
        lines.append(f"Bonus: {plain(bonus.extra_percent)}% more on the whole scope in a period with at least "
                     f"{plain(bonus.minimum_quantity)} units of {bonus.product.sku}.")
    return lines
