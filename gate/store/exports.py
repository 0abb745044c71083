"""Exporting residents, their cards and groups, in the import's own columns, so an export imports back
unchanged. PINs are never exported (only their hashes are stored, and those stay in the database)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from gate.store import audit
from gate.store.import_files import COLUMNS, header_names
from gate.store.models import Resident, ResidentStatus

#: Every import column but new_pin, which is a request, not a detail.
EXPORTED = [column for column in COLUMNS if column != "new_pin"]
CHUNK = 500


def _active() -> ColumnElement[bool]:
    return Resident.status == ResidentStatus.ACTIVE


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Resident).where(_active())) or 0


def headers(language: str = "en") -> list[str]:
    return [name for column, name in zip(COLUMNS, header_names(language), strict=True) if column in EXPORTED]


def rows(session: Session) -> Iterator[list[str]]:
    """Active residents in code order; moved-out ones are left out, as an import would refuse them back."""
    query = (select(Resident).where(_active()).order_by(Resident.code)
             .options(selectinload(Resident.cards)).execution_options(yield_per=CHUNK))
    for resident in session.scalars(query):
        yield [resident.code, resident.name, resident.unit, resident.group_name or "",
               ";".join(sorted(card.uid for card in resident.cards)),
               resident.birth_date.isoformat() if resident.birth_date else "", resident.guardian_name or ""]


def csv_chunks(session: Session, language: str = "en", *, only_header: bool = False) -> Iterator[bytes]:
    """UTF-8 with a BOM, which is what makes Excel open Chinese names correctly; CRLF as Excel writes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers(language))
    yield codecs.BOM_UTF8 + buffer.getvalue().encode()
    if only_header:
        return
    buffer.seek(0)
    buffer.truncate()
    for number, row in enumerate(rows(session), start=1):
        writer.writerow(row)
        if number % CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def write_xlsx(session: Session, target: IO[bytes], language: str = "en", *, only_header: bool = False) -> None:
    """A workbook written row by row (openpyxl's write-only mode keeps no cells in memory). Every cell is
    text, so a card number keeps its digits and Excel does not turn it into 1.23E+07."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("residents")
    sheet.append(headers(language))
    if not only_header:
        for row in rows(session):
            sheet.append(row)
    book.save(target)


def record_export(session: Session, actor: str, fmt: str, residents: int) -> None:
    audit.record(session, actor, "resident.export", "residents", format=fmt, residents=residents)
