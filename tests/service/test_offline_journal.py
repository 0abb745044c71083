"""Fast offline (a locked database file costs one short wait, then the circuit) and the durable
local journal (events taken offline survive a SIGKILL and reach access_events exactly once)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update

from gate.bench.offline import exclusive_lock
from gate.clock import utcnow
from gate.context import GateContext
from gate.core.decision import Decision, Reason
from gate.core.policy import Method
from gate.install import initialise
from gate.service.db_health import DatabaseHealth
from gate.service.event_log import EventLog
from gate.service.journal import Journal, journal_path
from gate.store.models import AccessEvent
from tests.service.conftest import CARD, Gate

GATE = Path(sys.executable).with_name("gate")
DEMO_CARD = "188:24910"  # `gate serve --simulate`'s demo resident


def _count_db_calls(gate: Gate) -> list[str]:
    """Every connection checkout and statement on the runtime's decision engine, in order."""
    calls: list[str] = []
    engine = gate.runtime.access.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", lambda *args: calls.append("sql"))
    event.listen(engine.pool, "checkout", lambda *args: calls.append("checkout"))
    return calls


def test_locked_database_file_card_from_the_offline_copy_and_the_next_card_never_asks_it(gate: Gate) -> None:
    db_file = gate.ctx.settings.data_dir / "gate.db"
    calls = _count_db_calls(gate)
    with exclusive_lock(db_file):
        gate.card(CARD)
        assert gate.wait_for(lambda: gate.releases() >= 1)
        first = gate.last_access()
        assert first["granted"] is True and first.get("offline") is True
        snap = gate.runtime.snapshot()
        assert snap.database.ok is False and "database_offline" in snap.alarms
        gate.rig.board.wait_for_coil(0, False, timeout=20)  # type: ignore[union-attr]
        gate.runtime.reprobe.stop()  # hold the circuit open: the probe's own queries are not the card's
        gate.runtime.wait_idle()
        before = len(calls)
        gate.card(CARD)
        assert gate.wait_for(lambda: gate.releases() >= 2)
        second = gate.last_access()
        assert second["granted"] is True and second.get("offline") is True
        assert calls[before:] == []  # the circuit was open: no checkout, no statement for the second card
        assert gate.runtime.events.pending_count >= 2


def test_the_reprobe_closes_the_circuit_and_replays_the_journal(gate: Gate) -> None:
    db_file = gate.ctx.settings.data_dir / "gate.db"
    with exclusive_lock(db_file):
        gate.card(CARD)
        assert gate.wait_for(lambda: gate.last_access().get("offline") is True)
        assert gate.runtime.snapshot().database.ok is False
    # no card needed: the background re-probe finds the file free again
    assert gate.wait_for(lambda: gate.runtime.snapshot().database.ok is True)
    assert gate.wait_for(lambda: gate.runtime.snapshot().database.pending_events == 0)
    with gate.ctx.sessions() as session:
        rows = session.scalars(select(AccessEvent).where(AccessEvent.method == "card")).all()
    assert [(r.granted, r.detail.startswith("offline:"), r.journal_id is not None) for r in rows] == [
        (True, True, True)]
    assert not journal_path(gate.ctx.settings.data_dir, "main").exists()


def test_the_journal_is_private_fsynced_lines_and_a_half_written_last_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "journal" / "main.jsonl"
    journal = Journal(path)
    first = journal.append({"method": "card", "granted": True})
    path.chmod(0o644)  # restored from a careless backup: tightened on the next append
    second = journal.append({"method": "pin", "granted": False})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first != second and journal.count == 2
    with open(path, "ab") as handle:  # a SIGKILL in the middle of a write
        handle.write(b'{"id":"abc","meth')
    reopened = Journal(path)
    assert [e["id"] for e in reopened.entries()] == [first, second] and reopened.count == 2
    third = reopened.append({"method": "card", "granted": True})
    assert [e["id"] for e in Journal(path).entries()] == [first, second, third]
    reopened.drop({first, third})
    assert [e["id"] for e in Journal(path).entries()] == [second]


def test_a_replay_cut_after_its_commit_writes_no_row_twice(installation: GateContext, tmp_path: Path) -> None:
    path = journal_path(installation.settings.data_dir, "main")
    events = EventLog("main", utcnow, DatabaseHealth(utcnow), Journal(path))
    for granted in (True, False, True):
        reason = Reason.GRANTED if granted else Reason.UNKNOWN_CARD
        events.offline(Method.CARD, Decision(granted, reason), None, None, "decided from the local cache")
    saved = tmp_path / "journal-before-replay.jsonl"
    shutil.copy(path, saved)
    events.flush(installation.sessions, None)
    assert events.pending_count == 0
    # The state a crash between the commit and the journal's truncation leaves: rows in, lines still there.
    shutil.copy(saved, path)
    after_restart = EventLog("main", utcnow, DatabaseHealth(utcnow), Journal(path))
    assert after_restart.pending_count == 3
    after_restart.flush(installation.sessions, None)
    assert after_restart.pending_count == 0 and not path.exists()
    with installation.sessions() as session:
        rows = session.scalars(select(AccessEvent).where(AccessEvent.method == "card")).all()
    assert sorted(r.granted for r in rows) == [False, True, True]
    assert all(r.detail == "offline: decided from the local cache" for r in rows)


