"""Accrual runs, accruals per agreement and month, an agreement's monthly statement, settlements and the
finance accrual sheet as .xlsx."""

from decimal import Decimal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from config import clock
from config.api.errors import ApiError, Conflict
from config.api.fields import MONTH_PATTERN, DayField, MonthField
from config.api.filters import QueryParams
from config.api.inputs import NoBody, StrictInput
from config.api.pagination import Pages
from config.api.schema import ErrorSerializer
from config.api.views import ApiView, ApiViewSet
from rebates.api.filters import LedgerEntryFilter
from rebates.api.groups import BuyingGroupOut
from rebates.exports import XLSX_CONTENT_TYPE, ExportError, ExportFile
from rebates.exports.filters import ExportFilterError, check_filter_codes
from rebates.exports.settlement_statement import PDF_CONTENT_TYPE, statement_pdf, statement_xlsx
from rebates.filtersets import AccrualRunFilterSet, SettlementFilterSet
from rebates.groups import settlement_parts
from rebates.models import AccrualRun, ExportJob, LedgerEntry, RebateAgreement, Settlement
from rebates.selectors import accrual_rows, agreement_statement, settlement_totals
from rebates.services import (
    AccrualRunError,
    SettlementConflict,
    SettlementError,
    accrual_run_start,
    settlement_approve,
    settlement_interim,
    settlement_pay,
    settlements_approve,
    settlements_pay,
)
from rebates.services.exports import accruals_export
from rebates.services.settlement import CreditNoteNumbering, SettlementsNotPayable

# --- accrual runs -----------------------------------------------------------------------------------


class AccrualRunOut(serializers.ModelSerializer):
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    progress = serializers.SerializerMethodField(help_text="Chunks booked out of the run's chunks, 0 to 100.")

    class Meta:
        model = AccrualRun
        fields = ["id", "status", "trigger", "started_by", "as_of", "full", "chunks_total", "chunks_done", "progress",
                  "agreements_count", "entries_count", "total_amount", "error", "created_at", "started_at",
                  "finished_at"]
        read_only_fields = fields

    def get_progress(self, run) -> int:
        return run.progress


class AccrualRunIn(StrictInput):
    as_of = DayField(required=False, help_text="Accrue up to this date; today when left out.")
    full = serializers.BooleanField(required=False, default=False,
                                    help_text="Recompute every agreement, not only what changed.")


RUN = {"id": 31, "status": "running", "trigger": "api", "started_by": "erp", "as_of": "2026-03-31", "full": False,
       "chunks_total": 40, "chunks_done": 12, "progress": 30, "agreements_count": 6000, "entries_count": 11873,
       "total_amount": "48211.50", "error": "", "created_at": "2026-04-01T02:00:00Z",
       "started_at": "2026-04-01T02:00:01Z", "finished_at": None}


@extend_schema_view(
    list=extend_schema(summary="Accrual runs", description="Newest first.",
                       examples=[OpenApiExample("A run", response_only=True, value=RUN)]),
    retrieve=extend_schema(summary="One accrual run", description="Its status and progress (chunks done of total).",
                           examples=[OpenApiExample("A run", response_only=True, value=RUN)]),
    create=extend_schema(
        summary="Start an accrual run",
        description="Queues a run and answers 202 at once; poll the run for its status and progress. Only one run "
                    "books at a time: a run started while another runs is skipped.",
        request=AccrualRunIn, responses={202: AccrualRunOut},
        examples=[OpenApiExample("Up to the end of March", request_only=True, value={"as_of": "2026-03-31"}),
                  OpenApiExample("Queued", response_only=True, status_codes=["202"],
                                 value={**RUN, "status": "queued", "chunks_total": 0, "chunks_done": 0,
                                        "progress": 0, "agreements_count": 0, "entries_count": 0,
                                        "total_amount": "0.00", "started_at": None})]),
)
class AccrualRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = AccrualRunOut
    filterset_class = AccrualRunFilterSet
    required_permissions = {
        "list": ("rebates.view_accrualrun",), "retrieve": ("rebates.view_accrualrun",),
        "create": ("rebates.start_accrual_run",),
    }

    def get_queryset(self):
        return AccrualRun.objects.select_related("started_by").order_by("-created_at", "-id")

    def create(self, request, *args, **kwargs):
        incoming = AccrualRunIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            run = accrual_run_start(as_of=incoming.validated_data.get("as_of") or clock.today(),
                                    full=incoming.validated_data["full"], trigger=AccrualRun.Trigger.API,
                                    started_by=request.user)
        except AccrualRunError as error:
            raise ApiError(str(error)) from error
        return Response(AccrualRunOut(run).data, status=status.HTTP_202_ACCEPTED)


# --- accruals ---------------------------------------------------------------------------------------


class AccrualOut(serializers.Serializer):
    agreement = serializers.CharField(source="number")
    customer = serializers.CharField(source="customer_code")
    customer_name = serializers.CharField()
    account_manager = serializers.CharField(source="manager")
    program = serializers.CharField(source="program_code")
    month = MonthField()
    quantity = serializers.DecimalField(source="units", max_digits=14, decimal_places=3)
    eligible_amount = serializers.DecimalField(source="eligible", max_digits=16, decimal_places=2)
    accrued = serializers.DecimalField(max_digits=16, decimal_places=2)
    paid = serializers.DecimalField(max_digits=16, decimal_places=2)
    forfeited = serializers.DecimalField(max_digits=16, decimal_places=2)
    unpaid = serializers.DecimalField(max_digits=16, decimal_places=2)
    cumulative = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Accrued over the term to date.")


