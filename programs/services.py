"""Writes of the programs app: starting a what-if, running it, and finding one whose worker was lost.

A what-if books nothing: its job row records the drafts, its progress and its answer. A small program is
replayed at once, in the request; a larger one runs as a background job that the page and the API poll.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from config import clock
from config.celery_app import queue_on_commit
from customers.services import audit_record
from programs.models import WhatIfJob
from programs.whatif import MAX_DRAFTS, Draft, DraftError, draft_rule, program_agreement_ids, program_replay

logger = logging.getLogger(__name__)

# Programs with up to this many agreements are replayed in the request; larger ones in the background.
INLINE_AGREEMENTS = 200
# A running job whose heartbeat is older than this lost its worker: it is queued again (or failed).
STALE_SECONDS = 60
# Taken by a worker this many times without finishing: failed rather than tried again.
MAX_ATTEMPTS = 3


class WhatIfError(ValueError):
    """Bad input for a what-if; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def drafts_check(drafts: list[Draft]) -> None:
    """Refuse (WhatIfError naming drafts.N.field) no drafts, too many, or one the engine cannot compute."""
    if not drafts:
        raise WhatIfError({"drafts": "Draft at least one alternative."})
    if len(drafts) > MAX_DRAFTS:
        raise WhatIfError({"drafts": f"At most {MAX_DRAFTS} drafts at a time."})
    errors = {}
    for index, draft in enumerate(drafts):
        try:
            draft_rule(draft)
        except DraftError as error:
            errors[f"drafts.{index}.{error.field}" if error.field else f"drafts.{index}"] = str(error)
    if errors:
        raise WhatIfError(errors)


def whatif_start(*, user, program, period, drafts: list[Draft], inline_limit: int | None = None) -> WhatIfJob:
    """Record a what-if of `program` over `period` (a programs.selectors.Period) with up to three drafts.

    Up to `inline_limit` agreements (INLINE_AGREEMENTS) it is replayed at once and the job comes back done;
    otherwise it is queued once this transaction commits. The caller checks the user may run what-ifs."""
    drafts_check(drafts)
    limit = INLINE_AGREEMENTS if inline_limit is None else inline_limit
    ids = program_agreement_ids(user=user, program=program, period_from=period.start, period_to=period.end)
    with transaction.atomic():
        job = WhatIfJob.objects.create(program=program, requested_by=user, period_from=period.start,
                                       period_to=period.end, drafts=[d.as_json() for d in drafts],
                                       agreements_total=len(ids))
        audit_record(actor=user, action="whatif.start", target=job,
                     summary=f"What-if {job.pk} of {program.code}, {period.start:%Y-%m} to {period.end:%Y-%m}, "
                             f"{len(drafts)} draft(s), {len(ids)} agreements",
                     data={"drafts": job.drafts})
        if len(ids) > limit:
            from programs.tasks import whatif_job_execute

            queue_on_commit(whatif_job_execute, job.pk)
    if len(ids) <= limit:
        try:
            job = whatif_job_run(job_id=job.pk)
        except Exception:  # recorded on the job (failed, with its error) and logged: the page says so
            job.refresh_from_db()
    return job


def whatif_job_run(*, job_id: int, progress=None) -> WhatIfJob:
    """Replay the job's program and store the answer.

    Safe to run twice: a finished or failed job is left alone, and so is one another worker is running (its
    heartbeat is fresh); one whose worker was lost is replayed from the start, since nothing is stored until
    the whole answer is. `progress(done, total)` is called after each chunk of agreements."""
    now = clock.now()
    with transaction.atomic():
        job = WhatIfJob.objects.select_for_update().select_related("program", "requested_by").get(pk=job_id)
        if job.status in (WhatIfJob.Status.DONE, WhatIfJob.Status.FAILED):
            return job
        if job.status == WhatIfJob.Status.RUNNING and job.heartbeat_at and \
                job.heartbeat_at > now - timedelta(seconds=STALE_SECONDS):
            return job
        job.status, job.progress, job.agreements_done = WhatIfJob.Status.RUNNING, 0, 0
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.save(update_fields=["status", "progress", "agreements_done", "attempts", "started_at", "heartbeat_at"])
    try:
        drafts = [Draft.from_json(data) for data in job.drafts]
        ids = program_agreement_ids(user=job.requested_by, program=job.program, period_from=job.period_from,
                                    period_to=job.period_to)

        def report(done, total):
            WhatIfJob.objects.filter(pk=job.pk, status=WhatIfJob.Status.RUNNING).update(
                progress=min(99, 100 * done // total) if total else 99, agreements_done=done,
                heartbeat_at=clock.now())
            if progress is not None:
                progress(done, total)

        result = program_replay(agreement_ids=ids, drafts=drafts, period_from=job.period_from,
                                period_to=job.period_to, progress=report)
        WhatIfJob.objects.filter(pk=job.pk, status=WhatIfJob.Status.RUNNING).update(
            status=WhatIfJob.Status.DONE, progress=100, agreements_total=len(ids), agreements_done=len(ids),
            result=result.as_json(), finished_at=clock.now())
    except Exception as error:
        logger.exception("what-if %s failed", job_id)
        WhatIfJob.objects.filter(pk=job.pk).update(status=WhatIfJob.Status.FAILED, finished_at=clock.now(),
                                                   error=f"{type(error).__name__}: {error}"[:2000])
        raise
    job.refresh_from_db()
    return job


def whatif_jobs_recover() -> dict[str, int]:
    """Queue again the what-ifs that lost their message or their worker; fail those tried MAX_ATTEMPTS times.

    Queued jobs waiting longer than QUEUED_WORK_REQUEUE_SECONDS (a day at most) are queued again; running jobs
    whose heartbeat is older than STALE_SECONDS are put back in the queue, or failed after MAX_ATTEMPTS.
    Each replay is read-only until its one final write, so a job queued twice costs only time."""
    from programs.tasks import whatif_job_execute

    now = clock.now()
    counts = {"requeued": 0, "failed": 0}
    waited = now - timedelta(seconds=settings.QUEUED_WORK_REQUEUE_SECONDS)
    with transaction.atomic():
        queued = WhatIfJob.objects.filter(status=WhatIfJob.Status.QUEUED, created_at__lt=waited,
                                          created_at__gte=now - timedelta(days=1))
        stale = WhatIfJob.objects.select_for_update(skip_locked=True).filter(
            status=WhatIfJob.Status.RUNNING, heartbeat_at__lt=now - timedelta(seconds=STALE_SECONDS))
        for job in stale.order_by("pk"):
            if job.attempts >= MAX_ATTEMPTS:
                WhatIfJob.objects.filter(pk=job.pk).update(
                    status=WhatIfJob.Status.FAILED, finished_at=now,
                    error=f"Its worker stopped {job.attempts} times; start the what-if again.")
                counts["failed"] += 1
            else:
                WhatIfJob.objects.filter(pk=job.pk).update(status=WhatIfJob.Status.QUEUED)
                queue_on_commit(whatif_job_execute, job.pk)
                counts["requeued"] += 1
        for pk in queued.order_by("pk").values_list("pk", flat=True)[:1000]:
            queue_on_commit(whatif_job_execute, pk)
            counts["requeued"] += 1
    return counts