# -- a real `gate serve --simulate`, killed while the database is away ---------------------------------
@contextmanager
def _serve(data: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen([str(GATE), "--data-dir", str(data), "serve", "--simulate", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    out = proc.stdout
    assert out is not None
    drain = threading.Thread(target=lambda: [None for _ in out], daemon=True)
    try:
        address = None
        for line in out:
            if (address := re.search(r"on (http://127\.0\.0\.1:\d+)", line)):
                break
        assert address is not None, "gate serve printed no address"
        drain.start()
        yield proc, address.group(1)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        if drain.is_alive():
            drain.join(10)
        out.close()


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/api/status", timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def _until(what: str, done: Any, timeout: float = 90.0) -> None:
    finished = threading.Event()
    timer = threading.Timer(timeout, finished.set)
    timer.start()
    try:
        while not finished.is_set():
            if done():
                return
            finished.wait(0.1)
        raise AssertionError(f"{what} within {timeout:.0f} s")
    finally:
        timer.cancel()


def _offline_cards(url: str) -> int:
    return sum(1 for e in _health(url)["last_events"] if e.get("method") == "card" and e.get("offline"))


def _card_rows(data: Path) -> list[AccessEvent]:
    ctx = GateContext.open(data)
    try:
        with ctx.sessions() as session:
            return list(session.scalars(select(AccessEvent).where(AccessEvent.method == "card")))
    finally:
        ctx.close()


@pytest.mark.slow
def test_sigkill_while_the_database_is_away_then_restart_writes_each_decision_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    initialise(data)
    with _serve(data) as (proc, url):
        _until("the simulated reader came online", lambda: _health(url)["reader"].get("online") is True)
        with exclusive_lock(data / "gate.db"):
            for n in (1, 2, 3):
                request = urllib.request.Request(url + "/sim/card", data=json.dumps({"number": DEMO_CARD}).encode(),
                                                 headers={"Content-Type": "application/json"}, method="POST")
                urllib.request.urlopen(request, timeout=30).read()
                _until(f"offline decision {n}", lambda n=n: _offline_cards(url) >= n)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
    journal = journal_path(data, "main")
    kept = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sum(1 for e in kept if e["method"] == "card" and e["granted"]) == 3
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert _card_rows(data) == []

    for _restart in (1, 2):  # the second restart finds nothing to replay and adds nothing
        with _serve(data) as (proc, url):
            _until("the journal was replayed", lambda: _health(url)["database"]["pending_events"] == 0
                   and _health(url)["database"]["ok"] is True)
        assert proc.returncode == 0  # SIGTERM: a clean stop
        rows = _card_rows(data)
        assert len(rows) == 3 and all(r.granted and r.journal_id and r.detail.startswith("offline:") for r in rows)
        assert len({r.journal_id for r in rows}) == 3
    assert not journal.exists()


def test_offline_visitor_uses_take_their_entries_when_the_database_is_back(any_copied_ctx: GateContext,
                                                                           tmp_path: Path) -> None:
    """Two gates offline at once may admit more than the code had left: the replay takes one entry per
    journalled grant, stops at zero, links every row to the visitor, and a repeated replay takes none."""
    from datetime import timedelta

    from gate.store import gates, visitors
    from gate.store.models import Visitor

    ctx = any_copied_ctx
    now = utcnow()
    with ctx.transaction() as session:
        gate_id = gates.get_gate(session, "main").id
        issued = visitors.issue(session, ctx.hasher, label="", gate_ids=[gate_id], valid_from=now - timedelta(hours=1),
                                valid_until=now + timedelta(hours=1), entries=2, actor="op")
        other = visitors.issue(session, ctx.hasher, label="", gate_ids=[gate_id], valid_from=now - timedelta(hours=1),
                               valid_until=now + timedelta(hours=1), entries=3, actor="op")
    path = journal_path(ctx.settings.data_dir, "main")
    events = EventLog("main", utcnow, DatabaseHealth(utcnow), Journal(path))
    for decision in (Decision(True, Reason.GRANTED), Decision(False, Reason.VISITOR_USED_UP),
                     Decision(True, Reason.GRANTED), Decision(True, Reason.GRANTED)):
        events.offline(Method.VISITOR, decision, None, gate_id, f"visitor #{issued.visitor_id}",
                       visitor_id=issued.visitor_id)
    events.offline(Method.VISITOR, Decision(True, Reason.GRANTED), None, gate_id, f"visitor #{other.visitor_id}",
                   visitor_id=other.visitor_id)
    saved = tmp_path / "journal-before-replay.jsonl"
    shutil.copy(path, saved)

    events.flush(ctx.sessions, gate_id)
    assert events.pending_count == 0

    def remaining(visitor_id: int) -> int:
        with ctx.sessions() as session:
            visitor = session.get(Visitor, visitor_id)
            assert visitor is not None
            return visitor.remaining

    assert remaining(issued.visitor_id) == 0  # three offline grants against two entries: zero, never -1
    assert remaining(other.visitor_id) == 2  # one grant, one entry
    with ctx.sessions() as session:
        rows = session.scalars(select(AccessEvent).where(AccessEvent.visitor_id == issued.visitor_id)
                               .order_by(AccessEvent.id)).all()
    assert [(r.granted, r.visitor_id, r.detail.startswith("offline:")) for r in rows] == [
        (True, issued.visitor_id, True), (False, issued.visitor_id, True), (True, issued.visitor_id, True),
        (True, issued.visitor_id, True)]

    # A replay cut after its commit comes again: no second row, no second entry taken.
    with ctx.transaction() as session:
        session.execute(update(Visitor).where(Visitor.id == issued.visitor_id).values(remaining=5))
    shutil.copy(saved, path)
    again = EventLog("main", utcnow, DatabaseHealth(utcnow), Journal(path))
    again.flush(ctx.sessions, gate_id)
    assert again.pending_count == 0 and remaining(issued.visitor_id) == 5

