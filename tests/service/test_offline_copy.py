"""The offline copy on the gate's disk: private, sealed, refused when altered or too old; a gate that
starts during a database outage decides card and PIN from it (face refused and journaled) and joins
the database when it is back; a revocation reaches another gate's copy within seconds."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gate.access.offline_disk import OfflineCopyFile, copy_path
from gate.clock import utcnow
from gate.context import GateContext
from gate.core import machine as m
from gate.core.cardnumber import normalize_card
from gate.core.decision import Reason
from gate.secrets.sealed_file import local_key_path
from gate.service.builder import build_runtime
from gate.service.offline_copy import disk_backed_cache
from gate.service.simrig import SimRig
from gate.store import gates, residents
from gate.store.models import AccessEvent
from tests.conftest import _postgres_database
from tests.service.conftest import (
    CARD,
    CODE,
    LOADED_MACHINE_TIMEOUTS,
    PIN,
    Gate,
    make_installation,
    record_face_allowed,
)
from tests.service.link_proxy import LinkProxy

DAY = 24 * 3600.0


# -- the file --------------------------------------------------------------------------------------
def test_the_disk_copy_is_private_sealed_and_refused_when_altered_stale_or_another_gates(
        installation: GateContext) -> None:
    ctx = installation
    now = utcnow()
    cache = disk_backed_cache(ctx.settings, ctx.hasher, "main", DAY, now)
    cache.refresh(ctx.sessions, "main", now)
    path = copy_path(ctx.settings.data_dir, "main")
    key = local_key_path(ctx.settings.key_file)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key != ctx.settings.key_file
    raw = path.read_bytes()
    with ctx.sessions() as session:
        pin_hash = residents.get_resident(session, CODE).pin.pin_hash  # type: ignore[union-attr]
    for secret in (normalize_card(CARD), pin_hash, pin_hash.split("$")[-1]):
        assert secret.encode() not in raw

    disk = OfflineCopyFile(path, key, "main")
    read = disk.load(now + timedelta(hours=23), timedelta(hours=24))
    assert read is not None and read.loaded_at == now and read.policy == cache.copy.policy  # type: ignore[union-attr]
    assert read.by_card[normalize_card(CARD)].pin_hash == pin_hash and read.by_code[CODE].has_card

    assert disk.load(now + timedelta(hours=25), timedelta(hours=24)) is None
    assert disk.problem is not None and "older than the 24 h" in disk.problem
    assert OfflineCopyFile(path, key, "south").load(now, timedelta(hours=24)) is None  # another gate's purpose
    tampered = bytearray(raw)
    tampered[len(tampered) // 2] ^= 0x01
    path.write_bytes(bytes(tampered))
    assert disk.load(now, timedelta(hours=24)) is None
    assert disk.problem is not None and "fails authentication" in disk.problem


def test_an_unchanged_copy_is_not_rewritten_until_due_and_a_change_is_written_at_once(
        installation: GateContext) -> None:
    ctx = installation
    now = utcnow()
    cache = disk_backed_cache(ctx.settings, ctx.hasher, "main", DAY, now)
    path = copy_path(ctx.settings.data_dir, "main")
    cache.refresh(ctx.sessions, "main", now)
    first = path.read_bytes()
    cache.refresh(ctx.sessions, "main", now + timedelta(minutes=1))
    assert path.read_bytes() == first  # the same content a minute later: the flash is spared
    cache.refresh(ctx.sessions, "main", now + timedelta(minutes=11))
    assert path.read_bytes() != first  # due again: the time on disk follows the refreshes
    second = path.read_bytes()
    with ctx.transaction() as session:
        residents.remove_card(session, CARD, actor="office")
    cache.refresh(ctx.sessions, "main", now + timedelta(minutes=12))
    assert path.read_bytes() != second
    read = OfflineCopyFile(path, local_key_path(ctx.settings.key_file), "main").load(
        now + timedelta(minutes=12), timedelta(hours=24))
    assert read is not None and normalize_card(CARD) not in read.by_card


# -- gates on PostgreSQL behind a link that can be cut ---------------------------------------------
@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
def proxy(pg_url: str) -> Iterator[tuple[LinkProxy, str]]:
    link, url = LinkProxy.before(pg_url)
    yield link, url
    link.close()


def _site(data: Path, url: str) -> GateContext:
    data.mkdir(parents=True)
    (data / "gate.toml").write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return make_installation(data)


def _through(ctx: GateContext, url: str) -> GateContext:
    """The same installation with the gate service's database reached at `url` (another link)."""
    settings = dataclasses.replace(ctx.settings, database=dataclasses.replace(ctx.settings.database, url=url))
    return dataclasses.replace(ctx, settings=settings)


