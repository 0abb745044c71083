"""Tenants' validity and visitor codes against the database (SQLite and PostgreSQL): decided, counted
atomically, audited, listed for move-out."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select, update

from gate.clock import utcnow
from gate.context import GateContext
from gate.core.decision import Reason
from gate.errors import ConflictError, PolicyError
from gate.store import gates, residents, validity, visitors
from gate.store.face_standing import site_today
from gate.store.models import AccessEvent, AuditEntry, Visitor

PIN = "482915"


def _tenant(ctx: GateContext, code: str, card: str, until: date | None, start: date | None = None) -> None:
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code=code, name=f"Tenant {code}", actor="test")
        residents.add_card(session, resident, card, actor="test")
        residents.set_pin(session, resident, PIN, ctx.hasher, actor="test")
        validity.set_resident_validity(session, resident, start, until, actor="test")


def _issue(ctx: GateContext, *, entries: int = 1, gate: str = "main", hours: float = 2,
           start_in: float = -1) -> visitors.Issued:
    now = utcnow()
    with ctx.transaction() as session:
        gate_id = gates.get_gate(session, gate).id
        return visitors.issue(session, ctx.hasher, label="plumber for 3-201", gate_ids=[gate_id],
                              valid_from=now + timedelta(hours=start_in), valid_until=now + timedelta(hours=hours),
                              entries=entries, actor="op")


def test_a_tenant_past_the_end_is_refused_and_listed_for_move_out(any_copied_ctx: GateContext) -> None:
    ctx = any_copied_ctx
    today = site_today(utcnow(), ctx.settings.site.timezone)
    _tenant(ctx, "T1", "1:1001", until=today - timedelta(days=1))
    _tenant(ctx, "T2", "1:1002", until=today)  # inclusive: still valid all of today
    _tenant(ctx, "T3", "1:1003", until=None, start=today + timedelta(days=1))
    access = ctx.access()
    assert access.card("main", "1:1001").decision.reason is Reason.EXPIRED
    assert access.pin("main", "T1", PIN).decision.reason is Reason.EXPIRED
    assert access.card("main", "1:1002").decision.granted
    assert access.card("main", "1:1003").decision.reason is Reason.NOT_YET_VALID
    with ctx.sessions() as session:
        assert [r.code for r in validity.ended_residents(session, today)] == ["T1"]
        resident = residents.get_resident(session, "T1")
        assert resident.status.value == "active"  # refused, not deleted
    with ctx.transaction() as session:
        residents.move_out(session, residents.get_resident(session, "T1"), ctx.store, actor="op")
    with ctx.sessions() as session:
        assert validity.ended_residents(session, today) == []
        audit = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert "resident.validity" in audit and "resident.move_out" in audit


def test_a_card_past_its_own_end_is_refused_while_the_pin_works(any_copied_ctx: GateContext) -> None:
    ctx = any_copied_ctx
    today = site_today(utcnow(), ctx.settings.site.timezone)
    _tenant(ctx, "T4", "1:1004", until=None)
    with ctx.transaction() as session:
        card = residents.get_resident(session, "T4").cards[0]
        validity.set_card_validity(session, card, None, today - timedelta(days=1), actor="test")
        with pytest.raises(PolicyError, match="before its start"):
            validity.set_card_validity(session, card, today, today - timedelta(days=1), actor="test")
    access = ctx.access()
    assert access.card("main", "1:1004").decision.reason is Reason.CARD_EXPIRED
    assert access.pin("main", "T4", PIN).decision.granted


def test_a_visitor_code_opens_once_and_is_recorded_without_a_name(any_copied_ctx: GateContext) -> None:
    ctx = any_copied_ctx
    issued = _issue(ctx, entries=1)
    access = ctx.access()
    first = access.visitor("main", issued.code)
    second = access.visitor("main", issued.code)
    assert first.decision.granted and first.visitor_id == issued.visitor_id
    assert second.decision.reason is Reason.VISITOR_USED_UP
    wrong = issued.code[:-1] + str((int(issued.code[-1]) + 1) % 10)
    assert access.visitor("main", wrong).decision.reason is Reason.VISITOR_UNKNOWN
    with ctx.sessions() as session:
        rows = list(session.scalars(select(AccessEvent).where(AccessEvent.method == "visitor")
                                    .order_by(AccessEvent.id)))
        visitor = session.get(Visitor, issued.visitor_id)
        assert visitor is not None and visitor.remaining == 0
        assert issued.code[-5:] not in visitor.code_hash  # stored hashed, never the code
    assert [(r.granted, r.reason, r.visitor_id, r.resident_id) for r in rows] == [
        (True, "granted", issued.visitor_id, None), (False, "visitor_used_up", issued.visitor_id, None),
        (False, "visitor_unknown", None, None)]
    assert all("plumber" not in r.detail for r in rows)


def test_visitor_code_refused_at_other_gates_outside_its_window_and_after_revocation(
        any_copied_ctx: GateContext) -> None:
    ctx = any_copied_ctx
    with ctx.transaction() as session:
        gates.add_gate(session, "north", actor="test")
    access = ctx.access()
    here = _issue(ctx, entries=3)
    assert access.visitor("north", here.code).decision.reason is Reason.VISITOR_WRONG_GATE
    later = _issue(ctx, start_in=1, hours=3)
    assert access.visitor("main", later.code).decision.reason is Reason.VISITOR_NOT_YET_VALID
    with ctx.transaction() as session:
        visitors.revoke(session, here.visitor_id, actor="op")
        with pytest.raises(ConflictError):
            visitors.revoke(session, here.visitor_id, actor="op")
    assert access.visitor("main", here.code).decision.reason is Reason.VISITOR_REVOKED
    with ctx.sessions() as session:
        now = utcnow()
        assert [v.id for v in visitors.list_visitors(session, now, active=True)] == [later.visitor_id]
        assert [v.id for v in visitors.list_visitors(session, now, active=False)] == [here.visitor_id]
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("visitor.%"))))
    assert actions.count("visitor.issue") == 2 and actions.count("visitor.revoke") == 1
    with pytest.raises(PolicyError, match="1 to 50 entries"):
        _issue(ctx, entries=0)
    with pytest.raises(PolicyError, match="past"):
        _issue(ctx, start_in=-3, hours=-1)
    with ctx.transaction() as session, pytest.raises(PolicyError, match="visitor code"):
        residents.add_resident(session, code="9123456789", name="Clash", actor="test")


def test_two_gates_racing_for_the_last_entry_open_once(any_copied_ctx: GateContext) -> None:
    """Both sessions read remaining=1 before either writes; the conditional UPDATE lets one through."""
    issued = _issue(any_copied_ctx, entries=1)
    barrier = threading.Barrier(2, timeout=10)
    results: list[bool] = []
    errors: list[BaseException] = []

    def take() -> None:
        try:
            with any_copied_ctx.transaction() as session:
                assert session.get(Visitor, issued.visitor_id).remaining == 1  # type: ignore[union-attr]
                barrier.wait()
                results.append(visitors.take_entry(session, issued.visitor_id))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    if any_copied_ctx.engine.dialect.name == "sqlite":
        # One writer at a time: the second waits for the lock or gives up; it never takes a second entry.
        assert results.count(True) == 1 and results.count(True) + len(errors) <= 2
    else:
        assert not errors and sorted(results) == [False, True]
    with any_copied_ctx.sessions() as session:
        assert session.get(Visitor, issued.visitor_id).remaining == 0  # type: ignore[union-attr]


def test_closed_visitor_codes_are_deleted_after_the_retention_period_and_their_events_stay(
        any_copied_ctx: GateContext) -> None:
    """[retention] visitor_days (90 by default): counted from the window's end, the revocation, or a
    used-up code's last entry; the daily upkeep deletes the record and keeps its access events."""
    ctx = any_copied_ctx
    assert ctx.settings.retention.visitor_days == 90
    now = utcnow()
    day = timedelta(days=1)
    shapes = {  # name: (valid_from, valid_until, remaining, revoked_at, last entry)
        "ended long ago": (now - 100 * day, now - 91 * day, 1, None, now - 95 * day),
        "ended recently": (now - 100 * day, now - 89 * day, 1, None, None),
        "revoked long ago": (now - 100 * day, now - 70 * day, 1, now - 91 * day, None),
        "revoked recently": (now - 100 * day, now - 70 * day, 1, now - 89 * day, None),
        "used up long ago": (now - 100 * day, now - 70 * day, 0, None, now - 99 * day),
        "used up recently": (now - 100 * day, now - 70 * day, 0, None, now - 80 * day),
        "open": (now - 100 * day, now + day, 1, None, now - 99 * day),
    }
    ids: dict[str, int] = {}
    for name, (start, until, remaining, revoked, used) in shapes.items():
        ids[name] = _issue(ctx).visitor_id
        with ctx.transaction() as session:
            session.execute(update(Visitor).where(Visitor.id == ids[name]).values(
                valid_from=start, valid_until=until, remaining=remaining, revoked_at=revoked, issued_at=start,
                revoked_by="op" if revoked else None))
            if used is not None:
                session.execute(insert(AccessEvent).values(
                    at=used, gate_id=gates.get_gate(session, "main").id, method="visitor", granted=True,
                    reason="granted", detail=f"visitor #{ids[name]}", visitor_id=ids[name]))

    report = ctx.upkeep().run(site_days=ctx.settings.template_retention_days, actor="service", now=now,
                              visitor_days=ctx.settings.retention.visitor_days)

    gone = {"ended long ago", "revoked long ago", "used up long ago"}
    assert report.visitors_deleted == len(gone)
    with ctx.sessions() as session:
        kept = set(session.scalars(select(Visitor.id)))
        events = {e.detail: e.visitor_id for e in session.scalars(select(AccessEvent))}
        purge = session.scalars(select(AuditEntry).where(AuditEntry.action == "visitor.purge")).one()
    assert kept == {ids[n] for n in shapes if n not in gone}
    # Every use is still there; the deleted codes' uses are no longer linked, their detail names no one.
    assert events == {f"visitor #{ids[n]}": (None if n in gone else ids[n])
                      for n, shape in shapes.items() if shape[4] is not None}
    assert purge.actor == "service" and json.loads(purge.details)["deleted"] == len(gone)
