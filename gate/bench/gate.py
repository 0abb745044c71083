"""`gate bench gate`: card-, PIN- and face-to-relay latency through the simulators.

Measured from the moment the simulated OSDP reader submits the card (or the last '#' key, or the
face attempt is asked for) to the moment the simulated Modbus board receives the coil write that
releases the door: the whole path of reader protocol, decision, database and relay protocol.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from gate.bench.access import summarize
from gate.context import GateContext
from gate.core import machine as m
from gate.install import initialise
from gate.service.builder import build_runtime
from gate.service.demo import publish_demo_notice
from gate.service.runtime import GateRuntime, Timeouts
from gate.service.simrig import SimRig
from gate.store import assessments, consent, gates, residents

CARD, CODE, PIN = "188:24910", "1001", "482915"
WAIT = 30.0


def _release_after(rig: SimRig, t0: float, wait: float = WAIT) -> float:
    assert rig.board is not None
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        rig.board.wait_for_coil(0, True, timeout=1.0)
        for write in rig.board.writes(0):
            if write.on and write.at >= t0:
                return (write.at - t0) * 1000
    raise RuntimeError("the door was not released within 30 s")


def _relocked(rig: SimRig) -> None:
    assert rig.board is not None
    rig.board.wait_for_coil(0, False, timeout=WAIT)


def _ready(runtime: GateRuntime) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        runtime.wait_idle()
        snap = runtime.snapshot()
        if snap.reader.get("online") and snap.door.state == "locked":
            return
        time.sleep(0.05)  # bench only: not a request handler
    raise RuntimeError("the simulated reader or relay board did not come up")


@dataclass(frozen=True)
class BenchGate:
    """A throw-away installation with one resident (card, PIN) and a started runtime on the simulators."""

    ctx: GateContext
    rig: SimRig
    runtime: GateRuntime
    tmp: Path


@contextmanager
def simulated_gate() -> Iterator[BenchGate]:
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        initialise(data_dir)
        ctx = GateContext.open(data_dir)
        with ctx.transaction() as session:
            publish_demo_notice(session, ctx.settings.template_retention_days)  # init only drafts one
        rig = SimRig(pulse_ms=100).start()
        runtime = build_runtime(ctx, rig=rig, timeouts=Timeouts(refusal=2, passage=1))
        try:
            with ctx.transaction() as session:
                resident = residents.add_resident(session, code=CODE, name="Bench", actor="bench")
                residents.add_card(session, resident, CARD, actor="bench")
                residents.set_pin(session, resident, PIN, ctx.hasher, actor="bench")
            runtime.start()
            _ready(runtime)
            yield BenchGate(ctx, rig, runtime, Path(tmp))
        finally:
            runtime.stop()
            rig.stop()
            ctx.close()


def card_to_relay(rig: SimRig, rounds: int, warmup: int = 3,
                  after_each: Callable[[], None] | None = None) -> list[float]:
    """`rounds` card-to-relay times (ms), each after the door relocked; `after_each` runs between rounds."""
    samples = []
    for i in range(rounds + warmup):
        rig.present_card(CARD)
        assert rig.reader is not None
        ms = _release_after(rig, rig.reader.last_card_at)
        _relocked(rig)
        if i >= warmup:
            samples.append(ms)
        if after_each is not None:
            after_each()
    return samples


def gate_latency(rounds: int = 50, face_rounds: int = 10, faces_dir: Path | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with simulated_gate() as bench:
        rig, runtime = bench.rig, bench.runtime
        result["card_to_relay"] = summarize(card_to_relay(rig, rounds))

        pin = []
        for i in range(max(5, rounds // 2) + 2):
            rig.type_keys(CODE + "#")
            runtime.wait_idle()
            t0 = time.perf_counter()
            rig.type_keys(PIN + "#")
            ms = _release_after(rig, t0)
            _relocked(rig)
            if i >= 2:
                pin.append(ms)
        result["pin_to_relay"] = summarize(pin)

        if faces_dir is not None and face_rounds > 0:
            result["face_to_relay"] = _face(bench.ctx, rig, runtime, faces_dir, face_rounds, bench.tmp)
    return result


def _face(ctx: GateContext, rig: SimRig, runtime: GateRuntime, faces_dir: Path, rounds: int,
          tmp: Path) -> dict[str, Any]:
    from gate.face.engine import FaceEngine
    from gate.face.enroll import enroll
    from gate.face.images import read_image_file

    enrolled, probe = faces_dir / "people/obama/obama.jpg", faces_dir / "people/obama/obama2.jpg"
    engine = FaceEngine()
    result = enroll(engine, [read_image_file(enrolled)])
    doc = tmp / "assessment.txt"
    doc.write_text("benchmark")
    with ctx.transaction() as session:
        gate = gates.get_gate(session, "main")
        assessments.record_assessment(session, gate, assessed_on=date.today(), approver="bench",
                                      document=doc.read_bytes(), actor="bench", site_timezone="UTC")
        gates.set_gate(session, gate, actor="bench", methods="card,pin,face,card+face")
        resident = residents.get_resident(session, CODE)
        consent.grant_consent(session, resident, operator="bench", retention_days=30)
        ctx.store.save(session, resident, result.encodings, engine.model_version)
    runtime.reload_policy()
    rig.show_photo(read_image_file(probe), "obama2")
    samples: list[float] = []
    refused: list[str] = []
    for i in range(rounds + 1):
        runtime.post(m.Cancel())
        runtime.wait_idle()
        t0 = time.perf_counter()
        runtime.post(m.Choose("face"))
        runtime.post(m.EnterCode(CODE))
        try:
            ms = _release_after(rig, t0, wait=20.0)
        except RuntimeError:
            # A face attempt may be refused (that is a figure too, not a crash of the bench).
            last = [e for e in runtime.snapshot().last_events if e.get("kind") == "access"][:1]
            refused.append(str(last[0]["reason"]) if last else "no decision")
            continue
        _relocked(rig)
        if i >= 1:
            samples.append(ms)
    rig.show_photo(None)
    return summarize(samples) | {"refused": len(refused), "refusal_reasons": sorted(set(refused)),
                                 "probe": str(probe.relative_to(faces_dir)),
                                 "enrolled": str(enrolled.relative_to(faces_dir))}
