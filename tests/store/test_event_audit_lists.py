"""Events split into decisions and system events, and the audit list's filters and names, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from gate.store import audit
from gate.store import residents as resident_service
from gate.store.audit_query import AuditFilter, audit_page, iter_audit, readable_details
from gate.store.event_query import DECISIONS, SYSTEM, EventFilter, iter_events
from gate.store.models import AccessEvent, Gate

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_event_and_audit_lists(any_ctx) -> None:
    """One installation per backend: a PostgreSQL database costs seconds to make."""
    _decisions_and_system_events_page_apart(any_ctx)
    _audit_filters_pages_and_names(any_ctx)


def _decisions_and_system_events_page_apart(any_ctx) -> None:
    with any_ctx.transaction() as session:
        resident = resident_service.add_resident(session, code="E1", name="Eve", unit="3-301", actor="test")
        gate_id = session.scalar(select(Gate.id))
        session.execute(insert(AccessEvent), [
            {"at": START + timedelta(minutes=i), "gate_id": gate_id, "resident_id": None if i % 4 == 0 else resident.id,
             "method": "door" if i % 4 == 0 else "card", "granted": i % 3 == 0,
             "reason": "reader_online" if i % 4 == 0 else "granted", "detail": ""} for i in range(40)])
    with any_ctx.sessions() as session:
        system = list(iter_events(session, EventFilter(kind=SYSTEM), batch=3))
        decisions = list(iter_events(session, EventFilter(kind=DECISIONS), batch=3))
        assert len(system) == 10 and all(row.is_system for row in system)
        assert len(decisions) == 30 and not any(row.is_system for row in decisions)
        assert {(row.resident_name, row.resident_unit) for row in decisions} == {("Eve", "3-301")}
        assert len(list(iter_events(session, EventFilter(), batch=7))) == 40
        assert len(list(iter_events(session, EventFilter(kind=SYSTEM, reason="link_lost")))) == 0


def _audit_filters_pages_and_names(any_ctx) -> None:
    with any_ctx.transaction() as session:
        resident = resident_service.add_resident(session, code="N1", name="Noether", actor="test")
        for n in range(23):
            audit.record(session, "alice" if n % 2 else "bob", "schedule.window", f"resident:{resident.id}",
                         now=START + timedelta(days=n), n=n, nested={"a": 1})
    with any_ctx.sessions() as session:
        rows = list(iter_audit(session, AuditFilter(actor="alice", action="schedule.window"), batch=4))
        assert [r.details[0] for r in rows] == [("n", str(n)) for n in range(21, 0, -2)]
        assert {r.subject_label for r in rows} == {"Noether (N1)"}
        recent = AuditFilter(action="schedule.window", since=START + timedelta(days=20))
        page, before = audit_page(session, recent, size=2)
        assert [r.details[0][1] for r in page] == ["22", "21"] and before is not None
        page, before = audit_page(session, recent, before_id=before, size=2)
        assert [r.details[0][1] for r in page] == ["20"] and before is None
        until = list(iter_audit(session, AuditFilter(action="schedule.window", until=START + timedelta(days=1))))
        assert len(until) == 1


def test_readable_details() -> None:
    assert readable_details('{"a": null, "b": true, "c": [1, 2], "d": "x"}') == [
        ("a", "—"), ("b", "yes"), ("c", "[1, 2]"), ("d", "x")]
    assert readable_details("not json") == [("details", "not json")]
    assert readable_details("") == []
