"""Purchase lines from the ERP (REST) and from files: validated whole, then upserted by erp_line_id.

One function, `purchase_lines_ingest`, serves the API and the file import. It checks every line first and
stores nothing when any line is wrong (naming each bad line and field), then writes set-based: lines that
already hold the same figures are left alone, new and changed lines go in one INSERT ... ON CONFLICT per
few thousand lines. The database marks what every new, changed, moved or deleted line counts for (the
triggers of migration 0010_accrual_mark_triggers), so the next incremental run recomputes it.

A line sent in another currency than its customer's converts at its month's rate (rebates.currencies); when
the month has no such rate the line is held (HeldPurchaseLine, with the reason) instead of stored, and a line
stored before under the same erp_line_id is taken out: the latest version of a line is the one that counts.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from config import clock
from config.validators import MONTH_RULE, month_in_range
from customers.models import Customer
from customers.services import audit_record
from rebates.bulk import copy_lines, csv_field
from rebates.currencies import CurrencyError, checked_code, convert_line, missing_rate_reason
from rebates.engine.money import DecimalInputError, parse_decimal
from rebates.models import ImportBatch, Product, PurchaseLine
from rebates.scope import AgreementScope, covers
from rebates.sql import purchases as sql
from rebates.terms import as_date
from rebates.units import ProductUnits, UnitError, is_base, price_per_base, to_base

FIELDS = ("erp_line_id", "customer", "product", "month", "quantity", "unit_price", "amount")
# Fields a line may leave out: `unit` (the product's base unit when absent or blank) and `currency` (the
# customer's when absent or blank).
OPTIONAL_FIELDS = ("unit", "currency")
ALL_FIELDS = FIELDS + OPTIONAL_FIELDS
UNIT_MAX = PurchaseLine._meta.get_field("unit").max_length
# Lines read and written per statement: big enough to be set-based, small enough for any driver.
CHUNK = 5000
ERP_LINE_ID_MAX = PurchaseLine._meta.get_field("erp_line_id").max_length
# (smallest step, bound) of each number column: its decimal places, and its digits before the point.
# Decimal places and digits in all, as the columns hold them.
NUMBER_FIELDS = {"quantity": (3, 14), "unit_price": (4, 14), "amount": (2, 16)}


class PurchaseLinesInvalid(Exception):
    """Some lines are wrong; nothing was stored. `errors` names every problem:
    {"line": 0-based index in the batch, "erp_line_id": str | None, "field": name, "message": plain words}."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in the purchase lines")


@dataclass(frozen=True)
class IngestResult:
    created: int
    updated: int
    unchanged: int
    unmatched: int
    # erp_line_ids of lines that match no agreement (stored anyway), in batch order.
    unmatched_lines: list[str]
    batch: ImportBatch | None
    # A check (validate_only) hands back the lines as it read them, so a later commit need not read them again.
    checked: "CheckedLines | None" = None
    # Lines held for a missing rate (not stored as purchase lines): [{"erp_line_id", "reason"}], in batch order.
    held_lines: list[dict] = field(default_factory=list)

    @property
    def held(self) -> int:
        return len(self.held_lines)

    def as_counts(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "unmatched": self.unmatched, "held": self.held}


# A validated line: (index, erp_line_id, customer_id, product_id, month, quantity, unit_price, amount, unit,
# quantity_in_unit, unit_price_in_unit, currency, unit_price_in_currency, amount_in_currency, exchange_rate):
# quantity and unit price in the product's base unit, unit price and amount in the customer's currency; the
# unit and the figures as sent for a line in another unit ("", None, None for a line in the base unit), the
# currency, the figures as sent and the rate for a line in another currency ("", None, None, None).
Row = tuple[int, str, int, int, date, Decimal, Decimal, Decimal, str, Decimal | None, Decimal | None,
            str, Decimal | None, Decimal | None, Decimal | None]
# A line held for a missing rate: (index, erp_line_id, customer_id, product_id, month, quantity, unit_price,
# amount, unit, currency, reason), its figures as sent.
HeldRow = tuple[int, str, int, int, date, Decimal, Decimal, Decimal, str, str, str]
# A checked line: (index, erp_line_id, customer code, product SKU, month, quantity, unit_price, amount, unit,
# currency), quantity and unit price as sent, in `unit` ("" for none given), money in `currency` ("" for none).
CheckedLine = tuple[int, str, str, str, date, Decimal, Decimal, Decimal, str, str]


