"""The gate service's one writer of access events: rows, JSON log lines, the last events and the publishers.

Decisions taken against the database are written by the access service in their own transaction
through `record()` (this is its recorder). Door and reader events are written here. While the
database is away, events are kept in memory (`pending`) and written by `flush()` when it is back,
marked "offline:" in their detail.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import Clock
from gate.core.decision import Decision
from gate.core.policy import Method
from gate.service.db_health import DatabaseHealth
from gate.store import events
from gate.store.db import transaction
from gate.store.events import EventRow

log = logging.getLogger("gate.service")

LAST_EVENTS = 50

#: One entry of the last events (also what publishers receive): JSON-ready values only.
EventEntry = dict[str, object]
Publisher = Callable[[EventEntry], None]


class EventLog:
    def __init__(self, gate_name: str, clock: Clock, database: DatabaseHealth,
                 publishers: tuple[Publisher, ...] = ()) -> None:
        self.gate_name = gate_name
        self.clock = clock
        self.database = database
        self.publishers = publishers
        self._lock = threading.Lock()
        self._last: collections.deque[EventEntry] = collections.deque(maxlen=LAST_EVENTS)
        self._pending: list[EventRow] = []

    # -- rows and lines --------------------------------------------------------------------------
    def record(self, session: Session, row: EventRow) -> int:
        """The access service's recorder: the decision's row in its transaction, and its JSON line."""
        event_id = events.add_row(session, row)
        events.log_line(row, event_id)
        return event_id

    def door(self, sessions: sessionmaker[Session], gate_id: int | None, kind: str, detail: str) -> None:
        """Door and reader events go to the same table and JSON log as decisions (method "door")."""
        row = EventRow(at=self.clock(), gate_id=gate_id, gate_name=self.gate_name, method="door",
                       granted=kind == "exit_request", reason=kind, detail=detail)
        event_id: int | None = None
        try:
            with transaction(sessions) as session:
                event_id = events.add_row(session, row)
        except SQLAlchemyError as err:
            self.database.lost(err)
            with self._lock:
                self._pending.append(row)
        events.log_line(row, event_id)
        self.remember({"kind": "door", "event": kind, "detail": detail, "event_id": event_id})

    def offline(self, method: Method, decision: Decision, resident_id: int | None, gate_id: int | None,
                detail: str) -> None:
        """A decision taken without the database: logged now, written when the database is back."""
        row = EventRow(at=self.clock(), gate_id=gate_id, gate_name=self.gate_name, method=method.value,
                       granted=decision.granted, reason=decision.reason.value, resident_id=resident_id, detail=detail)
        events.log_line(row, None, offline=True)
        with self._lock:
            self._pending.append(row)
        self.remember({"kind": "access", "method": method.value, "granted": decision.granted,
                       "reason": decision.reason.value, "resident_id": resident_id, "offline": True})

    def flush(self, sessions: sessionmaker[Session], gate_id: int | None) -> None:
        """Write the kept events; if the database fails again they are kept for the next time."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            with transaction(sessions) as session:
                for row in pending:
                    events.add_row(session, replace(row, gate_id=row.gate_id if row.gate_id is not None else gate_id,
                                                    detail="offline: " + row.detail))
        except SQLAlchemyError as err:
            with self._lock:
                self._pending = pending + self._pending
            self.database.lost(err)

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    # -- what the screens and integrations see ---------------------------------------------------
    def remember(self, entry: EventEntry) -> None:
        entry = {"at": self.clock().isoformat(), "gate": self.gate_name, **entry}
        with self._lock:
            self._last.append(entry)
        for publish in self.publishers:
            try:
                publish(entry)
            except Exception as err:  # noqa: BLE001 - an integration never blocks the gate
                log.info("publisher failed: %s", err)

    def last(self, n: int = 20) -> list[EventEntry]:
        """The most recent events, newest first."""
        with self._lock:
            return list(self._last)[::-1][:n]
