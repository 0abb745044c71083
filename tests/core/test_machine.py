"""The transaction machine on its own: pure, so every path is a plain function call."""

from __future__ import annotations

from gate.core import machine as m
from gate.core import transaction
from gate.core.claims import ClaimKind
from gate.core.decision import Decision, FaceOutcome, Reason
from gate.core.policy import Method

CARD_PIN_FACE = m.Rules(methods=frozenset({Method.CARD, Method.PIN, Method.FACE, Method.CARD_FACE}))
CARD_PIN = m.Rules(methods=frozenset({Method.CARD, Method.PIN}))


def run(rules: m.Rules, *events: m.Event, state: m.State | None = None) -> tuple[m.State, list[m.Effect]]:
    state = state or m.State()
    effects: list[m.Effect] = []
    for event in events:
        state, out = m.step(state, event, rules)
        effects.extend(out)
    return state, effects


def kinds(effects: list[m.Effect]) -> list[str]:
    return [type(e).__name__ for e in effects]


def test_card_is_decided_at_once_and_never_starts_the_camera() -> None:
    state, effects = run(CARD_PIN_FACE, m.PresentCard("123:45678"))
    assert state.phase is m.Phase.DECISION
    decide = next(e for e in effects if isinstance(e, m.Decide))
    assert decide.method is Method.CARD
    assert not any(isinstance(e, (m.StartFace, m.Precheck)) for e in effects)


def test_pin_path_code_then_pin() -> None:
    state, effects = run(CARD_PIN, m.Choose("pin"), m.EnterCode("A1"), m.EnterPin("482915"))
    decide = [e for e in effects if isinstance(e, m.Decide)]
    assert decide and decide[0].method is Method.PIN and decide[0].claim.kind is ClaimKind.CODE
    assert state.phase is m.Phase.DECISION
    assert "StartFace" not in kinds(effects)


def test_face_needs_a_claim_and_a_precheck_before_the_camera() -> None:
    state, effects = run(CARD_PIN_FACE, m.Choose("face"))
    assert state.phase is m.Phase.CLAIM and not effects[:-1]
    state, effects = run(CARD_PIN_FACE, m.EnterCode("A1"), state=state)
    assert state.phase is m.Phase.PRECHECK and kinds(effects)[0] == "Precheck"
    state, effects = run(CARD_PIN_FACE, m.Prechecked(state.token, None), state=state)
    assert state.phase is m.Phase.CAPTURE and state.camera_on and kinds(effects)[0] == "StartFace"


def test_no_consent_refuses_without_starting_the_camera_and_offers_card_and_pin() -> None:
    state, _ = run(CARD_PIN_FACE, m.Choose("face"), m.EnterCode("A1"))
    denial = Decision(False, Reason.NO_CONSENT, frozenset({Method.CARD, Method.PIN}))
    state, effects = run(CARD_PIN_FACE, m.Prechecked(state.token, denial), state=state)
    assert state.phase is m.Phase.REFUSAL
    assert "StartFace" not in kinds(effects)
    assert m.offered(state, CARD_PIN_FACE) == ["card", "pin"]


def test_face_mismatch_then_pin_with_the_same_claim() -> None:
    state, _ = run(CARD_PIN_FACE, m.Choose("face"), m.EnterCode("A1"))
    state, _ = run(CARD_PIN_FACE, m.Prechecked(state.token, None), m.FaceVerified(state.token, FaceOutcome.MISMATCH),
                   state=state)
    assert state.phase is m.Phase.DECISION
    mismatch = Decision(False, Reason.FACE_MISMATCH, frozenset({Method.CARD, Method.PIN}))
    state, effects = run(CARD_PIN_FACE, m.Decided(state.token, mismatch, Method.FACE), state=state)
    assert state.phase is m.Phase.REFUSAL and state.face_failures == 1
    assert m.offered(state, CARD_PIN_FACE) == ["card", "pin", "face"]
    state, effects = run(CARD_PIN_FACE, m.Choose("pin"), m.EnterPin("482915"), state=state)
    decide = [e for e in effects if isinstance(e, m.Decide)]
    assert decide[0].method is Method.PIN and decide[0].claim.value == "A1"


def test_card_during_face_wins_and_the_late_face_result_is_ignored() -> None:
    state, _ = run(CARD_PIN_FACE, m.Choose("face"), m.EnterCode("A1"))
    state, _ = run(CARD_PIN_FACE, m.Prechecked(state.token, None), state=state)
    face_token = state.token
    state, effects = run(CARD_PIN_FACE, m.PresentCard("123:45678"), state=state)
    assert kinds(effects)[:2] == ["StopFace", "Decide"]
    card_state = state
    state, effects = run(CARD_PIN_FACE, m.FaceVerified(face_token, FaceOutcome.MATCH), state=state)
    assert state == card_state and effects == []


