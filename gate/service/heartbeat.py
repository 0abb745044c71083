"""The running gate's heartbeat: every ~10 s, on its own thread (never the door loop's), the gate writes
which host and process runs it, its release, its state and its clock's offset from the database's
(gate.store.heartbeats). At start it claims its name: a second process running a gate of the same
`[gate] name` on another host, or as another live process, makes it refuse to start with one sentence.

A database that is away or slow costs a skipped beat, never a decision: the thread uses the decision
engine's short waits and its errors are logged and forgotten."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import Clock
from gate.service.status import Snapshot
from gate.store import heartbeats
from gate.store.db import transaction
from gate.store.models import Gate

log = logging.getLogger(__name__)
BEAT_SECONDS = 10.0


class Heartbeat:
    def __init__(self, sessions: sessionmaker[Session], gate_name: str, clock: Clock,
                 state: Callable[[], str], *, interval: float = BEAT_SECONDS,
                 me: heartbeats.Instance | None = None, may_write: Callable[[], bool] = lambda: True) -> None:
        self.sessions = sessions
        #: False while the gate has not checked (or has refused) the database's schema: no writes then.
        self.may_write = may_write
        self.gate_name = gate_name
        self.clock = clock
        self.state = state
        self.interval = interval
        self.me = me or heartbeats.Instance()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _write(self, *, claim: bool) -> None:
        if not self.may_write():
            return
        with transaction(self.sessions) as session:
            gate_row = session.scalar(select(Gate).where(Gate.name == self.gate_name))
            if gate_row is not None:  # an unknown gate is refused elsewhere, with its own sentence
                heartbeats.beat(session, gate_row, self.me, self.state(), self.clock(), claim=claim)

    def claim(self) -> None:
        """Refuse (ConflictError) when another process runs this gate; a database that cannot be reached
        now cannot say so, and card and PIN must still work: then start and check at the next beat."""
        try:
            self._write(claim=True)
        except SQLAlchemyError as err:
            log.warning("%s: heartbeat not written at start (%s); the gate starts anyway", self.gate_name,
                        type(err).__name__)

    def start(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name=f"heartbeat:{self.gate_name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._write(claim=False)
            except SQLAlchemyError as err:
                log.debug("%s: heartbeat skipped (%s)", self.gate_name, type(err).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if not self.may_write():
            return
        try:
            with transaction(self.sessions) as session:
                gate_row = session.scalar(select(Gate).where(Gate.name == self.gate_name))
                if gate_row is not None:
                    heartbeats.mark_stopped(session, gate_row.id, self.me)
        except SQLAlchemyError:
            pass  # the row ages out in a minute instead


def state_of(snapshot: Callable[[], Snapshot]) -> Callable[[], str]:
    """"running", "degraded" (an alarm, or the database away) or "starting", from the runtime's snapshot."""

    def state() -> str:
        snap = snapshot()
        if not snap.running:
            return "starting"
        return "degraded" if snap.alarms or not snap.database.ok else "running"

    return state
