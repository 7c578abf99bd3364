"""Reads of the stored outlook (AgreementForecast): each agreement's next tier and forecast after the latest
run, finance's forecast liability by month of payout, and last month's forecasts against what happened.
Every read starts from `visible_to(user)`."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Abs, Coalesce

from rebates.engine.periods import add_months, month_of
from rebates.models import EARNED_KINDS, AgreementForecast, LedgerEntry
from rebates.selectors import booked_units

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
QUANTITY = DecimalField(max_digits=18, decimal_places=3)


@dataclass(frozen=True)
class ForecastRun:
    """The run whose outlook the pages show: its id and as-of date."""

    pk: int
    as_of: date


def latest_forecast_run() -> ForecastRun | None:
    """The latest accrual run with a stored outlook; None before the first. One query."""
    row = AgreementForecast.objects.order_by("-run_id").values_list("run_id", "as_of").first()
    return ForecastRun(*row) if row else None


def agreement_forecasts(*, user, run: ForecastRun | None = None, customer: str | None = None,
                        agreement: str | None = None):
    """The outlook of every agreement the user may see, as stored by `run` (default the latest, found in
    the same query), with the agreement and its customer; empty before the first outlook. `customer` (code)
    and `agreement` (number) narrow it."""
    if run is not None:
        stored = AgreementForecast.objects.visible_to(user).filter(run_id=run.pk)
    else:
        latest = AgreementForecast.objects.order_by("-run_id").values("run_id")[:1]
        stored = AgreementForecast.objects.visible_to(user).filter(run_id=Subquery(latest))
    if customer is not None:
        stored = stored.filter(agreement__customer__code=customer)
    if agreement is not None:
        stored = stored.filter(agreement__number=agreement)
    return stored.select_related("agreement", "agreement__customer", "agreement__customer__account_manager")


def agreement_outlook(*, agreement) -> AgreementForecast | None:
    """An agreement's latest stored outlook (the caller has read the agreement through visible_to). One query."""
    return AgreementForecast.objects.filter(agreement=agreement).order_by("-run_id").first()


@dataclass(frozen=True)
class PayoutMonth:
    """Finance's forecast liability of one month of payout: what the periods paid then are forecast to
    earn and pay, and what they had earned by the forecast's as-of date."""

    month: date
    agreements: int
    rebate: Decimal
    payout: Decimal
    earned_to_date: Decimal
    currency: str  # the agreements' (their customers'): a month with agreements in two currencies has two


def forecast_liability_by_month(*, user, run: ForecastRun | None = None) -> list[PayoutMonth]:
    """The forecast payout per month of payout and currency of the agreements (never summed across
    currencies), over the agreements the user may see, from `run`'s outlook (default the latest), earliest
    month first, then by currency. One grouped query."""
    rows = (agreement_forecasts(user=user, run=run).select_related(None)
            .values("payout_month", currency=F("agreement__customer__currency"))
            .annotate(agreements=Count("id"), rebate=Coalesce(Sum("rebate"), ZERO),
                      payout=Coalesce(Sum("payout"), ZERO), earned=Coalesce(Sum("rebate_to_date"), ZERO))
            .order_by("payout_month", "currency"))
    return [PayoutMonth(row["payout_month"], row["agreements"], row["rebate"], row["payout"], row["earned"],
                        row["currency"]) for row in rows]


def totals_by_currency(months: list[PayoutMonth]) -> dict[str, dict[str, Decimal]]:
    """The months' rebate, payout and earned to date summed per currency: {name: {currency: total}}."""
    totals: dict[str, dict[str, Decimal]] = {"rebate": {}, "payout": {}, "earned_to_date": {}}
    for month in months:
        for name, by_currency in totals.items():
            by_currency[month.currency] = by_currency.get(month.currency, ZERO) + getattr(month, name)
    return totals


@dataclass(frozen=True)
class ForecastCheck:
    """A forecast made before a period ended against what the period in fact earned (the ledger)."""

    forecast: AgreementForecast
    actual: Decimal
    actual_units: Decimal = Decimal("0.000")  # the net units the ledger booked for the period
    actual_amount: Decimal = ZERO  # its net purchases in scope (the entries' eligible amount)

    @property
    def error(self) -> Decimal:
        """Forecast less actual: positive when the forecast was too high."""
        return self.forecast.rebate - self.actual

    @property
    def error_percent(self) -> Decimal | None:
        """The error as a percent of the actual, to one place; None when the period earned nothing."""
        if not self.actual:
            return None
        return (self.error * 100 / self.actual).quantize(Decimal("0.1"))


    @classmethod
    def of(cls, row: AgreementForecast) -> "ForecastCheck":
        """The check of a forecast read by `forecast_check_rows` (annotated with what its period booked)."""
        return cls(row, row.actual, actual_units=row.actual_units, actual_amount=row.actual_amount)


def _booked(field: str, output_field):
    """What the ledger's earned entries (accrual, catch-up, adjustment) booked in the forecast row's period
    (the months of its entries from its first to its last month), summed: a subquery per row, read by the
    entries' (agreement, period, kind) index."""
    entries = (LedgerEntry.objects.filter(agreement_id=OuterRef("agreement_id"), kind__in=EARNED_KINDS,
                                          period__gte=OuterRef("period_start"), period__lte=OuterRef("period_end"))
               .order_by().values("agreement_id"))
    total = booked_units() if field == "quantity" else Sum(field)
    return Coalesce(Subquery(entries.annotate(total=total).values("total"), output_field=output_field),
                    Value(Decimal("0"), output_field=output_field))


def forecast_check_rows(*, user, customer: str | None = None,
                        agreement: str | None = None) -> tuple[ForecastRun | None, QuerySet]:
    """Last month's forecasts against what happened: the outlook of the latest run as of a month or more
    before the latest one, for the periods that have ended since, each annotated with what the ledger booked
    for its period: `actual` (the rebate: accrual, catch-up and adjustment entries of its months),
    `actual_units` and `actual_amount` (net units and purchases in scope). Largest errors first, then by
    agreement number, so a page of it is a slice read by the database. `customer` (code) and `agreement`
    (number) narrow the agreements. (The earlier run, the rows); (None, no rows) before there is one."""
    latest = latest_forecast_run()
    none = AgreementForecast.objects.none()
    if latest is None:
        return None, none
    before = add_months(month_of(latest.as_of), -1)
    row = (AgreementForecast.objects.filter(as_of__lt=add_months(before, 1)).order_by("-run_id")
           .values_list("run_id", "as_of").first())
    if row is None:
        return None, none
    earlier = ForecastRun(*row)
    rows = (agreement_forecasts(user=user, run=earlier, customer=customer, agreement=agreement)
            .filter(period_end__lt=month_of(latest.as_of))
            .annotate(actual=_booked("amount", MONEY), actual_units=_booked("quantity", QUANTITY),
                      actual_amount=_booked("eligible_amount", MONEY))
            .annotate(miss=Abs(F("rebate") - F("actual")))
            .order_by("-miss", "agreement__number"))
    return earlier, rows


def forecast_checks(*, user, limit: int | None = 200, customer: str | None = None,
                    agreement: str | None = None) -> tuple[ForecastRun | None, list[ForecastCheck]]:
    """`forecast_check_rows` as checks, at most `limit` (None: all). Three queries."""
    earlier, rows = forecast_check_rows(user=user, customer=customer, agreement=agreement)
    if limit is not None:
        rows = rows[:limit]
    return earlier, [ForecastCheck.of(row) for row in rows]
