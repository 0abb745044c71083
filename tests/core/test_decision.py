"""The pure access decision and the policy rule that face is never the only way in."""

from dataclasses import replace

import pytest

from gate.core.decision import (
    MESSAGES,
    Decision,
    Evidence,
    FaceOutcome,
    Locks,
    Reason,
    Subject,
    decide,
    decide_unavailable,
)
from gate.core.policy import GatePolicy, Method, parse_methods, validate_methods
from gate.errors import PolicyError


def policy(methods: str) -> GatePolicy:
    return GatePolicy(gate_id=1, name="main", methods=parse_methods(methods))


FULL = policy("card,pin,card+pin,face,card+face")
RESIDENT = Subject(resident_id=7, has_pin=True, has_consent=True, has_template=True)


@pytest.mark.parametrize("methods", ["face", "card+face", "face,card+face"])
def test_face_only_policies_are_rejected(methods):
    with pytest.raises(PolicyError, match="only way in"):
        validate_methods(parse_methods(methods))


@pytest.mark.parametrize("methods, message", [
    ("card,face", "must also accept 'pin'"),
    ("pin,card+face", "must also accept 'card' or 'card\\+pin'"),
])
def test_policies_leaving_someone_without_a_non_face_way_are_rejected(methods, message):
    with pytest.raises(PolicyError, match=message):
        validate_methods(parse_methods(methods))


@pytest.mark.parametrize("methods", ["card", "pin", "card,pin", "card,pin,face", "card+pin,card+face",
                                     "card,pin,face,card+face"])
def test_valid_policies(methods):
    validate_methods(parse_methods(methods))


def test_unknown_method_is_a_clear_error():
    with pytest.raises(PolicyError, match="Unknown method"):
        parse_methods("card,iris")


def test_card_grants_for_an_active_resident():
    assert decide(FULL, Method.CARD, RESIDENT, Evidence()) == Decision(True, Reason.GRANTED)


def test_unknown_card_and_unknown_code():
    assert decide(FULL, Method.CARD, None, Evidence()).reason is Reason.UNKNOWN_CARD
    assert decide(FULL, Method.PIN, None, Evidence(pin_matches=False)).reason is Reason.UNKNOWN_RESIDENT


def test_method_the_gate_does_not_accept():
    decision = decide(policy("card,pin"), Method.FACE, RESIDENT, Evidence(face=FaceOutcome.MATCH))
    assert not decision.granted and decision.reason is Reason.METHOD_NOT_ALLOWED
    assert decision.offer == {Method.CARD, Method.PIN}


def test_pin_paths():
    assert decide(FULL, Method.PIN, RESIDENT, Evidence(pin_matches=True)).granted
    assert decide(FULL, Method.PIN, RESIDENT, Evidence(pin_matches=False)).reason is Reason.WRONG_PIN
    assert decide(FULL, Method.PIN, RESIDENT, Evidence(pin_matches=None)).reason is Reason.WRONG_PIN
    no_pin = Subject(resident_id=7)
    assert decide(FULL, Method.PIN, no_pin, Evidence(pin_matches=True)).reason is Reason.PIN_NOT_SET


def test_a_resident_lockout_blocks_that_residents_pin_but_not_the_card():
    locks = Locks(resident_locked_seconds=240)
    with_card = replace(RESIDENT, has_card=True)
    decision = decide(FULL, Method.PIN, with_card, Evidence(pin_matches=True), locks)
    assert (decision.reason, decision.tries_left, decision.retry_after_seconds) == (Reason.LOCKED_OUT, 0, 240)
    assert decision.message == "Too many wrong PINs for this resident: try again in 4 min, or use your card."
    assert decide(FULL, Method.CARD, with_card, Evidence(), locks).granted


def test_a_locked_resident_without_a_usable_card_is_not_told_to_use_one():
    locks = Locks(resident_locked_seconds=240)
    no_card = decide(FULL, Method.PIN, RESIDENT, Evidence(pin_matches=True), locks)
    assert no_card.message == "Too many wrong PINs for this resident: try again in 4 min, or ask the management office."
    pin_only_gate = policy("pin")
    card_elsewhere = decide(pin_only_gate, Method.PIN, replace(RESIDENT, has_card=True), Evidence(), locks)
    assert "use your card" not in card_elsewhere.message


