"""Exchange rates: one service for the API, the file import and the admin (docs/currencies.md).

`exchange_rates_set` upserts rates by (currency, to currency, month). A new rate stores the lines of its month
that were held waiting for it; a corrected one converts the month's stored lines again. Both go through
`purchase_lines_ingest` with the lines as they were sent, so they are converted by the one rule and the
database marks the agreements they count for, as for any changed line. One transaction: nothing half-stored.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from customers.services import audit_record
from rebates.currencies import RATE_DIGITS, RATE_PLACES, CurrencyError, checked_code
from rebates.engine.money import DecimalInputError, parse_decimal
from rebates.models import ExchangeRate, HeldPurchaseLine, PurchaseLine
from rebates.services.purchases import _month, purchase_lines_ingest

RATE_FIELDS = ("currency", "to_currency", "month", "rate")


class ExchangeRatesInvalid(Exception):
    """Some rates are wrong; nothing was stored. `errors`: [{"line", "field", "message"}], line 0-based."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in the exchange rates")


@dataclass(frozen=True)
class RatesResult:
    created: int
    updated: int
    unchanged: int
    # Held lines stored now that their rate came; stored lines converted again at a corrected rate.
    released: int
    reconverted: int
    rates: list[ExchangeRate]

    def as_counts(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "released": self.released, "reconverted": self.reconverted}


def exchange_rates_set(*, rates: Iterable[Mapping], by=None) -> RatesResult:
    """Upsert the rates {currency, to_currency (default settings.DEFAULT_CURRENCY), month ("YYYY-MM" or a
    date), rate (a decimal: units of to_currency in one currency)} by currency, to_currency and month.

    Raises ExchangeRatesInvalid naming every bad rate and field; nothing is stored then. A rate new for its
    month stores the lines held for it; a rate that changed converts its month's lines again (a rate sent
    again unchanged touches nothing). Answers the counts and the rates as stored."""
    wanted = _validated(list(rates))
    with transaction.atomic():
        keys = sorted(wanted)
        stored = {(rate.currency, rate.to_currency, rate.month): rate for rate in ExchangeRate.objects
                  .select_for_update().filter(currency__in={key[0] for key in keys}, month__in={key[2] for key in keys})
                  .order_by("pk")}
        user = by if getattr(by, "is_authenticated", False) else None
        created, updated, answer = [], [], []
        for key in keys:
            rate = stored.get(key)
            if rate is None:
                rate = ExchangeRate.objects.create(currency=key[0], to_currency=key[1], month=key[2],
                                                   rate=wanted[key], updated_by=user)
                created.append(key)
            elif rate.rate != wanted[key]:
                rate.rate, rate.updated_by = wanted[key], user
                rate.save(update_fields=["rate", "updated_by", "updated_at"])
                updated.append(key)
            answer.append(rate)
        released, reconverted = _lines_again(created + updated, by=by)
        result = RatesResult(len(created), len(updated), len(keys) - len(created) - len(updated), released,
                             reconverted, answer)
        if created or updated:
            audit_record(actor=by, action="exchange_rates.set", target=answer[0],
                         summary=(f"{len(keys)} exchange rates: {len(created)} created, {len(updated)} updated; "
                                  f"{released} held lines stored, {reconverted} lines converted again"),
                         data={**result.as_counts(), "rates": [
                             [currency, to, f"{month:%Y-%m}", str(wanted[(currency, to, month)])]
                             for currency, to, month in created + updated][:200]})
    return result


def _lines_again(keys: list[tuple], *, by) -> tuple[int, int]:
    """Send again, as they were sent, the held and stored lines the rates of `keys` convert: (held lines
    stored, stored lines converted again)."""
    if not keys:
        return 0, 0
    lines_by_source: dict[str, list[dict]] = defaultdict(list)
    released = reconverted = 0
    for currency, to_currency, month in keys:
        for held in (HeldPurchaseLine.objects.filter(currency=currency, month=month, customer__currency=to_currency)
                     .select_related("customer", "product").order_by("erp_line_id")):
            lines_by_source[held.source].append({
                "erp_line_id": held.erp_line_id, "customer": held.customer.code, "product": held.product.sku,
                "month": held.month, "quantity": held.quantity, "unit_price": held.unit_price,
                "amount": held.amount, "unit": held.unit, "currency": held.currency})
            released += 1
        for line in (PurchaseLine.objects.filter(currency=currency, month=month, customer__currency=to_currency)
                     .select_related("customer", "product").order_by("erp_line_id")):
            lines_by_source[line.source].append({
                "erp_line_id": line.erp_line_id, "customer": line.customer.code, "product": line.product.sku,
                "month": line.month, "quantity": line.quantity_in_unit if line.unit else line.quantity,
                "unit_price": line.unit_price_in_currency, "amount": line.amount_in_currency, "unit": line.unit,
                "currency": line.currency})
            reconverted += 1
    for source, lines in sorted(lines_by_source.items()):
        purchase_lines_ingest(lines=lines, source=source, user=by)
    return released, reconverted


