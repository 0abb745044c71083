"""Door, turnstile, reader and database failures, end to end through the simulators."""

from __future__ import annotations

import shutil

from gate.core import machine as m
from gate.core.decision import Reason
from gate.service.runtime import Timeouts
from gate.service.simrig import DOOR_SENSOR, PASSAGE
from tests.service.conftest import CARD, CODE, PIN, Gate


def events(gate: Gate, name: str) -> list[dict]:
    return [e for e in gate.runtime.snapshot().last_events if e.get("event") == name]


def test_relay_board_offline_is_fail_secure_and_card_is_still_decided(gate: Gate) -> None:
    gate.rig.board_wire.cut()  # type: ignore[union-attr]
    assert gate.wait_for(lambda: "relay_offline" in gate.runtime.snapshot().alarms)
    gate.card(CARD)
    # decided, tried again for ~1.5 s, and the door stayed locked
    assert gate.wait_for(lambda: "could not be released" in gate.runtime.snapshot().message)
    assert gate.last_access()["granted"] is True
    assert events(gate, "grant_failed")
    assert gate.rig.board.coils[0] is False  # type: ignore[union-attr]
    assert gate.releases() == 0
    gate.rig.board_wire.mend()  # type: ignore[union-attr]
    assert gate.wait_for(lambda: "relay_offline" not in gate.runtime.snapshot().alarms)
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)


def test_reader_offline_is_reported_and_the_screen_still_takes_a_pin(gate: Gate) -> None:
    assert gate.wait_for(lambda: gate.runtime.snapshot().reader.get("online") is True)
    gate.rig.reader_wire.cut()  # type: ignore[union-attr]
    assert gate.wait_for(lambda: "reader_offline" in gate.runtime.snapshot().alarms)
    assert gate.runtime.snapshot().reader["online"] is False
    gate.runtime.post(m.EnterCode(CODE))
    gate.runtime.post(m.EnterPin(PIN))
    assert gate.wait_for(lambda: gate.releases() >= 1)
    gate.rig.reader_wire.mend()  # type: ignore[union-attr]
    assert gate.wait_for(lambda: "reader_offline" not in gate.runtime.snapshot().alarms)


def test_door_held_open_alarm(gate_factory) -> None:
    gate = gate_factory(timeouts=Timeouts(held_open=1.0))
    gate.pin_on_screen(CODE, PIN)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    gate.rig.set_input(DOOR_SENSOR, False)  # opened under the grant: not forced
    assert gate.wait_for(lambda: "door_held_open" in gate.runtime.snapshot().alarms)
    assert "door_forced" not in gate.runtime.snapshot().alarms
    gate.rig.set_input(DOOR_SENSOR, True)
    assert gate.wait_for(lambda: "door_held_open" not in gate.runtime.snapshot().alarms)
    assert events(gate, "held_open")


def test_claim_timeout_brings_the_gate_back_to_idle(gate_factory) -> None:
    gate = gate_factory(timeouts=Timeouts(claim=0.5, refusal=0.5))
    gate.runtime.post(m.Choose("pin"))
    gate.runtime.post(m.EnterCode(CODE))
    assert gate.wait_for(lambda: gate.runtime.snapshot().transaction >= 2)  # claim, then the code
    assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "idle")
    assert gate.releases() == 0
    gate.pin_on_screen("9999", "000000")
    assert gate.wait_for(lambda: gate.last_access().get("reason") == Reason.UNKNOWN_RESIDENT.value)
    assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "idle")


def test_turnstile_passage_confirms_and_no_passage_is_granted_not_used(gate_factory) -> None:
    gate = gate_factory(mode="turnstile", pulse_ms=200, passage_window_ms=1000)
    gate.pin_on_screen(CODE, PIN)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.wait_for(lambda: bool(events(gate, "granted_not_used")))
    gate.pin_on_screen(CODE, PIN)
    assert gate.wait_for(lambda: gate.releases() >= 2)
    gate.rig.set_input(PASSAGE, True)
    assert gate.wait_for(lambda: bool(events(gate, "passage")))
    gate.rig.set_input(PASSAGE, False)
    assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "idle")


def test_database_unreachable_card_and_pin_from_the_cache_face_withheld(gate: Gate, tmp_path) -> None:
    db_file = gate.ctx.settings.data_dir / "gate.db"
    shutil.move(db_file, tmp_path / "away.db")
    gate.drop_connections()  # drop pooled connections to the moved file
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    snap = gate.runtime.snapshot()
    assert snap.database.ok is False and snap.database.decisions_from_cache is True
    assert "face" not in snap.offered
    assert gate.last_access().get("offline") is True
    gate.runtime.post(m.EnterCode(CODE))
    gate.runtime.post(m.EnterPin(PIN))
    assert gate.wait_for(lambda: gate.releases() >= 2)
    gate.pin_on_screen("9999", "000000")
    assert gate.wait_for(lambda: gate.last_access().get("reason") == Reason.UNKNOWN_RESIDENT.value)
    # back: the kept events are written and the next decision is from the database again
    db_file.unlink(missing_ok=True)
    gate.drop_connections()
    shutil.move(tmp_path / "away.db", db_file)
    gate.drop_connections()
    # the background re-probe closes the circuit; decisions are online again
    assert gate.wait_for(lambda: gate.runtime.snapshot().database.ok is True)
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.last_access().get("event_id") is not None)
    from sqlalchemy import func, select

    from gate.store.models import AccessEvent

    with gate.ctx.sessions() as session:
        offline = session.scalar(
            select(func.count())
            .select_from(AccessEvent)
            .where(AccessEvent.detail.like("offline:%"), AccessEvent.method != "door")
        )
    assert offline == 3


def test_database_unreachable_without_a_usable_copy_says_so_and_records_it_when_back(gate_factory, tmp_path) -> None:
    # The offline copy is loaded at start and is too old a moment later: nothing to decide from.
    gate = gate_factory(cache_max_age=0.001, cache_refresh_seconds=3600)
    db_file = gate.ctx.settings.data_dir / "gate.db"
    shutil.move(db_file, tmp_path / "away.db")
    gate.drop_connections()
    try:
        gate.card(CARD)
        assert gate.wait_for(lambda: gate.runtime.snapshot().reason == Reason.DATABASE_UNAVAILABLE.value)
        snap = gate.runtime.snapshot()
        assert snap.granted is False and snap.database.ok is False and snap.database.decisions_from_cache is False
        assert "database is unavailable" in snap.message and "not recognised" not in snap.message
        assert snap.database.pending_events >= 1 and gate.releases() == 0  # reader status may be kept too
        assert gate.last_access().get("offline") is True
    finally:
        db_file.unlink(missing_ok=True)
        gate.drop_connections()
        shutil.move(tmp_path / "away.db", db_file)
        gate.drop_connections()
    # the background re-probe finds the database back, and what was kept is written
    assert gate.wait_for(lambda: gate.runtime.snapshot().database.ok is True)
    assert gate.wait_for(lambda: gate.runtime.snapshot().database.pending_events == 0)
    from sqlalchemy import select

    from gate.store.models import AccessEvent

    with gate.ctx.sessions() as session:
        kept = session.scalars(select(AccessEvent).where(AccessEvent.reason == "database_unavailable")).one()
    assert kept.method == "card" and not kept.granted and kept.detail.startswith("offline:")