@pytest.fixture
def started() -> Iterator[list[Gate]]:
    gates_started: list[Gate] = []
    yield gates_started
    for gate in reversed(gates_started):
        gate.runtime.stop()
        gate.rig.stop()


def _start(started: list[Gate], ctx: GateContext, **kw: object) -> Gate:
    rig = SimRig(pulse_ms=500, passage_window_ms=5000).start()
    runtime = build_runtime(ctx, rig=rig, timeouts=LOADED_MACHINE_TIMEOUTS, face_engine=None,
                            cache_refresh_seconds=3600, **kw)  # type: ignore[arg-type]
    gate = Gate(ctx, rig, runtime)
    started.append(gate)
    runtime.start()
    assert gate.wait_for(lambda: runtime.snapshot().door.state == "locked"), "door never reconciled"
    return gate


def _stop(started: list[Gate], gate: Gate) -> None:
    gate.runtime.stop()
    gate.rig.stop()
    started.remove(gate)


def _offline_start(tmp_path: Path, proxy: tuple[LinkProxy, str], started: list[Gate]) -> tuple[Path, GateContext]:
    """A site whose gate ran once with the database up (its copy is on disk), then the link is cut
    and the gate's process is started anew."""
    link, url = proxy
    data = tmp_path / "data"
    ctx = _site(data, url)
    record_face_allowed(ctx, tmp_path)
    _stop(started, _start(started, ctx))
    assert copy_path(data, "main").exists()
    ctx.close()
    link.refuse()
    restarted = GateContext.open(data, offline_ok=True)
    assert restarted.schema_unchecked
    return data, restarted


@pytest.mark.postgres
def test_a_gate_started_during_an_outage_decides_card_and_pin_from_its_disk_copy_and_joins_when_back(
        tmp_path: Path, proxy: tuple[LinkProxy, str], started: list[Gate]) -> None:
    data, ctx = _offline_start(tmp_path, proxy, started)
    gate = _start(started, ctx)
    try:
        assert gate.runtime.snapshot().database.ok is False
        assert gate.runtime.snapshot().database.decisions_from_cache is True
        gate.card(CARD)
        assert gate.wait_for(lambda: gate.last_access().get("method") == "card")
        assert gate.last_access()["granted"] is True and gate.last_access()["offline"] is True
        assert gate.wait_for(lambda: gate.releases() == 1)
        gate.runtime.post(m.TimedOut(gate.runtime._state.token))
        assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "idle")
        gate.pin_on_screen(CODE, PIN)
        assert gate.wait_for(lambda: gate.last_access().get("method") == "pin")
        assert gate.last_access()["granted"] is True
        assert gate.wait_for(lambda: gate.runtime.snapshot().phase in ("open", "idle"))
        gate.runtime.post(m.TimedOut(gate.runtime._state.token))
        assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "idle")
        # Face is offered by the gate's policy (carried in the copy) but never decided offline.
        gate.runtime.post(m.Choose("face"))
        gate.runtime.post(m.EnterCode(CODE))
        assert gate.wait_for(lambda: gate.last_access().get("method") == "face")
        assert gate.last_access()["granted"] is False
        assert gate.last_access()["reason"] == Reason.FACE_UNAVAILABLE.value
        journaled = gate.runtime.events.journal.entries()
        assert [(e["method"], e["granted"]) for e in journaled if e["method"] != "door"] == [
            ("card", True), ("pin", True), ("face", False)]
    finally:
        proxy[0].restore()
    # the re-probe checks the schema, closes the circuit and writes the journal
    assert gate.wait_for(lambda: gate.runtime.snapshot().database.ok is True, timeout=60)
    assert gate.wait_for(lambda: gate.runtime.snapshot().database.pending_events == 0, timeout=60)
    with ctx.sessions() as session:
        rows = session.execute(select(AccessEvent.method, AccessEvent.granted)
                               .where(AccessEvent.detail.like("offline:%"), AccessEvent.method != "door")
                               .order_by(AccessEvent.id)).all()
    assert [tuple(r) for r in rows] == [("card", True), ("pin", True), ("face", False)]
    ctx.close()


