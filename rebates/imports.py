"""Purchase lines from .xlsx and .csv files: read safely, previewed, then stored through the ingest service.

A file is read in two steps. First the guards, before anything is parsed in full: the size of the upload,
the file's signature, and for .xlsx the zip directory (how many members, their declared sizes and
compression ratios, no macros, no encryption) and the content types; then the sheet is scanned as bytes for
its number of rows. Only then is the sheet parsed, as a stream, by a defusedxml parser (no DTD, no entity
may be declared, so nothing can expand). A hostile file (zip bomb, billion laughs, thousands of members,
too many rows, a wrong signature, a macro-enabled workbook) is refused with a plain message, quickly and in
little memory.

The lines then go to `rebates.services.purchases.purchase_lines_ingest`, the same validation as the API:
one bad line rejects the file, every bad row and column named, nothing stored. A preview
(validate_only) gives the counts a commit would; the ImportBatch records status, progress and errors.
"""

import csv
import io
import logging
import re
import struct
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError
from defusedxml.ElementTree import fromstring as defused_fromstring
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import connection, connections, transaction

from customers.services import audit_record
from rebates.models import ImportBatch, PurchaseLine
from rebates.services.purchases import FIELDS, PurchaseLinesInvalid, purchase_lines_ingest

logger = logging.getLogger(__name__)

XLSX_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and password-protected workbooks
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKBOOK_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
)
MACRO_EXTENSIONS = (".xlsm", ".xltm", ".xlam", ".xlsb")
# The template's headers, and the other names a finance clerk may give the same column.
HEADERS = {
    "erp_line_id": ("erp_line_id", "erp line id", "erp line", "line id"),
    "customer": ("customer", "customer code", "erp code", "customer erp code"),
    "product": ("product", "sku", "product sku"),
    "month": ("month", "period"),
    "quantity": ("quantity", "units", "qty"),
    "unit_price": ("unit_price", "unit price", "price"),
    "amount": ("amount", "net amount", "line amount"),
}
_HEADER_FIELD = {name: field for field, names in HEADERS.items() for name in names}
TEXT_FIELDS = ("erp_line_id", "customer", "product")
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_1904_EPOCH = date(1904, 1, 1)


def limit(name: str, default: int) -> int:
    return getattr(settings, f"PURCHASE_IMPORT_{name}", default)


def max_rows() -> int:
    """Purchase lines one file may hold (the header row not counted)."""
    return limit("MAX_ROWS", 1_000_000)


def max_file_bytes() -> int:
    return limit("MAX_FILE_BYTES", 200 * 1024 * 1024)


def max_members() -> int:
    """Members of an .xlsx archive (a purchase workbook has a dozen or so)."""
    return limit("MAX_MEMBERS", 500)


def max_uncompressed_bytes() -> int:
    """What all members of an .xlsx may declare they inflate to, together."""
    return limit("MAX_UNCOMPRESSED_BYTES", 768 * 1024 * 1024)


def max_ratio() -> int:
    """Inflated over compressed size of one member: sheets compress 5 to 30 times, zip bombs a thousand."""
    return limit("MAX_RATIO", 200)


MAX_CENTRAL_DIRECTORY = 2 * 1024 * 1024
MAX_SMALL_PART = 4 * 1024 * 1024  # [Content_Types].xml, the workbook and its relationships
MAX_SHARED_STRINGS = 2_000_000
MAX_CSV_LINE = 1024 * 1024
CHUNK = 1 << 20


class ImportRefused(Exception):
    """The file cannot be read (hostile, damaged, or not a purchase file); the message says why, plainly."""


@dataclass
class PurchaseFile:
    """The lines of a file as the ingest service takes them, with where each came from in the file."""

    lines: list[dict]
    rows: list[int]  # the sheet's row number of each line (the header is row 1 in a template)
    columns: dict[str, tuple[str, str]]  # field -> (column letter, header as written)
    kind: str  # "xlsx" or "csv"

    def error_at(self, error: dict) -> dict:
        """An ingest error (line index, field) as the row and column of the file."""
        index = error.get("line")
        row = self.rows[index] if isinstance(index, int) and 0 <= index < len(self.rows) else None
        letter, header = self.columns.get(error.get("field"), (None, None))
        place = f"Row {row}" if row is not None else "File"
        if letter:
            place += f", column {letter} ({header})"
        return {"row": row, "column": letter, "field": error.get("field"), "erp_line_id": error.get("erp_line_id"),
                "message": f"{place}: {error.get('message')}"}


