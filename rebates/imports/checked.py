"""The lines of a previewed file, kept beside its import batch so the commit does not read the file again.

A gzip'd CSV the application writes itself (never an upload): a first record with the file's kind and
columns, then one record per line with its row in the file and its fields as the check parsed them.
Read back, only Decimal and date parsing is left to do; the codes and SKUs are looked up again by the ingest.
"""

import csv
import gzip
import io
import json
from datetime import date
from decimal import Decimal

from rebates.imports.common import PurchaseFile, row_numbers
from rebates.services.purchases import CheckedLines

FORMAT = "checked-lines/3"


def checked_lines_bytes(checked: CheckedLines, parsed: PurchaseFile) -> bytes:
    """The checked lines of `parsed` as the bytes to keep (rows and columns too, to name a problem found at
    the commit where it is in the file)."""
    buffer = io.BytesIO()
    # Level 1: the lines compress about 5 times at a fraction of the cost of the default level.
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as packed, \
            io.TextIOWrapper(packed, encoding="utf-8", newline="") as text:
        writer = csv.writer(text)
        writer.writerow((FORMAT, parsed.kind, json.dumps(parsed.columns)))
        rows = parsed.rows
        writer.writerows((rows[index], index, erp, customer, product, month.isoformat(), quantity, unit_price,
                          amount, unit, currency)
                         for index, erp, customer, product, month, quantity, unit_price, amount, unit, currency
                         in checked.lines)
    return buffer.getvalue()


def checked_lines_read(stream) -> tuple[CheckedLines, PurchaseFile] | None:
    """The lines kept by checked_lines_bytes, with a PurchaseFile that places them in the file (its lines
    empty); None when the stream does not hold checked lines."""
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as packed, \
                io.TextIOWrapper(packed, encoding="utf-8", newline="") as text:
            reader = csv.reader(text)
            head = next(reader, None)
            if not head or head[0] != FORMAT:
                return None
            kind, columns = head[1], {field: tuple(place) for field, place in json.loads(head[2]).items()}
            lines, rows = [], row_numbers()
            # Codes, SKUs, months and most figures repeat: each distinct one is made once and shared.
            shared: dict[str, object] = {}
            months: dict[str, date] = {}
            for row, index, erp, customer, product, month, quantity, unit_price, amount, unit, currency in reader:
                rows.append(int(row))
                day = months.get(month)
                if day is None:
                    day = months[month] = date.fromisoformat(month)
                customer = shared.setdefault(customer, customer)
                product = shared.setdefault("\x00" + product, product)
                lines.append((int(index), erp, customer, product, day, _decimal(quantity, shared),
                              _decimal(unit_price, shared), Decimal(amount), shared.setdefault("\x02" + unit, unit),
                              shared.setdefault("\x03" + currency, currency)))
    except (OSError, EOFError, ValueError, csv.Error, UnicodeDecodeError):
        return None
    return CheckedLines(lines), PurchaseFile(lines=[], rows=rows, columns=columns, kind=kind)


def _decimal(text: str, shared: dict) -> Decimal:
    key = "\x01" + text
    number = shared.get(key)
    if number is None:
        number = shared[key] = Decimal(text)
    return number
