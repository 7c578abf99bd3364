"""Celery tasks of the programs app: each takes ids, calls one service, and is safe to run twice or to be
killed midway (a what-if stores its answer in one final write)."""

from celery import shared_task


@shared_task(name="programs.tasks.whatif_job_execute")
def whatif_job_execute(job_id):
    """Replay a what-if (a finished one is left alone; one whose worker was lost is replayed again)."""
    from programs.services import whatif_job_run

    return whatif_job_run(job_id=job_id).status


@shared_task(name="programs.tasks.whatif_jobs_recover")
def whatif_jobs_recover():
    """The beat entry: queue again what-ifs whose message or worker was lost."""
    from programs.services import whatif_jobs_recover as recover

    return recover()