# --- entry point ----------------------------------------------------------------------------------------


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
        return _read_xlsx(stream, size, progress)
    if lowered.endswith((".csv", ".txt")):
        if head.startswith((XLSX_SIGNATURE, OLE_SIGNATURE)):
            raise ImportRefused("The file is named .csv but is a workbook: upload it as .xlsx, or save it as CSV.")
        return _read_csv(stream, size, progress)
    raise ImportRefused("Upload an Excel workbook (.xlsx) or a CSV file (.csv).")


def _size(stream) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


# --- .xlsx: the zip directory before anything is inflated -----------------------------------------------


def _zip_entry_count(stream, size: int) -> tuple[int, int]:
    """(members, central directory size) from the end-of-central-directory record, read before the
    directory itself, so a file that claims a million members is refused without reading them."""
    tail_size = min(size, 65_535 + 22)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ImportRefused("The .xlsx file is damaged (its zip directory is missing).")
    _, _, _, _, entries, directory_size, _, _ = struct.unpack("<4sHHHHIIH", tail[at:at + 22])
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF:
        # Zip64: the locator just before the record points at the 64-bit record with the real figures.
        locator = tail[at - 20:at] if at >= 20 else b""
        if not locator.startswith(b"PK\x06\x07"):
            raise ImportRefused("The .xlsx file is damaged (its zip64 directory is missing).")
        (record_offset,) = struct.unpack("<Q", locator[8:16])
        if record_offset > size - 56:
            raise ImportRefused("The .xlsx file is damaged (its zip64 directory is out of place).")
        stream.seek(record_offset)
        record = stream.read(56)
        if not record.startswith(b"PK\x06\x06"):
            raise ImportRefused("The .xlsx file is damaged (its zip64 directory is missing).")
        entries, directory_size = struct.unpack("<QQ", record[32:48])
    stream.seek(0)
    return entries, directory_size


def _open_zip(stream, size: int) -> zipfile.ZipFile:
    entries, directory_size = _zip_entry_count(stream, size)
    if entries > max_members():
        raise ImportRefused(f"The .xlsx archive holds {entries:,} members; a workbook holds a few dozen at most "
                            f"({max_members():,} accepted). It is refused unopened.")
    if directory_size > MAX_CENTRAL_DIRECTORY:
        raise ImportRefused("The .xlsx archive's directory is far larger than a workbook's: refused unopened.")
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as error:
        raise ImportRefused(f"The .xlsx file is damaged and cannot be opened ({error}).") from None
    members = archive.infolist()
    if len(members) > max_members():
        raise ImportRefused(f"The .xlsx archive holds {len(members):,} members; at most {max_members():,} "
                            "are accepted.")
    total = 0
    for member in members:
        lowered = member.filename.lower()
        if lowered.endswith("vbaproject.bin") or lowered.startswith(("xl/macrosheets/", "xl/activex/")):
            raise ImportRefused("The workbook contains macros (a VBA project or macro sheets): macro-enabled files "
                                "are not accepted. Save the sheet as an Excel workbook (.xlsx) without macros.")
        if member.flag_bits & 0x1:
            raise ImportRefused("The workbook is encrypted: save it without a password.")
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ImportRefused(f"The workbook's member {member.filename} uses a compression Excel does not write.")
        total += member.file_size
        if member.file_size > 1024 * 1024 and member.file_size > max_ratio() * max(member.compress_size, 1):
            ratio = member.file_size // max(1, member.compress_size)
            raise ImportRefused(
                f"The workbook's member {member.filename} would inflate {ratio:,} times, to "
                f"{member.file_size / 1048576:,.0f} MB: a compression bomb, refused unopened.")
    if total > max_uncompressed_bytes():
        raise ImportRefused(f"The workbook would inflate to {total / 1048576:,.0f} MB; at most "
                            f"{max_uncompressed_bytes() // 1048576:,} MB are accepted. Refused unopened.")
    return archive


def _member(archive: zipfile.ZipFile, path: str):
    try:
        return archive.getinfo(path)
    except KeyError:
        return None


def _small_xml(archive: zipfile.ZipFile, path: str):
    """A small part parsed whole by defusedxml (no DTD, no entities); None when the part is absent."""
    info = _member(archive, path)
    if info is None:
        return None
    if info.file_size > MAX_SMALL_PART:
        raise ImportRefused(f"The workbook's part {path} is {info.file_size / 1048576:.0f} MB; a workbook's is "
                            "a few KB.")
    try:
        return defused_fromstring(archive.read(info), forbid_dtd=True)
    except DefusedXmlException:
        raise ImportRefused(_ENTITY_MESSAGE) from None
    except (ParseError, zipfile.BadZipFile, OSError, EOFError) as error:
        raise ImportRefused(f"The workbook's part {path} is damaged ({error}).") from None


_ENTITY_MESSAGE = ("The workbook declares XML entities (a DTD), which Excel never writes and which can expand "
                   "without end (\"billion laughs\"): refused.")