def _validated(rates: list) -> dict[tuple[str, str, date], Decimal]:
    """{(currency, to_currency, month): rate} of well-formed rates, or ExchangeRatesInvalid naming each problem."""
    errors: list[dict] = []
    wanted: dict[tuple, Decimal] = {}
    seen: dict[tuple, int] = {}
    if not rates:
        raise ExchangeRatesInvalid([{"line": None, "field": "rates", "message": "Send at least one rate."}])
    for index, item in enumerate(rates):
        if not isinstance(item, Mapping):
            errors.append(_problem(index, "line", "A rate must be an object with currency, month and rate."))
            continue
        unknown = sorted(str(key) for key in item if key not in RATE_FIELDS)
        for key in unknown:
            errors.append(_problem(index, key, "Unknown field."))
        codes = {}
        for field in ("currency", "to_currency"):
            value = item.get(field)
            if field == "to_currency" and value in (None, ""):
                value = settings.DEFAULT_CURRENCY
            try:
                codes[field] = checked_code(value)
            except CurrencyError as error:
                errors.append(_problem(index, field, "This field is required." if value in (None, "") else str(error)))
        if len(codes) == 2 and codes["currency"] == codes["to_currency"]:
            errors.append(_problem(index, "to_currency", "A rate converts one currency into another."))
        month = _month(item.get("month"), {})
        if isinstance(month, str):
            errors.append(_problem(index, "month", month))
        rate = item.get("rate")
        if rate is None or rate == "":
            errors.append(_problem(index, "rate", "This field is required."))
            rate = None
        else:
            try:
                rate = parse_decimal(rate, places=RATE_PLACES, digits=RATE_DIGITS)
            except DecimalInputError as error:
                errors.append(_problem(index, "rate", str(error)))
                rate = None
            else:
                if rate <= 0:
                    errors.append(_problem(index, "rate", "A rate is more than 0."))
        if errors and errors[-1]["line"] == index:
            continue
        key = (codes["currency"], codes["to_currency"], month)
        if key in seen:
            errors.append(_problem(index, "month", f"The same rate is already line {seen[key]} of this batch."))
            continue
        seen[key] = index
        wanted[key] = rate
    if errors:
        raise ExchangeRatesInvalid(errors)
    return wanted


def _problem(index, field, message) -> dict:
    return {"line": index, "field": field, "message": message}


class RatesFileRefused(Exception):
    """The rate file cannot be stored; `errors` name each problem by row and column: [{"row", "column",
    "field", "message"}] (row and column None for the file as a whole)."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(error["message"] for error in errors[:5]))


def exchange_rates_import(*, stream, name: str, by) -> RatesResult:
    """Rates from an .xlsx or .csv file (columns currency, to_currency (optional), month, rate), stored through
    exchange_rates_set: all of them or none. Raises RatesFileRefused naming every problem by row and column."""
    from rebates.imports.common import ImportRefused
    from rebates.imports.rates import rates_file_read

    try:
        read = rates_file_read(stream, name=name)
    except ImportRefused as refused:
        raise RatesFileRefused([{"row": None, "column": None, "field": None, "message": str(refused)}]) from refused
    if not read.lines:
        raise RatesFileRefused([{"row": None, "column": None, "field": None,
                                 "message": "The file holds no rates under its header row."}])
    lines = [{field: value for field, value in line.items() if value is not None} for line in read.lines]
    try:
        return exchange_rates_set(rates=lines, by=by)
    except ExchangeRatesInvalid as invalid:
        raise RatesFileRefused([read.error_at(error) for error in invalid.errors]) from invalid
