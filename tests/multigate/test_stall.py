"""A database that hangs instead of refusing (issue 17, finding 1): two gates on one PostgreSQL
database, south's link through a proxy that stalls it (bytes held, never forwarded, no reset).

Before the decision deadline a card at south was not decided for as long as the stall lasted (the
gate loop sat in the connection pool's pre-ping), /health said the database was fine, and when the
link came back the held answer arrived and the door opened for whoever stood there by then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import select

from gate.core.grant_window import GRANT_TOO_LATE
from gate.store.models import AccessEvent
from gate.store.models import Gate as GateRow
from tests.multigate.conftest import CARD, Site
from tests.service.conftest import Gate
from webui.server import make_app

#: Generous bounds for a loaded 2-core machine; the deadlines under test are shorter.
DECIDED_WITHIN = 2.0
DEADLINE_MS = 500


def _card_decided(gate: Gate, before: int) -> Callable[[], bool]:
    return lambda: len([e for e in gate.runtime.events.last(50) if e.get("kind") == "access"]) > before


def _access_count(gate: Gate) -> int:
    return len([e for e in gate.runtime.events.last(50) if e.get("kind") == "access"])


def _time_card(gate: Gate) -> float:
    """Present the card and return how long until the gate decided it (polling its last events)."""
    before = _access_count(gate)
    started = time.monotonic()
    gate.rig.present_card(CARD)
    decided = _card_decided(gate, before)
    while not decided() and time.monotonic() - started < 30:
        time.sleep(0.01)
    return time.monotonic() - started


def _rows(gate: Gate, name: str) -> list[AccessEvent]:
    with gate.ctx.transaction() as session:
        return list(session.scalars(select(AccessEvent).join(GateRow, AccessEvent.gate_id == GateRow.id)
                                    .where(GateRow.name == name).order_by(AccessEvent.id)))


def _online_card(gate: Gate) -> None:
    releases = gate.releases()
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() == releases + 1)
    assert gate.last_access().get("offline") is None


def test_a_stalled_link_decides_the_card_offline_at_once_and_never_opens_the_door_later(
        site_factory: Callable[..., Site]) -> None:
    site = site_factory(decision_deadline_ms=DEADLINE_MS)
    south = site.south
    _online_card(south)

    site.proxy.stall()
    took = _time_card(south)
    assert took < DECIDED_WITHIN, f"the card at south was decided {took:.1f} s after it was read"
    decision = south.last_access()
    assert decision["granted"] is True and decision["offline"] is True  # from the offline copy
    assert south.wait_for(lambda: south.releases() == 2)
    assert south.runtime.database.ok is False  # the circuit is open

    time.sleep(3)  # the stalled query is still held by the proxy
    site.proxy.restore()
    assert south.wait_for(lambda: south.runtime.database.ok, timeout=30), "the database never came back"
    time.sleep(3)  # the held answer has arrived by now, and been discarded
    assert south.releases() == 2, "the door opened again when the link came back"
    rows = [r for r in _rows(south, "south") if r.method == "card"]
    # The online card, and the offline one replayed from the journal: the late online answer left none.
    assert [(r.granted, r.detail.startswith("offline:")) for r in rows] == [(True, False), (True, True)]


def test_a_decision_later_than_the_grant_window_is_dropped_and_recorded(site_factory: Callable[..., Site]) -> None:
    # A deadline longer than the window: the offline decision comes too late to release the door.
    site = site_factory(decision_deadline_ms=3000, grant_window_ms=1000)
    south = site.south
    _online_card(south)

    site.proxy.stall()
    south.rig.present_card(CARD)
    assert south.wait_for(lambda: any(e.get("event") == GRANT_TOO_LATE for e in south.runtime.events.last(20)))
    assert south.last_access()["granted"] is True
    time.sleep(1)
    assert south.releases() == 1, "a grant past its window released the door"
    site.proxy.restore()
    assert south.wait_for(lambda: south.runtime.database.ok and south.runtime.events.pending_count == 0,
                          timeout=30)
    assert south.releases() == 1
    # Journaled while offline, in the table once the database is back.
    assert GRANT_TOO_LATE in [r.reason for r in _rows(south, "south")]


def test_health_says_the_database_is_offline_during_a_stall(site_factory: Callable[..., Site]) -> None:
    site = site_factory(decision_deadline_ms=DEADLINE_MS)
    client = make_app(site.south.ctx, site.south.runtime, simulate=True).test_client()
    assert client.get("/api/status").get_json()["database"]["ok"] is True

    site.proxy.stall()  # no card comes: the heartbeat notices
    assert site.south.wait_for(lambda: client.get("/api/status").get_json()["database"]["ok"] is False, timeout=15)
    health = client.get("/api/status").get_json()
    assert "database_offline" in health["alarms"] and health["database"]["decisions_from_cache"] is True
    north = make_app(site.north.ctx, site.north.runtime, simulate=True).test_client()
    assert north.get("/api/status").get_json()["database"]["ok"] is True  # north's own link is fine

    site.proxy.restore()
    assert site.south.wait_for(lambda: client.get("/api/status").get_json()["database"]["ok"] is True, timeout=30)


def test_a_table_lock_held_20_s_delays_no_card_beyond_the_deadline_at_either_gate(
        site_factory: Callable[..., Site]) -> None:
    site = site_factory(decision_deadline_ms=DEADLINE_MS)
    for gate in (site.north, site.south):
        _online_card(gate)

    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        url = site.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as conn, conn.transaction():
            conn.execute("LOCK TABLE cards IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(20)

    holder = threading.Thread(target=hold_lock, daemon=True)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        timings = []
        while time.monotonic() - started < 18:
            for gate in (site.north, site.south):
                timings.append(_time_card(gate))
                assert gate.last_access()["granted"] is True
            time.sleep(2)
    finally:
        release.set()
        holder.join(10)
    assert len(timings) >= 8
    assert max(timings) < DECIDED_WITHIN, f"cards took {[round(t, 2) for t in timings]} s during the lock"


def test_the_decision_engine_sets_client_side_tcp_limits(postgres_url: str) -> None:
    from gate.store.db import make_engine

    engine = make_engine(postgres_url, decision_path=True)
    try:
        with engine.connect() as conn:
            options = {o.keyword.decode(): (o.val or b"").decode()
                       for o in conn.connection.dbapi_connection.pgconn.info}  # type: ignore[union-attr]
    finally:
        engine.dispose()
    # A dead link errors the connection out in seconds: the worker is free again (db_deadline.py).
    assert options["tcp_user_timeout"] == "5000" and options["keepalives"] == "1"
    assert options["keepalives_idle"] == "5"