def test_the_gate_wait_refuses_every_pin_before_the_claim_is_looked_at_but_not_the_card():
    wait = Locks(gate_wait_seconds=8)
    for method, subject in ((Method.PIN, RESIDENT), (Method.PIN, None), (Method.CARD_PIN, RESIDENT),
                            (Method.PIN, Subject(7, active=False))):
        decision = decide(FULL, method, subject, Evidence(pin_matches=True), wait)
        assert (decision.reason, decision.retry_after_seconds) == (Reason.PIN_WAIT, 8), (method, subject)
        assert decision.message == "Please wait 8 s before the next PIN."
    assert decide(FULL, Method.CARD, RESIDENT, Evidence(), wait).granted
    assert decide(FULL, Method.PIN, RESIDENT, Evidence(pin_matches=True), Locks()).granted


def test_new_reasons_fit_the_event_column():
    assert all(len(reason.value) <= 32 for reason in Reason)


@pytest.mark.parametrize("outcome, reason", [
    (FaceOutcome.MISMATCH, Reason.FACE_MISMATCH),
    (FaceOutcome.UNAVAILABLE, Reason.FACE_UNAVAILABLE),
    (FaceOutcome.LIVENESS_FAILED, Reason.LIVENESS_FAILED),
    (None, Reason.FACE_UNAVAILABLE),
])
def test_face_failures_deny_and_offer_the_alternatives(outcome, reason):
    decision = decide(FULL, Method.FACE, RESIDENT, Evidence(face=outcome))
    assert not decision.granted
    assert decision.reason is reason
    assert decision.offer == {Method.CARD, Method.PIN, Method.CARD_PIN}
    assert "card or PIN" in decision.message


def test_face_requires_consent_and_template():
    matched = Evidence(face=FaceOutcome.MATCH)
    assert decide(FULL, Method.FACE, Subject(7, has_template=True), matched).reason is Reason.NO_CONSENT
    assert decide(FULL, Method.FACE, Subject(7, has_consent=True), matched).reason is Reason.NO_TEMPLATE
    assert decide(FULL, Method.CARD_FACE, RESIDENT, Evidence(face=FaceOutcome.MATCH)).granted


def test_after_m_face_mismatches_only_card_and_pin_are_offered():
    exhausted = Locks(face_failures=FULL.max_face_attempts)
    decision = decide(FULL, Method.FACE, RESIDENT, Evidence(face=FaceOutcome.MATCH), exhausted)
    assert decision.reason is Reason.FACE_ATTEMPTS_EXHAUSTED
    assert not any(m.uses_face for m in decision.offer)


def test_inactive_and_outside_schedule():
    assert decide(FULL, Method.CARD, Subject(7, active=False), Evidence()).reason is Reason.RESIDENT_INACTIVE
    assert decide(FULL, Method.CARD, Subject(7, within_schedule=False), Evidence()).reason is Reason.OUTSIDE_SCHEDULE


def test_every_reason_has_a_message():
    for reason in Reason:
        assert Decision(False, reason).message


@pytest.mark.parametrize("method", [Method.CARD, Method.PIN, Method.CARD_PIN])
def test_unavailable_card_and_pin_are_never_called_unknown(method: Method) -> None:
    decision = decide_unavailable(FULL.methods, method)
    assert decision == Decision(False, Reason.DATABASE_UNAVAILABLE)
    assert "database is unavailable" in decision.message and "management office" in decision.message
    assert "not recognised" not in decision.message


@pytest.mark.parametrize("method", [Method.FACE, Method.CARD_FACE])
def test_unavailable_face_offers_the_non_face_ways(method: Method) -> None:
    decision = decide_unavailable(policy("card,card+face,pin,face").methods, method)
    assert decision == Decision(False, Reason.FACE_UNAVAILABLE, frozenset({Method.CARD, Method.PIN}))


def test_every_reason_has_a_text_and_fits_the_event_column() -> None:
    assert set(MESSAGES) == set(Reason)
    assert all(len(reason.value) <= 32 for reason in Reason)  # access_events.reason is String(32)


def test_a_lapsed_consent_refuses_face_before_the_camera_and_leaves_card_and_pin_alone() -> None:
    """C3/N1: a consent given against an older notice (or by a guardian before 14) does not cover face."""
    policy = GatePolicy(gate_id=1, name="main", methods=parse_methods("card,pin,face"))
    lapsed = Subject(resident_id=1, has_pin=True, has_card=True, has_consent=True, has_template=True,
                     consent_lapsed=True)
    face = decide(policy, Method.FACE, lapsed, Evidence(face=FaceOutcome.MATCH))
    assert not face.granted and face.reason is Reason.CONSENT_LAPSED
    assert face.message == ("Your face consent must be renewed at the management office; "
                            "please use your card or PIN.")
    assert face.offer == frozenset({Method.CARD, Method.PIN})
    assert decide(policy, Method.CARD, lapsed, Evidence()) == Decision(True, Reason.GRANTED)
    assert decide(policy, Method.PIN, lapsed, Evidence(pin_matches=True)).granted
