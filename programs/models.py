"""A what-if of a program: drafted terms replayed on a past period's actual lines, kept with its answer.

Nothing here is booked: a job holds its drafts, its progress and, once done, what each customer would have
earned under each draft beside the current terms.
"""

from django.conf import settings
from django.db import models

from rebates.models import RebateProgram


class WhatIfJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    program = models.ForeignKey(RebateProgram, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    period_from = models.DateField(help_text="First month replayed (first of the month).")
    period_to = models.DateField(help_text="Last month replayed (first of the month).")
    # Up to three drafts, each as programs.whatif.Draft.as_json() writes it (decimals as strings).
    drafts = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0 to 100.")
    agreements_total = models.PositiveIntegerField(default=0)
    agreements_done = models.PositiveIntegerField(default=0)
    # How many times a worker took the job: one that keeps losing its worker is failed, not retried for ever.
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("view_effectiveness", "Can read program effectiveness (over the customers they may see)"),
            ("run_whatif", "Can draft alternative terms for a program and replay them"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="whatif_status_created_idx")]

    def __str__(self):
        return f"What-if {self.pk} of {self.program_id} ({self.status})"
