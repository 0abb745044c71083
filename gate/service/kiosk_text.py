"""What the gate's screen says in each phase of a transaction.

Two forms of the same words. `kiosk_message` is the English sentence in the snapshot (`gate status`,
/health, the event tests). `screen_lines` is what the kiosk shows: short lines as `Text` (a catalogue
message marked with `N_` and its parameters), translated by the kiosk blueprint into the screen's
language at display time; nothing here knows which language that is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

from gate.core import machine as m
from gate.core.decision import Decision, Reason
from gate.i18n.marker import N_

#: A message id and its parameters; a parameter may itself be a Text (translated first), e.g. "8 s".
Text = tuple[str, Mapping[str, Union[str, int, "Text"]]]

PHASE_MESSAGES = {
    m.Phase.IDLE: N_("Present your card, or choose a way in."),
    m.Phase.CLAIM: N_("Present your card or type your resident code."),
    m.Phase.CHOICE: N_("Enter your PIN."),
    m.Phase.DECISION: N_("One moment..."),
    m.Phase.PRECHECK: N_("One moment..."),
    m.Phase.CAPTURE: N_("Camera on: look at the camera."),
}

# English only (the snapshot's sentence); the screen's own words are below.
DOOR_FAILED = "Access granted, but the door could not be released. Please call the management office."
ENROLL_HINT = "To use face, ask the management office to enroll you (it needs your separate consent)."
CHALLENGES = {"blink": "Blink once.", "head_turn": "Turn your head to the {direction}, then look back."}
DIRECTIONS = {"left": N_("left"), "right": N_("right")}

# The kiosk's own words for the claim, by what was chosen: a card tile shows the card picture, a PIN
# tile the code keypad, and face only the claims this gate accepts before face (machine.face_claims).
CLAIM_LINES = {
    "card": N_("Hold your card to the reader."),
    "code": N_("Type your resident code."),
    "card_or_code": N_("Present your card or type your resident code."),
}
LOOK = N_("Look at the camera.")
SCREEN_CHALLENGES = {"blink": N_("Blink once."),
                     "head_turn": N_("Turn your head to the %(direction)s, then look back.")}

# A refusal on the screen is one short line (the alternatives are buttons below it), in the words of
# the glossary's "At the gate" table. The long English sentences stay in Decision.message.
REFUSALS: dict[Reason, str] = {
    Reason.METHOD_NOT_ALLOWED: N_("This way in is not accepted here."),
    Reason.UNKNOWN_CARD: N_("Card not recognised."),
    Reason.UNKNOWN_RESIDENT: N_("Resident code not recognised."),
    Reason.RESIDENT_INACTIVE: N_("You are no longer registered here. Please ask the management office."),
    Reason.OUTSIDE_SCHEDULE: N_("Not allowed at this time."),
    Reason.ANTI_PASSBACK: N_("You are recorded inside: please leave by the exit first."),
    Reason.LOCKED_OUT: N_("Too many wrong PINs. Please try again later."),
    Reason.PIN_WAIT: N_("Please wait a moment before the next PIN."),
    Reason.PIN_NOT_SET: N_("No PIN is set for you. Please ask the management office."),
    Reason.WRONG_PIN: N_("Wrong PIN."),
    Reason.FACE_ATTEMPTS_EXHAUSTED: N_("Face did not work this time."),
    Reason.NO_CONSENT: N_("Face is not set up for you."),
    Reason.CONSENT_LAPSED: N_("Your face consent must be renewed at the management office."),
    Reason.NO_TEMPLATE: N_("Face is not enrolled for you."),
    Reason.FACE_EXPIRED: N_("Your face enrollment has expired."),
    Reason.FACE_UNAVAILABLE: N_("Face recognition is unavailable right now."),
    Reason.LIVENESS_FAILED: N_("The liveness check did not pass."),
    Reason.FACE_MISMATCH: N_("Face not matched. Please use your card or PIN."),
    Reason.DATABASE_UNAVAILABLE: N_("Cannot check right now. Please call the management office."),
    Reason.NOT_YET_VALID: N_("Your access has not started yet."),
    Reason.EXPIRED: N_("Your access has ended. Please ask the management office."),
    Reason.CARD_NOT_YET_VALID: N_("This card is not valid yet."),
    Reason.CARD_EXPIRED: N_("This card has expired. Please use your PIN or ask the management office."),
    Reason.VISITOR_UNKNOWN: N_("Visitor code not recognised."),
    Reason.VISITOR_NOT_YET_VALID: N_("This visitor code is not valid yet."),
    Reason.VISITOR_EXPIRED: N_("This visitor code has expired."),
    Reason.VISITOR_USED_UP: N_("This visitor code has been used up."),
    Reason.VISITOR_WRONG_GATE: N_("This visitor code is not for this gate."),
    Reason.VISITOR_REVOKED: N_("This visitor code was cancelled."),
    Reason.LOCKDOWN: N_("This gate is locked down. Please call the management office."),
}
SCREEN_ENROLL_HINT = N_("To use face, ask the management office (it needs your separate consent).")
SCREEN_DOOR_FAILED = N_("The door could not be released. Please call the management office.")
WRONG_PIN_TRIES = N_("Wrong PIN. %(tries)d tries left.")
WRONG_PIN_ONE_TRY = N_("Wrong PIN. One try left.")
LOCKED_WAIT = N_("Too many wrong PINs. Please try again in %(wait)s.")
PIN_WAIT = N_("Please wait %(wait)s before the next PIN.")
SECONDS = N_("%(n)d s")
MINUTES = N_("%(n)d min")


def challenge_text(liveness: str, direction: str | None) -> str | None:
    """The liveness instruction shown while the camera is on; None without a challenge."""
    text = CHALLENGES.get(liveness)
    return text.format(direction=direction) if text is not None else None


def challenge_line(liveness: str, direction: str | None) -> Text | None:
    """The same instruction for the screen, translated there (the direction too)."""
    text = SCREEN_CHALLENGES.get(liveness)
    if text is None:
        return None
    return text, ({"direction": (DIRECTIONS.get(direction or "", direction or ""), {})} if direction else {})


def kiosk_message(phase: m.Phase, decision: Decision | None, *, door_failed: bool = False,
                  challenge: str | None = None) -> str:
    if phase in (m.Phase.OPEN, m.Phase.REFUSAL) and decision is not None:
        message = decision.message
    else:
        message = PHASE_MESSAGES.get(phase, "")
    if phase is m.Phase.OPEN and door_failed:
        message = DOOR_FAILED
    if phase is m.Phase.CAPTURE and challenge:
        message += " " + challenge
    if phase is m.Phase.REFUSAL and decision is not None and decision.reason is Reason.NO_CONSENT:
        message += " " + ENROLL_HINT
    return message


def wait_text(seconds: int) -> Text:
    """As decision.duration_text: seconds under a minute, else whole minutes rounded up."""
    return (SECONDS, {"n": seconds}) if seconds < 60 else (MINUTES, {"n": -(-seconds // 60)})


def refusal_lines(decision: Decision) -> tuple[Text, ...]:
    """At most two short lines for a refusal; the ways that still work are the screen's buttons."""
    wait = wait_text(decision.retry_after_seconds) if decision.retry_after_seconds else None
    reason = decision.reason
    if reason is Reason.WRONG_PIN and decision.tries_left is not None:
        if decision.tries_left == 0 and wait:
            return ((REFUSALS[Reason.WRONG_PIN], {}), (LOCKED_WAIT, {"wait": wait}))
        tries: Text = ((WRONG_PIN_ONE_TRY, {}) if decision.tries_left == 1
                       else (WRONG_PIN_TRIES, {"tries": decision.tries_left}))
        return (tries, (PIN_WAIT, {"wait": wait})) if wait else (tries,)
    if reason is Reason.LOCKED_OUT and wait:
        return ((LOCKED_WAIT, {"wait": wait}),)
    if reason is Reason.PIN_WAIT and wait:
        return ((PIN_WAIT, {"wait": wait}),)
    first: Text = (REFUSALS.get(reason, REFUSALS[Reason.METHOD_NOT_ALLOWED]), {})
    if reason is Reason.NO_CONSENT:
        return (first, (SCREEN_ENROLL_HINT, {}))
    return (first,)


def claim_line(intent: str | None, face_claims: list[str]) -> Text:
    if intent == "card":
        return CLAIM_LINES["card"], {}
    if intent == "pin":
        return CLAIM_LINES["code"], {}
    if intent == "face" and face_claims == ["card"]:
        return CLAIM_LINES["card"], {}
    if intent == "face" and face_claims == ["code"]:
        return CLAIM_LINES["code"], {}
    return CLAIM_LINES["card_or_code"], {}


def screen_lines(state: m.State, face_claims: list[str], *, door_failed: bool = False,
                 challenge: Text | None = None) -> tuple[Text, ...]:
    """The kiosk's lines for a phase outside "My face data" (self_service_text has those)."""
    phase, decision = state.phase, state.decision
    if phase is m.Phase.OPEN:
        return ((SCREEN_DOOR_FAILED, {}),) if door_failed else ()
    if phase is m.Phase.REFUSAL and decision is not None:
        return refusal_lines(decision)
    if phase is m.Phase.CLAIM:
        return (claim_line(state.intent, face_claims),)
    if phase is m.Phase.CAPTURE:
        return ((LOOK, {}),) + ((challenge,) if challenge else ())
    text = PHASE_MESSAGES.get(phase)
    return ((text, {}),) if text else ()
