"""The forecast liability by month of payout as a file (the forecasts page's and the API's download)."""

from django.http import HttpResponse

from rebates.engine.money import ZERO_MONEY
from rebates.lists import values_export_response
from rebates.templatetags.figures import money_parts

FORECAST_MONTH_HEADERS = (("Month of payout", "month"), ("Agreements", "int"), ("Forecast rebate", "money"),
                          ("Forecast payout", "money"), ("Earned to date", "money"), ("Currency", "text"))


def forecast_months_export(months, totals, *, format: str) -> HttpResponse:
    """The forecast liability by month as a file: each row with its currency; the totals as figures in a file
    of one currency, else each in words per currency ("€10.00 · $20.00"), never one sum of currencies."""
    currencies = sorted(totals["rebate"])
    names = ("rebate", "payout", "earned_to_date")
    if len(currencies) <= 1:
        figures = {index: totals[name].get(currencies[0], ZERO_MONEY) if currencies else ZERO_MONEY
                   for index, name in enumerate(names, start=2)}
        if currencies:
            figures[5] = currencies[0]
    else:
        figures = {index: money_parts(totals[name]) for index, name in enumerate(names, start=2)}
    return values_export_response(
        name="forecast-liability", title="Forecast liability", headers=FORECAST_MONTH_HEADERS, format=format,
        rows=([m.month, m.agreements, m.rebate, m.payout, m.earned_to_date, m.currency] for m in months),
        totals=figures, currency_column=len(FORECAST_MONTH_HEADERS) - 1)