class AccrualFilters(QueryParams):
    customer = serializers.CharField(required=False, max_length=40, help_text="Customer ERP code.")
    agreement = serializers.CharField(required=False, max_length=40, help_text="Agreement number.")
    program = serializers.CharField(required=False, max_length=60, help_text="Program code.")
    manager = serializers.CharField(required=False, max_length=150, help_text="Account manager's username.")
    month_from = MonthField(required=False, help_text="YYYY-MM, inclusive.")
    month_to = MonthField(required=False, help_text="YYYY-MM, inclusive.")

    def validate(self, attrs):
        if "month_from" in attrs and "month_to" in attrs and attrs["month_from"] > attrs["month_to"]:
            raise serializers.ValidationError({"month_to": "month_to is before month_from."})
        return attrs


def _month_parameter(name, description):
    return OpenApiParameter(name, {"type": "string", "pattern": MONTH_PATTERN}, description=description)


ACCRUAL_PARAMETERS = [
    OpenApiParameter("customer", OpenApiTypes.STR, description="Customer ERP code."),
    OpenApiParameter("agreement", OpenApiTypes.STR, description="Agreement number."),
    OpenApiParameter("program", OpenApiTypes.STR, description="Program code."),
    OpenApiParameter("manager", OpenApiTypes.STR, description="Account manager's username."),
    _month_parameter("month_from", "YYYY-MM, inclusive."),
    _month_parameter("month_to", "YYYY-MM, inclusive."),
]

ACCRUAL = {"agreement": "AG-2026-0042", "customer": "C00042", "customer_name": "Northgate Industrial Supply",
           "account_manager": "am.jones", "program": "widgets-2026", "month": "2026-03", "quantity": "10.000",
           "eligible_amount": "121.00", "accrued": "2.50", "paid": "0.00", "forfeited": "0.00", "unpaid": "2.50",
           "cumulative": "7.50"}


def accrual_filters(request, *, among="those you may see", echo=False) -> dict:
    """The accrual filters of the query; a customer, agreement, program or manager code that names nothing the
    user may see answers 400 naming the filter, never an empty list."""
    incoming = AccrualFilters(data=request.query_params)
    incoming.is_valid(raise_exception=True)
    try:
        check_filter_codes(request.user, incoming.validated_data, among=among, echo=echo)
    except ExportFilterError as error:
        raise ApiError(str(error), details=[{"field": error.field, "message": str(error)}]) from error
    return incoming.validated_data


@extend_schema_view(list=extend_schema(
    summary="Accruals per agreement and month",
    description="What the ledger holds per agreement and month for the agreements you may see: quantity, eligible "
                "amount, accrued, paid, forfeited, unpaid and the cumulative accrued over the term.",
    parameters=ACCRUAL_PARAMETERS, examples=[OpenApiExample("A month", response_only=True, value=ACCRUAL)]))
class AccrualViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = AccrualOut
    filter_backends = []
    required_permissions = {"list": ("rebates.view_ledgerentry",)}

    def get_queryset(self):
        # Ordered by agreement number and month (unique together), so pages are stable.
        return accrual_rows(user=self.request.user, **accrual_filters(self.request))


# --- ledger entries -------------------------------------------------------------------------------


class LedgerEntryOut(serializers.ModelSerializer):
    agreement = serializers.CharField(source="agreement.number")
    month = MonthField(source="period", help_text="The month the entry is booked in.")
    concerns = MonthField(help_text="The month the entry is for: an earlier one when that month was locked.")
    run = serializers.IntegerField(source="accrual_run_id", allow_null=True,
                                   help_text="The accrual run that booked the entry; null for one booked otherwise.")
    settlement = serializers.IntegerField(source="settlement_id", allow_null=True,
                                          help_text="The settlement a payout or forfeiture belongs to.")

    class Meta:
        model = LedgerEntry
        fields = ["id", "agreement", "month", "concerns", "kind", "quantity", "eligible_amount", "amount", "run",
                  "settlement", "booked_at"]
        read_only_fields = fields


LEDGER_ENTRY = {"id": 90412, "agreement": "AG-2026-0042", "month": "2026-03", "concerns": "2026-03",
                "kind": "accrual", "quantity": "10.000", "eligible_amount": "121.00", "amount": "2.50", "run": 31,
                "settlement": None, "booked_at": "2026-04-01T02:03:11Z"}


@extend_schema_view(
    list=extend_schema(summary="Ledger entries",
                       description="The single entries of the append-only ledger for the agreements you may see, by "
                                   "agreement, month and booking order. Read only: a correction is a new entry.",
                       examples=[OpenApiExample("An entry", response_only=True, value=LEDGER_ENTRY)]),
    retrieve=extend_schema(summary="One ledger entry", description="By id; 404 if it is not one you may see.",
                           examples=[OpenApiExample("An entry", response_only=True, value=LEDGER_ENTRY)]),
)
class LedgerEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = LedgerEntryOut
    filterset_class = LedgerEntryFilter
    required_permissions = {"list": ("rebates.view_ledgerentry",), "retrieve": ("rebates.view_ledgerentry",)}

    def get_queryset(self):
        return (LedgerEntry.objects.visible_to(self.request.user).select_related("agreement")
                .order_by("agreement__number", "period", "id"))


# --- statement --------------------------------------------------------------------------------------


