"""Reading a buying-group membership file (.xlsx or .csv): the purchase files' readers and guards, with the
membership columns (group, member, joined, ended) for headers."""

from rebates.imports.common import PurchaseFile
from rebates.imports.reading import columns_file_read

HEADERS = {
    "group": ("group", "group code", "buying group"),
    "member": ("member", "member code", "customer", "customer code"),
    "joined": ("joined", "joined month", "from", "from month"),
    "ended": ("ended", "ended month", "left", "until"),
}
REQUIRED = ("group", "member", "joined")
# A membership file holds the members of a few hundred groups: anything near this is not one.
MAX_MEMBERSHIPS = 10_000


def memberships_file_read(stream, *, name: str) -> PurchaseFile:
    """The memberships of an .xlsx or .csv upload as mappings (`lines`: group, member, joined, ended), with
    where each is in the file; raises ImportRefused for a file that is hostile, damaged, too large or has not
    the membership columns."""
    return columns_file_read(stream, name=name, headers=HEADERS, required=REQUIRED, most=MAX_MEMBERSHIPS,
                             what="memberships")
