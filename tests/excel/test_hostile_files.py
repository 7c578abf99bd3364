"""R13: hostile files are refused before a full parse, within 5 s and under 100 MB of extra memory.

Each file is built here, then read in a fresh process that measures the time and the memory the read
adds (peak resident size over the size before): the 5 s and 100 MB are the issue's acceptance limits.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.excel.workbooks import (
    BILLION_LAUGHS_DTD,
    CONTENT_TYPES,
    HEADER,
    MACRO_WORKBOOK_TYPE,
    many_members,
    purchase_csv,
    purchase_xlsx,
    sheet_xml,
    workbook_parts,
    xlsx_with_many_rows,
    zip_bomb,
    zip_of,
)

SECONDS = 5
EXTRA_MB = 100
ROOT = Path(__file__).resolve().parents[2]


def read_in_subprocess(path, name=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": os.environ.get(
        "DJANGO_SETTINGS_MODULE", "config.settings.test")}
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("refuse_in_subprocess.py")), str(path),
                           name or Path(path).name], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_refused_quickly(path, expected, name=None):
    report = read_in_subprocess(path, name)
    assert report["outcome"] == "refused", report
    assert expected in report["message"], report["message"]
    assert report["seconds"] < SECONDS, report
    assert report["extra_mb"] < EXTRA_MB, report
    return report


def test_zip_bomb_is_refused_from_its_directory(tmp_path):
    path = tmp_path / "bomb.xlsx"
    zip_bomb(path, gigabytes=2)
    assert path.stat().st_size < 4 * 1024 * 1024
    assert_refused_quickly(path, "compression bomb")


def test_zip_bomb_that_understates_its_size_is_refused_when_it_overflows(tmp_path):
    path = tmp_path / "liar.xlsx"
    zip_bomb(path, gigabytes=1, declared=200_000)
    assert_refused_quickly(path, "damaged")


@pytest.mark.parametrize("part", ["[Content_Types].xml", "xl/workbook.xml", "xl/sharedStrings.xml",
                                  "xl/worksheets/sheet1.xml"])
def test_billion_laughs_in_any_part_is_refused(tmp_path, part):
    def laughing(xml):
        head, body = xml.split("?>", 1)
        root = body[1:].split()[0].rstrip(">")
        return f"{head}?>{BILLION_LAUGHS_DTD.replace('lolz', root)}{body}".replace(
            "</sheetData>", '<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>')

    parts = dict(workbook_parts())
    parts[part] = laughing(parts[part])
    path = tmp_path / "laughs.xlsx"
    path.write_bytes(zip_of(parts.items()))
    assert_refused_quickly(path, "billion laughs")


def test_thousands_of_members_are_refused_unopened(tmp_path):
    path = tmp_path / "members.xlsx"
    many_members(path, count=10_000)
    assert_refused_quickly(path, "10,006 members")


def test_a_million_and_one_rows_are_refused_by_the_declared_dimension(tmp_path):
    path = tmp_path / "rows.xlsx"
    xlsx_with_many_rows(path, 1_000_001, dimension=True)
    assert_refused_quickly(path, "more than 1,000,000 rows")


def test_a_million_and_one_rows_without_a_dimension_are_counted_as_bytes(tmp_path):
    path = tmp_path / "rows.xlsx"
    xlsx_with_many_rows(path, 1_000_001, dimension=False)
    assert_refused_quickly(path, "more than 1,000,000 rows")


def test_a_million_and_one_csv_rows_are_refused(tmp_path):
    path = tmp_path / "rows.csv"
    with open(path, "wb") as out:
        out.write(b"erp_line_id,customer,product,month,quantity,unit_price,amount\n")
        line = b"L,C,P,2026-01,1,1,1\n"
        for _ in range(1001):
            out.write(line * 1000)
        out.write(line)
    assert_refused_quickly(path, "more than 1,000,000 rows")


@pytest.mark.parametrize("content, expected", [
    (b"erp_line_id,customer\nnot a workbook at all", "signature is wrong"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, "signature is wrong"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000, "old .xls"),
])
def test_wrong_signature_is_refused(tmp_path, content, expected):
    path = tmp_path / "purchases.xlsx"
    path.write_bytes(content)
    assert_refused_quickly(path, expected)


def test_workbook_named_csv_is_refused(tmp_path):
    path = tmp_path / "purchases.csv"
    path.write_bytes(purchase_xlsx([]))
    assert_refused_quickly(path, "named .csv but is a workbook")


def test_binary_csv_is_refused(tmp_path):
    path = tmp_path / "purchases.csv"
    path.write_bytes(b"erp_line_id,customer\n\x00\x01\x02")
    assert_refused_quickly(path, "binary data")


def test_endless_csv_line_is_refused(tmp_path):
    path = tmp_path / "purchases.csv"
    path.write_bytes(b"erp_line_id," + b"x" * (3 * 1024 * 1024))
    assert_refused_quickly(path, "longer than 1024 KB")


@pytest.mark.parametrize("variant", ["vba project", "macro content type", "macro sheet"])
def test_macro_enabled_workbook_is_refused(tmp_path, variant):
    extra_parts = ()
    content_types = None
    if variant == "vba project":
        extra_parts = (("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro"),)
    elif variant == "macro content type":
        content_types = CONTENT_TYPES.format(workbook_type=MACRO_WORKBOOK_TYPE, extra="")
    else:
        extra_parts = (("xl/macrosheets/sheet1.xml", sheet_xml()),)
    path = tmp_path / "purchases.xlsx"
    path.write_bytes(zip_of(workbook_parts(content_types=content_types, extra_parts=extra_parts)))
    assert_refused_quickly(path, "macro")


def test_xlsm_name_is_refused_unopened(tmp_path):
    path = tmp_path / "purchases.xlsm"
    path.write_bytes(purchase_xlsx([]))
    assert_refused_quickly(path, "Macro-enabled")


def test_an_ordinary_workbook_is_read_in_the_same_harness(tmp_path):
    path = tmp_path / "purchases.xlsx"
    path.write_bytes(purchase_xlsx([("L1", "C1", "P1", "2026-01", 10, 12.1, 121)]))
    report = read_in_subprocess(path)
    assert (report["outcome"], report["lines"]) == ("read", 1), report


def test_an_ordinary_csv_is_read_in_the_same_harness(tmp_path):
    path = tmp_path / "purchases.csv"
    path.write_bytes(purchase_csv([("L1", "C1", "P1", "2026-01", 10, "12.10", "121.00")]))
    assert read_in_subprocess(path)["lines"] == 1



def test_a_far_cell_is_read_without_a_grid_of_the_sheets_extent(tmp_path):
    header = "".join(f'<c r="{letter}1" t="inlineStr"><is><t>{name}</t></is></c>'
                     for letter, name in zip("ABCDEFG", HEADER, strict=True))
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far</t></is></c></row>'
    path = tmp_path / "far.xlsx"
    path.write_bytes(zip_of(workbook_parts(sheet=sheet_xml(f'<row r="1">{header}</row>{far}'))))
    report = read_in_subprocess(path)
    assert (report["outcome"], report["lines"]) == ("read", 0), report
    assert report["seconds"] < SECONDS and report["extra_mb"] < EXTRA_MB, report
