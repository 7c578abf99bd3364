"""Buying-group memberships from an .xlsx or .csv file (columns group, member, joined, ended): the same
import batch, pages and guards as a purchase file, preview then commit, each row stated through
`customers.services.group_membership_record` (the memberships API's service: the same checks, marks and
audit rows).

A preview states every row in file order inside a transaction it then rolls back, so it finds exactly what
the commit would (a row overlapping a membership on record or one stated higher up the file is named with
its reason) and stores nothing. The commit states them again in one transaction: all or nothing. A row that
states what is on record already (the same group, member, joined and ended) is unchanged and not written
again, so a file sent twice changes nothing the second time. A membership file is small (at most
rebates.imports.memberships.MAX_MEMBERSHIPS rows): the commit reads it again rather than keeping it parsed.

Only groups the importing user may see are found (`Customer.objects.visible_to`), as the API finds the
group of `customers/{code}/memberships/`; the caller checks the permission (customers.change_customer).
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from customers.models import Customer, GroupMembership
from customers.services import audit_record, group_membership_record
from rebates.imports.common import ImportRefused, PurchaseFile
from rebates.imports.memberships import memberships_file_read
from rebates.imports.reading import stored_file_stream
from rebates.models import ImportBatch
from rebates.services.import_batches import ImportOutcome, discard_batch_files

FIELDS = ("group", "member", "joined", "ended")


@dataclass(frozen=True)
class MembershipCounts:
    """What a membership file states: memberships new, changed (their end) and already on record."""

    created: int
    updated: int
    unchanged: int


class _Refused(Exception):
    """Rows that cannot be stated (rolls the transaction back); `errors` name each by row and column."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s)")


def memberships_import_preview(*, batch: ImportBatch):
    """Read the batch's membership file and state its rows in a transaction rolled back: the batch becomes
    previewed with the counts a commit would make, or rejected naming every bad row and column."""
    read = _read(batch)
    if read is None:
        return ImportOutcome(_refreshed(batch), None)
    try:
        with transaction.atomic():
            try:
                counts = _state(read, user=batch.created_by)
            finally:
                transaction.set_rollback(True)  # a preview stores nothing: every row stated is rolled back
    except _Refused as refused:
        _reject(batch, refused.errors, line_count=len(read.lines))
        return ImportOutcome(_refreshed(batch), None)
    open_statuses = (ImportBatch.Status.PENDING, ImportBatch.Status.PREVIEWED)
    ImportBatch.objects.filter(pk=batch.pk, status__in=open_statuses).update(
        status=ImportBatch.Status.PREVIEWED, progress=100, errors=[], line_count=len(read.lines),
        created_count=counts.created, updated_count=counts.updated, unchanged_count=counts.unchanged,
        unmatched_count=0)
    return ImportOutcome(_refreshed(batch), counts)


