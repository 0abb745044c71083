"""P2 in the pure core: "My face data" at the kiosk, identified by card/code + PIN, never opening the door."""

from __future__ import annotations

from gate.core import machine as m
from gate.core.claims import ClaimKind
from gate.core.decision import Decision, Locks, Reason, Subject
from gate.core.policy import Method
from gate.core.selfservice import SelfServiceOutcome, holds_face_data, identify

ON = m.Rules(methods=frozenset({Method.CARD, Method.PIN, Method.FACE, Method.CARD_FACE}), self_service=True)
OFF = m.Rules(methods=frozenset({Method.CARD, Method.PIN, Method.FACE, Method.CARD_FACE}))
CARD_ONLY_GATE = m.Rules(methods=frozenset({Method.CARD}), self_service=True)


def run(rules: m.Rules, *events: m.Event, state: m.State | None = None) -> tuple[m.State, list[m.Effect]]:
    state = state or m.State()
    effects: list[m.Effect] = []
    for event in events:
        state, out = m.step(state, event, rules)
        effects.extend(out)
    return state, effects


def identified(rules: m.Rules = ON) -> tuple[m.State, list[m.Effect]]:
    state, effects = run(rules, m.OpenSelfService(), m.EnterCode("1001"), m.EnterPin("482915"))
    check = next(e for e in effects if isinstance(e, m.Identify))
    return run(rules, m.Identified(check.token, 7, None, has_face_data=True), state=state)


def test_switched_off_the_action_is_neither_offered_nor_reachable() -> None:
    assert not m.self_service_offered(m.State(), OFF)
    state, effects = run(OFF, m.OpenSelfService())
    assert state.phase is m.Phase.IDLE and effects == []
    assert m.self_service_offered(m.State(), ON)


def test_a_card_here_is_a_claim_that_waits_for_the_pin_and_is_never_decided() -> None:
    state, effects = run(ON, m.OpenSelfService(), m.PresentCard("188:24910"))
    assert state.phase is m.Phase.SELF_PIN
    assert state.claim is not None and state.claim.kind is ClaimKind.CARD
    assert not any(isinstance(e, (m.Decide, m.Grant, m.Identify)) for e in effects)
    # also at a gate whose only way in is a card: the card still does not identify on its own
    state, effects = run(CARD_ONLY_GATE, m.OpenSelfService(), m.PresentCard("188:24910"))
    assert state.phase is m.Phase.SELF_PIN and not any(isinstance(e, (m.Decide, m.Grant)) for e in effects)


def test_card_or_code_then_pin_asks_for_identification() -> None:
    for claim_event, kind in ((m.PresentCard("188:24910"), ClaimKind.CARD), (m.EnterCode("1001"), ClaimKind.CODE)):
        state, effects = run(ON, m.OpenSelfService(), claim_event, m.EnterPin("482915"))
        assert state.phase is m.Phase.SELF_CHECK
        check = [e for e in effects if isinstance(e, m.Identify)]
        assert len(check) == 1 and check[0].claim.kind is kind and check[0].pin == "482915"
        assert not any(isinstance(e, (m.Decide, m.Grant, m.StartFace, m.Precheck)) for e in effects)


def test_identified_with_face_data_is_offered_deletion_and_confirming_deletes_that_resident() -> None:
    state, effects = identified()
    assert state.phase is m.Phase.SELF_MENU and state.resident_id == 7
    state, effects = run(ON, m.ConfirmDelete(), state=state)
    assert state.phase is m.Phase.SELF_DELETE
    delete = [e for e in effects if isinstance(e, m.DeleteFaceData)]
    assert len(delete) == 1 and delete[0].resident_id == 7
    state, effects = run(ON, m.FaceDataDeleted(delete[0].token, SelfServiceOutcome.DELETED, 42), state=state)
    assert state.phase is m.Phase.SELF_DONE and state.receipt == 42
    assert state.self_outcome is SelfServiceOutcome.DELETED
    arm = [e for e in effects if isinstance(e, m.ArmTimer)]
    assert arm and arm[0].seconds == ON.receipt_timeout  # long enough to write the number down


def test_no_path_through_self_service_releases_the_door() -> None:
    state, effects = identified()
    more: list[m.Effect] = list(effects)
    for event in (m.ConfirmDelete(), m.Decided(state.token, Decision(True, Reason.GRANTED), Method.PIN)):
        state, out = m.step(state, event, ON)
        more.extend(out)
    delete = next(e for e in more if isinstance(e, m.DeleteFaceData))
    state, out = m.step(state, m.FaceDataDeleted(delete.token, SelfServiceOutcome.DELETED, 1), ON)
    more.extend(out)
    assert not any(isinstance(e, m.Grant) for e in more) and state.phase is m.Phase.SELF_DONE
    # and a stray "granted" decision in any self-service phase is ignored
    for phase in m.SELF_SERVICE_PHASES:
        probe = m.State(phase=phase, token=5, resident_id=7)
        after, out = m.step(probe, m.Decided(5, Decision(True, Reason.GRANTED), Method.PIN), ON)
        assert after == probe and out == ()


