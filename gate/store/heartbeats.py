"""Gate heartbeats: which process runs which gate of the site, its release, clock offset and state.

Ages are measured on the database's clock (written and compared there), so a gate whose own clock is
minutes off neither looks dead nor looks alive for too long; the gate's offset from that clock is
stored beside it for the operator to see (`gate gates list`, the web UI's Site page)."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

import gate
from gate.errors import ConflictError
from gate.store.models import Gate, GateHeartbeat

#: A heartbeat younger than this (on the database's clock) means the gate's process is running.
ALIVE = timedelta(seconds=60)
STOPPED = "stopped"


@dataclass(frozen=True)
class Instance:
    """This process, as a heartbeat names it."""

    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    instance: str = field(default_factory=lambda: secrets.token_hex(8))
    version: str = gate.__version__


def database_now(session: Session) -> datetime:
    """The database server's clock (UTC), the one clock every gate of the site shares."""
    if session.get_bind().dialect.name == "sqlite":
        raw = session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def other_runner(row: GateHeartbeat | None, me: Instance, db_now: datetime) -> GateHeartbeat | None:
    """The row if it shows another process running this gate now: fresh, not stopped, and not this process
    or a dead process on this host (a restart after a crash is not a duplicate)."""
    if row is None or row.instance == me.instance or row.state == STOPPED:
        return None
    if db_now - row.last_seen >= ALIVE:
        return None
    if row.host == me.host and (row.pid == me.pid or not _pid_alive(row.pid)):
        return None
    return row


def beat(session: Session, gate_row: Gate, me: Instance, state: str, gate_now: datetime, *,
         claim: bool = False) -> None:
    """Write this process's heartbeat for `gate_row`. With `claim` (at start) refuse, with one sentence,
    when another process runs a gate of the same name."""
    db_now = database_now(session)
    row = session.get(GateHeartbeat, gate_row.id, with_for_update=claim)
    if claim:
        other = other_runner(row, me, db_now)
        if other is not None:
            seen = int((db_now - other.last_seen).total_seconds())
            raise ConflictError(
                f"Gate {gate_row.name!r} is already running on {other.host} (process {other.pid}, seen {seen} s "
                "ago): give this computer its own gate with `gate gates add NAME` and `[gate] name` in gate.toml.")
    if row is None:
        row = GateHeartbeat(gate_id=gate_row.id, started_at=db_now)
        session.add(row)
    elif claim or row.instance != me.instance:
        row.started_at = db_now
    row.host, row.pid, row.instance, row.version = me.host[:255], me.pid, me.instance, me.version[:64]
    row.state, row.last_seen = state[:16], db_now
    row.clock_offset_seconds = round((gate_now - db_now).total_seconds(), 3)
    session.flush()


def mark_stopped(session: Session, gate_id: int, me: Instance) -> None:
    """A clean stop: the next process may start at once, and the Site page says "stopped"."""
    row = session.get(GateHeartbeat, gate_id)
    if row is not None and row.instance == me.instance:
        row.state = STOPPED
        row.last_seen = database_now(session)


@dataclass(frozen=True)
class GateRow:
    """One line of the Site view and `gate gates list`."""

    name: str
    methods: str
    liveness: str
    assessed: bool
    host: str | None
    version: str | None
    state: str  # "running", "degraded", "stopped", "not seen" (never ran) or "silent" (stale heartbeat)
    last_seen: datetime | None
    seen_seconds_ago: float | None
    clock_offset_seconds: float | None
    threshold: float | None = None
    pulse_ms: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "methods": self.methods, "liveness": self.liveness, "assessed": self.assessed,
                "host": self.host, "version": self.version, "state": self.state,
                "last_seen": self.last_seen.isoformat() if self.last_seen else None,
                "seen_seconds_ago": self.seen_seconds_ago, "clock_offset_seconds": self.clock_offset_seconds,
                "threshold": self.threshold, "pulse_ms": self.pulse_ms}


def site_gates(session: Session) -> list[GateRow]:
    db_now = database_now(session)
    rows: list[GateRow] = []
    for gate_row, beat_row in session.execute(
            select(Gate, GateHeartbeat).outerjoin(GateHeartbeat, GateHeartbeat.gate_id == Gate.id)
            .order_by(Gate.name)).all():
        if beat_row is None:
            rows.append(GateRow(gate_row.name, gate_row.methods, gate_row.liveness, bool(gate_row.assessments),
                                None, None, "not seen", None, None, None, gate_row.face_threshold,
                                gate_row.pulse_ms))
            continue
        age = (db_now - beat_row.last_seen).total_seconds()
        state = beat_row.state if beat_row.state == STOPPED or age < ALIVE.total_seconds() else "silent"
        rows.append(GateRow(gate_row.name, gate_row.methods, gate_row.liveness, bool(gate_row.assessments),
                            beat_row.host, beat_row.version, state, beat_row.last_seen, round(age, 1),
                            beat_row.clock_offset_seconds, gate_row.face_threshold, gate_row.pulse_ms))
    return rows


def running_elsewhere(session: Session, gate_row: Gate) -> GateHeartbeat | None:
    """The heartbeat of a process running this gate now (any process, this one included)."""
    row = session.get(GateHeartbeat, gate_row.id)
    if row is None or row.state == STOPPED or database_now(session) - row.last_seen >= ALIVE:
        return None
    return row