class ProductPriceOut(serializers.Serializer):
    product = serializers.CharField(help_text="SKU.")
    units = serializers.DecimalField(max_digits=14, decimal_places=3)
    net_price = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True,
                                         help_text="This product's contract price that month; null if unpriced.")

    def to_representation(self, instance):
        product, units, net_price = instance
        return super().to_representation({"product": product, "units": units, "net_price": net_price})


class BookedLaterOut(serializers.Serializer):
    month = MonthField(help_text="The month it was booked in (the first open one).")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)

    def to_representation(self, instance):
        booked_in, amount = instance
        return {"month": f"{booked_in:%Y-%m}", "amount": f"{amount:.2f}"}


class UnitsSentOut(serializers.Serializer):
    product = serializers.CharField(help_text="SKU.")
    unit = serializers.CharField(help_text="The unit the lines were sent in.")
    quantity_in_unit = serializers.DecimalField(max_digits=14, decimal_places=3,
                                                help_text="Their quantity as sent, in that unit.")
    units = serializers.DecimalField(max_digits=14, decimal_places=3, help_text="The same in the product's base unit.")

    def to_representation(self, instance):
        product, unit, quantity_in_unit, units = instance
        return super().to_representation({"product": product, "unit": unit, "quantity_in_unit": quantity_in_unit,
                                          "units": units})


class CurrencySentOut(serializers.Serializer):
    currency = serializers.CharField(help_text="The currency the lines were sent in.")
    amount_in_currency = serializers.DecimalField(max_digits=16, decimal_places=2,
                                                  help_text="Their amount as sent, in that currency.")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2,
                                      help_text="The same in the agreement's currency, each line at its month's rate.")

    def to_representation(self, instance):
        currency, amount_in_currency, amount = instance
        return super().to_representation({"currency": currency, "amount_in_currency": amount_in_currency,
                                          "amount": amount})


class StatementMonthOut(serializers.Serializer):
    month = MonthField()
    accrued = serializers.BooleanField(
        help_text="False for a month not accrued yet (after the last successful accrual run's as-of month): "
                  "its units, eligible_amount and shortfall are then null.")
    units = serializers.DecimalField(max_digits=14, decimal_places=3, allow_null=True,
                                     help_text="Net units booked (credit notes counted); null if not accrued yet.")
    eligible_amount = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    net_price = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True,
                                         help_text="The products' prices averaged over the units bought that month.")
    product_prices = ProductPriceOut(many=True, help_text="Each product bought that month, at its own price.")
    units_sent = UnitsSentOut(many=True, help_text="Lines of the month sent in another unit than the base unit "
                                                   "(a box, a case), per product and unit; `units` are base units.")
    currencies_sent = CurrencySentOut(many=True, help_text="Lines of the month sent in another currency than the "
                                                           "customer's, per currency; amounts above are in the "
                                                           "agreement's currency.")
    rebate_per_unit = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    net_net_price = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    monthly_rebate = serializers.DecimalField(max_digits=16, decimal_places=2)
    cumulative_rebate = serializers.DecimalField(max_digits=16, decimal_places=2)
    expected_rebate = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True,
                                               help_text="What the engine computes now; booked by the next run.")
    shortfall = serializers.BooleanField(
        allow_null=True, help_text="Net units below the committed monthly quantity; null if not accrued yet.")
    booked_later = BookedLaterOut(
        many=True, help_text="Parts of the month's rebate booked in a later month because this one was locked "
                             "(counted in monthly_rebate): the month booked in and the amount.")


class ReferredOut(serializers.Serializer):
    month = MonthField()
    customer = serializers.CharField(help_text="The referred customer's ERP code.")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2,
                                      help_text="Its net purchases in scope that month, in its referral window.")

    def to_representation(self, instance):
        month, customer, amount = instance
        return super().to_representation({"month": month, "customer": customer, "amount": amount})


class StatementOut(serializers.Serializer):
    agreement = serializers.CharField(source="agreement.number")
    customer = serializers.CharField(source="agreement.customer.code")
    currency = serializers.CharField(source="agreement.customer.currency",
                                     help_text="The currency the agreement books in (its customer's): every amount.")
    as_of = serializers.DateField()
    committed_monthly_quantity = serializers.DecimalField(max_digits=14, decimal_places=3, allow_null=True)
    base_unit = serializers.CharField(help_text="The unit units, per-unit rates and tiers count in (e.g. each).")
    total_units = serializers.DecimalField(max_digits=16, decimal_places=3)
    total_eligible_amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    total_rebate = serializers.DecimalField(max_digits=18, decimal_places=2)
    months = StatementMonthOut(many=True)
    referred = ReferredOut(many=True, help_text="A referral rule's referred customers: their net purchases in "
                                                "scope by month, in their referral windows (empty otherwise).")
    group = BuyingGroupOut(allow_null=True, help_text="A buying group's agreement: its members' purchases that feed "
                                                      "it and each settlement period's shares (null otherwise).")


class StatementIn(QueryParams):
    as_of = DayField(required=False, help_text="The sheet as of this date; today when left out.")


STATEMENT = {
    "agreement": "AG-2026-0042", "customer": "C00042", "currency": "USD", "as_of": "2026-03-31",
    "committed_monthly_quantity": "10.000",
    "base_unit": "each", "total_units": "30.000", "total_eligible_amount": "363.00", "total_rebate": "7.50",
    "months": [{"month": "2026-03", "accrued": True, "units": "10.000", "eligible_amount": "121.00",
                "net_price": "12.1000",
                "product_prices": [{"product": "SKU-00007", "units": "10.000", "net_price": "12.1000"}],
                "units_sent": [{"product": "SKU-00007", "unit": "pack", "quantity_in_unit": "1.000",
                                "units": "10.000"}],
                "currencies_sent": [{"currency": "EUR", "amount_in_currency": "111.52", "amount": "121.00"}],
                "rebate_per_unit": "0.2500", "net_net_price": "11.8500", "monthly_rebate": "2.50",
                "cumulative_rebate": "7.50", "expected_rebate": "2.50", "shortfall": False,
                "booked_later": [{"month": "2026-05", "amount": "-0.50"}]}],
    "referred": [],
    "group": None,
}


