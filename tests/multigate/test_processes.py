"""Two `gate serve` processes on one real PostgreSQL database, driven over HTTP as a person would.

"north" talks to the server directly, "south" through a LinkProxy (tests/multigate/proxy.py) that can
refuse, stall and restore its link. Each is set up as docs/site.md says (`gate init --gate-name north`,
`gate join --first`, `gate join --gate-name south`, `gate gates approve south`) in its own data folder
and runs `gate serve --simulate-devices`: its own simulated reader, relay board and camera, no demo data.
A card or a PIN is presented through the gate's /sim endpoints; decisions are read from /sim/state's
events, door releases from the simulated board's count of release writes.

The times printed (`-s`) are the measurements quoted in docs/site.md, "Measured".
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gate.context import GateContext
from gate.store.models import Resident
from tests.conftest import REPO, GateCli
from tests.multigate.conftest import CARD, CODE, PIN
from tests.multigate.proxy import LinkProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

POSTGRES = ("127.0.0.1", 5432)
START_WITHIN = 90.0  # a process start on a loaded 2-core machine: imports, migrations check, devices
WAIT = 30.0
#: "Decided from the offline copy at once": the decision deadline is 1 s (default); the rest is margin
#: for HTTP polling on a loaded machine. The grant window (2 s) is what keeps the door from opening late.
OFFLINE_DECISION_WITHIN = 4.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class GateProcess:
    """One `gate serve --simulate-devices` subprocess; its output goes to files for the failure report."""

    name: str
    data_dir: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start the process; returns the monotonic time it was started."""
        self.starts += 1
        log = self.data_dir.parent / f"{self.name}-{self.starts}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        env.pop("GATE_DATABASE_URL", None)
        started = time.monotonic()
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from gate.cli import cli; cli()", "--data-dir", str(self.data_dir),
                 "serve", "--simulate-devices", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        return started

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.data_dir.parent.glob(f"{self.name}-*.log")))

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=5) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict[str, object]) -> None:
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202

    def wait_ready(self) -> None:
        """Serving, the door reconciled and the reader's secure channel up: a card can be presented."""
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.process.returncode}):\n{self.output()}")
            try:
                health = self.get("/api/status")
            except OSError:
                return False
            return bool(health.get("ok")) and health["door"].get("state") == "locked"
        assert wait_until(ready, START_WITHIN), f"{self.name} never became ready:\n{self.output()}"

    def state(self) -> dict[str, Any]:
        return self.get("/sim/state")  # type: ignore[no-any-return]

    def releases(self) -> int:
        return int(self.state()["rig"]["releases"])

    def last_access(self) -> dict[str, Any]:
        events = [e for e in self.state()["events"] if e["kind"] == "access"]
        return events[0] if events else {}

    def present(self, what: Callable[[], None]) -> tuple[dict[str, Any], float]:
        """Do `what` (a card, a PIN) and wait for a new access decision; returns it and how long it took."""
        before = self.last_access()
        started = time.monotonic()
        what()
        assert wait_until(lambda: self.last_access() not in ({}, before), WAIT, tick=0.02), \
            f"{self.name} decided nothing:\n{self.output()}"
        return self.last_access(), time.monotonic() - started

    def card(self) -> tuple[dict[str, Any], float]:
        return self.present(lambda: self.post("/sim/card", {"number": CARD}))

    def pin(self) -> dict[str, Any]:
        self.post("/sim/keys", {"keys": f"{CODE}#"})
        assert wait_until(lambda: self.state()["phase"] == "choice", WAIT), f"{self.name}: no choice after the code"
        decision, _ = self.present(lambda: self.post("/sim/keys", {"keys": f"{PIN}#"}))
        return decision

    def wait_idle(self) -> None:
        assert wait_until(lambda: self.state()["phase"] == "idle", WAIT), f"{self.name} never went back to idle"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(predicate: Callable[[], bool], timeout: float, tick: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(tick)
    return predicate()


def _fingerprints(cli: GateCli) -> dict[str, str]:
    listing = cli.ok("gates", "keys")
    return {line.split()[0]: line.split("fingerprint=")[1].split()[0] for line in listing.splitlines() if line}


@dataclass
class Site:
    url: str
    proxy: LinkProxy
    north: GateProcess
    south: GateProcess
    joined: str  # south's key fingerprint as `gate join` made it


@pytest.fixture
def site(tmp_path: Path, postgres_url: str) -> Iterator[Site]:
    north_dir, south_dir = tmp_path / "north" / "data", tmp_path / "south" / "data"
    north_dir.parent.mkdir()
    south_dir.parent.mkdir()
    proxy = LinkProxy(POSTGRES).start()
    north_cli, south_cli = GateCli(north_dir), GateCli(south_dir)
    # docs/site.md, "Setting up two or more gates", step by step.
    north_cli.ok("init", "--database-url", postgres_url, "--gate-name", "north")
    north_cli.ok("join", "--first")
    south_cli.ok("join", "--database-url", proxy.url_for(postgres_url), "--gate-name", "south")
    joined = _fingerprints(north_cli)["south"]
    north_cli.ok("gates", "approve", "south")
    # The resident, at any gate of the site (here north), through the CLI.
    north_cli.ok("resident", "add", CODE, "--name", "Test Resident")
    north_cli.ok("card", "add", CODE, CARD)
    north_cli.ok("pin", "set", CODE, input=f"{PIN}\n")
    # South checks its key at every cache refresh: once a minute by default, every 2 s here, so a
    # rotation's pick-up is seen within the test's wait.
    toml = south_dir / "gate.toml"
    toml.write_text(toml.read_text().replace("[gate]\n", "[gate]\ncache_refresh_seconds = 2\n", 1))
    gates = Site(postgres_url, proxy, GateProcess("north", north_dir), GateProcess("south", south_dir), joined)
    try:
        for gate in (gates.north, gates.south):
            gate.start()
        for gate in (gates.north, gates.south):
            gate.wait_ready()
        yield gates
    finally:
        proxy.restore()
        for gate in (gates.south, gates.north):
            gate.stop()
        proxy.stop()


def _online_card(gate: GateProcess) -> None:
    """A card granted online. The first decision after a start opens the decision engine's connection;
    on a loaded machine that can take longer than the 1 s deadline, and the card is then (rightly)
    decided from the offline copy. So up to three cards, each granted and releasing the door once."""
    for _ in range(3):
        releases = gate.releases()
        decision, _ = gate.card()
        assert decision["granted"] is True, decision
        assert wait_until(lambda n=releases + 1: gate.releases() == n, WAIT)
        gate.wait_idle()
        if not decision.get("offline"):
            return
        assert wait_until(lambda: gate.get("/api/status")["database"]["ok"] is True, 60)
    raise AssertionError(f"{gate.name} never decided a card online:\n{gate.output()}")


def test_simulated_devices_run_on_the_shared_database_without_demo_data(site: Site) -> None:
    _online_card(site.south)
    _online_card(site.north)
    ctx = GateContext.open(site.north.data_dir)
    try:
        with ctx.sessions() as session:
            # Only the resident added through the CLI: no demo resident, no published demo card.
            assert session.scalar(select(func.count(Resident.id))) == 1
            assert session.scalar(select(Resident.code)) == CODE
    finally:
        ctx.close()


def test_a_stalled_link_decides_at_south_from_its_copy_and_the_door_never_opens_after_restore(site: Site) -> None:
    south = site.south
    _online_card(south)
    releases = south.releases()

    site.proxy.stall()
    decision, took = south.card()
    print(f"\nstall: card at south decided {took:.2f} s after it was presented (offline copy)")
    assert took < OFFLINE_DECISION_WITHIN, f"the card at south was decided {took:.1f} s after it was presented"
    assert decision["granted"] is True and decision["offline"] is True, decision
    assert wait_until(lambda: south.releases() == releases + 1, WAIT)
    assert south.get("/api/status")["database"]["ok"] is False

    time.sleep(3)  # the stalled query is still held by the proxy
    site.proxy.restore()
    assert wait_until(lambda: south.get("/api/status")["database"]["ok"] is True, 60), \
        "south's database never came back"
    watched_until = time.monotonic() + 5  # the held answer arrives now: it must not open the door
    while time.monotonic() < watched_until:
        assert south.releases() == releases + 1, "the door opened again when the link came back"
        time.sleep(0.1)
    assert site.north.releases() == 0


def test_south_restarted_while_its_link_refuses_grants_card_and_pin_from_its_disk_copy(site: Site) -> None:
    south = site.south
    _online_card(south)  # south's offline copy holds the resident, sealed on its disk

    south.kill()
    site.proxy.refuse()
    site.proxy.cut()
    started = south.start()
    south.wait_ready()
    ready = time.monotonic() - started
    assert south.get("/api/status")["database"]["ok"] is False
    releases = south.releases()
    decision, took = south.card()
    first_card = time.monotonic() - started
    print(f"\nrestart during an outage: serving with the reader online {ready:.1f} s after the process was "
          f"started; the first card decided {first_card:.1f} s after the start (the card itself {took:.2f} s)")
    assert decision["granted"] is True and decision["offline"] is True, decision
    assert wait_until(lambda: south.releases() == releases + 1, WAIT)
    south.wait_idle()

    decision = south.pin()
    assert decision["method"] == "pin" and decision["granted"] is True and decision["offline"] is True, decision
    assert wait_until(lambda: south.releases() == releases + 2, WAIT)
    assert site.proxy.accepted > 0  # south did try its link, and was refused


def test_a_key_rotation_at_north_is_picked_up_by_south_without_touching_files(site: Site) -> None:
    north, south = site.north, site.south
    cli = GateCli(north.data_dir)
    # At start south opened its slot and, as after every pick-up, replaced its key pair (docs/keys.md).
    assert wait_until(lambda: _fingerprints(cli)["south"] != site.joined, WAIT), "south never picked up the site key"
    assert "site_key" not in south.get("/api/status")["alarms"]
    before = _fingerprints(cli)["south"]

    rotated = cli.ok("keys", "rotate")
    assert rotated.startswith("master key is now "), rotated
    # South opens the rotated keyring from its slot (a new key pair is the sign it opened it).
    assert wait_until(lambda: _fingerprints(cli)["south"] != before, 60), \
        f"south never picked up the rotated key:\n{south.output()}"
    assert "site_key" not in south.get("/api/status")["alarms"]
