"""A1: face is never anyone's only way in, kept by every change to consent, credentials and gates."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from gate.core.policy import Method
from gate.errors import ConflictError, ConsentError, PolicyError
from gate.store import alternatives, assessments, consent, gates, residents
from gate.store.models import Card, Gate, Pin

from .helpers import random_encodings, resident_with_template

PIN = "482915"


def enable_face(ctx, tmp_path: Path, methods: str = "card,pin,face,card+face") -> None:
    doc = tmp_path / "dpia.txt"
    doc.write_text("impact assessment")
    with ctx.transaction() as session:
        gate = gates.get_gate(session, "main")
        assessments.record_assessment(session, gate, assessed_on=date(2026, 1, 1), approver="DPO",
                                document=doc.read_bytes(), actor="test", site_timezone="UTC")
        gates.set_gate(session, gate, actor="test", methods=methods)


def add(ctx, code: str, *, card: str | None = None, pin: str | None = None):
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code=code, name=f"Resident {code}", actor="test")
        if card:
            residents.add_card(session, resident, card, actor="test")
        if pin:
            residents.set_pin(session, resident, pin, ctx.hasher, actor="test")


def test_consent_is_refused_for_a_resident_with_no_way_in_but_face(any_ctx, tmp_path):
    enable_face(any_ctx, tmp_path)
    add(any_ctx, "NOPE")
    with any_ctx.transaction() as session, pytest.raises(ConsentError, match="no way in without face at main"):
        consent.grant_consent(session, residents.get_resident(session, "NOPE"), operator="t", retention_days=30)
    with any_ctx.sessions() as session:
        assert consent.current_consent(session, residents.get_resident(session, "NOPE")) is None


def test_consent_needs_a_credential_the_face_gate_accepts(any_ctx, tmp_path):
    enable_face(any_ctx, tmp_path, "card,card+face")  # a card gate: a PIN gets nobody in here
    add(any_ctx, "PINONLY", pin=PIN)
    add(any_ctx, "CARDED", card="188:1")
    with any_ctx.transaction() as session, pytest.raises(ConsentError, match="main"):
        consent.grant_consent(session, residents.get_resident(session, "PINONLY"), operator="t", retention_days=30)
    with any_ctx.transaction() as session:
        consent.grant_consent(session, residents.get_resident(session, "CARDED"), operator="t", retention_days=30)


def test_a_template_cannot_be_saved_for_a_resident_with_no_way_in_but_face(any_ctx, tmp_path):
    add(any_ctx, "LATE", pin=PIN)
    with any_ctx.transaction() as session:  # no face gate yet: consent is allowed
        consent.grant_consent(session, residents.get_resident(session, "LATE"), operator="t", retention_days=30)
    enable_face(any_ctx, tmp_path, "card,card+face")
    with any_ctx.transaction() as session, pytest.raises(ConsentError, match="no way in without face"):
        any_ctx.store.save(session, residents.get_resident(session, "LATE"), random_encodings(), "dlib-test")
    with any_ctx.sessions() as session:
        assert residents.get_resident(session, "LATE").face_pseudonym is None


def test_removing_the_last_card_of_someone_with_face_data_is_refused(any_ctx, tmp_path):
    enable_face(any_ctx, tmp_path, "card,card+face")
    resident_with_template(any_ctx, "F1", card="188:7")
    with any_ctx.transaction() as session, pytest.raises(ConflictError, match="withdraw their face consent first"):
        residents.remove_card(session, "188:7", actor="test")
    with any_ctx.sessions() as session:
        assert session.scalar(select(Card.uid)) is not None


def test_a_second_card_or_a_pin_the_gate_accepts_lets_a_card_go(any_ctx, tmp_path):
    enable_face(any_ctx, tmp_path)
    resident_with_template(any_ctx, "F1", card="188:7", pin=PIN)
    with any_ctx.transaction() as session:
        residents.remove_card(session, "188:7", actor="test")  # the PIN still opens
    with any_ctx.sessions() as session:
        assert not residents.get_resident(session, "F1").cards


def test_clearing_the_last_pin_of_someone_with_face_data_is_refused(any_ctx, tmp_path):
    enable_face(any_ctx, tmp_path, "pin,face")
    resident_with_template(any_ctx, "F2", pin=PIN)
    with any_ctx.transaction() as session, pytest.raises(ConflictError, match="Clearing the PIN"):
        residents.clear_pin(session, residents.get_resident(session, "F2"), actor="test")
    with any_ctx.sessions() as session:
        assert session.scalar(select(Pin.resident_id)) is not None


def test_a_pin_is_cleared_and_audited_when_something_else_still_opens(any_ctx):
    add(any_ctx, "P1", card="188:9", pin=PIN)
    with any_ctx.transaction() as session:
        residents.clear_pin(session, residents.get_resident(session, "P1"), actor="test")
    with any_ctx.sessions() as session:
        assert residents.get_resident(session, "P1").pin is None
        assert session.scalar(select(Pin.resident_id)) is None
    with any_ctx.transaction() as session, pytest.raises(ConflictError, match="no PIN to clear"):
        residents.clear_pin(session, residents.get_resident(session, "P1"), actor="test")


def test_withdrawing_face_first_then_lets_the_last_credential_go(any_ctx, tmp_path):
    enable_face(any_ctx, tmp_path, "pin,face")
    resident_with_template(any_ctx, "F3", pin=PIN)
    with any_ctx.transaction() as session:
        consent.withdraw_consent(session, residents.get_resident(session, "F3"), any_ctx.store, operator="t")
        residents.clear_pin(session, residents.get_resident(session, "F3"), actor="test")


def test_face_cannot_be_enabled_where_it_would_be_someones_only_way_in(any_ctx, tmp_path):
    resident_with_template(any_ctx, "F4", pin=PIN)  # no face gate: enrolled with a PIN only
    with pytest.raises(PolicyError, match="only way in for resident F4"):
        enable_face(any_ctx, tmp_path, "card,card+face")
    with any_ctx.sessions() as session:
        assert session.scalar(select(Gate.methods).where(Gate.name == "main")) == "card,pin"
    enable_face(any_ctx, tmp_path, "pin,face")  # where their PIN opens, face may run


def test_a_policy_written_straight_into_the_database_runs_without_face_and_is_reported(any_ctx):
    with any_ctx.transaction() as session:
        session.scalar(select(Gate).where(Gate.name == "main")).methods = "card+face"
    with any_ctx.sessions() as session:
        policy = gates.policy_of(gates.get_gate(session, "main"), any_ctx.settings)
        assert policy.methods == frozenset({Method.CARD, Method.PIN})
        assert policy.invalid is not None and "only way in" in policy.invalid
        [(name, stored, problem)] = alternatives.invalid_policies(session)
    assert (name, stored) == ("main", "card+face")
    assert "runs as 'card,pin'" in problem


def test_a_gate_with_an_invalid_stored_policy_does_not_count_as_a_face_gate(any_ctx):
    with any_ctx.transaction() as session:
        session.scalar(select(Gate).where(Gate.name == "main")).methods = "face"
    add(any_ctx, "NOCRED")
    with any_ctx.transaction() as session:  # face does not run anywhere, so nothing is face-only
        assert alternatives.gates_without_way_in(session, has_card=False, has_pin=False) == []

