"""Retention kept by the running service (R3): an expired template is refused before the camera opens,
and the service purges due face data at start and daily, with the counts in the audit log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from gate.context import GateContext
from gate.core import machine as m
from gate.core.decision import Reason
from gate.service.purger import SERVICE_ACTOR
from gate.store import consent, gates, residents, visitors
from gate.store.models import AuditEntry, FaceTemplate, Visitor
from tests.service.conftest import CODE, allow_face
from tests.store.helpers import random_encodings

FOUR_YEARS = timedelta(days=4 * 365)


class MovableClock:
    def __init__(self) -> None:
        from gate.clock import utcnow

        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def enroll(ctx: GateContext) -> None:
    """Consent and a template as of the context's clock (an old consent is renewed, as the office would)."""
    with ctx.transaction() as session:
        resident = residents.get_resident(session, CODE)
        if consent.current_consent(session, resident) is not None:
            consent.withdraw_consent(session, resident, ctx.store, operator="test", now=ctx.clock())
        consent.grant_consent(session, resident, operator="test", retention_days=3 * 365, now=ctx.clock())
        ctx.store.save(session, resident, random_encodings(), "dlib-test", now=ctx.clock())



def templates(ctx: GateContext) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(FaceTemplate)) or 0


def service_purges(ctx: GateContext) -> list[dict]:
    with ctx.sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purge",
                                                      AuditEntry.actor == SERVICE_ACTOR).order_by(AuditEntry.id))
        return [json.loads(row.details) for row in rows]


def test_a_template_unused_four_years_is_refused_before_the_camera_opens(installation, gate_factory,
                                                                          tmp_path: Path) -> None:
    clock = MovableClock()
    installation.clock = clock
    enroll(installation)
    gate = gate_factory(face_engine=None, camera=f"folder:{tmp_path / 'camera'}")
    assert gate.runtime.purger is not None and gate.runtime.purger.wait_for_runs(1, 20)
    # Four years on, with the next purge a day away: only the precheck stands between the stale
    # template and the camera.
    clock.now += FOUR_YEARS
    allow_face(gate, tmp_path, methods="card,pin,face")
    gate.runtime.post(m.Choose("face"))
    gate.runtime.post(m.EnterCode(CODE))
    assert gate.wait_for(lambda: gate.last_access().get("reason") == Reason.FACE_EXPIRED.value), (
        gate.runtime.snapshot().last_events[:3])
    assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "refusal")
    snap = gate.runtime.snapshot()
    assert "expired" in snap.message and snap.offered == ["card", "pin"]
    assert snap.camera.opens == 0 and snap.camera.frames_read == 0


def test_the_service_purges_at_start_and_after_a_day(installation, gate_factory) -> None:
    clock = MovableClock()
    installation.clock = clock
    enroll(installation)
    with installation.transaction() as session:  # a visitor code, long ended when the service starts
        visitors.issue(session, installation.hasher, label="", gate_ids=[gates.get_gate(session, "main").id],
                       valid_from=clock.now, valid_until=clock.now + timedelta(hours=1), entries=1, actor="op",
                       now=clock.now)
    clock.now += FOUR_YEARS  # already due when the service starts
    gate = gate_factory(face_engine=None, purge_interval_seconds=0.2)
    purger = gate.runtime.purger
    assert purger is not None and purger.wait_for_runs(1, 20)
    assert templates(installation) == 0
    with installation.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Visitor)) == 0
        purged = session.scalars(select(AuditEntry).where(AuditEntry.action == "visitor.purge")).one()
    assert purged.actor == SERVICE_ACTOR and json.loads(purged.details)["deleted"] == 1
    assert service_purges(installation)[0] == {"expired": 1, "moved_out": 0, "no_consent": 0, "orphaned": 0,
                                               "minor": 0}

    # Enrolled again now; a simulated day within the period deletes nothing, one past it deletes it.
    enroll(installation)
    clock.now += timedelta(days=1)
    runs = purger.runs
    assert purger.wait_for_runs(runs + 2, 20)  # a whole run after the clock moved
    assert templates(installation) == 1
    clock.now += timedelta(days=3 * 365)
    runs = purger.runs
    assert purger.wait_for_runs(runs + 2, 20)
    assert templates(installation) == 0
    counts = service_purges(installation)
    assert counts[-1]["expired"] == 0 and sum(c["expired"] for c in counts) == 2


def test_the_purge_stops_with_the_service(installation, gate_factory) -> None:
    gate = gate_factory(face_engine=None, purge_interval_seconds=0.05)
    purger = gate.runtime.purger
    assert purger is not None and purger.wait_for_runs(2, 20)
    gate.runtime.stop()
    stopped_at = purger.runs
    assert not purger.wait_for_runs(stopped_at + 1, 0.5)


def test_the_service_rotates_the_master_key_within_minutes_of_a_deletion(installation, gate_factory) -> None:
    """R1/R4: a withdrawal made anywhere (here: the office, through the store) is finished by the running
    service: the master key that could open the deleted template's copies is destroyed."""
    enroll(installation)
    gate = gate_factory(face_engine=None, follow_up_seconds=0.1)
    purger = gate.runtime.purger
    assert purger is not None and purger.wait_for_runs(1, 20)
    before = installation.key_file.load().current.id
    assert gate.wait_for(lambda: purger.follow_ups == 0 and installation.key_file.load().current.id == before, 1)

    with installation.transaction() as session:
        consent.withdraw_consent(session, residents.get_resident(session, CODE), installation.store, operator="office")

    assert gate.wait_for(lambda: installation.key_file.load().current.id != before, 20)
    keyring = installation.key_file.load()
    assert keyring.retired[-1] == before and purger.follow_ups >= 1
    with installation.sessions() as session:
        rotations = session.scalars(select(AuditEntry).where(AuditEntry.action == "keys.rotate")).all()
        assert [r.actor for r in rotations] == [SERVICE_ACTOR]
