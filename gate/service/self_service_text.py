"""What the gate's screen says during "My face data" (the resident's own withdrawal and deletion, P2).

Every ending says that card and PIN keep working: withdrawing face changes nothing else (A2), and a
resident who came to delete must not leave thinking they lost their way in. Messages are marked with
`N_` and translated by the kiosk into the screen's language; `message` is the English sentence.
"""

from __future__ import annotations

from gate.core import machine as m
from gate.i18n.marker import N_
from gate.service.kiosk_text import Text, refusal_lines

BUTTON = N_("My face data")
DELETE_BUTTON = N_("Withdraw consent and delete my face data")
KEEPS_WORKING = N_("Your card and PIN keep working.")

PHASE_MESSAGES = {
    m.Phase.SELF_CLAIM: N_("My face data: present your card or type your resident code."),
    m.Phase.SELF_PIN: N_("Enter your PIN."),
    m.Phase.SELF_CHECK: N_("One moment..."),
    m.Phase.SELF_MENU: N_("Face data is held for you. You can withdraw your face consent and have your face "
                          "data deleted now."),
    m.Phase.SELF_DELETE: N_("Deleting your face data..."),
}
_KEEPS = frozenset({m.Phase.SELF_MENU})

OUTCOMES = {
    m.SelfServiceOutcome.NOTHING_TO_DELETE: N_("No face data is held for you, so there is nothing to delete."),
    m.SelfServiceOutcome.DATABASE_UNAVAILABLE: N_("The database is not answering, so nothing was deleted. Please "
                                                  "try again later or ask the management office."),
    m.SelfServiceOutcome.UNCONFIRMED: N_("The deletion could not be confirmed. Please ask the management office, "
                                         "which can check it and print your receipt."),
}
DELETED = N_("Your face data has been deleted and your face consent withdrawn. Receipt number %(receipt)s.")
NOTHING_DELETED = N_("Nothing was deleted.")


def lines(state: m.State) -> tuple[Text, ...]:
    """The screen's lines in a self-service phase, translated by the kiosk."""
    keeps: Text = (KEEPS_WORKING, {})
    if state.phase is not m.Phase.SELF_DONE:
        text = PHASE_MESSAGES.get(state.phase)
        if text is None:
            return ()
        return ((text, {}), keeps) if state.phase in _KEEPS else ((text, {}),)
    if state.self_outcome is m.SelfServiceOutcome.DELETED and state.receipt is not None:
        return ((DELETED, {"receipt": state.receipt}), keeps)
    if state.self_outcome is not None and state.self_outcome in OUTCOMES:
        return ((OUTCOMES[state.self_outcome], {}), keeps)
    if state.decision is not None:  # the identification was refused: wrong PIN, locked, unknown...
        return refusal_lines(state.decision)[:1] + ((NOTHING_DELETED, {}),)
    return ((OUTCOMES[m.SelfServiceOutcome.UNCONFIRMED], {}), keeps)


def message(state: m.State) -> str:
    """The screen's sentence in a self-service phase, in English (the snapshot's)."""
    if state.phase is m.Phase.SELF_DONE and state.decision is not None and state.self_outcome is None:
        return f"{state.decision.message} {NOTHING_DELETED}"
    return " ".join(text % params if params else text for text, params in lines(state))
