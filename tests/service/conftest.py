"""A gate service on simulated hardware: Modbus relay board and OSDP reader on pseudo-terminals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from gate.context import GateContext
from gate.install import initialise
from gate.service.builder import build_runtime
from gate.service.runtime import GateRuntime, Timeouts
from gate.service.simrig import SimRig
from gate.store import assessments, gates, residents
from tests.conftest import publish_site_notice

CARD = "188:24910"
CODE = "1001"
PIN = "482915"
WAIT = 20.0  # generous: a loaded 2-core machine must not make these flaky
# Face and decision timeouts long enough for a loaded 2-core machine; tests that are about
# timeouts pass their own.
LOADED_MACHINE_TIMEOUTS = Timeouts(face=60, decision=60)


@dataclass
class Gate:
    ctx: GateContext
    rig: SimRig
    runtime: GateRuntime

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
        """Wait on the runtime's queue (not on the clock) until `predicate` holds."""
        import threading

        done = threading.Event()
        deadline_hit = threading.Timer(timeout, done.set)
        deadline_hit.daemon = True
        deadline_hit.start()
        try:
            while not done.is_set():
                self.runtime.wait_idle(timeout)
                if predicate():
                    return True
                done.wait(0.02)
            return predicate()
        finally:
            deadline_hit.cancel()

    def card(self, number: str) -> None:
        """Tap a card on the simulated OSDP reader (once its secure channel is up)."""
        assert self.wait_for(lambda: self.runtime.snapshot().reader.get("online") is True), "reader never came online"
        self.rig.present_card(number)

    def keys(self, typed: str) -> None:
        assert self.wait_for(lambda: self.runtime.snapshot().reader.get("online") is True), "reader never came online"
        self.rig.type_keys(typed)

    def pin_on_screen(self, code: str, pin: str) -> None:
        from gate.core import machine as m

        self.runtime.post(m.Choose("pin"))
        self.runtime.post(m.EnterCode(code))
        self.runtime.post(m.EnterPin(pin))

    def last_access(self) -> dict:
        events = [e for e in self.runtime.snapshot().last_events if e["kind"] == "access"]
        return events[0] if events else {}

    def drop_connections(self) -> None:
        """Close the pooled connections of both engines (the web UI's and the decisions'), so the
        next query opens the database file anew (tests that move it away and back)."""
        self.ctx.engine.dispose()
        self.runtime.access.sessions.kw["bind"].dispose()

    def releases(self) -> int:
        assert self.rig.board is not None
        return sum(1 for w in self.rig.board.writes(0) if w.on)


def make_installation(data_dir: Path) -> GateContext:
    initialise(data_dir)
    publish_site_notice(data_dir)
    ctx = GateContext.open(data_dir)
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code=CODE, name="Test Resident", actor="test")
        residents.add_card(session, resident, CARD, actor="test")
        residents.set_pin(session, resident, PIN, ctx.hasher, actor="test")
    return ctx


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[GateContext]:
    ctx = make_installation(tmp_path / "data")
    yield ctx
    ctx.close()


@pytest.fixture
def gate_factory(installation: GateContext) -> Iterator[Callable[..., Gate]]:
    started: list[tuple[SimRig, GateRuntime]] = []

    def make(*, mode: str = "door", timeouts: Timeouts = LOADED_MACHINE_TIMEOUTS, camera: str | None = None,
             **kw) -> Gate:
        rig = SimRig(mode=mode, pulse_ms=kw.pop("pulse_ms", 500),
                     passage_window_ms=kw.pop("passage_window_ms", 5000)).start()
        runtime = build_runtime(installation, rig=rig, timeouts=timeouts, camera=camera, **kw)
        started.append((rig, runtime))
        runtime.start()
        gate = Gate(installation, rig, runtime)
        assert gate.wait_for(lambda: runtime.snapshot().door.state == "locked"), "door never reconciled"
        return gate

    yield make
    for rig, runtime in reversed(started):
        runtime.stop()
        rig.stop()


@pytest.fixture
def gate(gate_factory: Callable[..., Gate]) -> Gate:
    return gate_factory()


def record_face_allowed(ctx: GateContext, tmp_path: Path, methods: str = "card,pin,face,card+face") -> None:
    """The impact assessment face needs, then face among gate main's methods (in the database only)."""
    doc = tmp_path / "dpia.txt"
    doc.write_text("impact assessment")
    with ctx.transaction() as session:
        g = gates.get_gate(session, "main")
        assessments.record_assessment(session, g, assessed_on=date(2026, 1, 1), approver="DPO",
                                      document=doc.read_bytes(), actor="test", site_timezone="UTC")
        gates.set_gate(session, g, actor="test", methods=methods)


def allow_face(gate: Gate, tmp_path: Path, methods: str = "card,pin,face,card+face") -> None:
    """As record_face_allowed, and the running gate picks the new policy up before this returns."""
    record_face_allowed(gate.ctx, tmp_path, methods)
    gate.runtime.reload_policy()
    gate.runtime.wait_idle()