@pytest.mark.postgres
@pytest.mark.parametrize("damage", ["tampered", "stale"])
def test_a_gate_started_during_an_outage_with_an_altered_or_stale_copy_refuses_card_as_database_unavailable(
        tmp_path: Path, proxy: tuple[LinkProxy, str], started: list[Gate], damage: str) -> None:
    data, ctx = _offline_start(tmp_path, proxy, started)
    path = copy_path(data, "main")
    if damage == "tampered":
        raw = bytearray(path.read_bytes())
        raw[-1] ^= 0x01
        path.write_bytes(bytes(raw))
    else:
        later = utcnow() + timedelta(hours=25)
        ctx = dataclasses.replace(ctx, clock=lambda: later)
    gate = _start(started, ctx)
    assert gate.runtime.snapshot().database.decisions_from_cache is False
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.last_access().get("method") == "card")
    assert gate.last_access()["granted"] is False
    assert gate.last_access()["reason"] == Reason.DATABASE_UNAVAILABLE.value
    assert gate.releases() == 0
    ctx.close()


@pytest.mark.postgres
def test_a_card_revoked_while_the_database_is_up_stops_working_offline_at_the_other_gate_within_seconds(
        tmp_path: Path, pg_url: str, proxy: tuple[LinkProxy, str], started: list[Gate]) -> None:
    link, through = proxy
    ctx = _site(tmp_path / "data", pg_url)
    with ctx.transaction() as session:
        gates.add_gate(session, "south", "card,pin", actor="test")
    _start(started, ctx)  # north, on the direct link
    south = _start(started, _through(ctx, through), gate_name="south")
    south.card(CARD)
    assert south.wait_for(lambda: south.last_access().get("granted") is True)
    uid = normalize_card(CARD)
    assert uid in south.runtime.cache.copy.by_card  # type: ignore[union-attr]

    with ctx.transaction() as session:  # the office revokes the card (at north's web UI)
        residents.remove_card(session, CARD, actor="office")
    # The periodic refresh is an hour away: only the change watcher (every 2 s) can get it there.
    assert south.wait_for(lambda: uid not in south.runtime.cache.copy.by_card, timeout=20)  # type: ignore[union-attr]
    link.refuse()  # then south loses the database
    south.runtime.post(m.TimedOut(south.runtime._state.token))
    assert south.wait_for(lambda: south.runtime.snapshot().phase == "idle")
    before = south.releases()
    south.card(CARD)
    assert south.wait_for(lambda: south.last_access().get("offline") is True)
    assert south.last_access()["granted"] is False and south.last_access()["reason"] == Reason.UNKNOWN_CARD.value
    assert south.releases() == before
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AccessEvent)) >= 1
    ctx.close()


def test_the_directory_version_moves_with_card_pin_and_resident_changes_only(any_ctx: GateContext) -> None:
    from gate.store.change_marker import directory_version

    def version() -> str | None:
        with any_ctx.sessions() as session:
            return directory_version(session)

    seen = [version()]
    assert seen[0] is not None
    with any_ctx.transaction() as session:
        resident = residents.add_resident(session, code="2001", name="New", actor="t")
        residents.add_card(session, resident, "7:7", actor="t")
    seen.append(version())
    with any_ctx.transaction() as session:
        residents.set_pin(session, residents.get_resident(session, "2001"), "246810", any_ctx.hasher, actor="t")
    seen.append(version())
    with any_ctx.transaction() as session:
        residents.remove_card(session, "7:7", actor="t")
    seen.append(version())
    assert len(set(seen)) == 4
    with any_ctx.transaction() as session:
        gates.set_gate(session, gates.get_gate(session, "main"), actor="t", methods="card")
    assert version() == seen[-1]  # a policy change is not the directory (the loop reads it online)


