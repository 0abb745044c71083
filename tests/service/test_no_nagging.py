"""A3 on the simulators: a resident who refused or withdrew face is not offered it after their claim,
until a new consent exists."""

from __future__ import annotations

from pathlib import Path

from gate.core import machine as m
from gate.store import consent, residents, rights
from tests.service.conftest import CODE, Gate, allow_face


def claim_and_wait_choice(gate: Gate) -> list[str]:
    gate.runtime.post(m.Cancel())
    gate.runtime.post(m.EnterCode(CODE))
    gate.runtime.wait_idle()
    gate.runtime.wait_idle()  # the claim's face-offer answer is posted while the claim is handled
    snap = gate.runtime.snapshot()
    assert snap.phase == "choice", snap
    return snap.offered


def test_refusal_then_claim_offers_no_face_until_consent(gate_factory, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=None)
    allow_face(gate, tmp_path)
    assert "face" in claim_and_wait_choice(gate)  # never asked: face may be offered
    with gate.ctx.transaction() as session:
        rights.record_refusal(session, residents.get_resident(session, CODE), actor="office")
    offered = claim_and_wait_choice(gate)
    assert offered == ["card", "pin"]
    assert "face" not in gate.runtime.snapshot().message.lower()
    with gate.ctx.transaction() as session:
        consent.grant_consent(session, residents.get_resident(session, CODE), operator="office", retention_days=365)
    assert "face" in claim_and_wait_choice(gate)


def test_withdrawal_then_claim_offers_no_face(gate_factory, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=None)
    allow_face(gate, tmp_path)
    with gate.ctx.transaction() as session:
        resident = residents.get_resident(session, CODE)
        consent.grant_consent(session, resident, operator="office", retention_days=365)
    assert "face" in claim_and_wait_choice(gate)
    with gate.ctx.transaction() as session:
        consent.withdraw_consent(session, residents.get_resident(session, CODE), gate.ctx.store, operator="office")
    assert claim_and_wait_choice(gate) == ["card", "pin"]
