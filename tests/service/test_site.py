"""Several gates, one site: heartbeats (who runs which gate, release, clock offset, state), duplicate gate
names refused at start, and an older gate that keeps deciding after a newer release migrated the database."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from gate.clock import utcnow
from gate.context import GateContext
from gate.errors import ConflictError
from gate.service.builder import build_runtime
from gate.service.simrig import SimRig
from gate.store import heartbeats
from gate.store.gates import get_gate
from gate.store.models import GateHeartbeat
from tests.conftest import GateCli
from tests.service.conftest import CARD, LOADED_MACHINE_TIMEOUTS, WAIT, Gate
from tests.store.test_rolling_upgrade import FUTURE, future_release, migrate_with


def heartbeat_row(ctx: GateContext, gate: str = "main") -> GateHeartbeat | None:
    with ctx.sessions() as session:
        return session.scalar(select(GateHeartbeat).where(GateHeartbeat.gate_id == get_gate(session, gate).id))


def someone_else_runs(ctx: GateContext, *, host: str, pid: int, state: str = "running") -> None:
    """Another process's fresh heartbeat for gate main, as its own service would write it."""
    with ctx.transaction() as session:
        heartbeats.beat(session, get_gate(session, "main"), heartbeats.Instance(host=host, pid=pid), state, utcnow())


def test_a_running_gate_writes_its_heartbeat_and_gates_list_shows_it(gate_factory, installation):
    gate = gate_factory(heartbeat_seconds=1.0)
    assert gate.wait_for(lambda: (row := heartbeat_row(installation)) is not None and row.state == "running")
    row = heartbeat_row(installation)
    assert row is not None and row.pid == os.getpid() and row.version and row.host
    assert row.clock_offset_seconds is not None and abs(row.clock_offset_seconds) < 5
    listed = GateCli(installation.settings.data_dir).ok("gates", "list")
    assert "running" in listed and row.host in listed and "s ago" in listed
    gate.runtime.stop()
    assert heartbeat_row(installation).state == "stopped"


def test_the_heartbeat_shows_a_gate_whose_clock_is_ten_minutes_fast(installation, tmp_path):
    fast = GateContext.open(installation.settings.data_dir, clock=lambda: utcnow() + timedelta(minutes=10))
    rig = SimRig().start()
    runtime = build_runtime(fast, rig=rig, timeouts=LOADED_MACHINE_TIMEOUTS, face_engine=None)
    try:
        row = heartbeat_row(installation)
        assert row is not None and 595 < row.clock_offset_seconds < 605
        # Its age is measured on the database's clock: the fast gate does not look "seen in the future".
        import json

        [listed] = json.loads(GateCli(installation.settings.data_dir).ok("gates", "list", "--json"))
        assert 595 < listed["clock_offset_seconds"] < 605 and 0 <= listed["seen_seconds_ago"] < 30
    finally:
        runtime.stop()
        rig.stop()
        fast.close()


def test_a_second_process_with_the_same_gate_name_refuses_to_start(installation):
    someone_else_runs(installation, host="gate-north-2", pid=4242)
    rig = SimRig().start()
    try:
        with pytest.raises(ConflictError) as refused:
            build_runtime(installation, rig=rig, timeouts=LOADED_MACHINE_TIMEOUTS, face_engine=None)
    finally:
        rig.stop()
    message = str(refused.value)
    assert "'main' is already running on gate-north-2 (process 4242" in message and "[gate] name" in message
    assert message.count(". ") == 0 and message.endswith(".")


@pytest.mark.parametrize("left_behind", ["stopped cleanly", "crashed on this host", "silent for a minute"])
def test_a_gate_starts_over_a_heartbeat_that_is_not_a_running_process(installation, left_behind):
    import socket
    import subprocess

    if left_behind == "stopped cleanly":
        someone_else_runs(installation, host="gate-north-2", pid=4242, state="stopped")
    elif left_behind == "crashed on this host":
        gone = subprocess.Popen(["true"])
        gone.wait()
        someone_else_runs(installation, host=socket.gethostname(), pid=gone.pid)
    else:
        someone_else_runs(installation, host="gate-north-2", pid=4242)
        with installation.transaction() as session:
            row = session.get(GateHeartbeat, get_gate(session, "main").id)
            row.last_seen -= timedelta(seconds=61)
    rig = SimRig().start()
    runtime = build_runtime(installation, rig=rig, timeouts=LOADED_MACHINE_TIMEOUTS, face_engine=None)
    try:
        assert heartbeat_row(installation).pid == os.getpid()
    finally:
        runtime.stop()
        rig.stop()


def test_an_older_release_keeps_deciding_cards_after_a_newer_one_migrates(installation, tmp_path):
    """One gate of the site runs the next release and migrated the database (a nullable column and a new
    table beyond this code's head, marked compatible): this gate, still on today's code, starts, decides
    cards, and says on /health that its software is behind."""
    from webui.server import make_app

    data_dir = installation.settings.data_dir
    migrate_with(data_dir, future_release(tmp_path, compatible=True))
    older = GateContext.open(data_dir)
    rig = SimRig(pulse_ms=500).start()
    runtime = build_runtime(older, rig=rig, timeouts=LOADED_MACHINE_TIMEOUTS, face_engine=None).start()
    try:
        gate = Gate(older, rig, runtime)
        assert gate.wait_for(lambda: runtime.snapshot().door.state == "locked")
        gate.card(CARD)
        assert gate.wait_for(lambda: gate.last_access().get("granted") is True, WAIT)
        assert gate.wait_for(lambda: gate.releases() >= 1, WAIT)
        health = make_app(older, runtime, simulate=False).test_client().get("/api/status").get_json()
        assert FUTURE in health["schema_note"] and "upgrade its software" in health["schema_note"]
    finally:
        runtime.stop()
        rig.stop()
        older.close()
