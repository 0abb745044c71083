"""A resident's own request at the kiosk (PIPL art. 15, 47): who they are, and what became of the request.

Pure: the caller looks the claim up, verifies the PIN hash and reads the lock counters, then asks
`identify`. Only card + PIN or resident code + PIN identify a resident here: never a face (the
request may be to delete it) and never a card alone (a found card is not its owner). The gate's
ways in do not matter: this is not a way in, and nothing here ever opens the door.
"""

from __future__ import annotations

import enum

from gate.core.decision import Decision, Locks, Reason, Subject


class SelfServiceOutcome(enum.StrEnum):
    DELETED = "deleted"                     # face data shredded, consent withdrawn, receipt issued
    NOTHING_TO_DELETE = "nothing_to_delete"  # no consent and no template held for this resident
    DATABASE_UNAVAILABLE = "database_unavailable"  # nothing was changed
    UNCONFIRMED = "unconfirmed"            # the answer never came: the office can check the audit log


def identify(subject: Subject | None, claimed_by_card: bool, pin_matches: bool | None, locks: Locks) -> Decision | None:
    """None when the resident is identified; otherwise the refusal, worded as at the gate.

    The order follows `decide()`: during the keypad's wait nothing typed is looked at, so the wait
    bounds guesses here as it does at the gate; a locked PIN is never tested. A card is never "use
    your card" advice here (`card_works` stays False): the card cannot identify on its own.
    """
    if locks.gate_wait_seconds > 0:
        return Decision(False, Reason.PIN_WAIT, retry_after_seconds=locks.gate_wait_seconds)
    if subject is None:
        return Decision(False, Reason.UNKNOWN_CARD if claimed_by_card else Reason.UNKNOWN_RESIDENT)
    if not subject.active:
        return Decision(False, Reason.RESIDENT_INACTIVE)
    if locks.resident_locked_seconds > 0:
        return Decision(False, Reason.LOCKED_OUT, tries_left=0, retry_after_seconds=locks.resident_locked_seconds)
    if not subject.has_pin:
        return Decision(False, Reason.PIN_NOT_SET)
    if pin_matches is not True:
        return Decision(False, Reason.WRONG_PIN)
    return None


def holds_face_data(subject: Subject) -> bool:
    """Whether there is anything to withdraw or delete: a current consent or a template."""
    return subject.has_consent or subject.has_template
