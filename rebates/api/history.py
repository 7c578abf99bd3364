"""The history of an agreement, a settlement and a customer (who did what, newest first), and the accrual runs
that booked an agreement's entries."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from config.api.views import ApiView
from rebates import history


class HistoryOut(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When it was done.")
    who = serializers.SerializerMethodField(help_text="The user's full name (else username), or what acted: "
                                                      "\"accrual run\", \"settlement\", \"system\".")
    username = serializers.SerializerMethodField(help_text="The user who acted; null when no user did.")
    action = serializers.CharField(help_text="What was done, e.g. settlement.approve, agreement.terminate.")
    subject = serializers.SerializerMethodField(help_text="What it was done to: customer, agreement or settlement.")
    subject_id = serializers.CharField(source="target_id", help_text="The id of what it was done to.")
    summary = serializers.CharField()

    def get_who(self, record) -> str:
        return history.record_who(record)

    def get_username(self, record) -> str | None:
        return record.actor.username if record.actor is not None else None

    def get_subject(self, record) -> str:
        return history.record_subject(record)


class RunBookingOut(serializers.Serializer):
    run = serializers.IntegerField(source="run_id", help_text="The accrual run's id.")
    as_of = serializers.DateField(help_text="The run's as-of date.")
    entries = serializers.IntegerField(help_text="Entries it booked on this agreement.")
    total = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Their sum.")
    booked_at = serializers.DateTimeField(help_text="When its last entry here was booked.")


APPROVED = {"at": "2027-01-05T09:12:00Z", "who": "Fran Finance", "username": "fran", "action": "settlement.approve",
            "subject": "settlement", "subject_id": "17", "summary": "Settlement 17 of AG-2026-0042 approved"}
CLOSED = {"at": "2027-01-01T02:00:00Z", "who": "settlement", "username": None, "action": "settlement.close",
          "subject": "settlement", "subject_id": "17",
          "summary": "Closing of AG-2026-0042 2026-01..2026-12: 1250.00 to pay"}
CREATED = {"at": "2026-01-05T09:00:00Z", "who": "ERP integration", "username": "erp", "action": "agreement.create",
           "subject": "agreement", "subject_id": "42", "summary": "Agreement AG-2026-0042 created"}


class HistoryPageOut(serializers.Serializer):
    count = serializers.IntegerField(help_text="Records in all.")
    next = serializers.URLField(allow_null=True, help_text="The next page, if any.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, if any.")
    results = HistoryOut(many=True)


def _page(*items):
    return {"count": len(items), "next": None, "previous": None, "results": list(items)}


class _History(ApiView):
    serializer_class = HistoryOut
    filter_backends = []

    def answer(self, records):
        page = self.paginate_queryset(records)
        return self.get_paginated_response(HistoryOut(page, many=True).data)


class AgreementHistoryView(_History):
    required_permissions = {"get": ("rebates.view_rebateagreement",)}

    @extend_schema(summary="An agreement's history",
                   description="Who created, changed, closed, approved, paid or terminated the agreement and its "
                               "settlements, newest first. 404 for an agreement you may not see.",
                   responses=HistoryPageOut,
                   examples=[OpenApiExample("Its history", response_only=True, value=_page(APPROVED, CLOSED, CREATED))])
    def get(self, request, number):
        _, records = history.agreement_history(user=request.user, number=number)
        return self.answer(records)


class AgreementRunsView(ApiView):
    required_permissions = {"get": ("rebates.view_rebateagreement", "rebates.view_ledgerentry")}
    serializer_class = RunBookingOut
    pagination_class = None
    filter_backends = []

    @extend_schema(summary="The accrual runs that booked an agreement's entries",
                   description="Each run that booked entries of the agreement, newest first: its as-of date, the "
                               "number of entries and their sum. 404 for an agreement you may not see.",
                   responses=RunBookingOut(many=True),
                   examples=[OpenApiExample("Two runs", response_only=True, value=[
                       {"run": 31, "as_of": "2026-12-31", "entries": 2, "total": "180.00",
                        "booked_at": "2027-01-01T02:04:10Z"},
                       {"run": 30, "as_of": "2026-11-30", "entries": 1, "total": "95.50",
                        "booked_at": "2026-12-01T02:03:52Z"}])])
    def get(self, request, number):
        agreement, _ = history.agreement_history(user=request.user, number=number)
        return Response(RunBookingOut(history.agreement_runs(agreement=agreement), many=True).data)


class SettlementHistoryView(_History):
    required_permissions = {"get": ("rebates.view_settlement",)}

    @extend_schema(summary="A settlement's history",
                   description="Who closed, approved and paid the settlement, newest first. 404 for a settlement "
                               "you may not see.",
                   responses=HistoryPageOut,
                   examples=[OpenApiExample("Its history", response_only=True, value=_page(APPROVED, CLOSED))])
    def get(self, request, pk):
        _, records = history.settlement_history(user=request.user, pk=pk)
        return self.answer(records)


class CustomerHistoryView(_History):
    required_permissions = {"get": ("customers.view_customer", "rebates.view_rebateagreement",
                                    "rebates.view_settlement")}

    @extend_schema(summary="A customer's history",
                   description="Who changed the customer, and who created, changed, closed, approved, paid or "
                               "terminated its agreements and their settlements, newest first. 404 for a customer "
                               "you may not see.",
                   responses=HistoryPageOut,
                   examples=[OpenApiExample("Its history", response_only=True, value=_page(APPROVED, CLOSED, CREATED))])
    def get(self, request, code):
        _, records = history.customer_history(user=request.user, code=code)
        return self.answer(records)
