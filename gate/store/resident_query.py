"""The residents list at 100,000 residents: search, filters, sort and keyset pages, never OFFSET.

A page is "the next N residents after the cursor (sort key, id)" in the chosen order, which the
(name, id), (unit, id) and unique code indexes answer without reading the rows before it, so the last
page costs what the first does. Search looks at the code, the name, the unit and the card number (typed
in any form the readers accept: `12345678`, `0x00BC614E`, `188:24910`).

A search of three characters or more first narrows the residents through `resident_trigrams` (every
three-character piece of each code, name and unit in lower case, kept by the database's triggers,
migration 0019): only residents holding every piece of the lowered text can contain it. The same LIKE
as before then decides among those few, so the results are the scan's. Shorter text has no piece to look
up and is the scan.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, column, func, or_, select, table, text, union
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from gate.core.cardnumber import normalize_card
from gate.errors import PolicyError
from gate.store.models import Card, Resident, ResidentStatus

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: The orders the list offers; a leading "-" reverses one.
SORT_KEYS = ("name", "unit", "code")
SEARCH_MAX = 100
#: The pieces a search looks up: three characters, as migration 0019 stores them.
GRAM = 3
#: Kept by the database's triggers (migration 0019); no model, nothing in the code writes it.
TRIGRAMS = table("resident_trigrams", column("gram"), column("resident_id"))


class ValidityStanding(StrEnum):
    """Where a resident's validity period stands on the site's local date (docs/tenants.md)."""

    CURRENT = "current"  # within it, or no period at all
    NOT_YET = "not_yet"  # valid from a later day
    ENDED = "ended"  # valid until an earlier day


@dataclass(frozen=True)
class ResidentFilter:
    search: str = ""
    status: ResidentStatus | None = None
    group: str | None = None
    has_face: bool | None = None
    sort: str = "name"
    validity: ValidityStanding | None = None
    #: The site's local date the validity is read on; needed with `validity` (the store has no clock).
    today: date | None = None

    def __post_init__(self) -> None:
        if self.sort.lstrip("-") not in SORT_KEYS:
            raise PolicyError(f"Residents sort by {', '.join(SORT_KEYS)}; {self.sort[:20]!r} is not one of them.")
        if self.validity is not None and self.today is None:
            raise ValueError("a validity filter needs `today`, the site's local date")


def _validity_condition(standing: ValidityStanding, today: date) -> ColumnElement[bool]:
    """Dates are site-local and `until` is inclusive of its whole day, as in gate.core.validity."""
    if standing is ValidityStanding.NOT_YET:
        return Resident.valid_from > today
    if standing is ValidityStanding.ENDED:
        return Resident.valid_until < today
    return and_(or_(Resident.valid_from.is_(None), Resident.valid_from <= today),
                or_(Resident.valid_until.is_(None), Resident.valid_until >= today))


def _column(sort: str) -> InstrumentedAttribute[str]:
    column: InstrumentedAttribute[str] = getattr(Resident, sort.lstrip("-"))
    return column


def encode_cursor(value: str, row_id: int) -> str:
    raw = json.dumps([value, row_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, int]:
    try:
        padded = text + "=" * (-len(text) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
        if not isinstance(value, str) or not isinstance(row_id, int):
            raise ValueError("cursor fields")
        return value, row_id
    except (ValueError, UnicodeError, binascii.Error, TypeError) as err:
        raise PolicyError("The page link is damaged; start again from the first page.") from err


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, with the wildcards a person typed taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _card_number(text: str) -> str | None:
    try:
        return normalize_card(text)
    except (ValueError, PolicyError):
        return None


def search_condition(text: str, *, sqlite: bool = False) -> ColumnElement[bool]:
    """Code, name or unit containing the text (any case), or a card with that number.

    SQLite's LIKE already ignores ASCII case (Chinese has none); SQLAlchemy's ILIKE would wrap every
    column in lower(), which costs more than the rest of the search at 100,000 residents. The card is
    looked up once through its unique index, not once per resident."""
    pattern = _like(text)
    columns = (Resident.code, Resident.name, Resident.unit)
    found: list[ColumnElement[bool]] = [c.like(pattern, escape="\\") if sqlite else c.ilike(pattern, escape="\\")
                                        for c in columns]
    number = _card_number(text)
    if number is not None:
        found.append(Resident.id.in_(select(Card.resident_id).where(Card.uid == number)))
    return or_(*found)


def trigrams(folded: str) -> set[str]:
    """The three-character pieces of a lowered text (none for one or two characters)."""
    return {folded[i:i + GRAM] for i in range(len(folded) - GRAM + 1)}


def candidates(session: Session, text: str) -> ColumnElement[bool] | None:
    """Residents who may match `text`: those holding every piece of it, and the holder of a card with that
    number; None when the text is too short to have a piece (then the search reads every resident).

    The text is lowered by the database, with the lower() its triggers stored the pieces with, which is
    the case folding its LIKE (SQLite: ASCII) or ILIKE (PostgreSQL: the collation's) applies."""
    folded = session.scalar(select(func.lower(text)))
    grams = trigrams(folded or "")
    if not grams:
        return None
    holders = (select(TRIGRAMS.c.resident_id).where(TRIGRAMS.c.gram.in_(sorted(grams)))
               .group_by(TRIGRAMS.c.resident_id).having(func.count() == len(grams)))
    number = _card_number(text)
    found = holders if number is None else union(holders, select(Card.resident_id).where(Card.uid == number))
    return Resident.id.in_(found)


def _filtered(session: Session, query: Select[Any], flt: ResidentFilter, sqlite: bool) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    text = flt.search.strip()[:SEARCH_MAX]
    if text:
        narrowed = candidates(session, text)
        if narrowed is not None:
            conditions.append(narrowed)
        conditions.append(search_condition(text, sqlite=sqlite))
    if flt.status is not None:
        conditions.append(Resident.status == flt.status)
    if flt.group is not None:
        conditions.append(Resident.group_name == flt.group if flt.group else Resident.group_name.is_(None))
    if flt.has_face is not None:
        conditions.append(Resident.face_pseudonym.is_not(None) if flt.has_face else Resident.face_pseudonym.is_(None))
    if flt.validity is not None and flt.today is not None:
        conditions.append(_validity_condition(flt.validity, flt.today))
    return query.where(*conditions) if conditions else query


def residents_page(session: Session, flt: ResidentFilter, *, after: str | None = None,
                   size: int = PAGE_SIZE) -> tuple[list[Resident], str | None]:
    """One page in the filter's order, with cards and PIN loaded for the page only. Returns the rows and
    the cursor of the next page, or None at the end."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    sqlite = session.get_bind().dialect.name == "sqlite"
    column: ColumnElement[Any] = _column(flt.sort).expression
    row_id: ColumnElement[int] = Resident.id.expression
    if flt.search.strip():
        # A search matches few rows: read them all and sort them. Walking the sort key's index instead
        # (what SQLite picks for ORDER BY ... LIMIT) reads every row in index order, about ten times
        # slower at 100,000 residents. An expression, not the bare column, keeps the index out of it.
        column, row_id = func.coalesce(column, ""), Resident.id + 0
    descending = flt.sort.startswith("-")
    query = _filtered(session, select(Resident), flt, sqlite)
    if after:
        value, last_id = decode_cursor(after)
        if descending:
            query = query.where(column <= value, or_(column < value, and_(column == value, row_id < last_id)))
        else:
            query = query.where(column >= value, or_(column > value, and_(column == value, row_id > last_id)))
    order = (column.desc(), row_id.desc()) if descending else (column.asc(), row_id.asc())
    query = query.order_by(*order).limit(size + 1).options(selectinload(Resident.cards), selectinload(Resident.pin))
    rows = list(session.scalars(query))
    more = len(rows) > size
    rows = rows[:size]
    cursor = encode_cursor(getattr(rows[-1], flt.sort.lstrip("-")), rows[-1].id) if more and rows else None
    return rows, cursor


#: A loose index scan: one index seek per group, where DISTINCT reads every resident's index entry
#: (100,000 of them for three groups). Plain SQL that SQLite and PostgreSQL both run.
_GROUPS = text("""
    WITH RECURSIVE found(name) AS (
        SELECT min(group_name) FROM residents
        UNION ALL
        SELECT (SELECT min(group_name) FROM residents WHERE group_name > found.name) FROM found
        WHERE found.name IS NOT NULL)
    SELECT name FROM found WHERE name IS NOT NULL""")


def groups(session: Session) -> list[str]:
    """Every group name in use, in order, for the filter."""
    return [str(name) for name in session.scalars(_GROUPS)]


__all__ = ["PAGE_SIZE", "SORT_KEYS", "ResidentFilter", "candidates", "decode_cursor", "encode_cursor", "groups",
           "residents_page", "search_condition", "trigrams"]
