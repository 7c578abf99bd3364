"""The API's own table: the `Idempotency-Key`s clients send with writes (config/api/idempotency.py).

A model of the rebates app (table rebates_idempotencykey), kept beside the API that uses it; rebates.models
imports it so Django registers it.
"""

from django.conf import settings
from django.db import models

from config.constraints import NamedConstraints


class IdempotencyKey(NamedConstraints, models.Model):
    """An `Idempotency-Key` a client sent with a write: a resend with the same key and body gets the first answer."""

    class Status(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        DONE = "done", "Done"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_idempotency_key_per_user")]

    def __str__(self):
        return f"{self.key} ({self.status})"