class StatementView(ApiView):
    required_permissions = {"get": ("rebates.view_rebateagreement", "rebates.view_ledgerentry")}
    serializer_class = StatementOut
    pagination_class = None
    filter_backends = []

    @extend_schema(summary="An agreement's monthly sheet",
                   description="Per month: units, net price, rebate per unit, net-net price, monthly and cumulative "
                               "rebate, shortfall. A month not accrued yet says so (`accrued` false, units and "
                               "shortfall null). 404 for an agreement you may not see.",
                   parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default today.")],
                   examples=[OpenApiExample("A sheet", response_only=True, value=STATEMENT)])
    def get(self, request, number):
        incoming = StatementIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        statement = agreement_statement(user=request.user, number=number, as_of=incoming.validated_data.get("as_of"))
        return Response(StatementOut(statement).data)


# --- settlements ------------------------------------------------------------------------------------


class SettlementPartOut(serializers.Serializer):
    member = serializers.CharField(help_text="The member's ERP code.")
    volume = serializers.DecimalField(max_digits=18, decimal_places=3,
                                      help_text="Its volume in the settlement's months (units or net amount).")
    total_volume = serializers.DecimalField(max_digits=18, decimal_places=3,
                                            help_text="Every member's volume in those months.")
    share = serializers.CharField(source="share_text", help_text="Its share, as an exact fraction (5/12).")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="What the settlement pays it.")
    payment_reference = serializers.CharField(help_text="Its own credit note number; empty until paid.")


class SettlementOut(serializers.ModelSerializer):
    agreement = serializers.CharField(source="agreement.number")
    customer = serializers.CharField(source="agreement.customer.code")
    period_start = MonthField()
    period_end = MonthField()
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                               help_text="Who approved it (the first approval, above the threshold).")
    second_approved_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True,
        help_text="Above the threshold: who gave the second approval (never the first approver).")
    paid_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    statement = serializers.SerializerMethodField(help_text="The customer statement of the settlement (.xlsx).")
    statement_pdf = serializers.SerializerMethodField(help_text="The same statement as PDF.")
    parts = serializers.SerializerMethodField(
        help_text="A buying group's agreement split among its members: what the settlement pays each member, with "
                  "its credit note once paid (before, what paying it now would give). Empty otherwise.")

    class Meta:
        model = Settlement
        fields = ["id", "agreement", "customer", "period_start", "period_end", "interim", "accrued_total",
                  "adjustments", "already_paid", "amount", "status", "approved_by", "approved_at",
                  "second_approved_by", "second_approved_at", "paid_by", "paid_on", "payment_reference", "parts",
                  "statement", "statement_pdf", "created_at"]
        read_only_fields = fields

    @extend_schema_field(SettlementPartOut(many=True))
    def get_parts(self, settlement) -> list:
        return SettlementPartOut(settlement_parts(settlement), many=True).data

    def get_statement(self, settlement) -> str:
        return f"/api/v1/settlements/{settlement.pk}/statement.xlsx"

    def get_statement_pdf(self, settlement) -> str:
        return f"/api/v1/settlements/{settlement.pk}/statement.pdf"


class InterimIn(StrictInput):
    agreement = serializers.CharField(max_length=40, help_text="Agreement number.")
    through = MonthField(help_text="YYYY-MM: the interim payment pays the open settlement period up to this month.")


class PayIn(StrictInput):
    payment_reference = serializers.CharField(max_length=80, required=False, help_text="The credit note number.")
    member_references = serializers.DictField(
        child=serializers.CharField(max_length=80), required=False, allow_empty=False,
        help_text="A settlement split among a buying group's members: a credit note number for each member, by "
                  "member code.")
    pattern = serializers.CharField(max_length=80, required=False,
                                    help_text="Or credit note numbers with one {n}, e.g. CN-2027-{n:05d}: the "
                                              "members by code get start, start + 1, ...")
    start = serializers.IntegerField(required=False, min_value=0, max_value=10**12, default=1,
                                     help_text="The pattern's first number (default 1).")
    paid_on = DayField(required=False, help_text="Default today.")

    def validate(self, attrs):
        given = [name for name in ("payment_reference", "member_references", "pattern") if name in attrs]
        if len(given) != 1:
            field = given[-1] if given else "payment_reference"
            raise serializers.ValidationError({field: "Give one of payment_reference (the credit note number), "
                                                      "member_references (one per member of a split group "
                                                      "settlement) or pattern."})
        if len(attrs.get("member_references") or ()) > 1000:
            raise serializers.ValidationError({"member_references": "At most 1,000 members."})
        return attrs


SETTLEMENT = {"id": 88, "agreement": "AG-2026-0042", "customer": "C00042", "period_start": "2026-01",
              "period_end": "2026-12", "interim": False, "accrued_total": "30.00", "adjustments": "0.00",
              "already_paid": "0.00", "amount": "30.00", "status": "draft", "approved_by": None, "approved_at": None,
              "second_approved_by": None, "second_approved_at": None, "paid_by": None, "paid_on": None,
              "payment_reference": "", "parts": [], "statement": "/api/v1/settlements/88/statement.xlsx",
              "statement_pdf": "/api/v1/settlements/88/statement.pdf",
              "created_at": "2027-01-01T02:10:00Z"}