def test_without_face_data_the_resident_is_told_there_is_nothing_to_delete() -> None:
    state, effects = run(ON, m.OpenSelfService(), m.EnterCode("1001"), m.EnterPin("482915"))
    check = next(e for e in effects if isinstance(e, m.Identify))
    state, effects = run(ON, m.Identified(check.token, 7, None, has_face_data=False), state=state)
    assert state.phase is m.Phase.SELF_DONE
    assert state.self_outcome is SelfServiceOutcome.NOTHING_TO_DELETE
    assert not any(isinstance(e, m.DeleteFaceData) for e in effects)
    assert run(ON, m.ConfirmDelete(), state=state)[1] == []  # nothing to confirm from there


def test_a_refused_identification_shows_why_and_deletes_nothing() -> None:
    state, effects = run(ON, m.OpenSelfService(), m.EnterCode("1001"), m.EnterPin("000000"))
    check = next(e for e in effects if isinstance(e, m.Identify))
    refusal = Decision(False, Reason.WRONG_PIN, tries_left=4)
    state, effects = run(ON, m.Identified(check.token, None, refusal), state=state)
    assert state.phase is m.Phase.SELF_DONE and state.decision == refusal and state.resident_id is None
    assert run(ON, m.ConfirmDelete(), state=state)[1] == []
    # they may start again
    assert run(ON, m.OpenSelfService(), state=state)[0].phase is m.Phase.SELF_CLAIM


def test_stale_answers_are_ignored() -> None:
    state, effects = run(ON, m.OpenSelfService(), m.EnterCode("1001"), m.EnterPin("482915"))
    check = next(e for e in effects if isinstance(e, m.Identify))
    state, _ = run(ON, m.Cancel(), state=state)
    after, out = m.step(state, m.Identified(check.token, 7, None, has_face_data=True), ON)
    assert after.phase is m.Phase.IDLE and out == ()


def test_timeouts_never_claim_success() -> None:
    state, effects = run(ON, m.OpenSelfService(), m.EnterCode("1001"), m.EnterPin("482915"))
    state, _ = run(ON, m.TimedOut(state.token), state=state)
    assert state.phase is m.Phase.SELF_DONE and state.self_outcome is SelfServiceOutcome.DATABASE_UNAVAILABLE
    state, _ = identified()
    state, _ = run(ON, m.ConfirmDelete(), m.TimedOut(state.token), state=state)
    assert state.phase is m.Phase.SELF_DONE and state.self_outcome is SelfServiceOutcome.UNCONFIRMED
    assert state.receipt is None
    for phase in (m.Phase.SELF_CLAIM, m.Phase.SELF_PIN, m.Phase.SELF_MENU, m.Phase.SELF_DONE):
        assert m.step(m.State(phase=phase, token=3), m.TimedOut(3), ON)[0].phase is m.Phase.IDLE


def test_a_card_outside_the_claim_step_is_an_ordinary_card() -> None:
    state, _ = identified()
    state, effects = run(ON, m.PresentCard("188:24910"), state=state)
    assert state.phase is m.Phase.DECISION and any(isinstance(e, m.Decide) for e in effects)


def test_identify_needs_the_right_pin_and_respects_the_locks() -> None:
    subject = Subject(resident_id=7, has_pin=True, has_card=True)
    assert identify(subject, True, True, Locks()) is None
    wrong = identify(subject, True, False, Locks())
    assert wrong is not None and wrong.reason is Reason.WRONG_PIN
    assert identify(subject, True, None, Locks()) is not None  # an untested PIN never identifies
    locked = identify(subject, True, True, Locks(resident_locked_seconds=30))
    assert locked is not None and locked.reason is Reason.LOCKED_OUT and not locked.card_works
    waiting = identify(subject, True, True, Locks(gate_wait_seconds=5))
    assert waiting is not None and waiting.reason is Reason.PIN_WAIT
    assert identify(None, True, None, Locks()).reason is Reason.UNKNOWN_CARD  # type: ignore[union-attr]
    assert identify(None, False, None, Locks()).reason is Reason.UNKNOWN_RESIDENT  # type: ignore[union-attr]
    no_pin = identify(Subject(resident_id=7), False, None, Locks())
    assert no_pin is not None and no_pin.reason is Reason.PIN_NOT_SET
    gone = identify(Subject(resident_id=7, active=False, has_pin=True), False, True, Locks())
    assert gone is not None and gone.reason is Reason.RESIDENT_INACTIVE


def test_face_data_is_a_consent_or_a_template() -> None:
    assert not holds_face_data(Subject(resident_id=1))
    assert holds_face_data(Subject(resident_id=1, has_consent=True))
    assert holds_face_data(Subject(resident_id=1, has_template=True))
