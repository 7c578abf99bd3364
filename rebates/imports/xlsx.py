""".xlsx purchase files: the zip directory checked before anything is inflated, the small parts parsed by
defusedxml, the rows counted and every other XML part scanned as bytes (no DTD, no entity may be declared);
only then is the first sheet read, by python-calamine (in Rust, to rows of values), each number read back
as the exact decimal Excel shows.

A sheet calamine would render differently from Excel's text (error cells such as #N/A, a date or a time
where a figure or a code belongs) is read instead as a stream by a defusedxml parser, as it always was, so
the validation names the same problems either way."""

import io
import os
import re
import struct
import zipfile
import zlib
from array import array
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError
from defusedxml.ElementTree import fromstring as defused_fromstring
from python_calamine import CalamineError, CalamineWorkbook

from rebates.imports.common import (
    CHUNK,
    EXCEL_1904_EPOCH,
    EXCEL_EPOCH,
    MAIN_NS,
    MAX_CENTRAL_DIRECTORY,
    MAX_SHARED_STRINGS,
    MAX_SMALL_PART,
    MONTH_FIELDS,
    STRICT_NS,
    TEXT_FIELDS,
    WORKBOOK_TYPES,
    FileLine,
    ImportRefused,
    NumberText,
    PurchaseFile,
    column_letter,
    excel_number,
    line_positions,
    map_header,
    max_members,
    max_ratio,
    max_rows,
    max_uncompressed_bytes,
    memory_release,
    row_numbers,
)


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


def _sheet_paths(archive: zipfile.ZipFile) -> tuple[str, str | None, bool, str]:
    """(first worksheet, shared strings or None, 1904 date system, the first sheet's name) from the content
    types and the workbook."""
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
    return sheet_path, shared_path, date1904, first.get("name", "")


# --- counting rows as bytes, then parsing as a stream ----------------------------------------------------

_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_ERROR_CELLS = (b' t="e"', b" t='e'")
# A cell past column Z: calamine makes the sheet a dense grid, so a far cell would cost a grid that size.
_WIDE_CELL = re.compile(rb"""r=["'][A-Za-z]{2,}[0-9]""")
_ROW_NUMBER = re.compile(rb'<row r="([0-9]+)"')  # as Excel, XlsxWriter and openpyxl write it
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref=\"[A-Z]+\d+:[A-Z]+(\d+)\"")


_ROW_STARTS = tuple(b"<row" + end for end in (b" ", b"\t", b"\n", b"\r", b"/", b">"))


def _row_tags(data: bytes, end: int) -> int:
    """The <row> tags in data[:end]: counted as plain bytes unless a namespace prefix calls for the regex."""
    if data.find(b":row", 0, end) >= 0:
        return len(_ROW_TAG.findall(data, 0, end))
    return sum(data.count(start, 0, end) for start in _ROW_STARTS)


def _count_rows(archive: zipfile.ZipFile, path: str, most: int) -> bool:
    """Refuse a sheet with more than `most` rows (header included), from its declared dimension or by
    counting its <row> tags in the inflated bytes, or one that declares a DTD or an entity: no parsing, a
    megabyte at a time. Answers whether the sheet is plain: no error cells (#N/A and the like), nothing
    past column Z, every row numbered and within `most` (a grid of its extent is as small as its rows)."""
    too_many = ImportRefused(f"The sheet holds more than {most - 1:,} rows of purchase lines; split the file "
                             f"(at most {most - 1:,} lines per file).")
    count = highest = 0
    carry = b""
    first = True
    plain = True
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
                tags = _row_tags(data, cut)
                count += tags
                if plain:
                    numbers = _ROW_NUMBER.findall(data, 0, cut)
                    plain = len(numbers) == tags
                    highest = max(highest, max(map(int, numbers), default=0))
                if _DECLARATION.search(data):
                    raise ImportRefused(_ENTITY_MESSAGE)
                plain = plain and not (any(data.find(error, 0, cut) >= 0 for error in _ERROR_CELLS)
                                       or _WIDE_CELL.search(data, 0, cut))
                carry = data[cut:]
                if count > most:
                    raise too_many
            tags = _row_tags(carry, len(carry))
            count += tags
            plain = plain and tags == 0
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ImportRefused(f"The workbook is damaged ({error}).") from None
    if count > most:
        raise too_many
    return plain and highest <= most


