"""Reading residents files: encodings as Chinese spreadsheet programs save them, headers in both languages."""

from __future__ import annotations

import codecs
import io
from datetime import date

import pytest
from openpyxl import Workbook

from gate.errors import PolicyError
from gate.store.import_files import decode_csv, header_names, open_table, split_cards

CHINESE = "住户编号,姓名,房号,分组,门禁卡\r\nA-101,张伟,1-1-101,业主,188:24910；12345679\r\n"


def rows(table):
    return [(row.line, row.values) for row in table.rows]


def test_utf8_with_bom_is_read_and_named():
    table = open_table(codecs.BOM_UTF8 + CHINESE.encode("utf-8"), "residents.csv")
    assert table.kind == "CSV (UTF-8 with BOM)"
    assert rows(table) == [(2, {"code": "A-101", "name": "张伟", "unit": "1-1-101", "group": "业主",
                                "cards": "188:24910；12345679"})]


def test_utf8_without_bom_is_read_and_named():
    assert open_table(CHINESE.encode("utf-8")).kind == "CSV (UTF-8)"


def test_gb18030_as_wps_saves_it_is_read_and_named():
    data = CHINESE.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the case under test: not valid UTF-8
    table = open_table(data, "住户.csv")
    assert table.kind == "CSV (GB18030)"
    assert rows(table)[0][1]["name"] == "张伟"


def test_text_that_is_neither_is_refused_in_a_sentence():
    # 0x80 alone is invalid in GB18030 as well as in UTF-8.
    with pytest.raises(PolicyError, match="neither UTF-8 nor GB18030"):
        decode_csv(b"code,name\r\nA,\x80\x80\x80")


def test_english_headers_any_case_semicolon_delimiter_and_blank_lines():
    table = open_table(b"Code;Name;Unit\nB1;Li Na;2-101\n;;\n\nB2;Wang Fang;\n")
    assert rows(table) == [(2, {"code": "B1", "name": "Li Na", "unit": "2-101"}),
                           (5, {"code": "B2", "name": "Wang Fang", "unit": ""})]


def test_unknown_or_missing_columns_are_refused_naming_them():
    with pytest.raises(PolicyError, match="Unknown column.*phone"):
        open_table(b"code,name,phone\nA,B,1\n")
    with pytest.raises(PolicyError, match="name is missing"):
        open_table(b"code,unit\nA,1\n")
    with pytest.raises(PolicyError, match="appears twice"):
        open_table("code,name,姓名\nA,B,C\n".encode())


def test_xlsx_cells_become_the_text_a_person_typed():
    book = Workbook()
    sheet = book.active
    sheet.append(header_names("zh"))
    sheet.append(["C1", "刘洋", "3-2-502", None, 12345678.0, date(2015, 3, 20), "刘强", "是"])
    buffer = io.BytesIO()
    book.save(buffer)
    table = open_table(buffer.getvalue(), "upload.bin")  # recognised by content, not name
    assert table.kind == "XLSX"
    assert rows(table) == [(2, {"code": "C1", "name": "刘洋", "unit": "3-2-502", "group": "", "cards": "12345678",
                                "birth_date": "2015-03-20", "guardian": "刘强", "new_pin": "是"})]


def test_a_csv_named_xlsx_is_refused():
    with pytest.raises(PolicyError, match="not an Excel workbook"):
        open_table(b"code,name\n", "residents.xlsx")


def test_cards_split_on_ascii_and_full_width_semicolons():
    assert split_cards(" 1 ; 2；3;; ") == ["1", "2", "3"]
