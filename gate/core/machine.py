"""One person at one gate: the transaction state machine. Pure: no I/O, no clock, no threads.

The types (`Phase`, `State`, `Rules`, the events and the effects) live in `gate.core.transaction` and
are re-exported here, so `machine.State`, `machine.PresentCard`... keep working. This module is the
behaviour: guards are named functions and the whole of it is the `TRANSITIONS` table: (source phase,
event, guard) -> target phase plus the effects the runtime must carry out.

`step(state, event, rules)` returns the next state and a tuple of effects. The runtime executes the
effects and feeds their results back as events (`Decided`, `Prechecked`, `FaceVerified`, `TimedOut`).
Every transaction carries a `token`; a result or a timer that belongs to an earlier transaction is
stale and ignored, which is how a card presented during a face attempt wins without waiting for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from gate.core.claims import Claim, ClaimKind
from gate.core.decision import Decision, Reason
from gate.core.policy import NON_FACE, Method
from gate.core.selfservice import SelfServiceOutcome
from gate.core.transaction import (
    ArmTimer,
    Cancel,
    CheckFaceOffer,
    Choose,
    ConfirmDelete,
    Decide,
    Decided,
    DeleteFaceData,
    Effect,
    EnterCode,
    EnterPin,
    Event,
    FaceDataDeleted,
    FaceOfferChecked,
    FaceVerified,
    Grant,
    Identified,
    Identify,
    OpenSelfService,
    Passed,
    Phase,
    Precheck,
    Prechecked,
    PresentCard,
    Refuse,
    Rules,
    StartFace,
    State,
    StopFace,
    TimedOut,
)
from gate.core.visitors import is_visitor_code

__all__ = [
    # the types, from gate.core.transaction
    "ArmTimer", "Cancel", "CheckFaceOffer", "Choose", "ConfirmDelete", "Decide", "Decided", "DeleteFaceData", "Effect",
    "EnterCode", "EnterPin", "Event", "FaceDataDeleted", "FaceOfferChecked", "FaceVerified", "Grant", "Identified",
    "Identify", "OpenSelfService", "Passed", "Phase", "Precheck", "Prechecked", "PresentCard", "Refuse", "Rules",
    "SELF_SERVICE_PHASES", "SelfServiceOutcome", "StartFace", "State", "StopFace", "TimedOut",
    # the behaviour
    "TRANSITIONS", "Action", "Guard", "Transition", "describe", "face_claims", "face_fits", "offered",
    "self_service_offered", "step",
]


Action = Callable[[State, Event, Rules], tuple[State, tuple[Effect, ...]]]
Guard = Callable[[State, Event, Rules], bool]


@dataclass(frozen=True)
class Transition:
    source: frozenset[Phase]
    event: type[Event]
    guard: Guard
    action: Action
    target: Phase  # documentation only: the action returns the state it lands in

    @property
    def guard_name(self) -> str:
        return self.guard.__name__


# -- guards (named) ---------------------------------------------------------------------------------
def always(state: State, event: Event, rules: Rules) -> bool:
    return True


def is_current(state: State, event: Event, rules: Rules) -> bool:
    return getattr(event, "token", None) == state.token


def card_alone_accepted(state: State, event: Event, rules: Rules) -> bool:
    """A card is decided at once unless the gate wants a second factor (face chosen first is matched earlier)."""
    return Method.CARD in rules.methods or not (rules.methods & {Method.CARD_PIN, Method.CARD_FACE})


def card_needs_second_step(state: State, event: Event, rules: Rules) -> bool:
    return not card_alone_accepted(state, event, rules)


def face_fits(claim_kind: ClaimKind, rules: Rules) -> bool:
    """Whether face can follow this kind of claim here: a card needs card+face, a resident code needs face.
    Otherwise the attempt would end in "this gate does not accept that method" after the camera ran."""
    return (Method.CARD_FACE if claim_kind is ClaimKind.CARD else Method.FACE) in rules.methods


def visitor_code_entered(state: State, event: Event, rules: Rules) -> bool:
    """Ten digits starting with 9 (gate.core.visitors): a visitor code, decided at once, never with face."""
    return isinstance(event, EnterCode) and is_visitor_code(event.code)


def face_intended(state: State, event: Event, rules: Rules) -> bool:
    """Face was chosen and the claim now made can lead to it; a card where only code+face is accepted is
    decided as a card instead (no trap: the person is not refused for the order they did things in)."""
    kind = ClaimKind.CARD if isinstance(event, PresentCard) else ClaimKind.CODE
    return state.intent == "face" and rules.face_allowed and face_fits(kind, rules)


def face_not_intended(state: State, event: Event, rules: Rules) -> bool:
    return not face_intended(state, event, rules)


def face_chosen_with_claim(state: State, event: Event, rules: Rules) -> bool:
    return (getattr(event, "method", None) == "face" and rules.face_allowed and state.claim is not None
            and not state.face_declined and face_fits(state.claim.kind, rules))


def choice_without_claim(state: State, event: Event, rules: Rules) -> bool:
    method = getattr(event, "method", None)
    if method == "face" and not rules.face_allowed:
        return False
    return method in ("card", "pin", "face") and not (state.claim is not None and method in ("pin", "face"))


def pin_chosen_with_claim(state: State, event: Event, rules: Rules) -> bool:
    return getattr(event, "method", None) == "pin" and state.claim is not None


def current_claim_checked(state: State, event: Event, rules: Rules) -> bool:
    return is_current(state, event, rules) and isinstance(event, FaceOfferChecked)


def current_and_granted(state: State, event: Event, rules: Rules) -> bool:
    return is_current(state, event, rules) and isinstance(event, Decided) and event.decision.granted


def current_and_denied(state: State, event: Event, rules: Rules) -> bool:
    return is_current(state, event, rules) and isinstance(event, Decided) and not event.decision.granted


def current_and_cleared(state: State, event: Event, rules: Rules) -> bool:
    return is_current(state, event, rules) and isinstance(event, Prechecked) and event.denial is None


def current_and_refused(state: State, event: Event, rules: Rules) -> bool:
    return is_current(state, event, rules) and isinstance(event, Prechecked) and event.denial is not None


def self_service_enabled(state: State, event: Event, rules: Rules) -> bool:
    return rules.self_service


def identified_with_face_data(state: State, event: Event, rules: Rules) -> bool:
    return (is_current(state, event, rules) and isinstance(event, Identified) and event.refusal is None
            and event.resident_id is not None and event.has_face_data)


def identified_without_face_data(state: State, event: Event, rules: Rules) -> bool:
    return (is_current(state, event, rules) and isinstance(event, Identified) and event.refusal is None
            and event.resident_id is not None and not event.has_face_data)


def not_identified(state: State, event: Event, rules: Rules) -> bool:
    return (is_current(state, event, rules) and isinstance(event, Identified)
            and not identified_with_face_data(state, event, rules)
            and not identified_without_face_data(state, event, rules))


# -- actions ----------------------------------------------------------------------------------------
def _new(state: State, phase: Phase, claim: Claim | None = None, intent: str | None = None) -> State:
    """A fresh transaction: a new token makes every pending result and timer of the old one stale."""
    return State(phase=phase, token=state.token + 1, claim=claim, intent=intent)


def _stop(state: State) -> tuple[Effect, ...]:
    return (StopFace(),) if state.phase in (Phase.CAPTURE, Phase.PRECHECK) else ()


def _check_offer(state: State, rules: Rules) -> tuple[Effect, ...]:
    # Only a held claim shows a "Face" button; asking costs a lookup, so only where face could be offered.
    return (CheckFaceOffer(state.token, state.claim),) if rules.face_allowed and state.claim is not None else ()


def note_face_offer(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, FaceOfferChecked)
    return replace(state, face_declined=event.declined), ()


def decide_card(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, PresentCard)  # the transition table routes only cards here
    claim = Claim(ClaimKind.CARD, event.number)
    new = _new(state, phase=Phase.DECISION, claim=claim)
    return new, _stop(state) + (Decide(new.token, Method.CARD, claim), ArmTimer(new.token, rules.decision_timeout))


def hold_card(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, PresentCard)  # the transition table routes only cards here
    claim = Claim(ClaimKind.CARD, event.number)
    new = _new(state, phase=Phase.CHOICE, claim=claim)
    return new, _stop(state) + _check_offer(new, rules) + (ArmTimer(new.token, rules.claim_timeout),)


def precheck_card(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, PresentCard)  # the transition table routes only cards here
    claim = Claim(ClaimKind.CARD, event.number)
    new = _new(state, phase=Phase.PRECHECK, claim=claim, intent="face")
    return new, (Precheck(new.token, claim, 0), ArmTimer(new.token, rules.decision_timeout))


def decide_visitor_code(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, EnterCode)
    claim = Claim(ClaimKind.VISITOR, event.code)
    new = _new(state, phase=Phase.DECISION, claim=claim)
    return new, _stop(state) + (Decide(new.token, Method.VISITOR, claim), ArmTimer(new.token, rules.decision_timeout))


def hold_code(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, EnterCode)
    claim = Claim(ClaimKind.CODE, event.code)
    new = _new(state, phase=Phase.CHOICE, claim=claim, intent=state.intent if state.intent == "pin" else None)
    return new, _stop(state) + _check_offer(new, rules) + (ArmTimer(new.token, rules.claim_timeout),)


def precheck_code(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, EnterCode)
    claim = Claim(ClaimKind.CODE, event.code)
    new = _new(state, phase=Phase.PRECHECK, claim=claim, intent="face")
    return new, (Precheck(new.token, claim, 0), ArmTimer(new.token, rules.decision_timeout))


def decide_pin(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert state.claim is not None and isinstance(event, EnterPin)
    method = Method.PIN if state.claim.kind is ClaimKind.CODE else Method.CARD_PIN
    new = replace(state, phase=Phase.DECISION, intent="pin")
    return new, (Decide(state.token, method, state.claim, pin=event.pin),
                 ArmTimer(state.token, rules.decision_timeout))


def precheck_held_claim(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert state.claim is not None
    # Same transaction (face failures count across retries), new token for the new attempt.
    new = replace(state, phase=Phase.PRECHECK, intent="face", token=state.token + 1, decision=None)
    return new, (Precheck(new.token, state.claim, state.face_failures), ArmTimer(new.token, rules.decision_timeout))


def start_capture(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert state.claim is not None
    new = replace(state, phase=Phase.CAPTURE)
    return new, (StartFace(state.token, state.claim), ArmTimer(state.token, rules.face_timeout))


def decide_face(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert state.claim is not None and isinstance(event, FaceVerified)
    method = Method.CARD_FACE if state.claim.kind is ClaimKind.CARD else Method.FACE
    new = replace(state, phase=Phase.DECISION)
    return new, (StopFace(), Decide(state.token, method, state.claim, face=event.outcome,
                                    face_failures=state.face_failures),
                 ArmTimer(state.token, rules.decision_timeout))


def open_door(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, Decided)
    decision = event.decision
    new = replace(state, phase=Phase.OPEN, decision=decision, method=event.method, token=state.token + 1)
    return new, (Grant(decision), ArmTimer(new.token, rules.passage_timeout))


def refuse(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    # A decision (Decided) or a refusal before the camera (Prechecked).
    method: Method | None = None
    if isinstance(event, Decided):
        decision, method = event.decision, event.method
    else:
        assert isinstance(event, Prechecked) and event.denial is not None
        decision = event.denial
    failures = state.face_failures
    if method is not None and method.uses_face and decision.reason in (Reason.FACE_MISMATCH, Reason.LIVENESS_FAILED):
        failures += 1
    new = replace(state, phase=Phase.REFUSAL, decision=decision, method=method, face_failures=failures,
                  token=state.token + 1)
    return new, _stop(state) + (Refuse(decision), ArmTimer(new.token, rules.refusal_timeout))


def refuse_unavailable(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    """The face pipeline did not answer in time: card/PIN are offered, never "open"."""
    decision = Decision(False, Reason.FACE_UNAVAILABLE, rules.methods & NON_FACE)
    new = replace(state, phase=Phase.REFUSAL, decision=decision, token=state.token + 1)
    return new, (StopFace(), Refuse(decision), ArmTimer(new.token, rules.refusal_timeout))


def choose_way(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, Choose)
    new = _new(state, phase=Phase.CLAIM, intent=event.method)
    return new, _stop(state) + (ArmTimer(new.token, rules.claim_timeout),)


def enter_pin_for_claim(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    new = replace(state, phase=Phase.CHOICE, intent="pin", token=state.token + 1, decision=None)
    return new, (ArmTimer(new.token, rules.claim_timeout),)


# Self-service ("My face data"). No action here returns Grant: identifying is not a way in.
def start_self_service(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    new = _new(state, phase=Phase.SELF_CLAIM)
    return new, _stop(state) + (ArmTimer(new.token, rules.claim_timeout),)


def hold_self_claim(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    # The card read here is a claim only: it is not decided, so it never opens the door.
    if isinstance(event, PresentCard):
        claim = Claim(ClaimKind.CARD, event.number)
    else:
        assert isinstance(event, EnterCode)
        claim = Claim(ClaimKind.CODE, event.code)
    new = _new(state, phase=Phase.SELF_PIN, claim=claim)
    return new, (ArmTimer(new.token, rules.claim_timeout),)


def check_identity(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert state.claim is not None and isinstance(event, EnterPin)
    new = replace(state, phase=Phase.SELF_CHECK)
    return new, (Identify(state.token, state.claim, event.pin), ArmTimer(state.token, rules.decision_timeout))


def offer_deletion(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, Identified)
    new = replace(state, phase=Phase.SELF_MENU, resident_id=event.resident_id, token=state.token + 1)
    return new, (ArmTimer(new.token, rules.claim_timeout),)


def _self_done(state: State, rules: Rules, outcome: SelfServiceOutcome | None, *, refusal: Decision | None = None,
               receipt: int | None = None) -> tuple[State, tuple[Effect, ...]]:
    new = replace(state, phase=Phase.SELF_DONE, self_outcome=outcome, decision=refusal, receipt=receipt,
                  token=state.token + 1)
    seconds = rules.receipt_timeout if receipt is not None else rules.refusal_timeout
    return new, (ArmTimer(new.token, seconds),)


def nothing_to_delete(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    return _self_done(state, rules, SelfServiceOutcome.NOTHING_TO_DELETE)


def refuse_identity(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, Identified)
    refusal = event.refusal or Decision(False, Reason.UNKNOWN_RESIDENT)
    return _self_done(state, rules, None, refusal=refusal)


def delete_face_data(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert state.resident_id is not None
    new = replace(state, phase=Phase.SELF_DELETE)
    return new, (DeleteFaceData(state.token, state.resident_id), ArmTimer(state.token, rules.decision_timeout))


def show_deletion(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    assert isinstance(event, FaceDataDeleted)
    return _self_done(state, rules, event.outcome, receipt=event.receipt)


def identity_unanswered(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    return _self_done(state, rules, SelfServiceOutcome.DATABASE_UNAVAILABLE)


def deletion_unanswered(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    return _self_done(state, rules, SelfServiceOutcome.UNCONFIRMED)


def to_idle(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    return State(token=state.token + 1), _stop(state)


def passage_done(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    return State(token=state.token + 1), ()


# -- the table --------------------------------------------------------------------------------------
P = Phase
SELF_SERVICE_PHASES = frozenset(p for p in Phase if p.self_service)
_ANY_ACTIVE = frozenset({P.CLAIM, P.CHOICE, P.PRECHECK, P.CAPTURE, P.OPEN, P.REFUSAL}) | SELF_SERVICE_PHASES
# Every phase but the self-service claim, where the card is the claim of the person asking.
_CARD_READY = frozenset({P.IDLE, P.CLAIM, P.CHOICE, P.PRECHECK, P.CAPTURE, P.OPEN, P.REFUSAL}) | (
    SELF_SERVICE_PHASES - {P.SELF_CLAIM})
_SELF_SERVICE_FROM = frozenset({P.IDLE, P.CLAIM, P.CHOICE, P.REFUSAL, P.SELF_DONE})


def _t(sources: set[Phase] | frozenset[Phase], event: type[Event], guard: Guard, action: Action,
       target: Phase) -> Transition:
    return Transition(frozenset(sources), event, guard, action, target)


TRANSITIONS: tuple[Transition, ...] = (
    # "My face data": identify by card or resident code, then PIN; withdraw and delete on request.
    _t({P.SELF_CLAIM}, PresentCard, always, hold_self_claim, P.SELF_PIN),
    _t({P.SELF_CLAIM}, EnterCode, always, hold_self_claim, P.SELF_PIN),
    _t(_SELF_SERVICE_FROM, OpenSelfService, self_service_enabled, start_self_service, P.SELF_CLAIM),
    _t({P.SELF_PIN}, EnterPin, always, check_identity, P.SELF_CHECK),
    _t({P.SELF_CHECK}, Identified, identified_with_face_data, offer_deletion, P.SELF_MENU),
    _t({P.SELF_CHECK}, Identified, identified_without_face_data, nothing_to_delete, P.SELF_DONE),
    _t({P.SELF_CHECK}, Identified, not_identified, refuse_identity, P.SELF_DONE),
    _t({P.SELF_MENU}, ConfirmDelete, always, delete_face_data, P.SELF_DELETE),
    _t({P.SELF_DELETE}, FaceDataDeleted, is_current, show_deletion, P.SELF_DONE),
    _t({P.SELF_CHECK}, TimedOut, is_current, identity_unanswered, P.SELF_DONE),
    _t({P.SELF_DELETE}, TimedOut, is_current, deletion_unanswered, P.SELF_DONE),
    _t({P.SELF_CLAIM, P.SELF_PIN, P.SELF_MENU, P.SELF_DONE}, TimedOut, is_current, to_idle, P.IDLE),
    # A card is always read, whatever the screen shows: it starts a new transaction.
    _t({P.CLAIM}, PresentCard, face_intended, precheck_card, P.PRECHECK),
    _t(_CARD_READY, PresentCard, card_alone_accepted, decide_card, P.DECISION),
    _t(_CARD_READY, PresentCard, card_needs_second_step, hold_card, P.CHOICE),
    # A visitor code (keypad or screen): decided at once, whatever way in was chosen.
    _t({P.IDLE, P.CLAIM, P.CHOICE, P.REFUSAL, P.OPEN}, EnterCode, visitor_code_entered, decide_visitor_code,
       P.DECISION),
    # A resident code (keypad or screen).
    _t({P.CLAIM}, EnterCode, face_intended, precheck_code, P.PRECHECK),
    _t({P.IDLE, P.CLAIM, P.CHOICE, P.REFUSAL, P.OPEN}, EnterCode, face_not_intended, hold_code, P.CHOICE),
    _t({P.CHOICE}, EnterPin, always, decide_pin, P.DECISION),
    # Buttons on the screen.
    _t({P.CHOICE, P.REFUSAL}, Choose, face_chosen_with_claim, precheck_held_claim, P.PRECHECK),
    _t({P.REFUSAL}, Choose, pin_chosen_with_claim, enter_pin_for_claim, P.CHOICE),
    _t({P.IDLE, P.CLAIM, P.CHOICE, P.REFUSAL}, Choose, choice_without_claim, choose_way, P.CLAIM),
    # Results of the runtime's work.
    _t({P.CHOICE}, FaceOfferChecked, current_claim_checked, note_face_offer, P.CHOICE),
    _t({P.PRECHECK}, Prechecked, current_and_cleared, start_capture, P.CAPTURE),
    _t({P.PRECHECK}, Prechecked, current_and_refused, refuse, P.REFUSAL),
    _t({P.CAPTURE}, FaceVerified, is_current, decide_face, P.DECISION),
    _t({P.DECISION}, Decided, current_and_granted, open_door, P.OPEN),
    _t({P.DECISION}, Decided, current_and_denied, refuse, P.REFUSAL),
    _t({P.OPEN}, Passed, always, passage_done, P.IDLE),
    # Time.
    _t({P.PRECHECK, P.CAPTURE}, TimedOut, is_current, refuse_unavailable, P.REFUSAL),
    _t({P.CLAIM, P.CHOICE, P.DECISION, P.OPEN, P.REFUSAL}, TimedOut, is_current, to_idle, P.IDLE),
    _t(_ANY_ACTIVE, Cancel, always, to_idle, P.IDLE),
)


def step(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    """The first transition whose source, event type and guard match; otherwise the event is ignored."""
    for transition in TRANSITIONS:
        if (state.phase in transition.source and isinstance(event, transition.event)
                and transition.guard(state, event, rules)):
            return transition.action(state, event, rules)
    return state, ()


def offered(state: State, rules: Rules) -> list[str]:
    """The buttons the screen shows now. Face only where allowed, never alone, never preselected."""
    ways = ["card"] if rules.methods & {Method.CARD, Method.CARD_PIN, Method.CARD_FACE} else []
    # "PIN" starts with a resident code: only where resident code + PIN is accepted (card + PIN starts
    # with the card, which the card tile covers).
    if Method.PIN in rules.methods:
        ways.append("pin")
    face_ok = rules.face_allowed and state.face_failures < rules.max_face_attempts and not state.face_declined
    if state.claim is not None and not face_fits(state.claim.kind, rules):
        face_ok = False  # a held card at a gate with code+face only (or the reverse) cannot lead to face
    if state.decision is not None and state.decision.reason in (Reason.NO_CONSENT, Reason.CONSENT_LAPSED,
                                                                Reason.NO_TEMPLATE, Reason.FACE_EXPIRED,
                                                                Reason.FACE_ATTEMPTS_EXHAUSTED):
        face_ok = False
    if face_ok and ways:
        ways.append("face")
    return ways


def face_claims(rules: Rules) -> list[str]:
    """What face starts with at this gate, for the screen's words: "card" (card+face), "code" (face)."""
    return [kind for kind, method in (("card", Method.CARD_FACE), ("code", Method.FACE)) if method in rules.methods]


def self_service_offered(state: State, rules: Rules) -> bool:
    """Whether the screen shows "My face data": only where the site allows it, and not mid-transaction."""
    return rules.self_service and state.phase in _SELF_SERVICE_FROM


def describe() -> list[dict[str, str]]:
    """The transition table as rows (for docs/service.md and `gate status --machine`)."""
    return [{"from": ", ".join(sorted(p.value for p in t.source)), "event": t.event.__name__,
             "guard": t.guard_name, "to": t.target.value} for t in TRANSITIONS]

