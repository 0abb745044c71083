"""Small helpers for web UI tests: residents, consent and events put in through the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gate.context import GateContext
from gate.store import consent as consent_service
from gate.store import residents as resident_service
from gate.store.models import AccessEvent, Gate, Resident


def add_resident(context: GateContext, code: str = "A101", name: str = "Ada Lovelace", **kw: object) -> int:
    with context.transaction() as session:
        return resident_service.add_resident(session, code=code, name=name, actor="test", **kw).id  # type: ignore[arg-type]


def grant(context: GateContext, code: str, guardian: str | None = None) -> None:
    with context.transaction() as session:
        resident = resident_service.get_resident(session, code)
        consent_service.grant_consent(session, resident, operator="test", retention_days=365, guardian_name=guardian)


def resident(context: GateContext, code: str) -> Resident | None:
    with context.sessions() as session:
        return session.scalar(select(Resident).where(Resident.code == code).options(
            selectinload(Resident.cards), selectinload(Resident.pin), selectinload(Resident.consents)))


def add_events(context: GateContext, count: int, *, resident_id: int | None = None,
               start: datetime | None = None) -> None:
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    with context.transaction() as session:
        gate_id = session.scalar(select(Gate.id).where(Gate.name == "main"))
        session.add_all([AccessEvent(at=start + timedelta(minutes=i), gate_id=gate_id, resident_id=resident_id,
                                     method="card" if i % 2 else "pin", granted=i % 3 != 0,
                                     reason="granted" if i % 3 else "wrong_pin") for i in range(count)])


def store_template(context: GateContext, code: str) -> None:
    """A template of random encodings: deletion and export tests need one, not a real face."""
    import numpy as np

    with context.transaction() as session:
        found = resident_service.get_resident(session, code)
        encodings = np.random.default_rng(7).normal(size=(2, 128)).astype(np.float32)
        context.store.save(session, found, encodings, "test-model")
