"""The stored outlook as files (the forecasts page's and the API's downloads): last month's forecasts against
what happened, and each agreement's next tier and forecast. The rows are `rebates.forecasts`' reads, the same
the API serializes; nothing is worked out again here. Amounts are in each agreement's currency, named in the
last column; totals are figures in a file of one currency, else each in words per currency."""

from collections.abc import Iterable

from django.http import HttpResponse

from rebates.engine.money import ZERO_MONEY
from rebates.lists import values_export_response
from rebates.models import AgreementForecast
from rebates.templatetags.figures import money_parts

ACCURACY_HEADERS = (
    ("Agreement", "text"), ("Customer", "text"), ("Customer name", "text"), ("Forecast made on", "date"),
    ("Period from", "month"), ("Period to", "month"), ("Forecast units", "quantity"),
    ("Forecast net purchases", "money"), ("Forecast rebate", "money"), ("Actual units", "quantity"),
    ("Actual net purchases", "money"), ("Actual rebate", "money"), ("Error", "money"), ("Error %", "percent"),
    ("Currency", "text"),
)
# The accuracy sheet's money columns and what each row holds there, by column index.
ACCURACY_TOTALS = {7: "forecast_amount", 8: "forecast_rebate", 10: "actual_amount", 11: "actual", 12: "error"}

OUTLOOK_HEADERS = (
    ("Agreement", "text"), ("Customer", "text"), ("Customer name", "text"), ("Outlook as of", "date"),
    ("Period from", "month"), ("Period to", "month"), ("Days left", "int"), ("Next threshold", "text"),
    ("Measured in", "text"), ("Units to go", "quantity"), ("Net purchases to go", "money"),
    ("Reaching it adds", "money"), ("Of which catch-up", "money"), ("Needed a month", "quantity"),
    ("Own a month", "quantity"), ("Forecast units", "quantity"), ("Forecast net purchases", "money"),
    ("Forecast rebate", "money"), ("Earned to date", "money"), ("Forecast payout", "money"),
    ("Month of payout", "month"), ("Forecast method", "text"), ("Currency", "text"),
)
OUTLOOK_TOTALS = {11: "next_extra", 12: "next_extra_catch_up", 16: "volume_amount", 17: "rebate",
                  18: "rebate_to_date", 19: "payout"}

THRESHOLDS = dict(AgreementForecast.Threshold.choices)
MEASURES = dict(AgreementForecast.Measure.choices)
METHODS = dict(AgreementForecast.Method.choices)


class _Totals:
    """Sums of the money columns per currency as the rows go by, for the totals row."""

    def __init__(self, columns: dict[int, str]):
        self.columns = columns
        self.sums: dict[int, dict[str, object]] = {column: {} for column in columns}

    def add(self, currency: str, figures: dict[int, object]) -> None:
        for column, figure in figures.items():
            if figure is not None:
                by_currency = self.sums[column]
                by_currency[currency] = by_currency.get(currency, ZERO_MONEY) + figure

    def row(self, currency_column: int) -> dict[int, object]:
        """Column -> figure (one currency, named in the currency column) or words per currency."""
        currencies = sorted({currency for by_currency in self.sums.values() for currency in by_currency})
        if len(currencies) > 1:
            return {column: money_parts(by_currency) for column, by_currency in self.sums.items()}
        if not currencies:
            return {column: ZERO_MONEY for column in self.columns}
        return {**{column: by_currency.get(currencies[0], ZERO_MONEY) for column, by_currency in self.sums.items()},
                currency_column: currencies[0]}


def forecast_accuracy_export(checks, *, format: str) -> HttpResponse:
    """Last month's forecasts against what happened (`rebates.forecasts.forecast_checks`' rows) as .xlsx or
    .csv, named `forecast-accuracy-<today>`: forecast and actual units, net purchases and rebate, the error
    (forecast less actual) and the error in percent of the actual (blank when the period earned nothing)."""
    totals = _Totals(ACCURACY_TOTALS)

    def rows() -> Iterable[list]:
        for check in checks:
            forecast = check.forecast
            agreement = forecast.agreement
            currency = agreement.customer.currency
            figures = {7: forecast.volume_amount, 8: forecast.rebate, 10: check.actual_amount, 11: check.actual,
                       12: check.error}
            totals.add(currency, figures)
            yield [agreement.number, agreement.customer.code, agreement.customer.name, forecast.as_of,
                   forecast.period_start, forecast.period_end, forecast.volume_quantity, figures[7], figures[8],
                   check.actual_units, figures[10], figures[11], figures[12],
                   "" if check.error_percent is None else check.error_percent, currency]

    return _answer(name="forecast-accuracy", title="Forecast accuracy", headers=ACCURACY_HEADERS, rows=rows(),
                   totals=totals, format=format)


def agreement_outlook_export(forecasts, *, format: str) -> HttpResponse:
    """Each agreement's stored outlook (`rebates.forecasts.agreement_forecasts`' rows, with agreement and
    customer) as .xlsx or .csv, named `outlook-per-agreement-<today>`: the next threshold (what it is, the
    units and net purchases to go, what reaching it adds and how much of that is catch-up, the days left, the
    monthly run-rate needed against the period's own) and the period's forecast volume, rebate and payout."""
    totals = _Totals(OUTLOOK_TOTALS)

    def rows() -> Iterable[list]:
        for row in forecasts:
            agreement = row.agreement
            currency = agreement.customer.currency
            figures = {column: getattr(row, name) for column, name in OUTLOOK_TOTALS.items()}
            totals.add(currency, figures)
            yield [agreement.number, agreement.customer.code, agreement.customer.name, row.as_of,
                   row.period_start, row.period_end, _blank(row.days_left), THRESHOLDS.get(row.next_kind, ""),
                   MEASURES.get(row.next_measure, ""), _blank(row.to_go_units), _blank(row.to_go_amount),
                   _blank(row.next_extra), _blank(row.next_extra_catch_up), _blank(row.needed_per_month),
                   _blank(row.own_per_month), row.volume_quantity, row.volume_amount, row.rebate,
                   row.rebate_to_date, row.payout, row.payout_month, METHODS.get(row.method, row.method), currency]

    return _answer(name="outlook-per-agreement", title="Outlook per agreement", headers=OUTLOOK_HEADERS,
                   rows=rows(), totals=totals, format=format)


def _blank(value):
    return "" if value is None else value


def _answer(*, name, title, headers, rows, totals: _Totals, format: str) -> HttpResponse:
    rows = list(rows)  # the totals are known once every row is read
    currency_column = len(headers) - 1
    return values_export_response(name=name, title=title, headers=headers, rows=rows, format=format,
                                  totals=totals.row(currency_column), currency_column=currency_column)