APPROVED = {**SETTLEMENT, "status": "approved", "approved_by": "finance", "approved_at": "2027-01-05T10:00:00Z"}
PAID = {**APPROVED, "status": "paid", "paid_by": "finance", "paid_on": "2027-01-10", "payment_reference": "CN-1042"}
CONFLICT = OpenApiResponse(ErrorSerializer, description="Not in a state to do this (already paid, say).",
                           examples=[OpenApiExample("Already paid", status_codes=["409"], value={
                               "status": 409, "code": "conflict", "message": "Settlement 88 is already paid (CN-1042).",
                               "details": []})])


class ApproveManyIn(StrictInput):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=10_000,
                                help_text="The settlements to approve (up to 10,000); those not drafts are left.")


class ApprovedManyOut(serializers.Serializer):
    approved = serializers.ListField(child=serializers.IntegerField(),
                                     help_text="The ids approved now: ready to be paid (by someone else).")
    awaiting_second_approval = serializers.ListField(
        source="awaiting_second", child=serializers.IntegerField(),
        help_text="The ids given their first approval now: above the threshold, another person must approve too.")
    left_for_another_approver = serializers.ListField(
        source="left", child=serializers.IntegerField(),
        help_text="The ids you gave the first approval already: the second must come from another person.")
    count = serializers.IntegerField(help_text="Approvals given now (approved and awaiting second approval).")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="What they pay in all.")


class PaymentIn(StrictInput):
    id = serializers.IntegerField(min_value=1, help_text="The settlement.")
    payment_reference = serializers.CharField(max_length=80, help_text="Its credit note number.")


class PayManyIn(StrictInput):
    payments = PaymentIn(many=True, required=False, max_length=10_000,
                         help_text="A credit note number per settlement; or give ids and a pattern.")
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, min_length=1,
                                max_length=10_000, help_text="The settlements to pay, numbered by the pattern.")
    pattern = serializers.CharField(required=False, max_length=80,
                                    help_text="Credit note numbers with one {n}, e.g. CN-2026-{n:05d}: the ids "
                                              "in ascending order get start, start + 1, ...")
    start = serializers.IntegerField(required=False, min_value=0, max_value=10**12, default=1,
                                     help_text="The pattern's first number (default 1).")
    paid_on = DayField(required=False, help_text="Default today.")

    def validate(self, attrs):
        by_settlement = "payments" in attrs
        if by_settlement == ("pattern" in attrs) or ("ids" in attrs) != ("pattern" in attrs):
            raise serializers.ValidationError({"payments": "Give payments (a credit note number per settlement), "
                                                           "or ids with a pattern."})
        if by_settlement and not attrs["payments"]:
            raise serializers.ValidationError({"payments": "Name at least one settlement to pay."})
        return attrs


class PaidOut(serializers.Serializer):
    id = serializers.IntegerField()
    agreement = serializers.CharField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    payment_reference = serializers.CharField(help_text="Its credit note number.")
    paid_on = serializers.DateField()
    parts = serializers.SerializerMethodField(help_text="A split group settlement: each member's part and credit note.")

    def get_parts(self, payment) -> list[dict[str, str]]:
        return [{"member": member, "amount": f"{amount:.2f}", "payment_reference": reference}
                for member, amount, reference in payment.get("parts", ())]


class PaidManyOut(serializers.Serializer):
    paid = PaidOut(many=True, help_text="Every settlement of the request, paid (now or by the same request "
                                        "sent before).")
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="What they pay in all.")


class CurrencyTotalOut(serializers.Serializer):
    currency = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="What they pay, in that currency.")


class SelectionTotalOut(serializers.Serializer):
    count = serializers.IntegerField()
    currencies = CurrencyTotalOut(many=True, help_text="Per currency: never one sum of different currencies.")


class SettlementTotalsOut(SelectionTotalOut):
    to_approve = SelectionTotalOut(allow_null=True, help_text="Those of the selection you may approve now; null "
                                                              "without the permission to approve.")
    to_pay = SelectionTotalOut(allow_null=True, help_text="Those of the selection you may pay now (approved by "
                                                          "others); null without the permission to pay.")


def _selection_total(counted):
    if counted is None:
        return None
    return {"count": counted["count"],
            "currencies": [{"currency": code, "count": counted["counts"][code], "amount": amount}
                           for code, amount in counted["amount"].items()]}


def settlement_totals_out(totals) -> dict:
    """settlement_totals as the API answers it."""
    return SettlementTotalsOut({**_selection_total(totals["all"]), "to_approve": _selection_total(
        totals["to_approve"]), "to_pay": _selection_total(totals["to_pay"])}).data


SETTLEMENT_TOTALS = {"count": 2, "currencies": [{"currency": "EUR", "count": 1, "amount": "30.00"},
                                                {"currency": "USD", "count": 1, "amount": "1250.00"}],
                     "to_approve": {"count": 1, "currencies": [{"currency": "EUR", "count": 1, "amount": "30.00"}]},
                     "to_pay": {"count": 0, "currencies": []}}