def _sheet_paths(archive: zipfile.ZipFile) -> tuple[str, str | None, bool]:
    """(first worksheet, shared strings or None, 1904 date system) from the content types and the workbook."""
    types = _small_xml(archive, "[Content_Types].xml")
    if types is None:
        raise ImportRefused("The file is a zip archive but not an Excel workbook ([Content_Types].xml is missing).")
    content_types = [element.get("ContentType", "") for element in types]
    if any("macroenabled" in value.lower() or "vbaproject" in value.lower() for value in content_types):
        raise ImportRefused("The workbook is macro-enabled: macro-enabled files are not accepted. Save the sheet as "
                            "an Excel workbook (.xlsx).")
    workbook_path = next((element.get("PartName", "").lstrip("/") for element in types
                          if element.get("ContentType") in WORKBOOK_TYPES), None)
    if not workbook_path:
        raise ImportRefused("The file is a zip archive but not an Excel workbook.")
    workbook = _small_xml(archive, workbook_path)
    if workbook is None:
        raise ImportRefused("The workbook is damaged (its workbook part is missing).")
    ns = workbook.tag[1:].split("}")[0] if workbook.tag.startswith("{") else MAIN_NS
    properties = workbook.find(f"{{{ns}}}workbookPr")
    date1904 = properties is not None and properties.get("date1904", "").lower() in ("1", "true")
    sheets = workbook.find(f"{{{ns}}}sheets")
    first = sheets[0] if sheets is not None and len(sheets) else None
    if first is None:
        raise ImportRefused("The workbook has no sheet.")
    rel_id = next((value for key, value in first.attrib.items() if key.endswith("}id")), None)
    base = PurePosixPath(workbook_path).parent
    rels = _small_xml(archive, str(base / "_rels" / (PurePosixPath(workbook_path).name + ".rels")))
    sheet_path = shared_path = None
    for rel in rels if rels is not None else ():
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else str(base / target)
        if rel.get("Id") == rel_id:
            sheet_path = path
        if rel.get("Type", "").endswith("/sharedStrings"):
            shared_path = path
    if sheet_path is None or _member(archive, sheet_path) is None:
        raise ImportRefused("The workbook is damaged (its first sheet is missing).")
    return sheet_path, shared_path, date1904


# --- .xlsx: counting rows as bytes, then parsing as a stream ----------------------------------------------

_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref=\"[A-Z]+\d+:[A-Z]+(\d+)\"")


def _count_rows(archive: zipfile.ZipFile, path: str, most: int) -> None:
    """Refuse a sheet with more than `most` rows (header included), from its declared dimension or by
    counting its <row> tags in the inflated bytes: no parsing, a megabyte at a time."""
    too_many = ImportRefused(f"The sheet holds more than {most - 1:,} rows of purchase lines; split the file "
                             f"(at most {most - 1:,} lines per file).")
    count = 0
    carry = b""
    first = True
    try:
        with archive.open(path) as sheet:
            while chunk := sheet.read(CHUNK):
                data = carry + chunk
                if first:
                    first = False
                    declared = _DIMENSION.search(data[:8192])
                    if declared and int(declared.group(1)) > most:
                        raise too_many
                # A tag cut by the chunk's end is counted with the next chunk.
                cut = data.rfind(b"<", max(0, len(data) - 64))
                if cut < 0:
                    cut = len(data)
                count += len(_ROW_TAG.findall(data, 0, cut))
                carry = data[cut:]
                if count > most:
                    raise too_many
            count += len(_ROW_TAG.findall(carry))
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ImportRefused(f"The workbook is damaged ({error}).") from None
    if count > most:
        raise too_many


class _Done(Exception):
    pass


def _defused_expat(namespaces=True):
    """A defusedxml parser's expat object: DTDs, entity declarations and external references raise; the
    element handlers are ours (set by the caller), so the sheet streams through without an element tree."""
    parser = DefusedXMLParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    expat = parser.parser
    expat.buffer_text = True
    expat.ordered_attributes = True
    return parser, expat


