"""Driver tests talk to the simulators over pseudo-terminals: bytes on a line, no mocks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.sim.modbus_board import SimModbusBoard
from drivers.sim.wire import PtyWire

FRAMES = Path(__file__).resolve().parent.parent / "fixtures" / "frames"
EXAMPLES = Path(__file__).resolve().parents[2] / "hardware" / "examples"

# Generous: the suite must pass on a loaded 2-core machine.  Speed is measured by
# gate.bench.relay, never asserted here.
TIMEOUT = 15.0


def frame(name: str) -> list[bytes]:
    """The hex lines of a fixture file (comments skipped), as bytes."""
    lines = (FRAMES / name).read_text().splitlines()
    return [bytes.fromhex(line) for line in lines if line.strip() and not line.startswith("#")]


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        pause.wait(0.01)


class Recorder:
    """Collects events from a callback and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list = []
        self._cond = threading.Condition()

    def __call__(self, event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, match: Callable[[object], bool], timeout: float = TIMEOUT):
        with self._cond:
            ok = self._cond.wait_for(lambda: any(match(e) for e in self.events), timeout)
            return next(e for e in self.events if match(e)) if ok else None

    def of(self, cls) -> list:
        with self._cond:
            return [e for e in self.events if isinstance(e, cls)]

    def kinds(self) -> list[str]:
        with self._cond:
            return [e.kind for e in self.events if hasattr(e, "kind")]


@pytest.fixture
def wire() -> Iterator[PtyWire]:
    with PtyWire("dev") as w:
        yield w


@pytest.fixture
def modbus_sim(wire: PtyWire) -> Iterator[SimModbusBoard]:
    with SimModbusBoard(wire.device_path) as board:
        yield board
