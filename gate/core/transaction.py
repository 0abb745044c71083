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
from gate.core.selfservice import SelfServiceOutcome

__all__ = [
    "ArmTimer", "Cancel", "CheckFaceOffer", "Choose", "ConfirmDelete", "Decide", "Decided", "DeleteFaceData", "Effect",
    "EnterCode", "EnterPin", "Event", "FaceDataDeleted", "FaceOfferChecked", "FaceVerified", "Grant", "Identified",
    "Identify", "OpenSelfService", "Passed", "Phase", "Precheck", "Prechecked", "PresentCard", "Refuse", "Rules",
    "StartFace", "State", "StopFace", "TimedOut",
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
    # "My face data": a resident's own withdrawal and deletion (P2). Never a way in: no phase here opens.
    SELF_CLAIM = "self_claim"  # waiting for the card or resident code of the person asking
    SELF_PIN = "self_pin"      # claim held; waiting for their PIN (a card alone never identifies)
    SELF_CHECK = "self_check"  # PIN being checked, under the same lock-out counters as at the gate
    SELF_MENU = "self_menu"    # identified, face data held: "withdraw consent and delete my face data"?
    SELF_DELETE = "self_delete"  # deletion running
    SELF_DONE = "self_done"    # the receipt, "nothing to delete", or why not, on screen

    @property
    def self_service(self) -> bool:
        return self.value.startswith("self_")


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
class OpenSelfService(Event):
    """The "My face data" button."""


@dataclass(frozen=True)
class ConfirmDelete(Event):
    """The identified resident pressed "withdraw consent and delete my face data"."""


@dataclass(frozen=True)
class Identified(Event):
    """The PIN check's answer: `refusal` None means `resident_id` is who they said they are."""

    token: int
    resident_id: int | None
    refusal: Decision | None
    has_face_data: bool = False


@dataclass(frozen=True)
class FaceDataDeleted(Event):
    token: int
    outcome: SelfServiceOutcome
    receipt: int | None = None


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
class Identify(Effect):
    """Check a self-service claim's PIN (counted by the PIN lock-outs); answered by `Identified`."""

    token: int
    claim: Claim
    pin: str


@dataclass(frozen=True)
class DeleteFaceData(Effect):
    """Withdraw the identified resident's face consent and shred their template; answered by `FaceDataDeleted`."""

    token: int
    resident_id: int


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
    receipt_timeout: float = 60.0   # a deletion receipt stays on screen long enough to write it down
    self_service: bool = False      # [privacy] kiosk_self_service: residents may delete their face data here

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
    resident_id: int | None = None   # self-service: the resident identified by card/code + PIN
    self_outcome: SelfServiceOutcome | None = None  # self-service: what became of the request
    receipt: int | None = None       # self-service: the deletion receipt's number

    @property
    def camera_on(self) -> bool:
        return self.phase is Phase.CAPTURE
