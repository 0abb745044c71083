"""Access events: one row and one JSON log line per decision or door event. Never a template, image or PIN."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gate.core.cardnumber import mask_card
from gate.store.models import AccessEvent

log = logging.getLogger("gate.events")  # a stable name operators filter on, whatever the module

#: Column widths of access_events: longer values are cut, never refused (an event is never lost).
METHOD_LEN, REASON_LEN, DETAIL_LEN = 16, 32, 200


@dataclass(frozen=True)
class EventRow:
    """One access_events row before it is written; `method` is a Method value or "door"."""

    at: datetime
    gate_id: int | None
    gate_name: str
    method: str
    granted: bool
    reason: str
    resident_id: int | None = None
    detail: str = ""
    card: str | None = None  # the claimed card, for the log line only (masked there); never stored
    visitor_id: int | None = None  # a visitor-code decision's record (its label stays on the record)


def add_row(session: Session, row: EventRow, journal_id: str | None = None) -> int:
    """Add the row in the caller's transaction and return its id."""
    event = AccessEvent(at=row.at, gate_id=row.gate_id, resident_id=row.resident_id, method=row.method[:METHOD_LEN],
                        granted=row.granted, reason=row.reason[:REASON_LEN], detail=row.detail[:DETAIL_LEN],
                        journal_id=journal_id, visitor_id=row.visitor_id)
    session.add(event)
    session.flush()
    return event.id


def log_line(row: EventRow, event_id: int | None, *, offline: bool = False) -> None:
    """The log line for the log shippers: decisions as event "access", door/reader events as "door".

    Its fields go in `extra`, so the JSON formatter (gate.service.logs) writes them as top-level keys
    and its filter masks the card; `card` is the claimed card, written only masked."""
    at = row.at.isoformat()
    if row.method == "door":
        line: dict[str, object] = {"event": "door", "id": event_id, "at": at, "gate": row.gate_name,
                                   "method": "door", "reason": row.reason, "detail": row.detail}
        msg = f"door: {row.reason}"
    else:
        line = {"event": "access", "id": event_id, "at": at, "gate": row.gate_name, "resident_id": row.resident_id,
                "method": row.method, "granted": row.granted, "reason": row.reason}
        if row.visitor_id is not None:
            line["visitor_id"] = row.visitor_id
        if offline:
            line.update(offline=True, detail=row.detail)
        if row.card is not None:
            line["card"] = mask_card(row.card)
        msg = f"{row.method} {'granted' if row.granted else 'refused'}: {row.reason}"
    log.info(msg, extra=line)


class StoreRecorder:
    """Row plus JSON line, for decisions taken outside the gate service (bench, tools)."""

    def record(self, session: Session, row: EventRow) -> int:
        event_id = add_row(session, row)
        log_line(row, event_id)
        return event_id

