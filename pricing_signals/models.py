"""Competitor price claims, detection rules and the market price signals they add up to.

"Signal" here is a market pricing signal, nothing to do with django.dispatch.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from config.constraints import NamedConstraints
from customers.models import Customer
from pricing_signals.querysets import PriceClaimQuerySet
from rebates.models import ContractPrice, Product, ProductLine, RebateAgreement, money_field, unit_price_field


class Competitor(models.Model):
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class DetectionRule(NamedConstraints, models.Model):
    """When claims witness a signal. One global default (no product line) and optional per-line overrides."""

    product_line = models.OneToOneField(
        ProductLine,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="detection_rule",
        help_text="Leave empty for the global default.",
    )
    window_days = models.PositiveIntegerField(default=30)
    min_customers = models.PositiveIntegerField("minimum distinct customers", default=3)
    tolerance_percent = models.DecimalField(max_digits=6, decimal_places=3, default=2)
    same_competitor = models.BooleanField("claims must name the same competitor", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_line"]
        constraints = [
            models.CheckConstraint(condition=Q(window_days__gt=0), name="rule_window_positive"),
            models.CheckConstraint(condition=Q(min_customers__gt=0), name="rule_min_customers_positive"),
            models.CheckConstraint(
                condition=Q(tolerance_percent__gt=0, tolerance_percent__lt=100), name="rule_tolerance_positive"
            ),
            # At most one global default.
            models.UniqueConstraint(
                Coalesce("product_line", Value(0)),
                name="one_global_detection_rule",
                violation_error_message="There is already a global default detection rule.",
            ),
        ]

    def __str__(self):
        scope = self.product_line or "global default"
        return f"Detection rule ({scope}): {self.window_days} days, {self.min_customers} customers"


class MarketSignal(NamedConstraints, models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        MATCHED = "matched", "Matched"
        HELD = "held", "Held"
        CLOSED = "closed", "Closed"

    class Decision(models.TextChoices):
        MATCH = "match", "Match"
        HOLD = "hold", "Hold"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="market_signals")
    competitor = models.ForeignKey(
        Competitor, on_delete=models.PROTECT, null=True, blank=True, related_name="market_signals"
    )
    window_start = models.DateField()
    window_end = models.DateField()
    claim_count = models.PositiveIntegerField(default=0)
    customer_count = models.PositiveIntegerField(default=0)
    median_price = unit_price_field()
    our_average_price = unit_price_field(null=True, blank=True)
    drop_percent = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    decision = models.CharField(max_length=6, choices=Decision.choices, blank=True)
    decision_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    match_price = unit_price_field(null=True, blank=True)
    match_effective_from = models.DateField(null=True, blank=True)
    matched_agreements = models.ManyToManyField(RebateAgreement, blank=True, related_name="matched_signals")
    # Set when detection joined this signal to an older one that had a decision too: both decisions stay
    # on record, the claims move to the signal it was merged into.
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_signals"
    )
    detected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-window_end", "product"]
        permissions = [("decide_marketsignal", "Can decide on a market signal (match or hold)")]
        constraints = [
            models.CheckConstraint(condition=Q(window_end__gte=F("window_start")), name="signal_window_ordered"),
            models.CheckConstraint(condition=Q(median_price__gt=0), name="signal_median_positive"),
            models.CheckConstraint(
                condition=~Q(decision="match") | Q(match_price__isnull=False, match_effective_from__isnull=False),
                name="signal_match_has_price_and_date",
            ),
            models.CheckConstraint(
                condition=~Q(decision="hold") | ~Q(decision_reason=""), name="signal_hold_has_reason"
            ),
        ]

    def __str__(self):
        return f"Signal #{self.pk} {self.product.sku} at {self.median_price}"


def evidence_path(claim, filename):
    return f"claims/evidence/{claim.reported_on:%Y/%m}/{filename}"


class PriceClaim(NamedConstraints, models.Model):
    class Channel(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        VISIT = "visit", "Visit"
        QUOTE = "quote", "Quote document"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CORROBORATED = "corroborated", "Corroborated"
        UNSUBSTANTIATED = "unsubstantiated", "Unsubstantiated"
        DISMISSED = "dismissed", "Dismissed"

    # No index of their own: the (customer, reported_on) and (product, reported_on) indexes below serve
    # both, and every index is one more write when detection updates a million claims.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="price_claims", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="price_claims", db_index=False)
    # Nor these: no page or detection reads claims by competitor or by who recorded them (deleting a
    # competitor or a user, which these keys protect, is rare and may scan), and the first detection of a
    # million claims rebuilds every index of the table.
    competitor = models.ForeignKey(Competitor, on_delete=models.PROTECT, related_name="price_claims", db_index=False)
    claimed_price = unit_price_field()
    reported_on = models.DateField()
    channel = models.CharField(max_length=8, choices=Channel.choices)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    db_index=False)
    note = models.TextField(blank=True)
    evidence = models.FileField(upload_to=evidence_path, blank=True)
    evidence_size = models.PositiveIntegerField(null=True, blank=True, help_text="Bytes, as received.")
    evidence_sha256 = models.CharField(
        "evidence SHA-256", max_length=64, blank=True, help_text="Shows the file kept is the file received."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    signal = models.ForeignKey(
        MarketSignal, on_delete=models.SET_NULL, null=True, blank=True, related_name="claims"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Saved and not checked yet: set when a claim is recorded, cleared by its check or a sweep. A claim
    # whose check waits too long (its message lost while the broker was down) is queued again.
    check_pending = models.BooleanField(default=False, db_default=False)

    objects = PriceClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(claimed_price__gt=0), name="claim_price_positive"),
            models.CheckConstraint(
                condition=~Q(status="corroborated") | Q(signal__isnull=False), name="claim_corroborated_has_signal"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "reported_on"]),
            models.Index(fields=["customer", "reported_on"]),
            # Only the few claims whose check is still to run: the sweeper finds them without a scan.
            models.Index(fields=["created_at"], condition=Q(check_pending=True), name="claim_check_pending"),
        ]

    def __str__(self):
        return f"{self.customer.code} says {self.competitor} sells {self.product.sku} at {self.claimed_price}"


class SweptProduct(models.Model):
    """What the last whole detection of a product's claims left stored: the rule it ran under, how many
    claims were not dismissed and their fingerprint (sql.claims_state: each claim's id, customer,
    competitor, date, price, signal and whether it is corroborated). While a product's rule and fingerprint
    stay as recorded and no check of its claims is still to run, detecting it again can only move its
    claims that are not corroborated between pending and unsubstantiated, by the date: the nightly sweep
    does just that for it, instead of reading and detecting its claims again."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, primary_key=True, related_name="+")
    swept_on = models.DateField(help_text="The date its claims were last detected as of.")
    window_days = models.PositiveIntegerField()
    min_customers = models.PositiveIntegerField()
    tolerance_percent = models.DecimalField(max_digits=6, decimal_places=3)
    same_competitor = models.BooleanField()
    claim_count = models.PositiveIntegerField()
    fingerprint = models.BigIntegerField()

    def __str__(self):
        return f"Claims of product #{self.product_id} detected as of {self.swept_on}"


