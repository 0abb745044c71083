"""Reading a residents file for import: CSV (UTF-8 with or without BOM, or GB18030) and XLSX.

Only the file format lives here: which encoding, which column is which, one `Row` of text per line. What
a row means (and whether it is allowed) is gate.store.imports' job, through the residents services.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from gate.errors import PolicyError
from gate.i18n.marker import N_

#: Each column's accepted headers (English, then Chinese as on a property office's spreadsheet). The
#: first English and first Chinese name are what the template and the export write.
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "住户编号", "编号"),
    "name": ("name", "姓名"),
    "unit": ("unit", "房号"),
    "group": ("group", "分组"),
    "cards": ("cards", "门禁卡", "card", "卡号"),
    "birth_date": ("birth_date", "出生日期"),
    "guardian": ("guardian", "监护人"),
    "new_pin": ("new_pin", "生成密码"),
}
REQUIRED = ("code", "name")
CARD_SEPARATORS = (";", "；")
ALIASES = {alias.casefold(): column for column, names in COLUMNS.items() for alias in names}

XLSX_MAGIC = b"PK\x03\x04"


class ImportError_(PolicyError):
    """A refusal whose sentence is a catalogue message (`template`) with its values, so the web UI can
    say it in the reader's language; str() is the English sentence, for the command line and the log."""

    template: str
    params: dict[str, str]

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = {name: str(value) for name, value in params.items()}
        super().__init__(template % self.params if self.params else template)


@dataclass(frozen=True)
class Row:
    """One line of the file: its line number as a spreadsheet shows it, and its cells by column."""

    line: int
    values: dict[str, str]


@dataclass
class Table:
    """An opened file: what it is (format and encoding, said in the report) and its rows, read lazily."""

    kind: str  # "CSV (UTF-8 with BOM)", "CSV (GB18030)", "XLSX", ...
    columns: list[str]
    rows: Iterator[Row]
    #: Lines to expect, for a progress bar (a workbook's own count; it may hold trailing blank lines).
    total: int | None = None


def header_names(language: str = "en") -> list[str]:
    """The columns' headers as the template and the export write them ("en" or "zh")."""
    pick = 0 if language == "en" else 1
    return [names[pick] for names in COLUMNS.values()]


def split_cards(text: str) -> list[str]:
    for separator in CARD_SEPARATORS[1:]:
        text = text.replace(separator, CARD_SEPARATORS[0])
    return [part.strip() for part in text.split(CARD_SEPARATORS[0]) if part.strip()]


def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, which encoding): a BOM says UTF-8; else strict UTF-8; else GB18030, which is what WPS and
    Excel save as "CSV" on a Chinese Windows. Anything else is refused rather than read as mojibake."""
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig"), "UTF-8 with BOM"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError:
        raise ImportError_(N_("The file is neither UTF-8 nor GB18030 text: save it from the spreadsheet as "
                              "\"CSV UTF-8\" or as an Excel workbook (.xlsx) and try again.")) from None


def _columns(header: list[str]) -> list[str]:
    names = [str(cell or "").strip() for cell in header]
    unknown = [name for name in names if name and name.casefold() not in ALIASES]
    if unknown:
        raise ImportError_(N_("Unknown column(s) %(unknown)s: use the headers of the template (%(english)s or "
                              "%(chinese)s)."), unknown=", ".join(unknown),
                           english=", ".join(header_names("en")), chinese="、".join(header_names("zh")))
    columns = [ALIASES.get(name.casefold(), "") for name in names]
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        raise ImportError_(N_("The first line must name the columns; %(missing)s is missing (download the "
                              "template to see them)."), missing=" and ".join(missing))
    doubled = {column for column in columns if column and columns.count(column) > 1}
    if doubled:
        raise ImportError_(N_("The column %(column)s appears twice: keep one."), column=", ".join(sorted(doubled)))
    return columns


def _rows(columns: list[str], records: Iterator[list[str]], first_line: int) -> Iterator[Row]:
    for line, record in enumerate(records, start=first_line):
        if not any(cell.strip() for cell in record):
            continue  # a blank line, as spreadsheets leave at the end
        values = {column: record[i].strip() if i < len(record) else ""
                  for i, column in enumerate(columns) if column}
        yield Row(line, values)


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person typed: Excel stores a card number as a float, a date as a
    datetime."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        # Read-only mode streams the sheet's XML: a 100,000-row workbook is not held as cell objects.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise ImportError_(N_("The workbook cannot be read (%(error)s): save it again as .xlsx."),
                           error=type(err).__name__) from None
    sheet = book.worksheets[0]
    cells = ([_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True))
    header = next(cells, None)
    if header is None:
        book.close()
        raise ImportError_(N_("The workbook's first sheet is empty: put the column headers on its first line."))
    columns = _columns(header)

    def rows() -> Iterator[Row]:
        try:
            yield from _rows(columns, cells, 2)
        finally:
            book.close()

    total = sheet.max_row - 1 if sheet.max_row else None
    return Table("XLSX", [c for c in columns if c], rows(), total)


def _csv(data: bytes) -> Table:
    text, encoding = decode_csv(data)
    # Excel in a Chinese or European locale may save with ';' or tabs; the sniffer looks at the header.
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if first else ","
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(records, None)
    if header is None:
        raise ImportError_(N_("The file is empty: put the column headers on its first line."))
    columns = _columns(header)
    # Counting costs a second parse (~0.3 s for 100,000 lines) and buys a progress bar that means something.
    total = sum(1 for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
                if any(cell.strip() for cell in record)) - 1
    return Table(f"CSV ({encoding})", [c for c in columns if c], _rows(columns, records, 2), total)


def open_table(data: bytes, filename: str = "") -> Table:
    """The rows of an uploaded or given file; XLSX is recognised by its content, not only its name."""
    if data.startswith(XLSX_MAGIC):
        return _xlsx(data)
    if Path(filename).suffix.lower() in (".xlsx", ".xlsm"):
        raise ImportError_(N_("The file is named .xlsx but is not an Excel workbook: save it again from the "
                              "spreadsheet."))
    return _csv(data)
