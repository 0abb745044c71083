"""systemd: the notify protocol seen on a real AF_UNIX datagram socket, the watchdog pinged by the door
loop itself (a blocked loop stops pinging), and the unit file."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.context import GateContext
from gate.install import initialise
from gate.service import controls as c
from gate.service.builder import build_runtime
from gate.service.simrig import SimRig
from gate.service.systemd import Notifier, watchdog_seconds
from tests.service.conftest import LOADED_MACHINE_TIMEOUTS, WAIT

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "gate.service"
GATE = Path(sys.executable).with_name("gate")


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    yield sock
    sock.close()


def _next(sock: socket.socket, timeout: float = WAIT) -> list[str]:
    sock.settimeout(timeout)
    return sock.recv(4096).decode().splitlines()


def _wait_for(sock: socket.socket, wanted: str, seen: list[str]) -> None:
    while wanted not in seen:
        seen.extend(_next(sock, 60))


def test_serve_says_ready_pings_from_the_loop_and_says_stopping(tmp_path: Path,
                                                                 notify_socket: socket.socket) -> None:
    data = tmp_path / "data"
    initialise(data)
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.getsockname(), "WATCHDOG_USEC": "1000000"}
    proc = subprocess.Popen([str(GATE), "--data-dir", str(data), "serve", "--simulate", "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    seen: list[str] = []
    try:
        _wait_for(notify_socket, "READY=1", seen)
        assert any(line.startswith("STATUS=starting") for line in seen)
        after_ready = len(seen)
        while seen[after_ready:].count("WATCHDOG=1") < 2:
            seen.extend(_next(notify_socket, 60))
        assert any(re.match(r"STATUS=gate 'main' serving on http://127\.0\.0\.1:\d+", line) for line in seen)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _wait_for(notify_socket, "STOPPING=1", seen)
        finally:
            proc.wait(30)
    assert proc.returncode == 0


def test_a_blocked_loop_stops_the_watchdog_pings(installation: GateContext, notify_socket: socket.socket,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.getsockname())
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s while the loop turns
    rig = SimRig().start()
    runtime = build_runtime(installation, rig=rig, timeouts=LOADED_MACHINE_TIMEOUTS)
    Notifier().attach(runtime)
    entered, release = threading.Event(), threading.Event()

    class StuckStep(queue.Queue[bool]):
        """A step of the loop that does not return (a hung device call, say) until released."""

        def put(self, item: bool, block: bool = True, timeout: float | None = None) -> None:
            entered.set()
            release.wait(WAIT * 3)

    runtime.start()
    try:
        assert "WATCHDOG=1" in _next(notify_socket)
        runtime._queue_put(c.Sync(StuckStep()))
        assert entered.wait(WAIT)
        notify_socket.setblocking(False)
        try:
            while True:
                notify_socket.recv(4096)  # pings sent before the step began
        except BlockingIOError:
            pass
        with pytest.raises(TimeoutError):
            _next(notify_socket, 1.0)  # ten intervals: no ping while the loop is stuck
        release.set()
        assert "WATCHDOG=1" in _next(notify_socket)
    finally:
        release.set()
        runtime.stop()
        rig.stop()


def test_watchdog_only_with_a_notify_socket_and_for_this_process() -> None:
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000"}, 42) is None
    assert watchdog_seconds({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}, 42) == 15.0
    assert watchdog_seconds({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_seconds({"NOTIFY_SOCKET": "/run/x"}, 42) is None


REQUIRED = {
    "Service": ["Type=notify", "WatchdogSec=30s", "Restart=on-failure", "ProtectSystem=strict",
                "ReadWritePaths=/var/lib/gate", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyS rw",
                "DeviceAllow=char-ttyACM rw", "DeviceAllow=char-video4linux rw", "NoNewPrivileges=yes",
                "PrivateTmp=yes", "ProtectHome=yes", "User=gate", "SupplementaryGroups=dialout video"],
    "Install": ["WantedBy=multi-user.target"],
}


def test_the_unit_file_has_the_required_keys() -> None:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in UNIT.read_text().splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif line and not line.startswith("#"):
            sections.setdefault(current, []).append(line)
    for section, keys in REQUIRED.items():
        for key in keys:
            assert key in sections.get(section, []), (section, key)
    assert not any(line.startswith(("OnCalendar", "ExecStartPost")) for lines in sections.values() for line in lines)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # The same text with ExecStart pointing at this checkout's gate (verify checks the binary exists).
    unit = tmp_path / "gate.service"
    unit.write_text(UNIT.read_text().replace("/opt/gate/venv/bin/gate", str(GATE)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert str(unit) not in result.stderr, result.stderr  # a warning about our file: an unknown key, a bad value