class SignalDecision(NamedConstraints, models.Model):
    """One decision on a signal (match or hold), kept when a later decision supersedes it: the signal's own
    decision fields always tell the latest, these rows the whole history."""

    signal = models.ForeignKey(MarketSignal, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(max_length=6, choices=MarketSignal.Decision.choices)
    reason = models.TextField(blank=True)
    match_price = unit_price_field(null=True, blank=True)
    match_effective_from = models.DateField(null=True, blank=True)
    agreements = models.ManyToManyField(RebateAgreement, blank=True, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="supersedes")

    class Meta:
        ordering = ["signal", "decided_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision="match") | Q(match_price__isnull=False, match_effective_from__isnull=False),
                name="decision_match_has_price_and_date",
            ),
            models.CheckConstraint(condition=~Q(decision="hold") | ~Q(reason=""), name="decision_hold_has_reason"),
            # One decision in force per signal: the one nothing superseded.
            models.UniqueConstraint(fields=["signal"], condition=Q(superseded_at__isnull=True),
                                    name="one_current_decision_per_signal"),
        ]

    def __str__(self):
        return f"{self.get_decision_display()} on signal #{self.signal_id} at {self.decided_at:%Y-%m-%d %H:%M}"


class SignalPriceMatch(models.Model):
    """A contract price change made to match a market signal: the agreement's price history names the
    signal in its reason, and this row links the two for the signal's evidence record."""

    signal = models.ForeignKey(MarketSignal, on_delete=models.PROTECT, related_name="price_matches")
    contract_price = models.OneToOneField(ContractPrice, on_delete=models.PROTECT, related_name="signal_match")
    decision = models.ForeignKey(SignalDecision, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="price_matches")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["signal", "contract_price__agreement__number"]
        verbose_name_plural = "signal price matches"

    def __str__(self):
        return f"{self.contract_price} matches signal #{self.signal_id}"


__all__ = ["Competitor", "DetectionRule", "MarketSignal", "PriceClaim", "SignalDecision", "SignalPriceMatch",
           "SweptProduct", "money_field"]
