"""Finance's month close over REST: `period-locks/` lists the months with their state, POST locks one,
`period-locks/{month}/reopen/` opens it again with a reason (rebates/services/period_lock.py)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from config.api.errors import ApiError, Conflict
from config.api.fields import MonthField, parse_month
from config.api.inputs import StrictInput
from config.api.schema import ErrorSerializer
from config.api.views import ApiViewSet
from rebates.period_locks import month_state, month_states
from rebates.services.period_lock import (
    REASON_MAX,
    PeriodLockConflict,
    PeriodLockError,
    period_lock,
    period_reopen,
)

LOCKS = ("rebates.lock_period",)


class MonthStateOut(serializers.Serializer):
    month = MonthField()
    state = serializers.ChoiceField(choices=["open", "locked", "reopened"])
    locked_by = serializers.SerializerMethodField()
    locked_at = serializers.SerializerMethodField()
    reopened_by = serializers.SerializerMethodField()
    reopened_at = serializers.SerializerMethodField()
    reopen_reason = serializers.SerializerMethodField()
    entries = serializers.IntegerField(help_text="Ledger entries booked in the month.")
    booked = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Their total.")
    late_entries = serializers.IntegerField(help_text="Of those, entries for an earlier month that was locked.")

    @staticmethod
    def _user(user):
        return user.get_username() if user is not None else None

    def get_locked_by(self, row) -> str | None:
        return self._user(row.lock.locked_by) if row.lock else None

    def get_locked_at(self, row) -> str | None:
        return row.lock.locked_at.isoformat() if row.lock else None

    def get_reopened_by(self, row) -> str | None:
        return self._user(row.lock.reopened_by) if row.lock and not row.lock.locked else None

    def get_reopened_at(self, row) -> str | None:
        return row.lock.reopened_at.isoformat() if row.lock and not row.lock.locked else None

    def get_reopen_reason(self, row) -> str:
        return row.lock.reopen_reason if row.lock else ""


class LockIn(StrictInput):
    month = MonthField(help_text="The month to lock, YYYY-MM; it must have ended.")


class ReopenIn(StrictInput):
    reason = serializers.CharField(max_length=REASON_MAX, help_text="Why the month is opened again (audited).")


EXAMPLE = {"month": "2026-10", "state": "locked", "locked_by": "finance", "locked_at": "2026-11-03T09:12:00+00:00",
           "reopened_by": None, "reopened_at": None, "reopen_reason": "", "entries": 1240, "booked": "5120.50",
           "late_entries": 0}


class PeriodLockViewSet(ApiViewSet):
    serializer_class = MonthStateOut
    pagination_class = None
    filter_backends = []
    lookup_field = "month"
    lookup_value_regex = "[0-9]{4}-[0-9]{2}"
    required_permissions = {"list": LOCKS, "retrieve": LOCKS, "create": LOCKS, "reopen": LOCKS}

    def _month(self, text):
        try:
            return parse_month(text)
        except ValueError as error:
            raise NotFound(f"No month {text!r}: months are YYYY-MM.") from error

    @extend_schema(summary="Months and their locks",
                   description="The month under way, the 24 complete months before it and any older locked "
                               "month, newest first: open, locked or reopened, with what the ledger booked in each.",
                   responses={200: MonthStateOut(many=True)},
                   examples=[OpenApiExample("October locked", response_only=True, value=[EXAMPLE])])
    def list(self, request):
        return Response(MonthStateOut(month_states(user=request.user), many=True).data)

    @extend_schema(summary="One month and its lock",
                   examples=[OpenApiExample("October", response_only=True, value=EXAMPLE)],
                   parameters=[OpenApiParameter("month", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                description="YYYY-MM")])
    def retrieve(self, request, month=None):
        return Response(MonthStateOut(month_state(user=request.user, month=self._month(month))).data)

    @extend_schema(summary="Lock a month", request=LockIn,
                   description="Nothing is booked into a locked month again: a late difference for it is booked "
                               "into the first open month after it, recording the month it concerns.",
                   responses={201: MonthStateOut, 400: OpenApiResponse(ErrorSerializer, description="A bad month."),
                              409: OpenApiResponse(ErrorSerializer, description="Already locked.")},
                   examples=[OpenApiExample("Lock October", request_only=True, value={"month": "2026-10"}),
                             OpenApiExample("Locked", response_only=True, status_codes=["201"], value=EXAMPLE)])
    def create(self, request):
        incoming = LockIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        month = incoming.validated_data["month"]
        try:
            period_lock(month=month, by=request.user)
        except PeriodLockConflict as error:
            raise Conflict(str(error)) from error
        except PeriodLockError as error:
            raise ApiError(str(error), details=[{"field": error.field, "message": str(error)}]) from error
        return Response(MonthStateOut(month_state(user=request.user, month=month)).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Reopen a locked month", request=ReopenIn,
                   parameters=[OpenApiParameter("month", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                description="YYYY-MM")],
                   responses={200: MonthStateOut, 400: OpenApiResponse(ErrorSerializer, description="No reason."),
                              409: OpenApiResponse(ErrorSerializer, description="The month is not locked.")},
                   examples=[OpenApiExample("Reopen", request_only=True,
                                            value={"reason": "Credit note 4411 belongs in October"}),
                             OpenApiExample("Reopened", response_only=True, value={
                                 **EXAMPLE, "state": "reopened", "reopened_by": "finance",
                                 "reopened_at": "2026-11-20T10:00:00+00:00",
                                 "reopen_reason": "Credit note 4411 belongs in October"})])
    @action(detail=True, methods=["post"])
    def reopen(self, request, month=None):
        month = self._month(month)
        incoming = ReopenIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            period_reopen(month=month, reason=incoming.validated_data["reason"], by=request.user)
        except PeriodLockConflict as error:
            raise Conflict(str(error)) from error
        except PeriodLockError as error:
            raise ApiError(str(error), details=[{"field": error.field, "message": str(error)}]) from error
        return Response(MonthStateOut(month_state(user=request.user, month=month)).data)
