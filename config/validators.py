"""The bounds every edge (API, pages, admin, imports) puts on codes, months, dates and terms: one validator each.

- A code (customer ERP code, SKU, agreement number, program code) names a row in URLs such as
  /api/v1/customers/{code}/, so it holds only what a URL path segment carries as it is: letters and
  digits (any script), `-`, `_`, `.` and `~`, beginning with a letter or digit. No `/`, space, `?`, `#`, `%`.
- Months are from 2000-01 to 2099-12 and days from 2000-01-01 to 2099-12-31: a year outside is a typo
  (0226, 20260), and date arithmetic stays far from the calendar's ends.
- An agreement's term is at most MAX_TERM_MONTHS months, start and end months included.
"""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

CODE_PATTERN = r"^[^\W_][\w.~-]*$"
CODE_RULE = "Letters and digits, and - _ . ~ (beginning with a letter or digit): no spaces, slashes or other signs."
validate_code = RegexValidator(re.compile(CODE_PATTERN.replace("$", r"\Z")), message=CODE_RULE, code="code")

FIRST_YEAR, LAST_YEAR = 2000, 2099
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
# The longest term an agreement may run: ten years.
MAX_TERM_MONTHS = 120
MONTH_RULE = f"A month from {FIRST_YEAR}-01 to {LAST_YEAR}-12."
DAY_RULE = f"A date from {FIRST_DAY} to {LAST_DAY}."
TERM_RULE = f"A term runs at most {MAX_TERM_MONTHS} months ({MAX_TERM_MONTHS // 12} years), start and end included."


def month_in_range(value: date) -> bool:
    """Whether `value` (a month or a day) lies in the years the desk books."""
    return FIRST_YEAR <= value.year <= LAST_YEAR


def validate_month(value: date) -> None:
    if value is not None and not month_in_range(value):
        raise ValidationError(MONTH_RULE, code="month_range")


def validate_day(value: date) -> None:
    if value is not None and not month_in_range(value):
        raise ValidationError(DAY_RULE, code="day_range")


def term_months(start: date, end: date) -> int:
    """Months from `start` to `end`, both included."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def validate_term(start: date | None, end: date | None) -> None:
    """Raises ValidationError on `end_month` when the term runs longer than MAX_TERM_MONTHS."""
    if start is not None and end is not None and term_months(start, end) > MAX_TERM_MONTHS:
        raise ValidationError({"end_month": TERM_RULE}, code="term_length")


# ISO 4217 codes of the currencies in use: a line or a rate in any other code is refused.
ISO_CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
""".split())


def currency_problem(code) -> str:
    """What is wrong with a currency code that is not one of ISO_CURRENCIES."""
    return f"Unknown currency {code!r}: an ISO 4217 code in capitals, such as USD or EUR."


def validate_currency(value: str) -> None:
    if value not in ISO_CURRENCIES:
        raise ValidationError(currency_problem(value))
