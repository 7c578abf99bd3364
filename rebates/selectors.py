"""Reads: every function takes the user and starts from `visible_to(user)`."""

from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from customers.models import Customer
from rebates.models import LedgerEntry, RebateAgreement

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=16, decimal_places=2))
EARNED_KINDS = ("accrual", "catch_up", "adjustment")


def _ledger_sum(kinds=None):
    entries = LedgerEntry.objects.filter(agreement__customer=OuterRef("pk"))
    if kinds:
        entries = entries.filter(kind__in=kinds)
    total = entries.order_by().values("agreement__customer").annotate(total=Sum("amount")).values("total")
    return Coalesce(Subquery(total, output_field=DecimalField(max_digits=16, decimal_places=2)), ZERO)


def dashboard_customers(*, user):
    """The user's customers with their active agreements, rebate accrued to date and unpaid balance."""
    return (
        Customer.objects.visible_to(user)
        .select_related("segment", "account_manager")
        .annotate(
            active_agreements=Count("agreements", filter=Q(agreements__status="active")),
            accrued_to_date=_ledger_sum(EARNED_KINDS),
            unpaid_balance=_ledger_sum(),
        )
        .order_by("name", "code")
    )


def customer_for_page(*, user, code):
    """One customer the user may see, or 404 (never a hint that someone else's exists)."""
    return get_object_or_404(
        Customer.objects.visible_to(user).select_related("segment", "account_manager"), code=code
    )


def customer_agreements(*, user, customer):
    return (
        RebateAgreement.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("program", "rule")
        .annotate(balance=Coalesce(Sum("entries__amount"), ZERO))
        .order_by("-start_month", "number")
    )