def _parse_stream(expat, stream, progress=None, total=0):
    done = 0
    try:
        while chunk := stream.read(CHUNK // 4):
            expat.Parse(chunk, False)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        expat.Parse(b"", True)
    except _Done:
        pass
    except DefusedXmlException:
        raise ImportRefused(_ENTITY_MESSAGE) from None
    except ImportRefused:
        raise
    except Exception as error:  # pyexpat.ExpatError, BadZipFile (CRC), OSError
        raise ImportRefused(f"The workbook is damaged and cannot be read ({error}).") from None


def _shared_strings(archive: zipfile.ZipFile, path: str | None) -> list[str]:
    """The workbook's shared strings (each <si>: its <t> texts, phonetic runs left out)."""
    info = _member(archive, path) if path else None
    if info is None:
        return []
    if info.file_size > 128 * 1024 * 1024:
        raise ImportRefused("The workbook's shared strings are larger than any purchase file needs (128 MB).")
    strings: list[str] = []
    append = strings.append
    _, expat = _defused_expat()
    state = {"in_t": False, "skip": 0, "parts": []}
    si_tags = {f"{ns}}}si" for ns in (MAIN_NS, STRICT_NS)}
    t_tags = {f"{ns}}}t" for ns in (MAIN_NS, STRICT_NS)}
    skip_tags = {f"{ns}}}{tag}" for ns in (MAIN_NS, STRICT_NS) for tag in ("rPh", "phoneticPr")}

    def start(tag, attrs):
        if tag in t_tags and not state["skip"]:
            state["in_t"] = True
        elif tag in skip_tags:
            state["skip"] += 1

    def end(tag):
        if tag in t_tags:
            state["in_t"] = False
        elif tag in si_tags:
            append("".join(state["parts"]))
            state["parts"] = []
            if len(strings) > MAX_SHARED_STRINGS:
                raise ImportRefused("The workbook holds more shared strings than any purchase file needs.")
        elif tag in skip_tags:
            state["skip"] -= 1

    def text(data):
        if state["in_t"]:
            state["parts"].append(data)

    expat.StartElementHandler, expat.EndElementHandler, expat.CharacterDataHandler = start, end, text
    with archive.open(info) as stream:
        _parse_stream(expat, stream)
    return strings


def _column_index(reference: str, cache: dict) -> int:
    """"AB12" -> 27 (0-based), cached by the letters."""
    letters = reference.rstrip("0123456789")
    index = cache.get(letters)
    if index is None:
        index = 0
        for ch in letters.upper():
            index = index * 26 + ord(ch) - 64
        index = cache[letters] = index - 1
    return index


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_xlsx(stream, size, progress) -> PurchaseFile:
    archive = _open_zip(stream, size)
    sheet_path, shared_path, date1904 = _sheet_paths(archive)
    _count_rows(archive, sheet_path, max_rows() + 1)
    strings = _shared_strings(archive, shared_path)
    sheet_info = archive.getinfo(sheet_path)
    epoch = _EXCEL_1904_EPOCH if date1904 else _EXCEL_EPOCH

    reader = _SheetReader(strings, epoch)
    _, expat = _defused_expat()
    expat.StartElementHandler = reader.start
    expat.EndElementHandler = reader.end
    expat.CharacterDataHandler = reader.text
    with archive.open(sheet_info) as sheet:
        _parse_stream(expat, sheet, progress, sheet_info.file_size)
    if reader.header is None:
        raise ImportRefused("The sheet is empty: the first row must name the columns (download the template).")
    return PurchaseFile(lines=reader.lines, rows=reader.row_numbers, columns=reader.columns, kind="xlsx")


class _SheetReader:
    """expat handlers for one worksheet: each <row> becomes a line of the fields named by the header row."""

    def __init__(self, strings, epoch):
        self.strings = strings
        self.epoch = epoch
        self.lines: list[dict] = []
        self.row_numbers: list[int] = []
        self.header = None
        self.columns: dict[str, tuple[str, str]] = {}
        self.fields: dict[int, str] = {}
        self.letters: dict[str, int] = {}
        self.most = max_rows()
        self.row_number = 0
        self.cells: dict[int, str] = {}
        self.col = -1
        self.kind = "n"
        self.parts: list[str] = []
        self.collect = False
        self.in_inline = False
        self.skip = 0
        self.value = None
        tags = {}
        for ns in (MAIN_NS, STRICT_NS):
            for name in ("row", "c", "v", "is", "t", "rPh"):
                tags[f"{ns}}}{name}"] = name
        self.tags = tags

    def start(self, tag, attrs):
        name = self.tags.get(tag)
        if name is None:
            return
        if name == "c":
            self.col += 1
            self.kind = "n"
            self.value = None
            for i in range(0, len(attrs), 2):
                key = attrs[i]
                if key == "r":
                    self.col = _column_index(attrs[i + 1], self.letters)
                elif key == "t":
                    self.kind = attrs[i + 1]
        elif name == "v":
            self.parts = []
            self.collect = True
        elif name == "t":
            self.collect = self.in_inline and not self.skip
        elif name == "is":
            self.in_inline = True
            self.parts = []
        elif name == "row":
            self.row_number += 1
            for i in range(0, len(attrs), 2):
                if attrs[i] == "r":
                    self.row_number = int(attrs[i + 1])
            self.cells = {}
            self.col = -1
        elif name == "rPh":
            self.skip += 1

    def text(self, data):
        if self.collect:
            self.parts.append(data)

    def end(self, tag):
        name = self.tags.get(tag)
        if name is None:
            return
        if name == "v":
            self.value = "".join(self.parts)
            self.collect = False
        elif name == "t":
            self.collect = False
        elif name == "is":
            self.value = "".join(self.parts)
            self.in_inline = False
            self.kind = "inlineStr"
        elif name == "rPh":
            self.skip -= 1
        elif name == "c":
            if self.value is not None and (self.header is None or self.col in self.fields):
                self.cells[self.col] = self._cell(self.value)
        elif name == "row":
            self._row()

    def _cell(self, value):
        kind = self.kind
        if kind == "s":
            try:
                return self.strings[int(value)]
            except (ValueError, IndexError):
                raise ImportRefused(f"Row {self.row_number}: the workbook is damaged (a shared string that "
                                    "does not exist).") from None
        if kind == "n":
            return _Number(value)
        if kind == "d":
            # An ISO date cell (Excel's strict format): the date it names.
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                return value
        return value

    def _row(self):
        cells = self.cells
        if not any(value not in ("", None) for value in cells.values()):
            return
        if self.header is None:
            self._header(cells)
            return
        if len(self.lines) >= self.most:
            raise ImportRefused(f"The sheet holds more than {self.most:,} rows of purchase lines; split the file.")
        line = {}
        for col, field in self.fields.items():
            value = cells.get(col)
            if value.__class__ is _Number:
                value = self._number_as(field, value)
            line[field] = value
        self.lines.append(line)
        self.row_numbers.append(self.row_number)

    def _header(self, cells):
        self.header = cells
        self.fields, self.columns = _map_header(
            {col: str(value) for col, value in cells.items()}, letter=_letter)

    def _number_as(self, field, number):
        text = str(number)
        if field == "month":
            try:
                return self.epoch + timedelta(days=int(Decimal(text)))
            except (InvalidOperation, ValueError, OverflowError):
                return text
        return _excel_number(text, integral_text=field in TEXT_FIELDS)


class _Number(str):
    """The text of a numeric cell, kept apart from text cells until its column says what it is."""

    __slots__ = ()


def _excel_number(text: str, *, integral_text: bool = False):
    """A numeric cell's text as an exact Decimal (a code or SKU typed as a number as its digits).

    Excel keeps numbers as doubles and shows 15 significant digits: a stored 36.299999999999997 is the
    36.3 the clerk typed and sees, so anything longer is read at Excel's 15 digits.
    """
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    if len(number.as_tuple().digits) > 15:
        number = Decimal(format(number, ".15g")).normalize()
        if number.as_tuple().exponent > 0:
            number = number.quantize(Decimal(1))
    if integral_text:
        return str(int(number)) if number == number.to_integral_value() else text
    return number


def _map_header(header: dict[int, str], *, letter) -> tuple[dict[int, str], dict[str, tuple[str, str]]]:
    """Which column holds which field, from the header row; refuses a missing or repeated column."""
    fields: dict[int, str] = {}
    columns: dict[str, tuple[str, str]] = {}
    for col, written in sorted(header.items()):
        field = _HEADER_FIELD.get(" ".join(written.replace("_", " ").replace("-", " ").lower().split()))
        if field is None:
            field = _HEADER_FIELD.get(written.strip().lower())
        if field is None:
            continue
        if field in columns:
            raise ImportRefused(f"Columns {columns[field][0]} and {letter(col)} both hold {field}: keep one.")
        fields[col] = field
        columns[field] = (letter(col), written.strip())
    missing = [field for field in FIELDS if field not in columns]
    if missing:
        raise ImportRefused(f"The first row must name the columns {', '.join(FIELDS)}; missing: "
                            f"{', '.join(missing)} (download the template).")
    return fields, columns


# --- .csv ------------------------------------------------------------------------------------------------


def _csv_lines(stream, progress=None, total=0):
    """Decoded lines of a CSV upload, none longer than MAX_CSV_LINE: UTF-8 (with or without a BOM), else
    the Windows code page Excel's plain "CSV" uses."""
    encoding = "utf-8"
    done = 0
    first = True
    while True:
        raw = stream.readline(MAX_CSV_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_CSV_LINE:
            raise ImportRefused(f"A line of the CSV file is longer than {MAX_CSV_LINE // 1024} KB: it is not a "
                                "purchase file.")
        if b"\x00" in raw:
            raise ImportRefused("The CSV file holds binary data: save the sheet as CSV (UTF-8) or as .xlsx.")
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        first = False
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError:
            encoding = "cp1252"
            line = raw.decode(encoding, errors="replace")
        done += len(raw)
        if progress is not None and done % 65536 < len(raw):
            progress(done, total)
        yield line


def _csv_dialect(first_line: str) -> str:
    # Excel writes ";" where the decimal separator is a comma.
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _read_csv(stream, size, progress) -> PurchaseFile:
    most = max_rows()
    # Count the records first (the csv module alone, no lines kept), so an oversized file is refused fast.
    stream.seek(0)
    first_line = next(_csv_lines(stream), "")
    delimiter = _csv_dialect(first_line)
    stream.seek(0)
    try:
        records = 0
        for record in csv.reader(_csv_lines(stream), delimiter=delimiter):
            if any(cell.strip() for cell in record):
                records += 1
                if records > most + 1:
                    raise ImportRefused(f"The file holds more than {most:,} rows of purchase lines; split the file.")
    except csv.Error as error:
        raise ImportRefused(f"The CSV file cannot be read: {error}.") from None
    stream.seek(0)
    lines, rows = [], []
    fields = columns = None
    try:
        reader = csv.reader(_csv_lines(stream, progress, size), delimiter=delimiter)
        for number, record in enumerate(reader, start=1):
            if not any(cell.strip() for cell in record):
                continue
            if fields is None:
                fields, columns = _map_header(dict(enumerate(record)), letter=_letter)
                continue
            lines.append({field: (record[col] if col < len(record) else None) for col, field in fields.items()})
            rows.append(number)
    except csv.Error as error:
        raise ImportRefused(f"The CSV file cannot be read: {error}.") from None
    if fields is None:
        raise ImportRefused("The file is empty: the first row must name the columns (download the template).")
    return PurchaseFile(lines=lines, rows=rows, columns=columns, kind="csv")


# --- the template ------------------------------------------------------------------------------------------

TEMPLATE_EXAMPLE = ("INV-2026-000123-1", "C00042", "FAS-101", "2026-03", "10", "12.10", "121.00")


def purchase_import_template(format: str = "xlsx"):
    """The file to fill in: the seven columns, one example line, and (in .xlsx) what each column takes."""
    from rebates.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, ExportFile
    from rebates.exports.cells import Column, CsvOut, XlsxBook

    if format == "csv":
        buffer = io.BytesIO()
        out = CsvOut(buffer)
        out.writer.writerow(FIELDS)
        out.writer.writerow(TEMPLATE_EXAMPLE)
        out.close()
        return ExportFile("purchase-lines-template.csv", CSV_CONTENT_TYPE, buffer.getvalue())
    if format != "xlsx":
        raise ValueError(f"format must be xlsx or csv, got {format!r}")
    columns = [Column(field, width=width) for field, width in zip(FIELDS, (22, 14, 14, 10, 12, 12, 14), strict=True)]
    buffer = io.BytesIO()
    book = XlsxBook(buffer)
    text = book.workbook.add_format({"num_format": "@"})
    sheet = book.sheet("Purchase lines")
    for col, column in enumerate(columns):
        # Text columns stay text: Excel would turn 2026-03 into a date and C00042 stays as typed.
        sheet.set_column(col, col, column.width, text if col < 4 else None)
    book.header(sheet, 0, columns)
    sheet.write_row(1, 0, TEMPLATE_EXAMPLE[:4])
    for col, value in enumerate(TEMPLATE_EXAMPLE[4:], start=4):
        sheet.write_number(1, col, Decimal(value))
    help_sheet = book.sheet("How to fill it in")
    help_sheet.set_column(0, 0, 14)
    help_sheet.set_column(1, 1, 90)
    notes = (
        ("erp_line_id", "The ERP's id of the line. A line sent again with the same id replaces the first."),
        ("customer", "The customer's ERP code."),
        ("product", "The product's SKU."),
        ("month", "The month of the purchase, as YYYY-MM (or a date in that month)."),
        ("quantity", "Units bought; negative for a credit note. Up to 3 decimal places."),
        ("unit_price", "Net unit price, up to 4 decimal places."),
        ("amount", "Net amount of the line, up to 2 decimal places; negative for a credit note."),
        ("", "Other columns are ignored. One wrong line rejects the whole file, every problem named; "
             "nothing is stored until the file is right."),
    )
    for row, (field, note) in enumerate(notes):
        help_sheet.write_string(row, 0, field, book.formats["label"])
        help_sheet.write_string(row, 1, note)
    book.close()
    return ExportFile("purchase-lines-template.xlsx", XLSX_CONTENT_TYPE, buffer.getvalue())


# --- the import as a use case: start, preview, commit -------------------------------------------------------


def purchase_import_start(*, user, upload, name: str | None = None, queue_preview: bool = False) -> ImportBatch:
    """Keep the uploaded file (Django storage) in a pending ImportBatch; queue its preview when asked."""
    name = PurePosixPath(name or getattr(upload, "name", "") or "purchases").name
    if isinstance(upload, bytes | bytearray):
        upload = ContentFile(bytes(upload))
    elif not isinstance(upload, File):
        upload = File(upload)
    with transaction.atomic():
        batch = ImportBatch(source=ImportBatch.Source.FILE, file_name=name[:255],
                            created_by=user if getattr(user, "is_authenticated", False) else None)
        batch.file.save(name, upload, save=False)
        batch.save()
        audit_record(actor=user, action="purchase_import.start", target=batch,
                     summary=f"Purchase file {name} uploaded for import (batch {batch.pk})")
        if queue_preview:
            from config.celery_app import queue_on_commit
            from rebates.tasks import purchase_import_preview_task

            queue_on_commit(purchase_import_preview_task, batch.pk)
    return batch


@dataclass(frozen=True)
class ImportOutcome:
    """What a preview or a commit found: the batch (status, counts, errors) and, when it went through,
    the ingest's result."""

    batch: ImportBatch
    result: object | None

    @property
    def ok(self) -> bool:
        return self.batch.status in (ImportBatch.Status.PREVIEWED, ImportBatch.Status.STORED)


def purchase_import_preview(*, batch_id: int, progress=None) -> ImportOutcome:
    """Read and validate the batch's file and count what a commit would create, update or leave alone;
    nothing is stored. The batch becomes previewed (with the counts) or rejected (with every error)."""
    batch = ImportBatch.objects.get(pk=batch_id)
    if batch.status in (ImportBatch.Status.STORED, ImportBatch.Status.REJECTED, ImportBatch.Status.IMPORTING):
        return ImportOutcome(batch, None)
    report = _progress_writer(batch.pk, progress)
    parsed = _read_batch_file(batch, report, share=(0, 60))
    if parsed is None:
        return ImportOutcome(_refresh(batch), None)
    try:
        result = purchase_lines_ingest(lines=parsed.lines, source=PurchaseLine.Source.FILE, validate_only=True,
                                       import_batch=batch, progress=_phase(report, 60, 100))
    except PurchaseLinesInvalid as invalid:
        _reject(batch, [parsed.error_at(error) for error in invalid.errors], line_count=len(parsed.lines))
        return ImportOutcome(_refresh(batch), None)
    open_statuses = (ImportBatch.Status.PENDING, ImportBatch.Status.PREVIEWED)
    ImportBatch.objects.filter(pk=batch.pk, status__in=open_statuses).update(
        status=ImportBatch.Status.PREVIEWED, progress=100, errors=[], line_count=len(parsed.lines),
        created_count=result.created, updated_count=result.updated, unchanged_count=result.unchanged,
        unmatched_count=result.unmatched)
    return ImportOutcome(_refresh(batch), result)


def purchase_import_commit(*, batch_id: int, user=None, progress=None) -> ImportOutcome:
    """Store the batch's lines: read the file again, validate, upsert by erp_line_id in one transaction.

    Safe to run twice and after a worker died midway: a stored or rejected batch is left alone, and one
    worker at a time imports a batch (the ingest's single transaction stores all or nothing).
    """
    with _batch_lock(batch_id) as locked:
        batch = ImportBatch.objects.get(pk=batch_id)
        if not locked or batch.status in (ImportBatch.Status.STORED, ImportBatch.Status.REJECTED):
            return ImportOutcome(batch, None)
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.IMPORTING, progress=0)
        report = _progress_writer(batch.pk, progress)
        parsed = _read_batch_file(batch, report, share=(0, 40))
        if parsed is None:
            return ImportOutcome(_refresh(batch), None)
        try:
            with _side_progress(batch.pk, progress) as side_report:
                result = purchase_lines_ingest(lines=parsed.lines, source=PurchaseLine.Source.FILE, user=user,
                                               import_batch=batch, progress=_phase(side_report, 40, 99))
        except PurchaseLinesInvalid as invalid:
            _reject(batch, [parsed.error_at(error) for error in invalid.errors], line_count=len(parsed.lines))
            return ImportOutcome(_refresh(batch), None)
        _discard_file(batch)
        if progress is not None:
            progress(100, 100)
        return ImportOutcome(_refresh(batch), result)


def purchase_import_commit_start(*, batch_id: int, user) -> None:
    """Queue the commit of a previewed batch for the workers, once this transaction commits."""
    from config.celery_app import queue_on_commit
    from rebates.tasks import purchase_import_commit_task

    queue_on_commit(purchase_import_commit_task, batch_id, getattr(user, "pk", None))


@dataclass(frozen=True)
class FileCheck:
    """A file checked without keeping it: its line count and what an import would do, or every problem."""

    lines: int
    errors: list[dict]
    result: object | None

    @property
    def ok(self) -> bool:
        return not self.errors


def purchase_file_check(*, stream, name: str, progress=None) -> FileCheck:
    """Read and validate a file and count what importing it would create, update or leave alone, without
    recording an import batch or storing anything (the command's --dry-run)."""
    try:
        parsed = purchase_file_read(stream, name=name, progress=_phase(_percent(progress), 0, 60))
    except ImportRefused as refused:
        return FileCheck(0, [_file_error(refused)], None)
    try:
        result = purchase_lines_ingest(lines=parsed.lines, source=PurchaseLine.Source.FILE, validate_only=True,
                                       progress=_phase(_percent(progress), 60, 100))
    except PurchaseLinesInvalid as invalid:
        return FileCheck(len(parsed.lines), [parsed.error_at(error) for error in invalid.errors], None)
    return FileCheck(len(parsed.lines), [], result)


def _percent(callback):
    return (lambda percent: callback(percent, 100)) if callback is not None else (lambda percent: None)


def _file_error(refused: ImportRefused) -> dict:
    return {"row": None, "column": None, "field": "file", "erp_line_id": None, "message": str(refused)}


def purchase_import_file(*, user, upload, name: str, commit: bool, progress=None) -> ImportOutcome:
    """Start, preview and (when `commit` and the preview is clean) commit a file here, in one go (the
    management command and tests do this; the pages queue the same steps)."""
    batch = purchase_import_start(user=user, upload=upload, name=name)
    outcome = purchase_import_preview(batch_id=batch.pk, progress=progress)
    if commit and outcome.ok:
        outcome = purchase_import_commit(batch_id=batch.pk, user=user, progress=progress)
    return outcome


def _refresh(batch: ImportBatch) -> ImportBatch:
    batch.refresh_from_db()
    return batch


def _read_batch_file(batch: ImportBatch, report, *, share) -> PurchaseFile | None:
    """The batch's file read with the guards; a refused file rejects the batch (and None is returned)."""
    try:
        with _local_copy(batch.file) as stream:
            return purchase_file_read(stream, name=batch.file_name or batch.file.name,
                                      progress=_phase(report, *share))
    except ImportRefused as refused:
        _reject(batch, [_file_error(refused)])
        return None


@contextmanager
def _local_copy(field_file):
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


def _reject(batch: ImportBatch, errors: list[dict], line_count: int = 0) -> None:
    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.REJECTED, progress=100,
                                                       errors=errors, line_count=line_count)
        audit_record(actor=batch.created_by, action="purchase_import.reject", target=batch,
                     summary=f"Purchase file {batch.file_name} rejected: {len(errors)} problem(s)",
                     data={"problems": len(errors)})
    _discard_file(batch)


