"""Reads of the stored outlook (AgreementForecast): each agreement's next tier and forecast after the latest
run, finance's forecast liability by month of payout, and last month's forecasts against what happened.
Every read starts from `visible_to(user)`."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Subquery, Sum
from django.db.models.functions import Coalesce

from rebates.engine.periods import add_months, month_of
from rebates.models import EARNED_KINDS, AgreementForecast, LedgerEntry
from rebates.selectors import booked_units

ZERO = Decimal("0.00")


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


def forecast_checks(*, user, limit: int | None = 200, customer: str | None = None,
                    agreement: str | None = None) -> tuple[ForecastRun | None, list[ForecastCheck]]:
    """Last month's forecasts against what happened: the outlook of the latest run as of a month or more
    before the latest one, for the periods that have ended since, each beside the rebate its period earned
    (accrual, catch-up and adjustment entries of its months) and the units and net purchases the ledger
    booked for them. Largest errors first (then by agreement number), at most `limit` (None: all);
    `customer` (code) and `agreement` (number) narrow the agreements. Three queries."""
    latest = latest_forecast_run()
    if latest is None:
        return None, []
    before = add_months(month_of(latest.as_of), -1)
    row = (AgreementForecast.objects.filter(as_of__lt=add_months(before, 1)).order_by("-run_id")
           .values_list("run_id", "as_of").first())
    if row is None:
        return None, []
    earlier = ForecastRun(*row)
    ended = list(agreement_forecasts(user=user, run=earlier, customer=customer, agreement=agreement)
                 .filter(period_end__lt=month_of(latest.as_of)))
    if not ended:
        return earlier, []
    spans = {forecast.agreement_id: (forecast.period_start, forecast.period_end) for forecast in ended}
    actual: dict[int, list[Decimal]] = {}
    for agreement_id, period, units, amount, total in (
            LedgerEntry.objects.filter(agreement_id__in=list(spans), kind__in=EARNED_KINDS,
                                       period__gte=min(start for start, _ in spans.values()),
                                       period__lte=max(end for _, end in spans.values()))
            .order_by().values("agreement_id", "period")
            .annotate(units=booked_units(), eligible=Sum("eligible_amount"), total=Sum("amount"))
            .values_list("agreement_id", "period", "units", "eligible", "total")):
        start, end = spans[agreement_id]
        if start <= period <= end:
            held = actual.setdefault(agreement_id, [Decimal("0.000"), ZERO, ZERO])
            held[0] += units or 0
            held[1] += amount or 0
            held[2] += total or 0
    checks = []
    for forecast in ended:
        units, amount, total = actual.get(forecast.agreement_id, (Decimal("0.000"), ZERO, ZERO))
        checks.append(ForecastCheck(forecast, total, actual_units=units, actual_amount=amount))
    checks.sort(key=lambda check: (-abs(check.error), check.forecast.agreement.number))
    return earlier, checks if limit is None else checks[:limit]