def memberships_import_commit(*, batch: ImportBatch, user):
    """State the batch's memberships in one transaction (all or none), with an audit row for the file beside
    the service's row for each membership written. The caller holds the batch's import lock and has checked
    that the batch is neither stored nor rejected."""
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.IMPORTING, progress=0)
    read = _read(batch)
    if read is None:
        return ImportOutcome(_refreshed(batch), None)
    user = user if getattr(user, "is_authenticated", False) else batch.created_by
    try:
        with transaction.atomic():
            counts = _state(read, user=user)
            ImportBatch.objects.filter(pk=batch.pk).update(
                status=ImportBatch.Status.STORED, progress=100, errors=[], line_count=len(read.lines),
                created_count=counts.created, updated_count=counts.updated, unchanged_count=counts.unchanged,
                unmatched_count=0)
            audit_record(actor=user, action="membership_import.commit", target=batch,
                         summary=f"Membership file {batch.file_name}: {counts.created} new, {counts.updated} "
                                 f"changed, {counts.unchanged} unchanged",
                         data={"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged})
    except _Refused as refused:
        _reject(batch, refused.errors, line_count=len(read.lines))
        return ImportOutcome(_refreshed(batch), None)
    discard_batch_files(batch)
    return ImportOutcome(_refreshed(batch), counts)


def _state(read: PurchaseFile, *, user) -> MembershipCounts:
    """Each row stated through group_membership_record in file order, each in a savepoint of its own so every
    bad row is named; raises _Refused with them all (the caller's transaction then rolls back)."""
    lines = read.lines
    groups = {line["group"] for line in lines if isinstance(line.get("group"), str)}
    members = {line["member"] for line in lines if isinstance(line.get("member"), str)}
    # The groups the user may see, as the API finds a group; a member is found by its code alone, as there.
    group_of = {customer.code: customer for customer in Customer.objects.visible_to(user).filter(code__in=groups)}
    member_of = {customer.code: customer for customer in Customer.objects.filter(code__in=members)}
    errors: list[dict] = []
    seen: dict[tuple, int] = {}
    created = updated = unchanged = 0
    for index, line in enumerate(lines):
        problems = []
        group = _code(line.get("group"), "group", problems)
        member = _code(line.get("member"), "member", problems)
        joined = _month(line.get("joined"), "joined", problems, required=True)
        ended = _month(line.get("ended"), "ended", problems, required=False)
        if group is not None and group not in group_of:
            problems.append(("group", f"No buying group you may see has the code {group!r}."))
        if member is not None and member not in member_of:
            problems.append(("member", f"No customer has the ERP code {member!r}."))
        if not problems:
            key = (group, member, joined)
            if key in seen:
                problems.append(("joined", f"The same membership (group, member, joined) is already row "
                                           f"{read.rows[seen[key]]} of this file."))
            seen.setdefault(key, index)
        if problems:
            errors.extend(read.error_at({"line": index, "field": field, "message": message})
                          for field, message in problems)
            continue
        group, member = group_of[group], member_of[member]
        on_record = GroupMembership.objects.filter(group=group, member=member, joined=joined).first()
        if on_record is not None and on_record.ended == ended:
            unchanged += 1
            continue
        try:
            with transaction.atomic():
                group_membership_record(by=user, group=group, member=member, joined=joined, ended=ended)
        except ValidationError as invalid:
            for field, messages in _messages(invalid):
                errors.append(read.error_at({"line": index, "field": field, "message": " ".join(messages)}))
            continue
        except DatabaseError as refused:  # the database's own check (the trigger of the memberships)
            message = str(refused).strip().splitlines()[0] if str(refused).strip() else "Refused by the database."
            errors.append(read.error_at({"line": index, "field": "joined", "message": message}))
            continue
        if on_record is None:
            created += 1
        else:
            updated += 1
    if errors:
        raise _Refused(errors)
    return MembershipCounts(created, updated, unchanged)


def _messages(invalid: ValidationError):
    """(field, messages) of the service's refusal, each field one of the file's columns."""
    if hasattr(invalid, "error_dict"):
        for field, messages in invalid.message_dict.items():
            yield (field if field in FIELDS else "joined"), messages
    else:
        yield "joined", invalid.messages


def _code(value, field, problems) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append((field, "This field is required."))
        return None
    return str(value).strip()


def _month(value, field, problems, *, required) -> date | None:
    """The first of the month of a YYYY-MM text or a date cell; None (with the problem noted) otherwise."""
    if value is None or value == "":
        if required:
            problems.append((field, "This field is required."))
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.replace(day=1)
    text = str(value).strip()
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return date(int(text[:4]), int(text[5:]), 1)
    problems.append((field, f"A month as YYYY-MM, not {text!r}."))
    return None


def _read(batch: ImportBatch) -> PurchaseFile | None:
    """The batch's file read with the guards; a refused or empty file rejects the batch (None is returned)."""
    try:
        with stored_file_stream(batch.file) as stream:
            read = memberships_file_read(stream, name=batch.file_name or batch.file.name)
    except ImportRefused as refused:
        _reject(batch, [{"row": None, "column": None, "field": "file", "erp_line_id": None,
                         "message": str(refused)}])
        return None
    if not read.lines:
        _reject(batch, [{"row": None, "column": None, "field": "file", "erp_line_id": None,
                         "message": "The file holds no memberships under its header row."}])
        return None
    return read


def _reject(batch: ImportBatch, errors: list[dict], line_count: int = 0) -> None:
    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.REJECTED, progress=100,
                                                       errors=errors, line_count=line_count)
        audit_record(actor=batch.created_by, action="membership_import.reject", target=batch,
                     summary=f"Membership file {batch.file_name} rejected: {len(errors)} problem(s)",
                     data={"problems": len(errors)})
    discard_batch_files(batch)


def _refreshed(batch: ImportBatch) -> ImportBatch:
    batch.refresh_from_db()
    return batch
