from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from config.constraints import NamedConstraints
from config.validators import CODE_RULE, validate_code, validate_currency, validate_month
from customers.querysets import CustomerQuerySet, VisibleToQuerySet


class Segment(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


def default_currency() -> str:
    """A new customer's currency when none is given (settings.DEFAULT_CURRENCY)."""
    return settings.DEFAULT_CURRENCY


class Customer(NamedConstraints, models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        LOST = "lost", "Lost"

    class ValueTier(models.TextChoices):
        # Pareto by share of the last 12 months' net purchases (outlook.valuation, OUTLOOK_VALUE_TIERS).
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"

    class RiskLevel(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    code = models.CharField("ERP code", max_length=40, unique=True, validators=[validate_code], help_text=CODE_RULE)
    name = models.CharField(max_length=200)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="customers", null=True, blank=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="managed_customers",
        null=True,
        blank=True,
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Computed every night from purchases and claims (outlook.services.outlook_refresh), never sent by the ERP.
    # Database defaults too, so rows written in bulk (COPY) start as unvalued customers.
    value_tier = models.CharField(max_length=12, choices=ValueTier.choices, default=ValueTier.C, db_default="C")
    risk_level = models.CharField(max_length=8, choices=RiskLevel.choices, default=RiskLevel.LOW, db_default="low")
    risk_points = models.PositiveSmallIntegerField(default=0, db_default=0)
    # Each factor's contribution: [{"factor": ..., "points": ..., "words": ...}], largest first.
    risk_reasons = models.JSONField(default=list, db_default=[], blank=True)
    valued_on = models.DateField("value and risk as of", null=True, blank=True)
    lost_on = models.DateField(null=True, blank=True)
    # A referred customer: who referred it and the months its purchases earn the referrer's referral rules
    # ([referral_from, referral_from + referral_months), docs/rule-kinds.md). All three or none.
    referred_by = models.ForeignKey("self", on_delete=models.PROTECT, related_name="referrals", null=True,
                                    blank=True, help_text="The customer who referred this one.")
    referral_from = models.DateField(null=True, blank=True, validators=[validate_month],
                                     help_text="First month of the referral (first of the month).")
    referral_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How many months from the first the referrer earns on this customer.")
    # The customer's agreements book in it and its lines are stored in it (docs/currencies.md). The database
    # default is for rows written in bulk (COPY) that do not name it.
    currency = models.CharField(max_length=3, default=default_currency, db_default="USD",
                                validators=[validate_currency],
                                help_text="ISO 4217 code (e.g. USD, EUR): its agreements book in it.")
    # A buying group: its agreements earn on its members' purchases while they are members (GroupMembership,
    # docs/buying-groups.md). One level: a group is never a member.
    is_group = models.BooleanField("buying group", default=False, db_default=False,
                                   help_text="A buying group, whose members' purchases count together.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "code"]
        permissions = [("view_all_customers", "Can see every customer, not only their own")]
        constraints = [
            models.CheckConstraint(condition=~Q(code=""), name="customer_code_not_blank"),
            models.CheckConstraint(
                condition=Q(status="lost") | Q(lost_on__isnull=True), name="customer_lost_on_only_when_lost"
            ),
            models.CheckConstraint(condition=~Q(referred_by=F("pk")), name="customer_not_referred_by_itself"),
            models.CheckConstraint(
                condition=Q(referred_by__isnull=True, referral_from__isnull=True, referral_months__isnull=True)
                | Q(referred_by__isnull=False, referral_from__isnull=False, referral_months__isnull=False),
                name="customer_referral_stated_whole",
            ),
            models.CheckConstraint(condition=Q(referral_months__gte=1), name="customer_referral_months_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="customer_currency_is_code",
                                   violation_error_message="A currency is an ISO 4217 code: three capitals."),
        ]
        indexes = [
            models.Index(fields=["account_manager", "name"]),
            # Everyone who sees every customer pages through them in this order (the dashboard).
            models.Index(fields=["name", "code"], name="customer_name_code_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def clean(self):
        # Losing a customer ends its agreements on that date: the date is part of saying so.
        if self.status == self.Status.LOST and self.lost_on is None:
            raise ValidationError({"lost_on": "Say when the customer was lost (lost_on): its active agreements "
                                              "are terminated as of that date."})
        if self.status != self.Status.LOST and self.lost_on is not None:
            raise ValidationError({"lost_on": "Only a lost customer has a lost_on date."})


class GroupMembershipQuerySet(VisibleToQuerySet):
    # The group's account manager sees its members (a member's own manager sees the member's share only).
    customer_path = "group"


class GroupMembership(NamedConstraints, models.Model):
    """A customer's membership of a buying group, by month: from `joined` to the month before `ended` (still a
    member while `ended` is null). One group at a time, one level (a group is never a member): the database
    refuses the rest (a trigger of migration 0008_buying_groups)."""

    group = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="memberships")
    member = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="group_memberships")
    joined = models.DateField(validators=[validate_month], help_text="First month as a member (first of the month).")
    ended = models.DateField(null=True, blank=True, validators=[validate_month],
                             help_text="First month no longer a member (first of the month); empty while a member.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GroupMembershipQuerySet.as_manager()

    class Meta:
        ordering = ["group", "joined", "member"]
        constraints = [
            models.CheckConstraint(condition=~Q(group=F("member")), name="group_membership_not_of_itself"),
            models.CheckConstraint(condition=Q(ended__isnull=True) | Q(ended__gt=F("joined")),
                                   name="group_membership_ends_after_joined"),
            models.CheckConstraint(condition=Q(joined__day=1) & (Q(ended__isnull=True) | Q(ended__day=1)),
                                   name="group_membership_by_month"),
        ]
        indexes = [
            models.Index(fields=["member", "joined"], name="group_membership_member_idx"),
            models.Index(fields=["group", "joined"], name="group_membership_group_idx"),
        ]

    def __str__(self):
        until = f" to {self.ended:%Y-%m}" if self.ended else ""
        return f"{self.member_id} in {self.group_id} from {self.joined:%Y-%m}{until}"

    def counts_in(self, month) -> bool:
        """Whether the member's purchases of `month` (a first-of-month date) count for the group."""
        return member_in(self.joined, self.ended, month)


def member_in(joined, ended, month) -> bool:
    """The membership rule: a month counts from the month joined to the month before the month it ended (the
    same as `rebates.sql.scope.member_in_sql`; tests/customers/test_groups.py checks they agree)."""
    return joined <= month and (ended is None or month < ended)


class AuditRecord(models.Model):
    """Who did what, written in the same transaction as the change it describes."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_records"
    )
    # Who or what acted when no user did: "nightly schedule", "api", "management command".
    actor_label = models.CharField(max_length=80, blank=True)
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80)
    target_id = models.CharField(max_length=80)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        who = self.actor or self.actor_label or "system"
        return f"{self.at:%Y-%m-%d %H:%M} {who}: {self.summary}"


# Days between contacts of a cell that has no row (migration 0005 makes a row for each, with these days).
DEFAULT_CONTACT_CADENCES = {
    ("A", "high"): 14, ("A", "medium"): 30, ("A", "low"): 45,
    ("B", "high"): 30, ("B", "medium"): 60, ("B", "low"): 90,
    ("C", "high"): 60, ("C", "medium"): 90, ("C", "low"): 180,
}


class ContactCadence(NamedConstraints, models.Model):
    """How often a customer of one value tier and risk level is to be contacted (edited in the admin)."""

    value_tier = models.CharField(max_length=12, choices=Customer.ValueTier.choices)
    risk_level = models.CharField(max_length=8, choices=Customer.RiskLevel.choices)
    days = models.PositiveSmallIntegerField("days between contacts")

    class Meta:
        ordering = ["value_tier", "risk_level"]
        constraints = [
            models.UniqueConstraint(fields=["value_tier", "risk_level"], name="contact_cadence_one_per_cell"),
            models.CheckConstraint(condition=Q(days__gte=1), name="contact_cadence_days_positive"),
        ]

    def __str__(self):
        return f"{self.value_tier} × {self.risk_level}: every {self.days} days"


class ContactQuerySet(VisibleToQuerySet):
    customer_path = "customer"


class Contact(NamedConstraints, models.Model):
    """A call, visit, email or meeting an account manager had with a customer."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        VISIT = "visit", "Visit"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="contacts")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contacts")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    note = models.TextField(blank=True, max_length=2000)
    contacted_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-contacted_on", "-pk"]
        indexes = [models.Index(fields=["customer", "-contacted_on"], name="contact_customer_latest_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} with {self.customer.code} on {self.contacted_on:%Y-%m-%d}"
