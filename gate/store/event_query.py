"""Reading access events and the audit log page by page: keyset pagination on (at, id), never OFFSET.

A page is "the next N rows older than the cursor (at, id)", which the (gate_id, at), (resident_id, at)
and (at) indexes answer without counting past rows, so page 10,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from gate.errors import PolicyError
from gate.store.models import AccessEvent, Gate, Resident

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: The method of door and reader events ("reader online", "link restored", a forced door): rows in the
#: same table as decisions, but nobody was refused anything, so they are listed apart (gate.service.event_log).
SYSTEM_METHOD = "door"
DECISIONS, SYSTEM = "decisions", "system"


@dataclass(frozen=True)
class EventFilter:
    gate_id: int | None = None
    resident_id: int | None = None
    method: str | None = None
    granted: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: None: every row; DECISIONS: access decisions only; SYSTEM: door and reader events only.
    kind: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    gate: str | None
    resident_code: str | None
    method: str
    granted: bool
    reason: str
    #: The resident's name and unit while the resident exists (a deleted one leaves the event without them).
    resident_name: str | None = None
    resident_unit: str | None = None
    detail: str = ""

    @property
    def is_system(self) -> bool:
        return self.method == SYSTEM_METHOD


def encode_cursor(at: datetime, row_id: int) -> str:
    raw = f"{at.astimezone(UTC).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, int]:
    try:
        padded = text + "=" * (-len(text) % 4)
        at_text, id_text = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split("|")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, int(id_text)
    except (ValueError, UnicodeError, binascii.Error) as err:
        raise PolicyError("The page link is damaged; start again from the first page.") from err


def _filtered(query: Select, flt: EventFilter) -> Select:
    conditions = []
    if flt.gate_id is not None:
        conditions.append(AccessEvent.gate_id == flt.gate_id)
    if flt.resident_id is not None:
        conditions.append(AccessEvent.resident_id == flt.resident_id)
    if flt.method:
        conditions.append(AccessEvent.method == flt.method)
    if flt.granted is not None:
        conditions.append(AccessEvent.granted.is_(flt.granted))
    if flt.since is not None:
        conditions.append(AccessEvent.at >= flt.since)
    if flt.until is not None:
        conditions.append(AccessEvent.at < flt.until)
    if flt.kind == DECISIONS:
        conditions.append(AccessEvent.method != SYSTEM_METHOD)
    elif flt.kind == SYSTEM:
        conditions.append(AccessEvent.method == SYSTEM_METHOD)
    if flt.reason:
        conditions.append(AccessEvent.reason == flt.reason)
    return query.where(*conditions) if conditions else query


def _base() -> Select:
    return (select(AccessEvent.id, AccessEvent.at, Gate.name, Resident.code, AccessEvent.method,
                   AccessEvent.granted, AccessEvent.reason, Resident.name, Resident.unit, AccessEvent.detail)
            .outerjoin(Gate, Gate.id == AccessEvent.gate_id)
            .outerjoin(Resident, Resident.id == AccessEvent.resident_id))


def events_page(session: Session, flt: EventFilter, *, after: str | None = None,
                size: int = PAGE_SIZE) -> tuple[list[EventRow], str | None]:
    """Newest first. Returns the rows and the cursor of the next (older) page, or None at the end."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    query = _filtered(_base(), flt)
    if after:
        at, row_id = decode_cursor(after)
        # `at <= cursor` first: a plain range the index can seek to; the OR only breaks ties at that instant.
        query = query.where(AccessEvent.at <= at, or_(AccessEvent.at < at, AccessEvent.id < row_id))
    query = query.order_by(AccessEvent.at.desc(), AccessEvent.id.desc()).limit(size + 1)
    rows = [EventRow(*row) for row in session.execute(query)]
    more = len(rows) > size
    rows = rows[:size]
    return rows, (encode_cursor(rows[-1].at, rows[-1].id) if more and rows else None)


def iter_events(session: Session, flt: EventFilter, batch: int = 1000, first: int = 100) -> Iterator[EventRow]:
    """Every matching event, newest first, fetched in keyset batches (for CSV export). The first batch is
    small, so a download's first rows leave before a whole batch has been read."""
    cursor: str | None = None
    size = min(first, batch)
    while True:
        rows, cursor = events_page(session, flt, after=cursor, size=size)
        size = batch
        yield from rows
        if cursor is None:
            return


def system_reasons(session: Session) -> list[str]:
    """The kinds of system event recorded so far, for the filter (read from the (method, at) index)."""
    return list(session.scalars(select(AccessEvent.reason).where(AccessEvent.method == SYSTEM_METHOD)
                                .distinct().order_by(AccessEvent.reason)))
