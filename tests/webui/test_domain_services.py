"""The UI's domain services on SQLite and PostgreSQL: operators, keyset pages, rights, privacy report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from gate.errors import ConflictError, PolicyError
from gate.store import consent, operators, residents, rights
from gate.store.dashboard import privacy_report
from gate.store.event_query import EventFilter, decode_cursor, events_page, iter_events
from gate.store.models import AccessEvent, Gate, Resident

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def test_operator_lockout_grows_and_resets(any_ctx) -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    with any_ctx.transaction() as session:
        operators.create_first_admin(session, FAST, username="root", password="long password 1", now=now)
        with pytest.raises(ConflictError):
            operators.create_first_admin(session, FAST, username="two", password="long password 1")
    for _ in range(5):
        with any_ctx.transaction() as session:
            assert not operators.authenticate(session, FAST, "root", "wrong", now=now).ok
    with any_ctx.transaction() as session:
        locked = operators.authenticate(session, FAST, "root", "long password 1", now=now + timedelta(seconds=30))
        assert not locked.ok and "locked" in locked.message
        assert operators.authenticate(session, FAST, "root", "long password 1", now=now + timedelta(seconds=61)).ok
    with any_ctx.transaction() as session:
        admin = operators.get_operator(session, "root")
        assert admin.failed_logins == 0 and admin.locked_until is None
        with pytest.raises(PolicyError, match="last active admin"):
            operators.set_active(session, admin, False, actor="root")
        with pytest.raises(PolicyError):
            operators.parse_role("superuser")


def test_keyset_pages_with_ties_and_filters(any_ctx) -> None:
    at = datetime(2026, 2, 1, tzinfo=UTC)
    with any_ctx.transaction() as session:
        gate_id = session.scalar(select(Gate.id))
        # 25 events at the very same instant: ties are broken by id, none lost, none repeated.
        session.add_all([AccessEvent(at=at, gate_id=gate_id, method="card", granted=i % 2 == 0, reason="granted")
                         for i in range(25)])
    with any_ctx.sessions() as session:
        seen, cursor = [], None
        while True:
            rows, cursor = events_page(session, EventFilter(), after=cursor, size=7)
            seen += [r.id for r in rows]
            if cursor is None:
                break
        assert len(seen) == 25 == len(set(seen)) and seen == sorted(seen, reverse=True)
        assert len(list(iter_events(session, EventFilter(granted=True), batch=4))) == 13
    with pytest.raises(PolicyError):
        decode_cursor("!!not-a-cursor")


def test_export_and_delete_resident(any_ctx) -> None:
    with any_ctx.transaction() as session:
        resident = residents.add_resident(session, code="P1", name="Pat", actor="t")
        residents.add_card(session, resident, "4242", actor="t")
        consent.grant_consent(session, resident, operator="t", retention_days=30)
        any_ctx.store.save(session, resident, np.ones((1, 128), np.float32) / 12, "m")
        session.add(AccessEvent(at=datetime.now(UTC), gate_id=None, resident_id=resident.id, method="card",
                                granted=True, reason="granted"))
    with any_ctx.transaction() as session:
        resident = residents.get_resident(session, "P1")
        data = rights.export_resident(session, resident, any_ctx.store, actor="t", site_days=365)
        assert data["face"]["held"] and data["cards"][0]["number"] == "4242" and len(data["access_events"]) == 1
        assert "ciphertext" not in rights.export_json(data)
        report = privacy_report(session, any_ctx.settings)
        assert report.residents_with_face == 1 and report.consents_current_by_notice == {"1": 1}
        number = rights.delete_resident(session, resident, any_ctx.store, actor="t")
    with any_ctx.sessions() as session:
        receipt = rights.receipt(session, number)
        assert receipt.action == "resident.remove" and any("Cards: 1" in line for line in receipt.deleted)
        assert session.scalar(select(func.count(Resident.id))) == 0
        assert session.scalar(select(AccessEvent.resident_id)) is None
