"""What every import of a file shares, whatever the file holds: the outcome of a step, and letting go of the
files kept beside a batch once it is stored or rejected."""

import logging
from dataclasses import dataclass

from rebates.models import ImportBatch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportOutcome:
    """What a preview or a commit found: the batch (status, counts, errors) and, when it went through,
    the ingest's result (for a membership file, its MembershipCounts)."""

    batch: ImportBatch
    result: object | None

    @property
    def ok(self) -> bool:
        return self.batch.status in (ImportBatch.Status.PREVIEWED, ImportBatch.Status.STORED)


def discard_batch_files(batch: ImportBatch) -> None:
    # The upload and the checked lines are kept only until the import is stored or rejected.
    for field in ("file", "checked_lines"):
        kept = getattr(batch, field)
        if kept:
            try:
                kept.delete(save=False)
            except OSError:
                logger.warning("could not delete the %s of import batch %s", field, batch.pk, exc_info=True)
            ImportBatch.objects.filter(pk=batch.pk).update(**{field: ""})