def _selection_total_schema(description, example):
    """The JSON schema of a SelectionTotalOut; each leaf carries its example, from which the list's example
    page is drawn."""
    currency = {"type": "object", "required": ["currency", "count", "amount"], "properties": {
        "currency": {"type": "string"}, "count": {"type": "integer"},
        "amount": {"type": "string", "format": "decimal", "pattern": r"^-?\d{0,16}(?:\.\d{0,2})?$"}}}
    return {"type": "object", "description": description, "required": ["count", "currencies"],
            "properties": {"count": {"type": "integer", "example": example["count"]},
                           "currencies": {"type": "array", "items": currency, "example": example["currencies"]}}}


class SettlementPages(Pages):
    """Pages of settlements that carry `totals`: the figures of the whole filtered selection, every page
    alike (the view sets them: see SettlementViewSet.get_paginated_response)."""

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        totals = _selection_total_schema("The whole filtered selection (every page), per currency.",
                                         SETTLEMENT_TOTALS)
        totals["required"] = [*totals["required"], "to_approve", "to_pay"]
        totals["properties"].update(
            to_approve={**_selection_total_schema("Those of the selection you may approve now; null without the "
                                                  "permission to approve.", SETTLEMENT_TOTALS["to_approve"]),
                        "nullable": True},
            to_pay={**_selection_total_schema("Those of the selection you may pay now (approved by others); null "
                                              "without the permission to pay.", SETTLEMENT_TOTALS["to_pay"]),
                    "nullable": True})
        answer["properties"]["totals"] = totals
        answer["required"] = [*answer.get("required", []), "totals"]
        return answer


