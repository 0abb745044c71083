"""A database that answers reads but refuses writes: made read-only, or full, after the gate started.

The card is still decided (from the offline copy), the event is journaled, the circuit stays open
while the database still refuses writes (a probe that only reads would close it every few seconds and
flap), and once writes work again every journaled line reaches access_events exactly once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from gate.core.decision import Reason
from gate.service.journal import journal_path
from gate.store.models import AccessEvent
from tests.service.conftest import CARD, Gate

UNKNOWN_CARD = "188:11111"
#: SQLite's own default limit, to lift ours again.
NO_PAGE_LIMIT = 1073741823


def _decision_engine(gate: Gate) -> Engine:
    engine: Engine = gate.runtime.access.sessions.kw["bind"]
    return engine


def _on_every_checkout(engine: Engine, setup: Callable[[Any], None]) -> None:
    """Run `setup` on the raw SQLite connection each time the pool hands it out, so the fault is
    switched on and off for pooled connections too, without disposing the pool under the loop."""
    def checkout(dbapi_connection: Any, _record: object, _proxy: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            setup(cursor)
        finally:
            cursor.close()

    event.listen(engine.pool, "checkout", checkout)


def _journaled_ids(gate: Gate) -> set[str]:
    return {str(e["id"]) for e in gate.runtime.events.journal.entries()}


def _rows_with(gate: Gate, ids: set[str]) -> list[AccessEvent]:
    with gate.ctx.sessions() as session:
        return list(session.scalars(select(AccessEvent).where(AccessEvent.journal_id.in_(ids))))


def _card_rows(gate: Gate) -> list[AccessEvent]:
    with gate.ctx.sessions() as session:
        return list(session.scalars(select(AccessEvent).where(AccessEvent.method == "card").order_by(AccessEvent.id)))


def _cards_while_writes_are_refused(gate: Gate) -> set[str]:
    """A resident's card and an unknown card while the database refuses writes: both decided right,
    both on the journal; the circuit stays open across several probes. Returns the journaled ids."""
    online_before = len(_card_rows(gate))
    releases = gate.releases()
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() == releases + 1)
    granted = gate.last_access()
    assert granted["granted"] is True and granted.get("offline") is True
    gate.rig.board.wait_for_coil(0, False, timeout=20)  # type: ignore[union-attr]
    gate.card(UNKNOWN_CARD)
    assert gate.wait_for(lambda: gate.last_access().get("reason") == Reason.UNKNOWN_CARD.value)
    refused = gate.last_access()
    assert refused["granted"] is False and refused.get("offline") is True and gate.releases() == releases + 1

    snap = gate.runtime.snapshot()
    assert snap.database.ok is False and "database_offline" in snap.alarms
    since = gate.runtime.database.offline_since
    probes = gate.runtime.reprobe.probes
    # The reads still work: a probe that only reads says "back", the replay fails, and the circuit
    # flaps every interval (offline_since restarting each time). It must stay open until writes work.
    assert gate.wait_for(lambda: gate.runtime.reprobe.probes >= probes + 2)
    gate.runtime.wait_idle()
    assert gate.runtime.database.ok is False and gate.runtime.database.offline_since == since

    journaled = _journaled_ids(gate)
    assert len(journaled) >= 2 and gate.runtime.snapshot().database.pending_events == len(journaled)
    assert len(_card_rows(gate)) == online_before  # nothing half-written while writes were refused
    return journaled


def _written_exactly_once(gate: Gate, journaled: set[str]) -> None:
    assert gate.wait_for(lambda: gate.runtime.snapshot().database.ok is True)
    assert gate.wait_for(lambda: gate.runtime.snapshot().database.pending_events == 0)
    rows = _rows_with(gate, journaled)
    assert sorted(r.journal_id or "" for r in rows) == sorted(journaled)
    cards = [r for r in rows if r.method == "card"]
    assert sorted((r.granted, r.reason) for r in cards) == [(False, Reason.UNKNOWN_CARD.value),
                                                            (True, Reason.GRANTED.value)]
    assert all(r.detail.startswith("offline:") for r in rows)
    # Asking for a replay again writes nothing twice.
    gate.runtime.decider.database_back()
    assert len(_rows_with(gate, journaled)) == len(journaled)
    assert not journal_path(gate.ctx.settings.data_dir, gate.runtime.gate_name).exists()


@pytest.mark.slow
def test_read_only_database_card_decided_offline_journaled_and_written_once_when_writable(
        gate_factory: Callable[..., Gate]) -> None:
    gate = gate_factory()
    # The tests may run as root, for whom chmod 0444 does not stop a write; `PRAGMA query_only`
    # makes SQLite itself refuse every write on the decision engine's connections with the same
    # SQLITE_READONLY ("attempt to write a readonly database") a read-only file or mount gives.
    read_only = {"on": True}
    _on_every_checkout(_decision_engine(gate),
                       lambda cursor: cursor.execute(f"PRAGMA query_only={'ON' if read_only['on'] else 'OFF'}"))
    journaled = _cards_while_writes_are_refused(gate)
    read_only["on"] = False
    _written_exactly_once(gate, journaled)


@pytest.mark.slow
def test_full_database_card_decided_offline_journaled_and_written_once_when_there_is_room(
        gate_factory: Callable[..., Gate]) -> None:
    gate = gate_factory()
    gate.card(CARD)  # one online decision: the shape of the row the next card would write
    assert gate.wait_for(lambda: gate.last_access().get("event_id") is not None)
    gate.rig.board.wait_for_coil(0, False, timeout=20)  # type: ignore[union-attr]
    gate.runtime.wait_idle()
    template = _card_rows(gate)[-1]

    # Fill the file to its last page with copies of that row: the copy that does not fit needed a new
    # page in the same b-tree leaves (same keys, later rowid) the next card's row goes to, so with the
    # page count capped the next card's insert fails with SQLITE_FULL ("database or disk is full").
    db_file = gate.ctx.settings.data_dir / "gate.db"
    filler = sqlite3.connect(db_file)
    try:
        pages = filler.execute("PRAGMA page_count").fetchone()[0]
        filler.execute(f"PRAGMA max_page_count={pages}")
        insert = ("INSERT INTO access_events (at, gate_id, resident_id, method, granted, reason, detail) "
                  "SELECT at, gate_id, resident_id, method, granted, reason, detail FROM access_events WHERE id = ?")
        full = False
        for _ in range(10_000):
            try:
                filler.execute(insert, (template.id,))
                filler.commit()
            except sqlite3.OperationalError as err:
                assert "full" in str(err)
                filler.rollback()
                full = True
                break
        assert full, "the database never filled up"
        pages = filler.execute("PRAGMA page_count").fetchone()[0]
    finally:
        filler.close()

    room = {"pages": pages}
    _on_every_checkout(_decision_engine(gate),
                       lambda cursor: cursor.execute(f"PRAGMA max_page_count={room['pages']}"))
    journaled = _cards_while_writes_are_refused(gate)
    room["pages"] = NO_PAGE_LIMIT
    _written_exactly_once(gate, journaled)
