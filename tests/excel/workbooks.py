"""Purchase files built in the tests: ordinary ones with openpyxl, hostile ones byte by byte."""

import io
import struct
import zipfile
import zlib

from openpyxl import Workbook

HEADER = ["erp_line_id", "customer", "product", "month", "quantity", "unit_price", "amount"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="{workbook_type}"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '{extra}</Types>'
)
WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MACRO_WORKBOOK_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Purchase lines" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
SHARED_STRINGS = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{MAIN}" count="1" '
                  'uniqueCount="1"><si><t>erp_line_id</t></si></sst>')
BILLION_LAUGHS_DTD = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
              for i in range(1, 10))
    + "]>"
)


def purchase_xlsx(rows, *, header=HEADER) -> bytes:
    """An ordinary workbook as Excel users make them (openpyxl: numbers are numbers, text is text)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Purchase lines"
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def purchase_csv(rows, *, header=HEADER, delimiter=",", encoding="utf-8") -> bytes:
    lines = [delimiter.join(header)] + [delimiter.join(str(value) for value in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def sheet_xml(rows_xml: str = "", dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN}">{dim}'
            f"<sheetData>{rows_xml}</sheetData></worksheet>")


def workbook_parts(*, sheet=None, content_types=None, workbook=None, shared=None, extra_parts=()):
    """The members of a minimal workbook, any of them replaced."""
    return [
        ("[Content_Types].xml", content_types or CONTENT_TYPES.format(workbook_type=WORKBOOK_TYPE, extra="")),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", workbook or WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/sharedStrings.xml", shared or SHARED_STRINGS),
        ("xl/worksheets/sheet1.xml", sheet or sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')),
        *extra_parts,
    ]


def zip_of(parts) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts:
            archive.writestr(name, data)
    return buffer.getvalue()


def xlsx_with_many_rows(path, rows: int, *, dimension=True):
    """A workbook whose sheet holds a header and `rows` lines of one cell each, streamed to disk."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in workbook_parts()[:5]:
            archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = sheet_xml(dimension=f"A1:A{rows + 1}" if dimension else None).split("</sheetData>")[0]
            sheet.write(head.encode() + b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
            step = 50_000
            for start in range(2, rows + 2, step):
                sheet.write("".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>'
                                    for n in range(start, min(start + step, rows + 2))).encode())
            sheet.write(b"</sheetData></worksheet>")


def zip_bomb(path, *, gigabytes=2, declared=None):
    """An .xlsx whose sheet is two megabytes of deflate that inflate to `gigabytes` of zeros. Its headers
    are honest, unless `declared` gives the (small) size they claim instead.

    One megabyte of zeros is compressed once and its independent deflate block repeated: after a full
    flush a block refers to nothing before it, so the copies chain into one valid stream.
    """
    megabyte = b"0" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    finish = compressor.flush(zlib.Z_FINISH)
    count = gigabytes * 1024
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(megabyte, crc)
    raw_members = [(name, data.encode() if isinstance(data, str) else data)
                   for name, data in workbook_parts()[:5]]
    with open(path, "wb") as out:
        writer = _RawZip(out)
        for name, data in raw_members:
            writer.deflated(name, data)
        writer.raw("xl/worksheets/sheet1.xml", crc=crc, size=declared or len(megabyte) * count,
                   chunks=[block] * count + [finish])
        writer.close()


class _RawZip:
    """A zip written by hand, so a member can be given as ready deflate data with the sizes it declares."""

    def __init__(self, out):
        self.out = out
        self.entries = []

    def deflated(self, name, data):
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = compressor.compress(data) + compressor.flush()
        self.raw(name, crc=zlib.crc32(data), size=len(data), chunks=[packed])

    def raw(self, name, *, crc, size, chunks):
        offset = self.out.tell()
        compressed = sum(len(chunk) for chunk in chunks)
        encoded = name.encode()
        self.out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, compressed, size,
                                   len(encoded), 0) + encoded)
        for chunk in chunks:
            self.out.write(chunk)
        self.entries.append((encoded, crc, compressed, size, offset))

    def close(self):
        start = self.out.tell()
        for encoded, crc, compressed, size, offset in self.entries:
            self.out.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, compressed,
                                       size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
        directory = self.out.tell() - start
        self.out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(self.entries), len(self.entries),
                                   directory, start, 0))


def many_members(path, count=10_000):
    """A workbook padded with `count` tiny members."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in workbook_parts():
            archive.writestr(name, data)
        for i in range(count):
            archive.writestr(f"xl/media/pad{i}.xml", "")
