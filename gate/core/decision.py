"""The access decision: a pure function of policy, method, subject, evidence and lock state.

No I/O happens here. The caller resolves the claim, verifies the PIN hash and runs the face
pipeline, then asks `decide`. A face failure never becomes "open" and always comes with the
non-face alternatives of the gate.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace
from datetime import datetime

from gate.core.policy import NON_FACE, GatePolicy, Method
from gate.core.validity import Standing, Validity


class Reason(enum.StrEnum):
    GRANTED = "granted"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNKNOWN_CARD = "unknown_card"
    UNKNOWN_RESIDENT = "unknown_resident"
    RESIDENT_INACTIVE = "resident_inactive"
    OUTSIDE_SCHEDULE = "outside_schedule"
    ANTI_PASSBACK = "anti_passback"
    LOCKED_OUT = "locked_out"  # this resident's PIN, after too many wrong PINs for them
    PIN_WAIT = "pin_wait"  # the gate keypad's wait after recent wrong PINs; the PIN was not evaluated
    PIN_NOT_SET = "pin_not_set"
    WRONG_PIN = "wrong_pin"
    FACE_ATTEMPTS_EXHAUSTED = "face_attempts_exhausted"
    NO_CONSENT = "no_consent"
    CONSENT_LAPSED = "consent_lapsed"  # given against an older notice, or by a guardian before the 14th birthday
    NO_TEMPLATE = "no_template"
    FACE_EXPIRED = "face_expired"  # the template is past its retention deadline (gate.core.retention)
    FACE_UNAVAILABLE = "face_unavailable"
    LIVENESS_FAILED = "liveness_failed"
    FACE_MISMATCH = "face_mismatch"
    DATABASE_UNAVAILABLE = "database_unavailable"  # fits access_events.reason (String(32))
    NOT_YET_VALID = "not_yet_valid"  # the resident's validity starts later (a lease not yet begun)
    EXPIRED = "expired"  # the resident's validity ended (a tenant after the lease): listed for move-out
    CARD_NOT_YET_VALID = "card_not_yet_valid"
    CARD_EXPIRED = "card_expired"
    VISITOR_UNKNOWN = "visitor_unknown"  # no such visitor code, or the wrong digits
    VISITOR_NOT_YET_VALID = "visitor_not_yet_valid"
    VISITOR_EXPIRED = "visitor_expired"
    VISITOR_USED_UP = "visitor_used_up"
    VISITOR_WRONG_GATE = "visitor_wrong_gate"
    VISITOR_REVOKED = "visitor_revoked"
    LOCKDOWN = "lockdown"  # an operator locked the gate down (gate.service.door_override)


MESSAGES = {
    Reason.GRANTED: "Welcome.",
    Reason.METHOD_NOT_ALLOWED: "This gate does not accept that method.",
    Reason.UNKNOWN_CARD: "Card not recognised.",
    Reason.UNKNOWN_RESIDENT: "Resident code not recognised.",
    Reason.RESIDENT_INACTIVE: "This resident is no longer registered here.",
    Reason.OUTSIDE_SCHEDULE: "Access is not allowed at this time.",
    Reason.ANTI_PASSBACK: "You are already recorded inside: leave through the exit gate first.",
    Reason.LOCKED_OUT: "Too many wrong PINs for this resident: try again later, or use your card.",
    Reason.PIN_WAIT: "Please wait a moment before the next PIN.",
    Reason.PIN_NOT_SET: "No PIN has been set for this resident; ask the management office.",
    Reason.WRONG_PIN: "Wrong PIN.",
    Reason.FACE_ATTEMPTS_EXHAUSTED: "Face did not work this time. Please use your card or PIN.",
    Reason.NO_CONSENT: (
        "Face is not set up for you (it needs your consent at the management office). "
        "Please use your card or PIN."
    ),
    Reason.CONSENT_LAPSED: "Your face consent must be renewed at the management office; please use your card or PIN.",
    Reason.NO_TEMPLATE: "Face is not enrolled for you. Please use your card or PIN.",
    Reason.FACE_EXPIRED: (
        "Your face enrollment has expired; please use your card or PIN and ask the office to renew it."
    ),
    Reason.FACE_UNAVAILABLE: "Face recognition is unavailable right now. Please use your card or PIN.",
    Reason.LIVENESS_FAILED: "The face check did not pass. Please try again or use your card or PIN.",
    Reason.FACE_MISMATCH: "Face not matched. Please try again or use your card or PIN.",
    Reason.DATABASE_UNAVAILABLE: "The database is unavailable, so credentials cannot be checked right now. "
                                 "Please call the management office.",
    Reason.NOT_YET_VALID: "Your access here has not started yet; please ask the management office.",
    Reason.EXPIRED: "Your access here has ended; please contact the management office.",
    Reason.CARD_NOT_YET_VALID: "This card is not valid yet; please ask the management office.",
    Reason.CARD_EXPIRED: "This card is no longer valid; please ask the management office.",
    Reason.VISITOR_UNKNOWN: "Visitor code not recognised.",
    Reason.VISITOR_NOT_YET_VALID: "This visitor code is not valid yet; please come back at the time of your visit.",
    Reason.VISITOR_EXPIRED: "This visitor code has expired; please ask the person you are visiting for a new one.",
    Reason.VISITOR_USED_UP: "This visitor code has been used up; please ask the person you are visiting.",
    Reason.VISITOR_WRONG_GATE: "This visitor code is not valid at this gate.",
    Reason.VISITOR_REVOKED: "This visitor code was cancelled; please ask the person you are visiting.",
    Reason.LOCKDOWN: "This gate is locked down by the management office. Please call the office.",
}


class FaceOutcome(enum.StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    UNAVAILABLE = "unavailable"
    LIVENESS_FAILED = "liveness_failed"


@dataclass(frozen=True)
class Subject:
    """What the decision needs to know about the claimed resident."""

    resident_id: int
    active: bool = True
    has_pin: bool = False
    has_card: bool = False
    has_consent: bool = False
    # The consent no longer covers face (gate.store.face_standing): face is not used until it is renewed.
    consent_lapsed: bool = False
    has_template: bool = False
    template_expired: bool = False  # past its retention deadline: it must not be used, even if it would match
    within_schedule: bool = True
    passback_ok: bool = True  # anti-passback (gate pairs): False when already inside
    # When the resident may pass (a tenant's lease), and the claimed card's own period (unbounded for a
    # claim by resident code). Instants; `decide` needs `now` to check a bounded one.
    validity: Validity = field(default_factory=Validity)
    card_validity: Validity = field(default_factory=Validity)


@dataclass(frozen=True)
class Evidence:
    pin_matches: bool | None = None
    face: FaceOutcome | None = None


@dataclass(frozen=True)
class Locks:
    resident_locked_seconds: int = 0  # until the claimed resident's PIN unlocks; 0 when it is not locked
    gate_wait_seconds: int = 0  # before the gate keypad evaluates another PIN; 0 when it does now
    face_failures: int = 0  # in this transaction


def duration_text(seconds: int) -> str:
    """Seconds under a minute ("8 s"), else whole minutes rounded up ("4 min"), as the screen shows them."""
    return f"{seconds} s" if seconds < 60 else f"{math.ceil(seconds / 60)} min"


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: Reason
    offer: frozenset[Method] = frozenset()
    # The numbers behind a PIN refusal, for the screen: wrong PINs this resident may still type before
    # their PIN locks, and seconds before the next PIN is looked at (their lock, or the keypad's wait).
    tries_left: int | None = None
    retry_after_seconds: int | None = None
    # Whether the refused resident has a card this gate accepts: only then is "use your card" advice.
    card_works: bool = False
    #: The granted resident's name, masked (gate.core.names), for the screen's welcome; never the full name.
    #: Display only, so not part of what makes two decisions the same (the offline copy holds no names).
    greeting: str | None = field(default=None, compare=False)

    @property
    def message(self) -> str:
        wait = duration_text(self.retry_after_seconds) if self.retry_after_seconds else None
        locked = f"Too many wrong PINs for this resident: try again in {wait}" + (
            ", or use your card." if self.card_works else ", or ask the management office.")
        if self.reason is Reason.WRONG_PIN and self.tries_left is not None:
            if self.tries_left == 0 and wait:
                return f"Wrong PIN. {locked}"
            tries = f"Wrong PIN. {self.tries_left} {'try' if self.tries_left == 1 else 'tries'} left."
            return f"{tries} Please wait {wait} before the next PIN." if wait else tries
        if self.reason is Reason.LOCKED_OUT and wait:
            return locked
        if self.reason is Reason.PIN_WAIT and wait:
            return f"Please wait {wait} before the next PIN."
        if self.reason is Reason.LOCKED_OUT and not self.card_works:
            return "Too many wrong PINs for this resident: try again later, or ask the management office."
        return MESSAGES[self.reason]


def decide(policy: GatePolicy, method: Method, subject: Subject | None, evidence: Evidence,
           locks: Locks = Locks(), now: datetime | None = None) -> Decision:
    def deny(reason: Reason) -> Decision:
        offer = policy.alternatives if method.uses_face else frozenset()
        return Decision(False, reason, offer)

    if method not in policy.methods:
        return Decision(False, Reason.METHOD_NOT_ALLOWED, policy.alternatives)
    if method.uses_pin and locks.gate_wait_seconds > 0:
        # Before the claim is looked at: during the wait nothing typed is tested, not even whether the
        # resident code exists, so the wait bounds every kind of guess at this keypad.
        return Decision(False, Reason.PIN_WAIT, retry_after_seconds=locks.gate_wait_seconds)
    if subject is None:
        claimed_by_code = method in (Method.PIN, Method.FACE)
        return deny(Reason.UNKNOWN_RESIDENT if claimed_by_code else Reason.UNKNOWN_CARD)
    if not subject.active:
        return deny(Reason.RESIDENT_INACTIVE)
    period = _period_refusal(subject, now)
    if period is not None:
        return deny(period)
    if not subject.within_schedule:
        return deny(Reason.OUTSIDE_SCHEDULE)
    if not subject.passback_ok:
        return deny(Reason.ANTI_PASSBACK)

    if method.uses_pin:
        card_works = subject.has_card and Method.CARD in policy.methods
        if locks.resident_locked_seconds > 0:
            return Decision(False, Reason.LOCKED_OUT, tries_left=0, retry_after_seconds=locks.resident_locked_seconds,
                            card_works=card_works)
        if not subject.has_pin:
            return deny(Reason.PIN_NOT_SET)
        if evidence.pin_matches is not True:
            return replace(deny(Reason.WRONG_PIN), card_works=card_works)

    if method.uses_face:
        if locks.face_failures >= policy.max_face_attempts:
            return deny(Reason.FACE_ATTEMPTS_EXHAUSTED)
        if not subject.has_consent:
            return deny(Reason.NO_CONSENT)
        if subject.consent_lapsed:
            return deny(Reason.CONSENT_LAPSED)
        if not subject.has_template:
            return deny(Reason.NO_TEMPLATE)
        if subject.template_expired:
            return deny(Reason.FACE_EXPIRED)
        face_reasons = {
            None: Reason.FACE_UNAVAILABLE,
            FaceOutcome.UNAVAILABLE: Reason.FACE_UNAVAILABLE,
            FaceOutcome.LIVENESS_FAILED: Reason.LIVENESS_FAILED,
            FaceOutcome.MISMATCH: Reason.FACE_MISMATCH,
        }
        if evidence.face is not FaceOutcome.MATCH:
            return deny(face_reasons[evidence.face])

    return Decision(True, Reason.GRANTED)


def _period_refusal(subject: Subject, now: datetime | None) -> Reason | None:
    """Before any evidence: past the end of validity, card, PIN and face are all refused alike."""
    if not (subject.validity.bounded or subject.card_validity.bounded):
        return None
    if now is None:  # fail closed: a bounded period never passes unchecked
        raise ValueError("decide() needs `now` for a subject with a validity period")
    standing = {Standing.NOT_YET: Reason.NOT_YET_VALID, Standing.ENDED: Reason.EXPIRED}
    card_standing = {Standing.NOT_YET: Reason.CARD_NOT_YET_VALID, Standing.ENDED: Reason.CARD_EXPIRED}
    return standing.get(subject.validity.standing(now)) or card_standing.get(subject.card_validity.standing(now))


def decide_unavailable(methods: frozenset[Method], method: Method) -> Decision:
    """The refusal when credentials cannot be checked: database unreachable and no usable offline copy.

    Nobody is told their card or code is unknown when it was never looked up. Face keeps its own
    reason and offers the gate's non-face ways (they may still work from the offline copy); card and
    PIN have nothing left to offer, so the message sends the person to the management office.
    """
    if method.uses_face:
        return Decision(False, Reason.FACE_UNAVAILABLE, methods & NON_FACE)
    return Decision(False, Reason.DATABASE_UNAVAILABLE)
