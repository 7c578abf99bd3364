"""Detection rules (the global default and per product line overrides), created and changed with their audit
row. Claims follow a changed rule from the next sweep on (or at once through `signals_detect`)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from customers.services import audit_record
from pricing_signals.models import DetectionRule

RULE_FIELDS = ("window_days", "min_customers", "tolerance_percent", "same_competitor")


def _saved(rule: DetectionRule) -> None:
    rule.full_clean()
    rule.save()


def detection_rule_create(*, by, product_line=None, window_days: int, min_customers: int, tolerance_percent,
                          same_competitor: bool = False) -> DetectionRule:
    """A product line's override (or, with no product line, the global default if there is none yet).
    Raises ValidationError naming the field that is wrong."""
    with transaction.atomic():
        rule = DetectionRule(product_line=product_line, window_days=window_days, min_customers=min_customers,
                             tolerance_percent=tolerance_percent, same_competitor=same_competitor)
        _saved(rule)
        audit_record(actor=by, action="detection_rule.create", target=rule, summary=f"{rule} created",
                     data={name: str(getattr(rule, name)) for name in RULE_FIELDS})
        return rule


def detection_rule_update(*, by, rule: DetectionRule, **fields) -> DetectionRule:
    """Change a rule's numbers (`RULE_FIELDS`); the product line it governs stays. The audit row names what
    changed, old and new."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({name: "A rule's product line stays; add an override instead." for name in unknown})
    with transaction.atomic():
        rule = DetectionRule.objects.select_for_update().get(pk=rule.pk)
        changed = {}
        for name, value in fields.items():
            if getattr(rule, name) != value:
                changed[name] = [str(getattr(rule, name)), str(value)]
                setattr(rule, name, value)
        if changed:
            _saved(rule)
            audit_record(actor=by, action="detection_rule.update", target=rule,
                         summary=f"{rule} changed: {', '.join(changed)}", data=changed)
        return rule