def _scan_parts(archive: zipfile.ZipFile, sheet_path: str) -> None:
    """Every XML part but the sheet (scanned as it is counted) inflated, its checksum checked and its bytes
    searched for a DTD or an entity declaration, before a parser that is not ours reads any of them."""
    for member in archive.infolist():
        if member.filename == sheet_path or not member.filename.lower().endswith((".xml", ".rels", ".vml")):
            continue
        if member.file_size > 128 * 1024 * 1024:
            raise ImportRefused(f"The workbook's part {member.filename} is larger than any purchase file needs "
                                "(128 MB).")
        carry = b""
        try:
            with archive.open(member) as part:
                while chunk := part.read(CHUNK):
                    if _DECLARATION.search(carry + chunk):
                        raise ImportRefused(_ENTITY_MESSAGE)
                    carry = chunk[-16:]
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
            raise ImportRefused(f"The workbook is damaged ({error}).") from None


def _defused_expat():
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
    except DefusedXmlException:
        raise ImportRefused(_ENTITY_MESSAGE) from None
    except ImportRefused:
        raise
    except (ExpatError, zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
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


def read_xlsx(stream, size, progress) -> PurchaseFile:
    archive = _open_zip(stream, size)
    sheet_path, shared_path, date1904, sheet_name = _sheet_paths(archive)
    plain = _count_rows(archive, sheet_path, max_rows() + 1)
    epoch = EXCEL_1904_EPOCH if date1904 else EXCEL_EPOCH
    if plain:
        _scan_parts(archive, sheet_path)
        read = _read_with_calamine(stream, sheet_name, epoch, progress, size)
        if read is not None:
            return read
    return _read_with_expat(archive, sheet_path, shared_path, epoch, progress)


def _read_with_expat(archive, sheet_path, shared_path, epoch, progress) -> PurchaseFile:
    strings = _shared_strings(archive, shared_path)
    sheet_info = archive.getinfo(sheet_path)
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


class _NotPlain(Exception):
    """A cell calamine renders unlike Excel's text: a date where a figure or a code belongs, a time or a
    duration anywhere."""




def _read_with_calamine(stream, sheet_name, epoch, progress, size) -> PurchaseFile | None:
    """The first sheet through python-calamine, or None when a cell is not plain (the caller then reads the
    sheet with expat) or calamine cannot read the file (expat then names the damage)."""
    stream.seek(0)
    try:
        path = _same_file_path(stream)
        # From its path calamine reads the file as it goes; from a stream it first copies it whole.
        workbook = CalamineWorkbook.from_path(path) if path else CalamineWorkbook.from_filelike(stream)
        sheet = None
        try:
            sheet = workbook.get_sheet_by_name(sheet_name) if sheet_name else workbook.get_sheet_by_index(0)
            if progress is not None:
                progress(size // 2, size)
            # Row by row, so only calamine's copy of the sheet and the lines are held, never a list of rows.
            read = _calamine_lines(sheet.iter_rows(), sheet.start or (0, 0), sheet.end or (0, 0), epoch)
        finally:
            workbook.close()
            del sheet, workbook
            memory_release()
    except (CalamineError, _NotPlain):
        return None
    finally:
        stream.seek(0)
    if progress is not None:
        progress(size, size)
    return read


def _same_file_path(stream) -> str | None:
    """The path of the very file the stream reads (same device and inode), when it has one."""
    name = getattr(stream, "name", None)
    if not isinstance(name, str):
        return None
    try:
        held, named = os.fstat(stream.fileno()), os.stat(name)
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None
    return name if (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino) else None


def _calamine_lines(rows, start: tuple[int, int], end: tuple[int, int], epoch) -> PurchaseFile:
    """Lines from calamine's rows. Its rows may start at the sheet's first row or at the data's, and its
    columns at A or at the data's first: which one is told by how many come, so row numbers and column
    letters are the sheet's either way."""
    most = max_rows()
    lines: list[FileLine] = []
    numbers = row_numbers()
    fields = columns = None
    first_col = None
    number = 0
    for number, values in enumerate(rows, start=1):
        if first_col is None:
            first_col = 0 if len(values) == end[1] + 1 else start[1]
        if fields is None:
            if not any(value != "" for value in values):
                continue
            fields, columns = map_header({first_col + col: _header_text(value) for col, value in enumerate(values)
                                          if value != ""}, letter=column_letter)
            # Per column, each distinct value read once and shared: codes, SKUs, months and most figures repeat.
            places = [(col - first_col, _CellReader(field, epoch)) for col, field in fields.items()]
            at = line_positions(fields.values())
            continue
        width = len(values)
        line = []
        blank = True
        for col, reader in places:
            value = values[col] if 0 <= col < width else ""
            if value == "":
                line.append(None)
                continue
            blank = False
            # A boolean is never looked up: True == 1.0, so it would find the number's reading.
            seen = reader.seen.get(value) if value.__class__ is not bool else None
            if seen is None:
                seen = reader.read(value)
            line.append(seen)
        if blank:
            continue
        if len(lines) >= most:
            raise ImportRefused(f"The sheet holds more than {most:,} rows of purchase lines; split the file.")
        lines.append(FileLine(at, tuple(line)))
        numbers.append(number)
    if fields is None:
        raise ImportRefused("The sheet is empty: the first row must name the columns (download the template).")
    if number != end[0] + 1 and start[0]:  # the rows came from the data's first row, not the sheet's
        numbers = array("I", (row + start[0] for row in numbers))
    return PurchaseFile(lines=lines, rows=numbers, columns=columns, kind="xlsx")


class _CellReader:
    """One column's cells as the lines take them, each distinct value read once (up to a bound)."""

    MOST_SEEN = 50_000

    def __init__(self, field, epoch):
        self.is_month = field in MONTH_FIELDS
        self.is_text = field in TEXT_FIELDS
        self.epoch = epoch
        self.seen: dict = {}

    def read(self, value):
        kind = value.__class__
        if kind is float or kind is int:
            read = _calamine_number(value, self.is_month, self.is_text, self.epoch)
        elif kind is bool:
            read = "1" if value else "0"  # Excel's text for a boolean cell
        elif kind is str:
            read = value
        elif isinstance(value, date) and self.is_month:
            read = value
        else:
            raise _NotPlain
        if kind is not bool:  # True == 1: a boolean and a number share a key
            if len(self.seen) >= self.MOST_SEEN:
                self.seen.clear()
            self.seen[value] = read
        return read


def _header_text(value) -> str:
    if value.__class__ is float:
        return excel_number(repr(value), integral_text=True)
    return str(value)


def _calamine_number(value, is_month, is_text, epoch):
    """A number cell as the exact decimal Excel shows. The double's shortest text is the typed figure for
    every figure of up to 15 significant digits (Excel's precision); longer ones are read at 15 digits."""
    text = repr(value) if value.__class__ is float else str(value)
    if is_month:
        try:
            return epoch + timedelta(days=int(value))
        except (ValueError, OverflowError):
            return text
    if not is_text and len(text) <= 15 and "e" not in text:
        return Decimal(text)  # at most 15 digits: nothing to round
    return excel_number(text, integral_text=is_text)


class _SheetReader:
    """expat handlers for one worksheet: each <row> becomes a line of the fields named by the header row."""

    def __init__(self, strings, epoch):
        self.strings = strings
        self.epoch = epoch
        self.lines: list[FileLine] = []
        self.row_numbers = row_numbers()
        self.at: dict[str, int] = {}
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
            return NumberText(value)
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
        line = []
        for col, field in self.fields.items():
            value = cells.get(col)
            if value.__class__ is NumberText:
                value = self._number_as(field, value)
            line.append(value)
        self.lines.append(FileLine(self.at, tuple(line)))
        self.row_numbers.append(self.row_number)

    def _header(self, cells):
        self.header = cells
        self.fields, self.columns = map_header(
            {col: str(value) for col, value in cells.items()}, letter=column_letter)
        self.at = line_positions(self.fields.values())

    def _number_as(self, field, number):
        text = str(number)
        if field in MONTH_FIELDS:
            try:
                return self.epoch + timedelta(days=int(Decimal(text)))
            except (InvalidOperation, ValueError, OverflowError):
                return text
        return excel_number(text, integral_text=field in TEXT_FIELDS)
