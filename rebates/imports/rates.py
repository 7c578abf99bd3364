"""Reading an exchange-rate file (.xlsx or .csv): the purchase files' readers and guards, with the rate
columns (currency, to_currency, month, rate) for headers."""

from rebates.imports.common import PurchaseFile
from rebates.imports.reading import columns_file_read

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
    return columns_file_read(stream, name=name, headers=HEADERS, required=REQUIRED, most=MAX_RATES, what="rates")