@pytest.mark.postgres
def test_gate_serve_starts_during_an_outage_serves_kiosk_and_health_and_joins_when_back(
        tmp_path: Path, proxy: tuple[LinkProxy, str]) -> None:
    import json
    import re
    import signal
    import subprocess
    import sys
    import threading
    import urllib.request

    link, url = proxy
    data = tmp_path / "data"
    _site(data, url).close()
    link.refuse()
    gate_bin = Path(sys.executable).with_name("gate")
    proc = subprocess.Popen([str(gate_bin), "--data-dir", str(data), "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    seen: list[str] = []
    where: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if (match := re.search(r"on (http://127\.0\.0\.1:\d+)", line)):
                where.append(match.group(1))
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()

    def health() -> dict:
        with urllib.request.urlopen(where[0] + "/api/status", timeout=10) as response:
            answer: dict = json.loads(response.read())
            return answer

    try:
        assert ready.wait(90) and where, "".join(seen)
        assert health()["database"]["ok"] is False
        with urllib.request.urlopen(where[0] + "/kiosk", timeout=10) as response:
            assert response.status == 200
        link.restore()
        back = threading.Event()
        for _ in range(300):
            if health()["database"]["ok"] is True:
                break
            back.wait(0.2)
        assert health()["database"]["ok"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        reader.join(10)
        proc.stdout.close()
    assert proc.returncode == 0, "".join(seen)
    assert not any("Traceback" in line for line in seen), "".join(seen)


@pytest.mark.postgres
def test_a_gate_started_during_an_outage_stays_on_its_copy_when_the_database_returns_at_a_refused_schema(
        tmp_path: Path, pg_url: str, proxy: tuple[LinkProxy, str], started: list[Gate],
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from sqlalchemy import create_engine, text

    from gate.store.models import GateHeartbeat

    data, ctx = _offline_start(tmp_path, proxy, started)
    direct = create_engine(pg_url)
    try:
        # While the gate is away, another release upgrades the database to a migration this code does not know.
        with direct.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
            stopped_beat = connection.execute(text("SELECT instance FROM gate_heartbeats")).scalar_one()
        caplog.set_level(logging.ERROR, logger="gate.service")
        gate = _start(started, ctx, heartbeat_seconds=0.5)
        proxy[0].restore()
        reprobe = gate.runtime.reprobe
        assert gate.wait_for(lambda: gate.runtime.snapshot().database.refused is not None, timeout=60)
        seen = reprobe.probes
        assert gate.wait_for(lambda: reprobe.probes >= seen + 2, timeout=60)  # asked again, said once

        health = gate.runtime.snapshot().as_dict()["database"]
        assert health["ok"] is False and health["decisions_from_cache"] is True  # type: ignore[index]
        assert "9999_from_the_future" in health["refused"]  # type: ignore[index]
        refusals = [r for r in caplog.records if "does not join" in r.getMessage()]
        assert len(refusals) == 1
        gate.card(CARD)  # card still works, from the copy
        assert gate.wait_for(lambda: gate.last_access().get("method") == "card")
        assert gate.last_access()["granted"] is True and gate.last_access()["offline"] is True
        assert gate.wait_for(lambda: gate.releases() == 1)
        assert gate.runtime.snapshot().database.pending_events >= 1  # the journal was not written into it
        with direct.connect() as connection:
            assert connection.execute(select(func.count()).select_from(AccessEvent)
                                      .where(AccessEvent.detail.like("offline:%"))).scalar_one() == 0
            assert connection.execute(select(GateHeartbeat.instance)).scalar_one() == stopped_beat  # no beat
    finally:
        direct.dispose()
    ctx.close()