@dataclass(frozen=True)
class CheckedLines:
    """Lines a check found well-formed, already parsed, codes and SKUs as written: handed back to
    purchase_lines_ingest they skip the parsing, and only the codes are looked up again (a customer or
    product removed meanwhile is named as it would have been at the check). Handed over to be stored (not
    validate_only), they are used up: the list is emptied as the rows to store are made."""

    lines: list[CheckedLine]

    def __len__(self) -> int:
        return len(self.lines)


def purchase_lines_ingest(
    *,
    lines: Iterable[Mapping] | CheckedLines,
    source: str,
    user=None,
    import_batch: ImportBatch | None = None,
    validate_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Validate every line, then upsert them by erp_line_id in one transaction.

    `lines` are mappings with erp_line_id, customer (ERP code), product (SKU), month ("YYYY-MM" or a
    date), quantity, unit_price and amount (decimal strings, Decimals or ints; a float is refused) and
    optionally unit (a unit of the product; its base unit when absent: rebates.units), or the
    CheckedLines of an earlier check's result (parsed then; their codes and SKUs are looked up again).
    Raises PurchaseLinesInvalid naming every bad line and field; nothing is stored then.
    Answers how many lines were created, updated (their figures changed) and unchanged, and which match
    no agreement (stored anyway). With `validate_only` it answers what a commit would, storing nothing, and
    hands back the lines as checked.
    Without `import_batch` (the API) a stored batch is recorded for the lines; a given batch (the file
    import) gets the counts and the stored status. The caller checks permissions; `user` is for the audit.
    """
    if source not in PurchaseLine.Source.values:
        raise ValueError(f"unknown source {source!r}")
    rows, held, checked = _validated(lines, keep=validate_only)
    held_lines = [{"erp_line_id": row[1], "reason": row[10]} for row in held]
    total = len(rows)
    if validate_only:
        created = updated = 0
        for start in range(0, total, CHUNK):
            chunk = rows[start:start + CHUNK]
            existing = _existing(chunk)
            new, changed = _split(chunk, existing)
            created += len(new)
            updated += len(changed)
            if progress is not None:
                progress(min(start + CHUNK, total), total)
        unmatched = _unmatched(rows)
        return IngestResult(created, updated, total - created - updated, len(unmatched), unmatched, import_batch,
                            checked, held_lines)

    with transaction.atomic():
        batch = import_batch or ImportBatch.objects.create(
            source=source, created_by=user if getattr(user, "is_authenticated", False) else None,
            status=ImportBatch.Status.IMPORTING,
        )
        created = updated = 0
        now = clock.now()
        if held:
            _hold(held, source=source, batch=batch, now=now)
        for start in range(0, total, CHUNK):
            chunk = rows[start:start + CHUNK]
            chunk_created, chunk_updated = _write(chunk, source=source, batch=batch, now=now)
            created += chunk_created
            updated += chunk_updated
            if progress is not None:
                progress(min(start + CHUNK, total), total)
        if total:
            # A line stored now is no longer waiting for a rate.
            sql.held_lines_release([row[1] for row in rows])
        unmatched = _unmatched(rows)
        result = IngestResult(created, updated, total - created - updated, len(unmatched), unmatched, batch,
                              held_lines=held_lines)
        batch.status = ImportBatch.Status.STORED
        batch.progress = 100
        batch.line_count = total + len(held)
        batch.created_count, batch.updated_count = created, updated
        batch.unchanged_count, batch.unmatched_count = result.unchanged, result.unmatched
        batch.save(update_fields=["status", "progress", "line_count", "created_count", "updated_count",
                                  "unchanged_count", "unmatched_count"])
        audit_record(
            actor=user, actor_label=PurchaseLine.Source(source).label, action="purchase_lines.ingest",
            target=batch,
            summary=(f"{total + len(held)} purchase lines: {created} created, {updated} updated, {result.unchanged} "
                     f"unchanged, {result.unmatched} unmatched"
                     + (f", {len(held)} held for a missing rate" if held else "")),
            data=result.as_counts(),
        )
    return result


def purchase_line_save(*, by, erp_line_id: str, customer: str, product: str, month, quantity, unit_price,
                       amount, unit: str = "", currency: str = "") -> IngestResult:
    """One line typed by hand (the admin): stored as the ERP's lines are, through purchase_lines_ingest, so
    it is validated, upserted by erp_line_id and audited the same way; its source is manual."""
    return purchase_lines_ingest(
        lines=[{"erp_line_id": erp_line_id, "customer": customer, "product": product, "month": month,
                "quantity": quantity, "unit_price": unit_price, "amount": amount, "unit": unit,
                "currency": currency}],
        source=PurchaseLine.Source.MANUAL, user=by)


def purchase_lines_delete(*, by, lines) -> int:
    """Delete purchase lines (a mistaken manual line, say), with one audit row naming them. The agreements
    they counted for are recomputed by the next run (the ledger books the difference). Answers how many."""
    with transaction.atomic():
        doomed = list(PurchaseLine.objects.select_for_update().filter(pk__in=[line.pk for line in lines])
                      .order_by("pk").values_list("pk", "erp_line_id"))
        if not doomed:
            return 0
        PurchaseLine.objects.filter(pk__in=[pk for pk, _ in doomed]).delete()
        names = [erp_line_id for _, erp_line_id in doomed]
        audit_record(actor=by, action="purchase_lines.delete", target=PurchaseLine(pk=doomed[0][0]),
                     summary=f"{len(names)} purchase line{'s' if len(names) != 1 else ''} deleted: "
                             f"{', '.join(names[:20])}{' ...' if len(names) > 20 else ''}",
                     data={"erp_line_ids": names})
        return len(names)


# --- validation -------------------------------------------------------------------------------------


def _validated(lines: Iterable[Mapping] | CheckedLines, *, keep: bool = False
               ) -> tuple[list[Row], list[HeldRow], CheckedLines | None]:
    """Every line parsed, or PurchaseLinesInvalid naming every problem (codes and SKUs looked up at once):
    the lines to store, and those held for a missing rate. With `keep`, also the lines as checked (codes as
    written), for a commit to come."""
    if isinstance(lines, CheckedLines):
        parsed, errors = lines.lines, []
    else:
        parsed, errors = _parsed(lines)
    # Codes and SKUs are looked up for every line, so an unknown one is named beside the other problems.
    customer_ids = _ids(Customer, "code", {row[2] for row in parsed if row[2] is not None})
    product_ids = _ids(Product, "sku", {row[3] for row in parsed if row[3] is not None})
    # Units are read only for the products some line names a unit of: most batches name none.
    units = sql.product_units(sorted({product_ids[row[3]] for row in parsed
                                      if row[8] and row[3] in product_ids}))
    # Currencies and rates likewise, only when some line names a currency.
    currency_of, rates = _currencies_and_rates(parsed, customer_ids)
    rows: list[Row] = []
    held: list[HeldRow] = []
    # Lines handed over as checked, for storing, are used up as their rows are made: a 100,000-line commit
    # never holds both whole.
    used_up = isinstance(lines, CheckedLines) and not keep
    for position in range(len(parsed)):
        index, erp_line_id, customer, product, month, quantity, unit_price, amount, unit, currency = parsed[position]
        if used_up:
            parsed[position] = None
        customer_id = customer_ids.get(customer)
        product_id = product_ids.get(product)
        if customer is not None and customer_id is None:
            errors.append(_problem(index, erp_line_id, "customer", f"No customer has the ERP code {customer!r}."))
        if product is not None and product_id is None:
            errors.append(_problem(index, erp_line_id, "product", f"No product has the SKU {product!r}."))
        as_sent = ("", None, None, None)
        if (currency and customer_id is not None and currency != currency_of[customer_id]
                and not isinstance(month, str)):
            rate = rates.get((currency, currency_of[customer_id], month))
            if rate is None:
                if unit and product_id is not None:  # a unit that cannot be used is refused, held or not
                    _in_base_unit(units[product_id], unit, quantity, unit_price, index, erp_line_id, errors)
                if not errors:
                    held.append((index, erp_line_id, customer_id, product_id, month, quantity, unit_price, amount,
                                 unit, currency, missing_rate_reason(currency, currency_of[customer_id], month)))
                continue
            if type(unit_price) is not str and type(amount) is not str:
                try:
                    converted = convert_line(unit_price, amount, rate)
                except CurrencyError as error:
                    errors.append(_problem(index, erp_line_id, "amount", str(error)))
                    continue
                as_sent = (currency, unit_price, amount, rate)
                unit_price, amount = converted.unit_price, converted.amount
        in_unit = None
        if unit and product_id is not None:
            in_unit = _in_base_unit(units[product_id], unit, quantity, unit_price, index, erp_line_id, errors)
        if not errors:  # once a line is wrong nothing is stored: the rows are not needed
            if in_unit is None:
                rows.append((index, erp_line_id, customer_id, product_id, month, quantity, unit_price, amount, "",
                             None, None, *as_sent))
            else:
                rows.append((index, erp_line_id, customer_id, product_id, month, *in_unit[:2], amount, in_unit[2],
                             quantity, unit_price, *as_sent))
    if errors:
        errors.sort(key=lambda error: (error["line"], ALL_FIELDS.index(error["field"])
                                       if error["field"] in ALL_FIELDS else -1))
        raise PurchaseLinesInvalid(errors)
    if used_up:
        parsed.clear()
    if not keep:
        return rows, held, None
    return rows, held, lines if isinstance(lines, CheckedLines) else CheckedLines(parsed)


def _currencies_and_rates(parsed: list[CheckedLine], customer_ids: dict[str, int]
                          ) -> tuple[dict[int, str], dict[tuple, Decimal]]:
    """{customer id: currency} of the customers some line names a currency for, and the rates
    {(currency, customer currency, month): rate} those lines need that are on record."""
    named = [(customer_ids[row[2]], row[9], row[4]) for row in parsed
             if row[9] and row[2] in customer_ids and not isinstance(row[4], str)]
    if not named:
        return {}, {}
    currency_of = sql.customer_currencies(sorted({customer_id for customer_id, _, _ in named}))
    wanted = {(currency, currency_of[customer_id], month) for customer_id, currency, month in named
              if currency != currency_of[customer_id]}
    return currency_of, sql.exchange_rates(sorted(wanted)) if wanted else {}


def _in_base_unit(units: ProductUnits, unit: str, quantity, unit_price, index, erp_line_id, errors
                  ) -> tuple[Decimal, Decimal, str] | None:
    """(quantity, unit price, unit) of a line sent in `unit`: its figures in the product's base unit, and
    the unit to store. None for a line in the base unit itself; None, with the problem noted, when the unit
    is unknown or the quantity does not convert exactly. A line whose quantity or price is already wrong
    is left to those errors."""
    try:
        base_quantity = units.base_quantity_of(unit)
    except UnitError as error:
        errors.append(_problem(index, erp_line_id, "unit", str(error)))
        return None
    if is_base(units, unit) or type(quantity) is str or type(unit_price) is str:
        return None
    try:
        return to_base(quantity, base_quantity), price_per_base(unit_price, base_quantity), unit
    except UnitError as error:
        errors.append(_problem(index, erp_line_id, "quantity", str(error)))
        return None


def _parsed(lines: Iterable[Mapping]) -> tuple[list[CheckedLine], list[dict]]:
    """Each line's fields parsed (codes not yet looked up), and the problems found: a line with a problem
    holds its messages where its values would be."""
    errors: list[dict] = []
    parsed = []
    seen: dict[str, int] = {}
    months: dict = {}
    for index, line in enumerate(lines):
        if not isinstance(line, Mapping):
            errors.append(_problem(index, None, "line", "A line must be an object with the line's fields."))
            continue
        erp_line_id = _text(line.get("erp_line_id"), index, None, "erp_line_id", ERP_LINE_ID_MAX, errors)
        if erp_line_id is not None:
            if erp_line_id in seen:
                errors.append(_problem(index, erp_line_id, "erp_line_id",
                                       f"The same erp_line_id is already line {seen[erp_line_id]} of this batch."))
            else:
                seen[erp_line_id] = index
        customer = _text(line.get("customer"), index, erp_line_id, "customer", 40, errors)
        product = _text(line.get("product"), index, erp_line_id, "product", 60, errors)
        month = _month(line.get("month"), months)
        if isinstance(month, str):
            errors.append(_problem(index, erp_line_id, "month", month))
        quantity = _number(line.get("quantity"), *NUMBER_FIELDS["quantity"])
        unit_price = _number(line.get("unit_price"), *NUMBER_FIELDS["unit_price"])
        amount = _number(line.get("amount"), *NUMBER_FIELDS["amount"])
        if type(quantity) is str:
            errors.append(_problem(index, erp_line_id, "quantity", quantity))
        if type(unit_price) is str:
            errors.append(_problem(index, erp_line_id, "unit_price", unit_price))
        elif unit_price < 0:
            errors.append(_problem(index, erp_line_id, "unit_price", "The unit price cannot be negative."))
        if type(amount) is str:
            errors.append(_problem(index, erp_line_id, "amount", amount))
        unit = line.get("unit")
        if unit is not None and unit != "":
            unit = _text(unit, index, erp_line_id, "unit", UNIT_MAX, errors)
        currency = line.get("currency")
        if currency is not None and currency != "":
            currency = _text(currency, index, erp_line_id, "currency", 3, errors)
            if currency is not None:
                try:
                    checked_code(currency)
                except CurrencyError as error:
                    errors.append(_problem(index, erp_line_id, "currency", str(error)))
                    currency = None
        parsed.append((index, erp_line_id, customer, product, month, quantity, unit_price, amount, unit or "",
                       currency or ""))
    return parsed, errors


def _problem(index, erp_line_id, field, message) -> dict:
    return {"line": index, "erp_line_id": erp_line_id, "field": field, "message": message}


def _text(value, index, erp_line_id, field, max_length, errors) -> str | None:
    if (type(value) is str and 0 < len(value) <= max_length and value.strip() == value and value.isascii()
            and "\x00" not in value):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.append(_problem(index, erp_line_id, field, "This field is required."))
        return None
    if not isinstance(value, str):
        errors.append(_problem(index, erp_line_id, field, "Must be text."))
        return None
    value = value.strip()
    if "\x00" in value or not _encodable(value):
        errors.append(_problem(index, erp_line_id, field, "Must be plain text (no NUL characters, valid Unicode)."))
        return None
    if len(value) > max_length:
        errors.append(_problem(index, erp_line_id, field, f"At most {max_length} characters."))
        return None
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape
        return False
    return True


def _month(value, cache) -> date | str:
    """The first of the month (2000-01 to 2099-12), or the message saying why not. "YYYY-MM" strings, dates and
    datetimes."""
    if type(value) is str:
        month = cache.get(value)
        if month is not None:
            return month
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.replace(day=1) if month_in_range(value) else MONTH_RULE
    if value is None or value == "":
        return "This field is required."
    if not isinstance(value, str):
        return "A month as YYYY-MM."
    month = cache.get(value)
    if month is None:
        text = value.strip()
        try:
            if len(text) != 7 or text[4] != "-" or not (text[:4].isdigit() and text[5:].isdigit()):
                raise ValueError
            month = date(int(text[:4]), int(text[5:]), 1)
            if not month_in_range(month):
                month = MONTH_RULE
        except ValueError:
            month = "A month as YYYY-MM."
        cache[value] = month
    return month


def _number(value, places: int, digits: int) -> Decimal | str:
    """An exact Decimal with at most `places` decimal places and `digits` digits, or the message saying why not."""
    if value is None:
        return "This field is required."
    try:
        return parse_decimal(value, places=places, digits=digits)
    except DecimalInputError as error:
        return str(error)


def _ids(model, field: str, values: set[str]) -> dict[str, int]:
    return sql.ids_by(model, field, sorted(values))


# --- storage ----------------------------------------------------------------------------------------

def _existing(chunk: list[Row]) -> dict[str, tuple]:
    """The stored (customer_id, product_id, month, quantity, unit_price, amount, unit, quantity_in_unit,
    unit_price_in_unit, currency, unit_price_in_currency, amount_in_currency, exchange_rate) per erp_line_id of
    the chunk."""
    return {erp: rest for erp, *rest in sql.stored_lines([row[1] for row in chunk])}


def _split(chunk: list[Row], existing: dict[str, tuple]) -> tuple[list[Row], list[Row]]:
    """The chunk's new lines and its lines whose figures differ from what is stored."""
    new, changed = [], []
    for row in chunk:
        held = existing.get(row[1])
        if held is None:
            new.append(row)
        elif tuple(held) != row[2:]:
            changed.append(row)
    return new, changed


def _write(chunk: list[Row], *, source: str, batch: ImportBatch, now) -> tuple[int, int]:
    """Store the chunk's new and changed lines; answer (created, updated)."""
    new, changed = _split(chunk, _existing(chunk))
    if not new and not changed:
        return 0, 0
    created = updated = 0
    if new:
        try:
            # New lines go in by COPY, the quickest way in; should another batch store one of them meanwhile,
            # the unique erp_line_id refuses the COPY whole and the lines take the upsert below instead.
            with transaction.atomic():
                _copy(new, source=source, batch=batch, now=now)
            created, new = len(new), []
        except IntegrityError:
            pass
    if changed:
        # Lock the lines about to change in key order, as every concurrent batch does.
        sql.stored_lines_locked([row[1] for row in changed])
    rows = sorted(new + changed, key=lambda row: row[1])
    if rows:
        inserted = sql.upsert([row[1:] for row in rows], source=source, batch_id=batch.pk, now=now)
        created += sum(inserted)
        updated += len(inserted) - sum(inserted)
    return created, updated


_COPY_COLUMNS = ("erp_line_id", "customer_id", "product_id", "month", "quantity", "unit_price", "amount", "unit",
                 "quantity_in_unit", "unit_price_in_unit", "currency", "unit_price_in_currency", "amount_in_currency",
                 "exchange_rate", "source", "import_batch_id", "created_at", "updated_at")


def _copy(rows: list[Row], *, source, batch, now) -> None:
    tail = f",{source},{batch.pk},{now.isoformat()},{now.isoformat()}\n"
    # copy_lines talks to the driver directly; its errors are turned into Django's here.
    with connection.wrap_database_errors:
        copy_lines(PurchaseLine, _COPY_COLUMNS, (
            f"{csv_field(erp)},{customer_id},{product_id},{month.isoformat()},{quantity},{unit_price},{amount},"
            f"{csv_field(unit)},{csv_field(in_unit)},{csv_field(price_in_unit)},{csv_field(currency)},"
            f"{csv_field(price_in_currency)},{csv_field(amount_in_currency)},{csv_field(rate)}{tail}"
            for (_, erp, customer_id, product_id, month, quantity, unit_price, amount, unit, in_unit, price_in_unit,
                 currency, price_in_currency, amount_in_currency, rate)
            in sorted(rows, key=lambda row: row[1])))


def _hold(held: list[HeldRow], *, source, batch, now) -> None:
    """Keep the lines waiting for a rate (replacing any held before under their erp_line_id), and take out
    the purchase lines stored before under those ids: the agreements they counted for are marked by the
    database as for any deleted line."""
    ids = sorted(row[1] for row in held)
    sql.stored_lines_locked(ids)
    sql.purchase_lines_delete(ids)
    sql.held_lines_upsert([row[1:] for row in sorted(held, key=lambda row: row[1])], source=source,
                          batch_id=batch.pk, now=now)


# --- matching ---------------------------------------------------------------------------------------

# A large batch is matched in one query (the planner reads every agreement and scope once); a small one
# reads by index only its customers' agreements and scopes, a few hundred rows whatever the size of the business,
# and matches here by the same rule.
LARGE_BATCH = 1000


def _unmatched(rows: list[Row]) -> list[str]:
    """erp_line_ids of the lines no agreement counts (its customer, a product in scope, a month in the term)."""
    if not rows:
        return []
    if len(rows) >= LARGE_BATCH:
        unmatched = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            positions = sql.uncovered_positions([(row[2], row[3], row[4]) for row in chunk])
            unmatched.extend(chunk[i - 1][1] for i in positions)
        return unmatched
    agreements, scope_products, scope_lines = sql.customers_scopes(sorted({row[2] for row in rows}))
    line_of = sql.product_lines_of(sorted({row[3] for row in rows}))
    products, lines = defaultdict(set), defaultdict(set)
    for pk, product_id in scope_products:
        products[pk].add(product_id)
    for pk, line_id in scope_lines:
        lines[pk].add(line_id)
    scopes = defaultdict(list)
    for pk, customer_id, first, last in agreements:
        scopes[customer_id].append(AgreementScope(customer_id, as_date(first), as_date(last),
                                                  frozenset(products[pk]), frozenset(lines[pk])))
    return [erp for _, erp, customer_id, product_id, month, *_ in rows
            if not any(covers(scope, product_id, line_of[product_id], month) for scope in scopes[customer_id])]
