"""A record's history: who created, changed, approved, paid, closed or terminated what, read from the audit
records (written by the services in the transaction of each change), and which accrual run booked which
entries of an agreement.

Every read starts from `visible_to(user)`: an object the user may not see is a 404, and a customer's history
holds only the records of that customer, its agreements and their settlements.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import CharField, Count, Max, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404

from customers.models import AuditRecord, Customer
from rebates.models import LedgerEntry, RebateAgreement, Settlement

# Records shown on a page before "show all"; "show all" shows up to HISTORY_ALL (the API pages through all).
HISTORY_SHOWN = 20
HISTORY_ALL = 1000

CUSTOMER = Customer._meta.label_lower
AGREEMENT = RebateAgreement._meta.label_lower
SETTLEMENT = Settlement._meta.label_lower


def _keys(queryset) -> QuerySet:
    """The primary keys of a queryset as text, as audit records name their target."""
    return queryset.annotate(key=Cast("pk", CharField())).values("key")


def _records(condition: Q) -> QuerySet:
    return AuditRecord.objects.filter(condition).select_related("actor").order_by("-at", "-id")


def agreement_records(*, agreement: RebateAgreement) -> QuerySet:
    """The audit records about an agreement and its settlements, newest first (the agreement is one the
    user may see: read it through `visible_to`)."""
    settlements = Settlement.objects.filter(agreement=agreement)
    return _records(Q(target_type=AGREEMENT, target_id=str(agreement.pk))
                    | Q(target_type=SETTLEMENT, target_id__in=_keys(settlements)))


def settlement_records(*, settlement: Settlement) -> QuerySet:
    """The audit records about a settlement (one the user may see), newest first."""
    return _records(Q(target_type=SETTLEMENT, target_id=str(settlement.pk)))


def customer_records(*, customer: Customer) -> QuerySet:
    """The audit records about a customer (one the user may see), its agreements and their settlements,
    newest first."""
    agreements = RebateAgreement.objects.filter(customer=customer)
    settlements = Settlement.objects.filter(agreement__customer=customer)
    return _records(Q(target_type=CUSTOMER, target_id=str(customer.pk))
                    | Q(target_type=AGREEMENT, target_id__in=_keys(agreements))
                    | Q(target_type=SETTLEMENT, target_id__in=_keys(settlements)))


def agreement_history(*, user, number: str) -> tuple[RebateAgreement, QuerySet]:
    """The agreement (404 unless the user may see it) and its records (`agreement_records`)."""
    agreement = get_object_or_404(RebateAgreement.objects.visible_to(user), number=number)
    return agreement, agreement_records(agreement=agreement)


def settlement_history(*, user, pk: int) -> tuple[Settlement, QuerySet]:
    """The settlement (404 unless the user may see it) and its records (`settlement_records`)."""
    settlement = get_object_or_404(Settlement.objects.visible_to(user), pk=pk)
    return settlement, settlement_records(settlement=settlement)


def customer_history(*, user, code: str) -> tuple[Customer, QuerySet]:
    """The customer (404 unless the user may see it) and its records (`customer_records`)."""
    customer = get_object_or_404(Customer.objects.visible_to(user), code=code)
    return customer, customer_records(customer=customer)


def record_who(record: AuditRecord) -> str:
    """Who acted, as a clerk reads it: the user's full name (else username), else what acted for them."""
    if record.actor is not None:
        return record.actor.get_full_name() or record.actor.username
    return record.actor_label or "system"


def record_subject(record: AuditRecord) -> str:
    """What the record is about, in words: "agreement", "settlement" or "customer"."""
    return {CUSTOMER: "customer", AGREEMENT: "agreement", SETTLEMENT: "settlement"}.get(record.target_type,
                                                                                       record.target_type)


@dataclass(frozen=True, slots=True)
class RunBooking:
    """What one accrual run booked on an agreement: its entries and their sum."""

    run_id: int
    as_of: date
    entries: int
    total: Decimal
    booked_at: datetime


def agreement_runs(*, agreement: RebateAgreement) -> list[RunBooking]:
    """The accrual runs that booked entries of the agreement, newest first, with the number and sum of the
    entries each booked (one grouped query)."""
    rows = (LedgerEntry.objects.filter(agreement=agreement, accrual_run__isnull=False)
            .values("accrual_run_id", "accrual_run__as_of")
            .annotate(entries=Count("pk"), total=Sum("amount"), booked_at=Max("booked_at"))
            .order_by("-accrual_run_id"))
    return [RunBooking(row["accrual_run_id"], row["accrual_run__as_of"], row["entries"], row["total"],
                       row["booked_at"]) for row in rows]


def history_shown(records: QuerySet, *, show_all: bool = False) -> tuple[list[AuditRecord], bool]:
    """The records a page shows (the newest HISTORY_SHOWN, or up to HISTORY_ALL when all are asked for) and
    whether more are left; one query."""
    cap = HISTORY_ALL if show_all else HISTORY_SHOWN
    shown = list(records[:cap + 1])
    return shown[:cap], len(shown) > cap


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One line of a page's history: when, who, what it is about ("settlement 17") and what was done."""

    at: datetime
    who: str
    about: str
    summary: str


def history_section(records: QuerySet, *, show_all: bool = False) -> dict:
    """What a page's history section shows: its rows (the newest HISTORY_SHOWN, or up to HISTORY_ALL when
    all are asked for) and whether more are left; one query."""
    shown, more = history_shown(records, show_all=show_all)
    return {"rows": [HistoryRow(record.at, record_who(record), f"{record_subject(record)} {record.target_id}",
                                record.summary) for record in shown],
            "more": more}