def test_timeouts_return_to_idle_and_stale_timers_do_nothing() -> None:
    state, _ = run(CARD_PIN, m.Choose("pin"), m.EnterCode("A1"))
    stale = m.TimedOut(state.token - 1)
    assert run(CARD_PIN, stale, state=state)[0] == state
    state, _ = run(CARD_PIN, m.TimedOut(state.token), state=state)
    assert state.phase is m.Phase.IDLE


def test_face_that_never_answers_ends_unavailable_never_open() -> None:
    state, _ = run(CARD_PIN_FACE, m.Choose("face"), m.EnterCode("A1"))
    state, _ = run(CARD_PIN_FACE, m.Prechecked(state.token, None), state=state)
    state, effects = run(CARD_PIN_FACE, m.TimedOut(state.token), state=state)
    assert state.phase is m.Phase.REFUSAL and state.decision.reason is Reason.FACE_UNAVAILABLE
    assert "Grant" not in kinds(effects)


def test_face_is_never_offered_where_the_gate_does_not_allow_it_nor_alone() -> None:
    assert m.offered(m.State(), CARD_PIN) == ["card", "pin"]
    assert m.offered(m.State(), CARD_PIN_FACE) == ["card", "pin", "face"]
    state, _ = run(CARD_PIN, m.Choose("face"))
    assert state.phase is m.Phase.IDLE


def test_the_table_is_documented() -> None:
    rows = m.describe()
    assert {"from", "event", "guard", "to"} <= set(rows[0])
    assert all(row["guard"] for row in rows)


CARD_PLUS_PIN = m.Rules(methods=frozenset({Method.CARD_PIN, Method.PIN}))
CARD_FACE_GATE = m.Rules(methods=frozenset({Method.CARD, Method.CARD_FACE}))


def test_card_plus_pin_gate_asks_for_the_pin_after_the_card() -> None:
    state, effects = run(CARD_PLUS_PIN, m.PresentCard("188:24910"))
    assert state.phase is m.Phase.CHOICE and not [e for e in effects if isinstance(e, m.Decide)]
    state, effects = run(CARD_PLUS_PIN, m.EnterPin("482915"), state=state)
    decide = [e for e in effects if isinstance(e, m.Decide)][0]
    assert decide.method is Method.CARD_PIN and decide.claim.kind is ClaimKind.CARD


def test_face_first_then_card_claims_card_plus_face() -> None:
    state, effects = run(CARD_FACE_GATE, m.Choose("face"), m.PresentCard("188:24910"))
    precheck = [e for e in effects if isinstance(e, m.Precheck)][0]
    assert state.phase is m.Phase.PRECHECK and precheck.claim.kind is ClaimKind.CARD
    assert m.offered(m.State(), CARD_FACE_GATE) == ["card", "face"]


def test_face_attempts_run_out_and_face_is_no_longer_offered() -> None:
    rules = CARD_PIN_FACE
    state, _ = run(rules, m.Choose("face"), m.EnterCode("A1"))
    mismatch = Decision(False, Reason.FACE_MISMATCH, frozenset({Method.CARD, Method.PIN}))
    for _ in range(rules.max_face_attempts):
        state, _ = run(rules, m.Prechecked(state.token, None), m.FaceVerified(state.token, FaceOutcome.MISMATCH),
                       state=state)
        state, _ = run(rules, m.Decided(state.token, mismatch, Method.FACE), state=state)
        assert state.phase is m.Phase.REFUSAL
        if state.face_failures < rules.max_face_attempts:
            state, _ = run(rules, m.Choose("face"), state=state)
    assert m.offered(state, rules) == ["card", "pin"]


def test_stale_results_are_ignored_everywhere() -> None:
    state, _ = run(CARD_PIN, m.PresentCard("188:24910"))
    granted = Decision(True, Reason.GRANTED)
    assert run(CARD_PIN, m.Decided(state.token + 5, granted, Method.CARD), state=state)[0] == state
    state, effects = run(CARD_PIN, m.Decided(state.token, granted, Method.CARD), state=state)
    assert state.phase is m.Phase.OPEN and [e for e in effects if isinstance(e, m.Grant)]


def test_the_machine_re_exports_every_transaction_type_as_the_same_object() -> None:
    # Users write `machine.State`, `machine.PresentCard`...: the split into two modules must not change that.
    defined = {n for n, v in vars(transaction).items() if isinstance(v, type) and v.__module__ == transaction.__name__}
    assert defined == set(transaction.__all__)
    missing = [name for name in transaction.__all__ if name not in m.__all__]
    assert not missing, f"gate.core.machine does not re-export {missing}"
    assert all(getattr(m, name) is getattr(transaction, name) for name in transaction.__all__)
    assert all(hasattr(m, name) for name in m.__all__)


