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
from gate.core.transaction import (
    ArmTimer,
    Cancel,
    CheckFaceOffer,
    Choose,
    Decide,
    Decided,
    Effect,
    EnterCode,
    EnterPin,
    Event,
    FaceOfferChecked,
    FaceVerified,
    Grant,
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

__all__ = [
    # the types, from gate.core.transaction
    "ArmTimer", "Cancel", "CheckFaceOffer", "Choose", "Decide", "Decided", "Effect", "EnterCode", "EnterPin", "Event",
    "FaceOfferChecked", "FaceVerified", "Grant", "Passed", "Phase", "Precheck", "Prechecked", "PresentCard", "Refuse",
    "Rules", "StartFace", "State", "StopFace", "TimedOut",
    # the behaviour
    "TRANSITIONS", "Action", "Guard", "Transition", "describe", "offered", "step",
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


def face_intended(state: State, event: Event, rules: Rules) -> bool:
    return state.intent == "face" and rules.face_allowed


def face_not_intended(state: State, event: Event, rules: Rules) -> bool:
    return not face_intended(state, event, rules)


def face_chosen_with_claim(state: State, event: Event, rules: Rules) -> bool:
    return (getattr(event, "method", None) == "face" and rules.face_allowed and state.claim is not None
            and not state.face_declined)


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


def to_idle(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    return State(token=state.token + 1), _stop(state)


def passage_done(state: State, event: Event, rules: Rules) -> tuple[State, tuple[Effect, ...]]:
    return State(token=state.token + 1), ()


# -- the table --------------------------------------------------------------------------------------
P = Phase
_ANY_ACTIVE = frozenset({P.CLAIM, P.CHOICE, P.PRECHECK, P.CAPTURE, P.OPEN, P.REFUSAL})
_CARD_READY = frozenset({P.IDLE, P.CLAIM, P.CHOICE, P.PRECHECK, P.CAPTURE, P.OPEN, P.REFUSAL})


def _t(sources: set[Phase] | frozenset[Phase], event: type[Event], guard: Guard, action: Action,
       target: Phase) -> Transition:
    return Transition(frozenset(sources), event, guard, action, target)


TRANSITIONS: tuple[Transition, ...] = (
    # A card is always read, whatever the screen shows: it starts a new transaction.
    _t({P.CLAIM}, PresentCard, face_intended, precheck_card, P.PRECHECK),
    _t(_CARD_READY, PresentCard, card_alone_accepted, decide_card, P.DECISION),
    _t(_CARD_READY, PresentCard, card_needs_second_step, hold_card, P.CHOICE),
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
    if rules.methods & {Method.PIN, Method.CARD_PIN}:
        ways.append("pin")
    face_ok = rules.face_allowed and state.face_failures < rules.max_face_attempts and not state.face_declined
    if state.decision is not None and state.decision.reason in (Reason.NO_CONSENT, Reason.CONSENT_LAPSED,
                                                                Reason.NO_TEMPLATE, Reason.FACE_EXPIRED,
                                                                Reason.FACE_ATTEMPTS_EXHAUSTED):
        face_ok = False
    if face_ok and ways:
        ways.append("face")
    return ways


def describe() -> list[dict[str, str]]:
    """The transition table as rows (for docs/service.md and `gate status --machine`)."""
    return [{"from": ", ".join(sorted(p.value for p in t.source)), "event": t.event.__name__,
             "guard": t.guard_name, "to": t.target.value} for t in TRANSITIONS]

