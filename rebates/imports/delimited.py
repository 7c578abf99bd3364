"""CSV purchase files: counted first (no lines kept), every line at most 1 MB and free of binary data;
UTF-8 or the Windows code page Excel's plain "CSV" writes; comma or semicolon."""

import csv
import io

from rebates.imports.common import (
    MAX_CSV_LINE,
    FileLine,
    ImportRefused,
    PurchaseFile,
    column_letter,
    line_positions,
    map_header,
    max_rows,
    row_numbers,
)


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


def _scan(stream, most: int) -> None:
    """Refuse, from the bytes alone, a file with binary data, an endless line or more than `most` rows.

    Lines are counted a megabyte at a time; only when there are more lines than rows allowed (blank lines
    and quoted line breaks do not count as rows) are the records counted by the csv module, in C.
    """
    stream.seek(0)
    lines = 0
    run = 0  # the length of the line that the previous chunk left open
    while chunk := stream.read(1 << 20):
        if b"\x00" in chunk:
            raise ImportRefused("The CSV file holds binary data: save the sheet as CSV (UTF-8) or as .xlsx.")
        pieces = chunk.split(b"\n")
        run += len(pieces[0])
        longest = max(run, max(map(len, pieces[1:-1]), default=0))
        if len(pieces) > 1:
            run = len(pieces[-1])
            longest = max(longest, run)
        if longest > MAX_CSV_LINE:
            raise ImportRefused(f"A line of the CSV file is longer than {MAX_CSV_LINE // 1024} KB: it is not a "
                                "purchase file.")
        lines += len(pieces) - 1
    if lines + 1 <= most + 1:
        return
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="latin-1", newline="")
    try:
        records = 0
        for record in csv.reader(text):
            if any(record):
                records += 1
                if records > most + 1:
                    raise ImportRefused(f"The file holds more than {most:,} rows of purchase lines; split the "
                                        "file.")
    except csv.Error as error:
        raise ImportRefused(f"The CSV file cannot be read: {error}.") from None
    finally:
        text.detach()


def read_csv(stream, size, progress) -> PurchaseFile:
    _scan(stream, max_rows())
    stream.seek(0)
    first_line = next(_csv_lines(stream), "")
    delimiter = _csv_dialect(first_line)
    stream.seek(0)
    lines, rows = [], row_numbers()
    fields = columns = None
    try:
        reader = csv.reader(_csv_lines(stream, progress, size), delimiter=delimiter)
        for number, record in enumerate(reader, start=1):
            if not any(cell.strip() for cell in record):
                continue
            if fields is None:
                fields, columns = map_header(dict(enumerate(record)), letter=column_letter)
                at, places = line_positions(fields.values()), tuple(fields)
                continue
            width = len(record)
            lines.append(FileLine(at, tuple(record[col] if col < width else None for col in places)))
            rows.append(number)
    except csv.Error as error:
        raise ImportRefused(f"The CSV file cannot be read: {error}.") from None
    if fields is None:
        raise ImportRefused("The file is empty: the first row must name the columns (download the template).")
    return PurchaseFile(lines=lines, rows=rows, columns=columns, kind="csv")
