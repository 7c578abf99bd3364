"""What the operator is told: alerts raised and cleared by the checks, and when a worker was last seen."""

from django.db import models
from django.db.models import Q


class Alert(models.Model):
    """One occurrence of a problem, from when a check first saw it until a check saw it gone.

    At most one open alert per kind and key (a run, a queue, "the broker"): a check that sees the problem
    again only moves `last_seen`, so the administrators get one mail when it is raised and one when it clears.
    """

    class Kind(models.TextChoices):
        RUN_FAILED = "run_failed", "Accrual run failed"
        RUN_STALE = "run_stale", "Accrual run stale"
        LEDGER_DRIFT = "ledger_drift", "Ledger drift"
        QUEUE_WAITING = "queue_waiting", "Queue backed up"
        EXPORT_STUCK = "export_stuck", "Export stuck"
        IMPORT_STUCK = "import_stuck", "Import stuck"
        BROKER_DOWN = "broker_down", "Broker down"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What the alert is about within its kind: "run 42", "celery", "broker".
    key = models.CharField(max_length=100)
    message = models.CharField(max_length=500)
    # Ids, counts and ages only: never a customer's or a user's name.
    details = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    # Set once each mail has gone, so a check killed midway sends a missing mail later, never one a minute.
    raised_mailed_at = models.DateTimeField(null=True, blank=True)
    cleared_mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], condition=Q(cleared_at__isnull=True),
                                    name="one_open_alert_per_kind_and_key"),
            models.CheckConstraint(condition=Q(cleared_at__isnull=True) | Q(cleared_at__gte=models.F("started_at")),
                                   name="alert_clears_after_it_starts"),
        ]
        indexes = [models.Index(fields=["cleared_at"], name="alert_open_idx")]

    def __str__(self):
        state = "open" if self.cleared_at is None else "cleared"
        return f"{self.get_kind_display()}: {self.key} ({state})"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class Heartbeat(models.Model):
    """When a process of a kind ("worker": the minute check ran on a Celery worker) was last seen alive."""

    name = models.CharField(max_length=40, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} seen at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class TaskTally(models.Model):
    """Every finished Celery task of a name, counted across all workers (the metrics page reads it): how many,
    how many failed, their seconds in all, and the last one's seconds and answer (counts, never names)."""

    name = models.CharField(max_length=200, unique=True)
    runs = models.PositiveBigIntegerField(default=0)
    failures = models.PositiveBigIntegerField(default=0)
    seconds_total = models.FloatField(default=0)
    last_seconds = models.FloatField(default=0)
    last_result = models.JSONField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name}: {self.runs} runs"
