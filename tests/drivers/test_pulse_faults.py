"""Board-timed pulses under faults, with the simulated board in a process of its own (`gate sim`).

The door-open pulse is one command and the board ends it, so killing the process that drives
the door, or cutting the cable, mid-pulse cannot leave the release relay on.  With host-timed
pulses (the old behaviour) both leave it on until the controller is back.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from drivers.config import parse_relay
from drivers.door import DoorController
from drivers.relays.modbus import ModbusRelayBoard

from .conftest import TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
GATE = Path(sys.executable).with_name("gate")
PULSE_S = 3.0
# Reference wiring of `gate sim` (drivers.sim.rig): door sensor 0, exit button 1, fire loop 2.
DOOR = {"pulse_ms": int(PULSE_S * 1000), "door_sensor_input": 0, "exit_button_input": 1, "fire_alarm_input": 2}

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


class SimProcess:
    """`gate sim --devices relay` in its own process, driven through its stdin like a person would."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([str(GATE), "sim", "--devices", "relay"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = ""
        while not self.port:
            words = self._line().split()
            if len(words) == 2 and words[0] == "relay":
                self.port = words[1]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)

    def _line(self) -> str:
        try:
            return self._lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError("gate sim stopped talking") from None

    def command(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def coil(self, index: int) -> bool:
        self.command("outputs")
        while True:
            line = self._line()
            if '"modbus_coils"' in line:
                return bool(json.loads(line[line.index("{"):])["modbus_coils"][index])

    def wait_coil_off(self, index: int, deadline: float) -> float | None:
        """The monotonic time the coil was first seen off, or None if it was still on at ``deadline``."""
        while time.monotonic() < deadline:
            if not self.coil(index):
                return time.monotonic()
            time.sleep(0.05)
        return None

    def close(self) -> None:
        try:
            self.command("quit")
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def sim():
    process = SimProcess()
    yield process
    process.close()


DRIVER = f"DOOR = {DOOR!r}" + """
import sys, time
from drivers.config import parse_relay
from drivers.door import DoorController
from drivers.relays import make_board
cfg = parse_relay({"backend": "modbus", "port": sys.argv[1], "door": DOOR})
door = DoorController(make_board(cfg), cfg.door).start()
deadline = time.monotonic() + 30
while door.snapshot().state != "locked":
    if time.monotonic() > deadline:
        sys.exit("the door never reached the board")
    time.sleep(0.02)
if not door.grant():
    sys.exit("grant failed: " + str(door.snapshot().fault))
print("granted", door.snapshot().pulse_timing, flush=True)
time.sleep(120)
"""


def test_sigkill_mid_pulse_the_board_still_ends_the_pulse(sim):
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, sim.port], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=_env())
    try:
        assert driver.stdout is not None
        line = driver.stdout.readline()
        granted_at = time.monotonic()
        assert line.startswith("granted"), line + driver.stdout.read()
        time.sleep(0.4)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(10)
        assert sim.coil(0), "the relay should still be in its pulse when the controller dies"
        off_at = sim.wait_coil_off(0, granted_at + PULSE_S + 1.0)
        assert off_at is not None, "the release relay stayed on after its controller was killed"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(10)
        assert driver.stdout is not None
        driver.stdout.close()


def test_cable_cut_mid_pulse_the_board_ends_it_and_the_door_never_says_locked(sim):
    cfg = parse_relay({"backend": "modbus", "port": sim.port, "reply_timeout_ms": 300,
                       "reconnect_initial_ms": 100, "reconnect_max_ms": 500, "door": DOOR})
    board = ModbusRelayBoard.from_config(cfg)
    assert board.pulse_timing == "board"
    with DoorController(board, cfg.door) as door:
        deadline = time.monotonic() + TIMEOUT
        while door.snapshot().state != "locked":
            assert time.monotonic() < deadline, door.snapshot()
            time.sleep(0.02)
        assert door.grant()
        granted_at = time.monotonic()
        time.sleep(0.4)
        sim.command("cut relay")
        # Until the cable is mended, sample what /health would show.
        seen: list[tuple[float, str, str | None]] = []
        off_at = None
        while time.monotonic() < granted_at + PULSE_S + 1.5:
            snap = door.snapshot()
            seen.append((time.monotonic() - granted_at, snap.state, snap.state_reason))
            if off_at is None and not sim.coil(0):
                off_at = time.monotonic()
            time.sleep(0.05)
        assert off_at is not None and off_at <= granted_at + PULSE_S + 1.0, "the relay stayed on with the cable cut"
        assert all(state != "locked" for _, state, _ in seen), seen
        assert seen[-1][1] == "unknown" and "link to the relay board is down" in (seen[-1][2] or "")
        assert door.snapshot().pulse_timing == "board"
        sim.command("mend relay")
        deadline = time.monotonic() + TIMEOUT
        while door.snapshot().state != "locked":
            assert time.monotonic() < deadline, door.snapshot()
            time.sleep(0.05)
    assert not sim.coil(0)