def _discard_file(batch: ImportBatch) -> None:
    # The upload is kept only until the import is stored or rejected.
    if batch.file:
        try:
            batch.file.delete(save=False)
        except OSError:
            logger.warning("could not delete the file of import batch %s", batch.pk, exc_info=True)
        ImportBatch.objects.filter(pk=batch.pk).update(file="")


def _phase(report, low, high):
    """A progress(done, total) that maps onto low..high percent of the whole."""
    def progress(done, total):
        report(low + (high - low) * done // total if total else high)
    return progress


def _progress_writer(batch_id, callback):
    """Writes the batch's percent (at most once per whole percent) and tells `callback` too."""
    last = {"percent": -1}

    def report(percent):
        percent = max(0, min(100, int(percent)))
        if percent != last["percent"]:
            last["percent"] = percent
            ImportBatch.objects.filter(pk=batch_id).update(progress=percent)
            if callback is not None:
                callback(percent, 100)
    return report


@contextmanager
def _side_progress(batch_id, callback):
    """Progress written while the ingest's transaction is open: through a connection of its own on
    PostgreSQL, so pollers see it before the transaction commits. (SQLite has one writer: callback only.)"""
    last = {"percent": -1}
    side = connections.create_connection("default") if connection.vendor == "postgresql" else None

    def report(percent):
        percent = max(0, min(100, int(percent)))
        if percent == last["percent"]:
            return
        last["percent"] = percent
        if side is not None:
            with side.cursor() as cursor:
                cursor.execute(f"UPDATE {ImportBatch._meta.db_table} SET progress = %s WHERE id = %s",
                               [percent, batch_id])
        if callback is not None:
            callback(percent, 100)

    try:
        yield report
    finally:
        if side is not None:
            side.close()


_IMPORT_LOCK = 7_310_007


@contextmanager
def _batch_lock(batch_id):
    """Whether this process may import the batch now: a PostgreSQL session lock per batch, released when
    the import ends or its connection dies with a killed worker. (SQLite has one writer anyway.)"""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_IMPORT_LOCK, batch_id])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_IMPORT_LOCK, batch_id])