def test_a_resident_who_declined_face_is_not_offered_it_after_the_claim() -> None:
    """A3: a refusal or a withdrawal is not met by a "Face" button on every visit."""
    state, effects = run(CARD_PIN_FACE, m.EnterCode("A1"))
    check = next(e for e in effects if isinstance(e, m.CheckFaceOffer))
    assert check.token == state.token and check.claim.value == "A1"
    assert "face" in m.offered(state, CARD_PIN_FACE)  # not known yet: the lookup has not answered
    state, _ = m.step(state, m.FaceOfferChecked(state.token, declined=True), CARD_PIN_FACE)
    assert state.phase is m.Phase.CHOICE and state.face_declined
    assert m.offered(state, CARD_PIN_FACE) == ["card", "pin"]
    # Nor can face be chosen behind the screen's back: the choice is ignored, the PIN still works.
    chosen, effects = m.step(state, m.Choose("face"), CARD_PIN_FACE)
    assert chosen == state and not effects
    state, effects = run(CARD_PIN_FACE, m.EnterPin("482915"), state=state)
    assert state.phase is m.Phase.DECISION and any(isinstance(e, m.Decide) for e in effects)


def test_face_is_offered_again_when_the_claimant_has_not_declined() -> None:
    state, _ = run(CARD_PIN_FACE, m.EnterCode("A1"))
    state, _ = m.step(state, m.FaceOfferChecked(state.token, declined=False), CARD_PIN_FACE)
    assert m.offered(state, CARD_PIN_FACE) == ["card", "pin", "face"]
    state, effects = m.step(state, m.Choose("face"), CARD_PIN_FACE)
    assert state.phase is m.Phase.PRECHECK and any(isinstance(e, m.Precheck) for e in effects)


def test_the_decline_belongs_to_one_claim_and_stale_answers_are_ignored() -> None:
    state, _ = run(CARD_PIN_FACE, m.EnterCode("A1"))
    stale = m.FaceOfferChecked(state.token - 1, declined=True)
    assert m.step(state, stale, CARD_PIN_FACE) == (state, ())
    declined, _ = m.step(state, m.FaceOfferChecked(state.token, declined=True), CARD_PIN_FACE)
    after, _ = run(CARD_PIN_FACE, m.Cancel(), m.EnterCode("B2"), state=declined)
    assert not after.face_declined and "face" in m.offered(after, CARD_PIN_FACE)
    # A gate without face never asks.
    _, effects = run(CARD_PIN, m.EnterCode("A1"))
    assert not any(isinstance(e, m.CheckFaceOffer) for e in effects)


CODE_FACE_GATE = m.Rules(methods=frozenset({Method.CARD, Method.PIN, Method.FACE}))


def test_face_by_code_only_a_card_after_face_is_decided_as_a_card_not_refused() -> None:
    """No trap: at a gate with code+face but not card+face, a card after "Face" is a card, never
    "this gate does not accept that method" after the camera ran."""
    state, effects = run(CODE_FACE_GATE, m.Choose("face"), m.PresentCard("188:24910"))
    decide = [e for e in effects if isinstance(e, m.Decide)]
    assert state.phase is m.Phase.DECISION and decide[0].method is Method.CARD
    assert not any(isinstance(e, m.Precheck) for e in effects)
    assert m.face_claims(CODE_FACE_GATE) == ["code"] and m.face_claims(CARD_FACE_GATE) == ["card"]


def test_a_held_claim_is_offered_face_only_where_that_claim_can_lead_to_it() -> None:
    card_held, _ = run(CODE_FACE_GATE, m.PresentCard("188:24910"), state=m.State(phase=m.Phase.REFUSAL))
    card_held = m.State(phase=m.Phase.REFUSAL, token=3, claim=card_held.claim)
    assert "face" not in m.offered(card_held, CODE_FACE_GATE)
    assert m.step(card_held, m.Choose("face"), CODE_FACE_GATE)[0].phase is not m.Phase.PRECHECK
    code_held, _ = run(CARD_FACE_GATE, m.Choose("face"), m.EnterCode("A1"))
    assert code_held.phase is m.Phase.CHOICE  # a code cannot lead to face at a card+face gate
    assert "face" not in m.offered(code_held, CARD_FACE_GATE)


def test_pin_is_offered_only_where_resident_code_and_pin_is_accepted() -> None:
    card_then_pin = m.Rules(methods=frozenset({Method.CARD_PIN}))
    assert m.offered(m.State(), card_then_pin) == ["card"]
