"""Reading a purchase file: the size and signature first, then the reader for its kind."""

import io
import tempfile
from collections.abc import Callable
from contextlib import contextmanager

from rebates.imports.common import (
    COLUMNS,
    MACRO_EXTENSIONS,
    OLE_SIGNATURE,
    XLSX_SIGNATURE,
    ImportRefused,
    PurchaseFile,
    max_file_bytes,
)
from rebates.imports.delimited import read_csv
from rebates.imports.xlsx import read_xlsx


def columns_file_read(stream, *, name: str, headers: dict, required: tuple, most: int, what: str) -> PurchaseFile:
    """Read an upload of other columns than a purchase file's (`headers`: field -> names a sheet may give it,
    `required` the fields it must have) through the same guards and readers, as mappings with where each is in
    the file; raises ImportRefused as `purchase_file_read` does, and for more than `most` rows (`what`: their
    name in the message)."""
    header_field = {written: field for field, names in headers.items() for written in names}
    token = COLUMNS.set((headers, header_field, required))
    try:
        read = purchase_file_read(stream, name=name)
    finally:
        COLUMNS.reset(token)
    if len(read.lines) > most:
        raise ImportRefused(f"The file holds {len(read.lines):,} {what}; at most {most:,} are read at once.")
    return read


def purchase_file_read(stream, *, name: str, size: int | None = None,
                       progress: Callable[[int, int], None] | None = None) -> PurchaseFile:
    """Read purchase lines from an .xlsx or .csv upload (a seekable binary file), guards first.

    Raises ImportRefused with a plain message for a file that is hostile, damaged, too large or not a
    purchase file. `progress(done, total)` follows the bytes read.
    """
    size = _size(stream) if size is None else size
    if size > max_file_bytes():
        raise ImportRefused(f"The file is {size / 1048576:.0f} MB; files up to {max_file_bytes() // 1048576} MB "
                            "are accepted.")
    lowered = (name or "").lower()
    if lowered.endswith(MACRO_EXTENSIONS):
        raise ImportRefused("Macro-enabled and binary workbooks (.xlsm, .xltm, .xlam, .xlsb) are not accepted: "
                            "save the sheet as an Excel workbook (.xlsx) or as CSV.")
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    if lowered.endswith((".xlsx", ".xltx")):
        if head.startswith(OLE_SIGNATURE):
            raise ImportRefused("This is not an .xlsx workbook but an old .xls or a password-protected file: "
                                "save it as an Excel workbook (.xlsx) without a password.")
        if not head.startswith(XLSX_SIGNATURE):
            raise ImportRefused("The file is not an .xlsx workbook (its signature is wrong): save it from Excel as "
                                "an Excel workbook (.xlsx).")
        return read_xlsx(stream, size, progress)
    if lowered.endswith((".csv", ".txt")):
        if head.startswith((XLSX_SIGNATURE, OLE_SIGNATURE)):
            raise ImportRefused("The file is named .csv but is a workbook: upload it as .xlsx, or save it as CSV.")
        return read_csv(stream, size, progress)
    raise ImportRefused("Upload an Excel workbook (.xlsx) or a CSV file (.csv).")


def _size(stream) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


@contextmanager
def stored_file_stream(field_file):
    """The stored file as a seekable binary stream (remote storages hand out streams that may not seek)."""
    field_file.open("rb")
    try:
        handle = field_file.file
        if hasattr(handle, "seekable") and handle.seekable():
            handle.seek(0)
            yield handle
            return
        with tempfile.TemporaryFile() as copy:
            for chunk in field_file.chunks():
                copy.write(chunk)
            copy.seek(0)
            yield copy
    finally:
        field_file.close()