@extend_schema_view(
    list=extend_schema(summary="Settlements",
                       description="Newest period first. `totals` beside the page: how many settlements the "
                                   "filters select in all and what they pay per currency, and of them those you "
                                   "may approve and pay now (the settlements page's figures).",
                       examples=[OpenApiExample("A settlement", response_only=True, value=SETTLEMENT)]),
    retrieve=extend_schema(summary="One settlement",
                           examples=[OpenApiExample("A settlement", response_only=True, value=SETTLEMENT)]),
    approve_many=extend_schema(
        operation_id="settlements_approve_many",
        summary="Approve many draft settlements",
        description="Approves each draft among the ids you may see, in one transaction, each with its audit row; "
                    "ids that are not drafts are left as they are, ids you may not see are ignored.",
        request=ApproveManyIn, responses={200: ApprovedManyOut},
        examples=[OpenApiExample("Three", request_only=True, value={"ids": [88, 89, 90]}),
                  OpenApiExample("Approved", response_only=True,
                                 value={"approved": [88, 90], "awaiting_second_approval": [89],
                                        "left_for_another_approver": [], "count": 3, "amount": "12060.00"})]),
    pay_many=extend_schema(
        operation_id="settlements_pay_many",
        summary="Pay many approved settlements",
        description="Pays each settlement with its own credit note number: the one given per settlement, or the "
                    "pattern's numbers in ascending id order. One transaction: all are paid or none. 409 naming "
                    "each settlement that is not approved, awaits its second approval, was approved by you (four "
                    "eyes) or was paid with another number, and each number already another settlement's. Sent "
                    "again, it pays nothing twice and answers the same.",
        request=PayManyIn, responses={200: PaidManyOut, 409: CONFLICT},
        examples=[OpenApiExample("By a pattern", request_only=True,
                                 value={"ids": [88, 90], "pattern": "CN-2027-{n:05d}", "start": 41,
                                        "paid_on": "2027-01-10"}),
                  OpenApiExample("A number each", request_only=True,
                                 value={"payments": [{"id": 88, "payment_reference": "CN-1042"}]}),
                  OpenApiExample("Paid", response_only=True, value={
                      "paid": [{"id": 88, "agreement": "AG-2026-0042", "amount": "30.00",
                                "payment_reference": "CN-2027-00041", "paid_on": "2027-01-10"},
                               {"id": 90, "agreement": "AG-2026-0051", "amount": "30.00",
                                "payment_reference": "CN-2027-00042", "paid_on": "2027-01-10"}],
                      "count": 2, "amount": "60.00"})]),
    approve=extend_schema(summary="Approve a draft settlement", request=None,
                          responses={200: SettlementOut, 409: CONFLICT},
                          examples=[OpenApiExample("Approved", response_only=True, value=APPROVED)]),
    interim=extend_schema(
        summary="Draft an interim payment",
        description="Pays the agreement's open settlement period up to the month given: earned to date less what "
                    "earlier interim payments of the period already pay. Refused (409) for a period already closed "
                    "or a month that already has one; 404 for an agreement you may not see.",
        request=InterimIn, responses={201: SettlementOut, 409: CONFLICT,
                                      404: OpenApiResponse(ErrorSerializer, description="No such agreement that "
                                                                                       "you may see.")},
        examples=[OpenApiExample("Through March", request_only=True,
                                 value={"agreement": "AG-2026-0042", "through": "2026-03"}),
                  OpenApiExample("Drafted", response_only=True, status_codes=["201"],
                                 value={**SETTLEMENT, "period_end": "2026-03", "interim": True,
                                        "accrued_total": "7.50", "amount": "7.50"})]),
    pay=extend_schema(summary="Pay an approved settlement",
                      description="Books one payout entry of the settlement's amount. Paid twice at once, one "
                                  "payment books and the others answer 409. A buying group's agreement split "
                                  "among its members pays each member its part (`parts`), each with its own "
                                  "credit note: `member_references` or a `pattern`; a single "
                                  "`payment_reference` for it is refused (400, naming the members).",
                      request=PayIn, responses={200: SettlementOut, 409: CONFLICT},
                      examples=[OpenApiExample("A credit note", request_only=True,
                                               value={"payment_reference": "CN-1042", "paid_on": "2027-01-10"}),
                                OpenApiExample("A split group settlement: a credit note per member", request_only=True,
                                               value={"member_references": {"M-1": "CN-1043", "M-2": "CN-1044",
                                                                            "M-3": "CN-1045"}}),
                                OpenApiExample("A split group settlement, numbered", request_only=True,
                                               value={"pattern": "CN-2027-{n:05d}", "start": 43}),
                                OpenApiExample("Paid", response_only=True, value=PAID)]),
)
class SettlementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = SettlementOut
    filterset_class = SettlementFilterSet
    pagination_class = SettlementPages
    required_permissions = {
        "list": ("rebates.view_settlement",), "retrieve": ("rebates.view_settlement",),
        "approve": ("rebates.view_settlement", "rebates.approve_settlement"),
        "pay": ("rebates.view_settlement", "rebates.pay_settlement"),
        "interim": ("rebates.view_settlement", "rebates.add_settlement", "rebates.approve_settlement"),
        "approve_many": ("rebates.view_settlement", "rebates.approve_settlement"),
        "pay_many": ("rebates.view_settlement", "rebates.pay_settlement"),
    }

    @action(detail=False, methods=["post"], url_path="approve")
    def approve_many(self, request):
        incoming = ApproveManyIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        visible = list(Settlement.objects.visible_to(request.user)
                       .filter(pk__in=incoming.validated_data["ids"]).values_list("pk", flat=True))
        done = settlements_approve(settlement_ids=visible, by=request.user)
        return Response(ApprovedManyOut({
            "approved": done.approved, "awaiting_second": done.awaiting_second, "left": done.left,
            "count": len(done.approved) + len(done.awaiting_second), "amount": done.amount}).data)

    @action(detail=False, methods=["post"], url_path="pay")
    def pay_many(self, request):
        incoming = PayManyIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        references = ({payment["id"]: payment["payment_reference"] for payment in data["payments"]}
                      if "payments" in data else None)
        if references is not None and len(references) != len(data["payments"]):
            raise ApiError("Each settlement appears once in payments.", details=[
                {"field": "payments", "message": "Each settlement appears once in payments."}])
        ids = sorted(references or set(data["ids"]))
        visible = set(Settlement.objects.visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True))
        unseen = [pk for pk in ids if pk not in visible]
        if unseen:
            # The same words for a settlement that does not exist and one of another manager's customers.
            message = f"No settlement {', '.join(map(str, unseen[:20]))} among those you may see."
            raise ApiError(message, details=[{"field": "payments" if references is not None else "ids",
                                              "message": message}])
        try:
            numbering = (None if references is not None
                         else CreditNoteNumbering(pattern=data["pattern"], start=data["start"]))
            paid = settlements_pay(settlement_ids=ids, by=request.user, references=references, numbering=numbering,
                                   paid_on=data.get("paid_on") or clock.today())
        except SettlementsNotPayable as error:
            raise Conflict(str(error), details=[{"field": "ids", "message": message}
                                                for _, message in error.problems]) from error
        except SettlementConflict as error:
            raise Conflict(str(error)) from error
        except SettlementError as error:
            field = "payments" if references is not None else "pattern"
            raise ApiError(str(error), details=[{"field": field, "message": str(error)}]) from error
        return Response(PaidManyOut({"paid": [vars(payment) for payment in paid], "count": len(paid),
                                     "amount": sum((payment.amount for payment in paid), Decimal("0.00"))}).data)

    @action(detail=False, methods=["post"])
    def interim(self, request):
        incoming = InterimIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        agreement = get_object_or_404(RebateAgreement.objects.visible_to(request.user),
                                      number=incoming.validated_data["agreement"])
        try:
            settlement = settlement_interim(agreement=agreement, through=incoming.validated_data["through"],
                                            by=request.user)
        except SettlementConflict as error:
            raise Conflict(str(error)) from error
        except SettlementError as error:
            raise ApiError(str(error), details=[{"field": "through", "message": str(error)}]) from error
        return Response(SettlementOut(self.get_queryset().get(pk=settlement.pk)).data, status=status.HTTP_201_CREATED)

    def get_queryset(self):
        return (Settlement.objects.visible_to(self.request.user)
                .select_related("agreement__customer", "approved_by", "paid_by")
                .order_by("-period_end", "agreement__number", "-id"))

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        # The same filtered, visible selection as the page's rows, totalled over every page.
        selection = self.filter_queryset(Settlement.objects.visible_to(self.request.user))
        response.data["totals"] = settlement_totals_out(settlement_totals(selection, user=self.request.user))
        return response

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        settlement = self.get_object()
        NoBody(data=request.data).is_valid(raise_exception=True)
        try:
            settlement = settlement_approve(settlement=settlement, by=request.user)
        except SettlementConflict as error:
            raise Conflict(str(error)) from error
        except SettlementError as error:
            raise ApiError(str(error)) from error
        return Response(SettlementOut(self.get_queryset().get(pk=settlement.pk)).data)

    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        settlement = self.get_object()
        incoming = PayIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        field = next(name for name in ("payment_reference", "member_references", "pattern") if name in data)
        try:
            numbering = CreditNoteNumbering(pattern=data["pattern"], start=data["start"]) if "pattern" in data else None
            settlement = settlement_pay(settlement=settlement, by=request.user,
                                        paid_on=data.get("paid_on") or clock.today(),
                                        payment_reference=data.get("payment_reference", ""),
                                        member_references=data.get("member_references"), numbering=numbering)
        except SettlementConflict as error:
            raise Conflict(str(error)) from error
        except SettlementError as error:
            raise ApiError(str(error), details=[{"field": field, "message": str(error)}]) from error
        return Response(SettlementOut(self.get_queryset().get(pk=settlement.pk)).data)


