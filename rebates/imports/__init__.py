"""Purchase lines from .xlsx and .csv files: read safely, previewed, then stored through the ingest service.

A file is read in two steps. First the guards, before anything is parsed in full: the size of the upload,
the file's signature, and for .xlsx the zip directory (how many members, their declared sizes and
compression ratios, no macros, no encryption) and the content types; then the sheet is scanned as bytes for
its number of rows. Only then is the sheet parsed, as a stream, by a defusedxml parser (no DTD, no entity
may be declared, so nothing can expand). A hostile file (zip bomb, billion laughs, thousands of members,
too many rows, a wrong signature, a macro-enabled workbook) is refused with a plain message, quickly and in
little memory.

The use cases that write (rebates.services.imports: start, preview, commit) hand the lines to
`rebates.services.purchases.purchase_lines_ingest`, the same validation as the API: one bad line rejects the
file, every bad row and column named, nothing stored. A preview (validate_only) gives the counts a commit
would; the ImportBatch records status, progress and errors.
"""

from rebates.imports.common import (
    ImportRefused,
    PurchaseFile,
    max_file_bytes,
    max_members,
    max_ratio,
    max_rows,
    max_uncompressed_bytes,
)
from rebates.imports.reading import purchase_file_read
from rebates.imports.template import memberships_import_template, purchase_import_template

__all__ = [
    "ImportRefused",
    "PurchaseFile",
    "max_file_bytes",
    "max_members",
    "max_ratio",
    "max_rows",
    "max_uncompressed_bytes",
    "memberships_import_template",
    "purchase_file_read",
    "purchase_import_template",
]
