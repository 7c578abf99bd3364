from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from config.constraints import NamedConstraints
from config.validators import CODE_RULE, validate_code
from customers.querysets import CustomerQuerySet


class Segment(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Customer(NamedConstraints, models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        LOST = "lost", "Lost"

    class ValueTier(models.TextChoices):
        STRATEGIC = "strategic", "Strategic"
        KEY = "key", "Key"
        STANDARD = "standard", "Standard"
        SMALL = "small", "Small"

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
    value_tier = models.CharField(max_length=12, choices=ValueTier.choices, default=ValueTier.STANDARD)
    lost_on = models.DateField(null=True, blank=True)
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
