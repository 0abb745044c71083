"""The vocabulary of one transaction at one gate: phases, events, effects, the gate's rules, the state.

Pure data, no behaviour beyond small properties: `gate.core.machine` holds the transitions between
them. States are nouns (`Phase`), events are verbs (`Event` subclasses) and effects are what the
runtime must carry out (decide, open the door, start the camera, arm a timer...). Results of that work
come back as events carrying the transaction's `token`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gate.core.claims import Claim
from gate.core.decision import Decision, FaceOutcome
from gate.core.policy import Method

__all__ = [
    "ArmTimer", "Cancel", "CheckFaceOffer", "Choose", "Decide", "Decided", "Effect", "EnterCode", "EnterPin", "Event",
    "FaceOfferChecked", "FaceVerified", "Grant", "Passed", "Phase", "Precheck", "Prechecked", "PresentCard", "Refuse",
    "Rules", "StartFace", "State", "StopFace", "TimedOut",
]


class Phase(enum.StrEnum):
    IDLE = "idle"              # nothing going on: card reader live, screen shows the ways in
    CLAIM = "claim"            # a way in was chosen on the screen; waiting for a card or resident code
    CHOICE = "choice"          # a claim is held; waiting for the PIN or for "Face"
    DECISION = "decision"      # card or PIN being decided
    PRECHECK = "precheck"      # face chosen: checking consent/template before any camera opens
    CAPTURE = "capture"        # camera on (indicator shown), face being verified off the event loop
    OPEN = "open"              # granted: door released, waiting for the passage
    REFUSAL = "refusal"        # denied: reason and alternatives on screen


# -- events (verbs) ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class PresentCard(Event):
    number: str


@dataclass(frozen=True)
class EnterCode(Event):
    code: str


@dataclass(frozen=True)
class EnterPin(Event):
    pin: str


@dataclass(frozen=True)
class Choose(Event):
    method: str  # "card" | "pin" | "face"


@dataclass(frozen=True)
class Cancel(Event):
    pass


@dataclass(frozen=True)
class Prechecked(Event):
    token: int
    denial: Decision | None


@dataclass(frozen=True)
class FaceVerified(Event):
    token: int
    outcome: FaceOutcome


@dataclass(frozen=True)
class Decided(Event):
    token: int
    decision: Decision
    method: Method


@dataclass(frozen=True)
class FaceOfferChecked(Event):
    """Whether the claimant's latest face consent decision is a refusal or a withdrawal (A3: no nagging)."""

    token: int
    declined: bool


@dataclass(frozen=True)
class TimedOut(Event):
    token: int


@dataclass(frozen=True)
class Passed(Event):
    """The turnstile/door passage sensor saw someone go through."""


# -- effects (what the runtime must do) -------------------------------------------------------------
@dataclass(frozen=True)
class Effect:
    pass


@dataclass(frozen=True)
class Decide(Effect):
    token: int
    method: Method
    claim: Claim
    pin: str | None = None
    face: FaceOutcome | None = None
    face_failures: int = 0


@dataclass(frozen=True)
class Precheck(Effect):
    token: int
    claim: Claim
    face_failures: int


@dataclass(frozen=True)
class CheckFaceOffer(Effect):
    """Ask whether the held claim's resident declined face, so the screen need not offer it again."""

    token: int
    claim: Claim


@dataclass(frozen=True)
class StartFace(Effect):
    token: int
    claim: Claim


@dataclass(frozen=True)
class StopFace(Effect):
    """Abandon any running face attempt (its result will be stale anyway) and close the camera."""


@dataclass(frozen=True)
class Grant(Effect):
    decision: Decision


@dataclass(frozen=True)
class Refuse(Effect):
    decision: Decision


@dataclass(frozen=True)
class ArmTimer(Effect):
    token: int
    seconds: float


# -- state and rules --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rules:
    """What the machine needs to know about the gate. Built by the runtime from the gate's policy."""

    methods: frozenset[Method]
    max_face_attempts: int = 3
    claim_timeout: float = 20.0     # choosing / typing
    face_timeout: float = 15.0      # camera on at most this long
    decision_timeout: float = 10.0  # a decision that never comes (database stuck)
    refusal_timeout: float = 8.0    # how long a refusal stays on screen
    passage_timeout: float = 8.0    # "open" on screen; the door controller times the passage itself

    @property
    def face_allowed(self) -> bool:
        return any(m.uses_face for m in self.methods)


@dataclass(frozen=True)
class State:
    phase: Phase = Phase.IDLE
    token: int = 0
    claim: Claim | None = None
    intent: str | None = None        # what was chosen on the screen before the claim came
    face_failures: int = 0
    decision: Decision | None = None
    method: Method | None = None     # of the last decision
    face_declined: bool = False      # the claimant refused or withdrew face consent: face is not offered

    @property
    def camera_on(self) -> bool:
        return self.phase is Phase.CAPTURE
