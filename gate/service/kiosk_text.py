"""What the gate's screen says in each phase of a transaction."""

from __future__ import annotations

from gate.core import machine as m
from gate.core.decision import Decision, Reason

PHASE_MESSAGES = {
    m.Phase.IDLE: "Present your card, or choose a way in.",
    m.Phase.CLAIM: "Present your card or type your resident code.",
    m.Phase.CHOICE: "Enter your PIN.",
    m.Phase.DECISION: "One moment...",
    m.Phase.PRECHECK: "One moment...",
    m.Phase.CAPTURE: "Camera on: look at the camera.",
}

DOOR_FAILED = "Access granted, but the door could not be released. Please call the management office."
ENROLL_HINT = "To use face, ask the management office to enroll you (it needs your separate consent)."
CHALLENGES = {"blink": "Blink once.", "head_turn": "Turn your head to the {direction}, then look back."}


def challenge_text(liveness: str, direction: str | None) -> str | None:
    """The liveness instruction shown while the camera is on; None without a challenge."""
    text = CHALLENGES.get(liveness)
    return text.format(direction=direction) if text is not None else None


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
