"""Reading an exchange-rate file (.xlsx or .csv): the purchase files' readers and guards, with the rate
columns (currency, to_currency, month, rate) for headers."""

from rebates.imports.common import COLUMNS, ImportRefused, PurchaseFile
from rebates.imports.reading import purchase_file_read

HEADERS = {
    "currency": ("currency", "from currency", "ccy"),
    "to_currency": ("to_currency", "to currency", "in currency"),
    "month": ("month", "period"),
    "rate": ("rate", "exchange rate", "fx rate"),
}
REQUIRED = ("currency", "month", "rate")
# A rate file holds a few currencies' months: anything near this is not one.
MAX_RATES = 10_000


def rates_file_read(stream, *, name: str) -> PurchaseFile:
    """The rates of an .xlsx or .csv upload as mappings (`lines`), with where each is in the file; raises
    ImportRefused for a file that is hostile, damaged, too large or has not the rate columns."""
    header_field = {written: field for field, names in HEADERS.items() for written in names}
    token = COLUMNS.set((HEADERS, header_field, REQUIRED))
    try:
        read = purchase_file_read(stream, name=name)
    finally:
        COLUMNS.reset(token)
    if len(read.lines) > MAX_RATES:
        raise ImportRefused(f"The file holds {len(read.lines):,} rates; at most {MAX_RATES:,} are read at once.")
    return read
