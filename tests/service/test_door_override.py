"""Operators' door commands on the simulated gate: open once, keep open (ends by itself), lock down, and
their refusal during a fire alarm; the change signal the live view waits on."""

from __future__ import annotations

import queue
import threading
import time

from sqlalchemy import select

from gate.service import controls as c
from gate.service.changes import ChangeSignal
from gate.service.simrig import DOOR_SENSOR, FIRE_ALARM, RELEASE
from gate.store.models import AuditEntry
from tests.service.conftest import CARD, Gate


def command(gate: Gate, action: str, seconds: float = 600, reason: str = "delivery") -> str | None:
    return gate.runtime.command(c.Override(action, "alice", reason, seconds, queue.Queue()))


def audited(gate: Gate, action: str) -> list[AuditEntry]:
    with gate.ctx.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def released(gate: Gate) -> bool:
    assert gate.rig.board is not None
    return bool(gate.rig.board.coils[RELEASE])  # failure_mode "secure": energised = released


def test_keep_open_holds_the_door_ends_by_itself_and_never_outlives_the_service(gate: Gate) -> None:
    # One simulated gate for the whole journey: starting one costs seconds.
    assert "reason" in (command(gate, "keep_open", reason="  ") or "")
    assert "duration" in (command(gate, "keep_open", seconds=5) or "")
    assert gate.runtime.door_override() is None and not audited(gate, "door.keep_open")

    gate.runtime.override.min_seconds = 0.5
    assert command(gate, "keep_open", seconds=1.0) is None
    # Counted on the board's writes: a loaded machine may see the hold end before it polls "held".
    assert gate.wait_for(lambda: gate.releases() == 1)
    entry, = audited(gate, "door.keep_open")
    assert entry.actor == "alice" and "delivery" in entry.details
    assert gate.runtime.door_override() is not None
    # Nobody ends it: its own timer does, and the door is locked again.
    assert gate.wait_for(lambda: gate.runtime.snapshot().door.state == "locked" and not released(gate), 10)
    assert gate.runtime.door_override() is None

    seen = gate.runtime.changes.version
    gate.rig.set_input(DOOR_SENSOR, False)  # forced: nobody was granted
    assert gate.wait_for(lambda: "door_forced" in gate.runtime.alarm_times())
    assert gate.runtime.changes.version > seen
    gate.rig.set_input(DOOR_SENSOR, True)
    assert gate.wait_for(lambda: "door_forced" not in gate.runtime.alarm_times())

    assert command(gate, "keep_open") is None
    assert gate.wait_for(lambda: released(gate))
    gate.runtime.stop()  # the hold is withdrawn before the door controller lets go of the board
    assert gate.rig.board is not None
    assert not gate.rig.board.coils[RELEASE]


def test_lock_down_refuses_cards_fire_still_releases_and_remote_commands_wait_for_the_fire(gate: Gate) -> None:
    assert gate.runtime.command(c.RemoteOpen("alice", "web: parcel", queue.Queue())) is None
    assert gate.wait_for(lambda: gate.releases() == 1)
    assert audited(gate, "door.remote_open")[0].actor == "alice"

    assert command(gate, "lock_down", reason="police request") is None
    assert audited(gate, "door.lock_down")
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.runtime.snapshot().reason == "lockdown")
    assert any(e.get("event") == "lockdown_refused" for e in gate.runtime.snapshot().last_events)
    assert gate.releases() == 1

    gate.rig.set_input(FIRE_ALARM, False)  # the fire loop opens: fire wins over the lock down
    assert gate.wait_for(lambda: gate.runtime.snapshot().door.state == "held" and released(gate))
    refusal = gate.runtime.command(c.RemoteOpen("alice", "web: visitor", queue.Queue()))
    assert refusal is not None and "fire alarm" in refusal
    assert "fire alarm" in (command(gate, "keep_open") or "")
    assert len(audited(gate, "door.remote_open")) == 1 and not audited(gate, "door.keep_open")
    gate.runtime.remote.refuse_in_fire_alarm = False  # [gate] refuse_remote_in_fire_alarm = false
    assert gate.runtime.command(c.RemoteOpen("alice", "web: visitor", queue.Queue())) is None
    assert len(audited(gate, "door.remote_open")) == 2

    gate.rig.set_input(FIRE_ALARM, True)
    assert command(gate, "end", reason="all clear") is None
    assert gate.runtime.door_override() is None
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.runtime.snapshot().granted is True)


def test_the_change_signal_wakes_a_waiter_at_once() -> None:
    signal = ChangeSignal()
    seen = signal.version
    threading.Timer(0.05, signal.bump).start()
    started = time.monotonic()
    assert signal.wait(seen, timeout=5) == seen + 1
    assert time.monotonic() - started < 2
    assert signal.wait(seen + 1, timeout=0.05) == seen + 1  # nothing new: back after the timeout