class SettlementStatementView(ApiView):
    required_permissions = {"get": ("rebates.view_settlement",)}
    pagination_class = None
    filter_backends = []

    @extend_schema(
        operation_id="settlements_statement",
        summary="A settlement's customer statement (.xlsx)",
        description="What the customer receives with the credit note: the customer, agreement, period, the rebate "
                    "earned by month and each ledger entry of the period, adjustments, interim payments, the "
                    "amount and the credit note number. 404 for a settlement you may not see.",
        responses={(200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="The .xlsx file."),
                   404: OpenApiResponse(ErrorSerializer, description="No such settlement that you may see.")},
    )
    def get(self, request, pk):
        return file_response(statement_xlsx(self.settlement(request, pk)))

    @staticmethod
    def settlement(request, pk):
        return get_object_or_404(Settlement.objects.visible_to(request.user)
                                 .select_related("agreement__customer", "agreement__program"), pk=pk)


class SettlementStatementPdfView(SettlementStatementView):
    @extend_schema(
        operation_id="settlements_statement_pdf",
        summary="A settlement's customer statement (PDF)",
        description="The statement of statement.xlsx as an A4 PDF. 404 for a settlement you may not see.",
        responses={(200, PDF_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF file."),
                   404: OpenApiResponse(ErrorSerializer, description="No such settlement that you may see.")},
    )
    def get(self, request, pk):
        return file_response(statement_pdf(self.settlement(request, pk)))


def file_response(made: ExportFile) -> HttpResponse:
    response = HttpResponse(made.content, content_type=made.content_type)
    response["Content-Disposition"] = f'attachment; filename="{made.name}"'
    return response


# --- exports ----------------------------------------------------------------------------------------


class ExportJobOut(serializers.ModelSerializer):
    file = serializers.SerializerMethodField(help_text="Where to download the file once the job is done.")

    class Meta:
        model = ExportJob
        fields = ["id", "kind", "format", "status", "progress", "rows_total", "rows_done", "filters", "error",
                  "created_at", "finished_at", "file"]
        read_only_fields = fields

    def get_file(self, job) -> str | None:
        return f"/api/v1/export-jobs/{job.pk}/file/" if job.status == ExportJob.Status.DONE and job.file else None


JOB = {"id": 5, "kind": "accrual_sheet", "format": "xlsx", "status": "running", "progress": 40, "rows_total": 480000,
       "rows_done": 192000, "filters": {"month_from": "2026-01", "report": "accruals"}, "error": "",
       "created_at": "2026-04-02T09:00:00Z", "finished_at": None, "file": None}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AccrualExportView(ApiView):
    required_permissions = {"get": ("rebates.export_accruals",)}
    pagination_class = None
    filter_backends = []
    serializer_class = ExportJobOut

    @extend_schema(
        summary="The finance accrual sheet as .xlsx",
        description="The same filters as accruals/. A sheet of up to a few thousand rows is the answer itself; a "
                    "larger one is made in the background: 202 with the export job to poll. A customer, agreement, "
                    "program or manager you may not export answers 400 naming the filter, and nothing is made.",
        parameters=ACCRUAL_PARAMETERS,
        responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The .xlsx file."),
                   202: OpenApiResponse(ExportJobOut, description="Made in the background.",
                                        examples=[OpenApiExample("Queued", value={**JOB, "status": "queued",
                                                                                  "progress": 0, "rows_done": 0},
                                                                 status_codes=["202"])])},
    )
    def get(self, request):
        filters = accrual_filters(request, among="those you may export", echo=True)
        filters = {key: (f"{value:%Y-%m}" if hasattr(value, "strftime") else value) for key, value in filters.items()}
        try:
            made = accruals_export(user=request.user, filters=filters, format="xlsx")
        except ExportError as error:
            # A code that names nothing the user may export is named, never answered with an empty sheet.
            field = getattr(error, "field", None)
            raise ApiError(str(error), details=[{"field": field, "message": str(error)}] if field else None) from error
        if isinstance(made, ExportFile):
            response = HttpResponse(made.content, content_type=made.content_type)
            response["Content-Disposition"] = f'attachment; filename="{made.name}"'
            return response
        return Response(ExportJobOut(made).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    retrieve=extend_schema(summary="A background export", description="Its status and progress; yours only.",
                           examples=[OpenApiExample("Running", response_only=True, value=JOB)]),
    file=extend_schema(summary="A finished export's file",
                       responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
                                  409: OpenApiResponse(ErrorSerializer, description="Not done yet.")}),
)
class ExportJobViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ExportJobOut
    required_permissions = {"retrieve": ("rebates.export_accruals",), "file": ("rebates.export_accruals",)}

    def get_queryset(self):
        return ExportJob.objects.filter(requested_by_id=getattr(self.request.user, "pk", None)).order_by("-id")

    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        job = self.get_object()
        if job.status != ExportJob.Status.DONE or not job.file:
            raise Conflict(f"Export {job.pk} is {job.status}; its file is not ready.")
        with job.file.open("rb") as handle:
            content = handle.read()
        response = HttpResponse(content, content_type=XLSX if job.format == "xlsx" else "text/csv")
        response["Content-Disposition"] = f'attachment; filename="{job.file.name.rsplit("/", 1)[-1]}"'
        return response
