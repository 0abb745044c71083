"""The gate service's one writer of access events: rows, JSON log lines, the last events and the publishers.

Decisions taken against the database are written by the access service in their own transaction
through `record()` (this is its recorder). Door and reader events are written here. While the
database is away (the circuit is open), events go to the gate's local journal on disk (fsync'ed,
`gate.service.journal`) and `flush()` replays them once it is back, marked "offline:" in their
detail, each exactly once (the row carries the journal line's id).
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from gate.clock import Clock
from gate.core.decision import Decision
from gate.core.policy import Method
from gate.service.db_health import DatabaseHealth
from gate.service.journal import Journal, JournalEntry
from gate.store import events, visitors
from gate.store.db import transaction
from gate.store.events import EventRow
from gate.store.models import AccessEvent, Gate, Resident, Visitor

log = logging.getLogger("gate.service")

LAST_EVENTS = 50
#: Journal lines written per replay transaction (and ids per IN list).
REPLAY_BATCH = 500

#: One entry of the last events (also what publishers receive): JSON-ready values only.
EventEntry = dict[str, object]
Publisher = Callable[[EventEntry], None]


class EventLog:
    def __init__(self, gate_name: str, clock: Clock, database: DatabaseHealth, journal: Journal,
                 publishers: tuple[Publisher, ...] = ()) -> None:
        self.gate_name = gate_name
        self.clock = clock
        self.database = database
        self.journal = journal
        self.publishers = publishers
        self._lock = threading.Lock()
        self._last: collections.deque[EventEntry] = collections.deque(maxlen=LAST_EVENTS)

    # -- rows and lines --------------------------------------------------------------------------
    def record(self, session: Session, row: EventRow) -> int:
        """The access service's recorder: the decision's row in its transaction, and its JSON line."""
        event_id = events.add_row(session, row)
        events.log_line(row, event_id)
        return event_id

    def door(self, sessions: sessionmaker[Session], gate_id: int | None, kind: str, detail: str,
             run: Callable[[Callable[[], int]], int] = lambda write: write()) -> None:
        """Door and reader events go to the same table and JSON log as decisions (method "door").
        `run` carries the write out (the gate loop's: on its database worker, within the deadline)."""
        row = EventRow(at=self.clock(), gate_id=gate_id, gate_name=self.gate_name, method="door",
                       granted=kind == "exit_request", reason=kind, detail=detail)
        event_id: int | None = None
        def write() -> int:
            with transaction(sessions) as session:
                return events.add_row(session, row)

        if self.database.ok:
            try:
                event_id = run(write)
            except SQLAlchemyError as err:
                self.database.lost(err)
        if event_id is None:
            self._journal(row)
        events.log_line(row, event_id)
        self.remember({"kind": "door", "event": kind, "detail": detail, "event_id": event_id})

    def offline(self, method: Method, decision: Decision, resident_id: int | None, gate_id: int | None,
                detail: str, card: str | None = None, visitor_id: int | None = None) -> None:
        """A decision taken without the database: on the local journal now, in the table when it is back."""
        row = EventRow(at=self.clock(), gate_id=gate_id, gate_name=self.gate_name, method=method.value,
                       granted=decision.granted, reason=decision.reason.value, resident_id=resident_id, detail=detail,
                       visitor_id=visitor_id)
        self._journal(row)
        row = replace(row, card=card)  # for the log line only (masked there); never journalled
        events.log_line(row, None, offline=True)
        self.remember({"kind": "access", "method": method.value, "granted": decision.granted,
                       "reason": decision.reason.value, "resident_id": resident_id, "offline": True})

    def _journal(self, row: EventRow) -> None:
        self.journal.append({**asdict(row), "at": row.at.isoformat()})

    def flush(self, sessions: sessionmaker[Session], gate_id: int | None) -> None:
        """Replay the journal into the table; if the database fails again the lines stay for the next time.

        Lines whose id is already in the table (a replay that committed but was cut before it could
        shorten the journal) are dropped without a second row."""
        entries = self.journal.entries()
        for start in range(0, len(entries), REPLAY_BATCH):
            batch = entries[start:start + REPLAY_BATCH]
            try:
                with transaction(sessions) as session:
                    self._replay(session, batch, gate_id)
            except (IntegrityError, DataError) as err:
                # The database answered but refused the lines: not an outage, so the circuit stays
                # closed; the lines stay on disk for an operator and are tried again next time.
                log.error("the journal %s could not be replayed: %s", self.journal.path, err)
                return
            except SQLAlchemyError as err:
                self.database.lost(err)
                return
            self.journal.drop({str(e["id"]) for e in batch})

    def check_writes(self, sessions: sessionmaker[Session], gate_id: int | None) -> None:
        """The re-probe's write check: the next replay batch (or, with nothing kept, a door row)
        inserted and rolled back. A database that is read-only or full still answers reads, so a
        probe that only read would close the circuit, fail the replay and open it again every few
        seconds. Raises SQLAlchemyError when the database refuses the write. (On PostgreSQL the
        rolled-back insert uses up a sequence number: event ids get a gap per probe.)"""
        batch = self.journal.entries()[:REPLAY_BATCH]
        with sessions() as session:
            try:
                if batch:
                    self._replay(session, batch, gate_id)
                else:
                    events.add_row(session, EventRow(at=self.clock(), gate_id=gate_id, gate_name=self.gate_name,
                                                     method="door", granted=False, reason="probe", detail=""))
            except (IntegrityError, DataError):
                pass  # answered, but refused the lines: not an outage; `flush()` logs it and keeps them
            finally:
                session.rollback()

    def _replay(self, session: Session, batch: list[JournalEntry], gate_id: int | None) -> None:
        ids = [str(e["id"]) for e in batch]
        written = set(session.scalars(select(AccessEvent.journal_id).where(AccessEvent.journal_id.in_(ids))))
        # A resident (or gate) deleted while the gate was offline keeps its event, without the link.
        residents = _existing(session, Resident.id, (e.get("resident_id") for e in batch))
        gates = _existing(session, Gate.id, [gate_id, *(e.get("gate_id") for e in batch)])
        visitor_ids = _existing(session, Visitor.id, (e.get("visitor_id") for e in batch))
        for entry in batch:
            if entry["id"] in written:
                continue
            row_gate = entry.get("gate_id") if entry.get("gate_id") is not None else gate_id
            resident = entry.get("resident_id")
            row = EventRow(at=datetime.fromisoformat(str(entry["at"])),
                           gate_id=row_gate if isinstance(row_gate, int) and row_gate in gates else None,
                           gate_name=str(entry.get("gate_name", self.gate_name)), method=str(entry["method"]),
                           granted=bool(entry["granted"]), reason=str(entry["reason"]),
                           resident_id=resident if isinstance(resident, int) and resident in residents else None,
                           detail="offline: " + str(entry.get("detail", "")))
            visitor = entry.get("visitor_id")
            if isinstance(visitor, int) and visitor in visitor_ids:
                row = replace(row, visitor_id=visitor)
                if row.granted:  # the offline use takes its entry now (never below zero): the reconciliation
                    visitors.take_entry(session, visitor)
            events.add_row(session, row, journal_id=str(entry["id"]))

    @property
    def pending_count(self) -> int:
        return self.journal.count

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


def _existing(session: Session, column: InstrumentedAttribute[int], values: Iterable[object]) -> set[int]:
    wanted = {v for v in values if isinstance(v, int)}
    if not wanted:
        return set()
    return set(session.scalars(select(column).where(column.in_(wanted))))
