"""What the gate's screen says during "My face data" (the resident's own withdrawal and deletion, P2).

Every ending says that card and PIN keep working: withdrawing face changes nothing else (A2), and a
resident who came to delete must not leave thinking they lost their way in.
"""

from __future__ import annotations

from gate.core import machine as m

BUTTON = "My face data / 我的人脸信息"
DELETE_BUTTON = "Withdraw consent and delete my face data"
KEEPS_WORKING = "Your card and PIN keep working."

PHASE_MESSAGES = {
    m.Phase.SELF_CLAIM: "My face data: present your card or type your resident code.",
    m.Phase.SELF_PIN: "Enter your PIN.",
    m.Phase.SELF_CHECK: "One moment...",
    m.Phase.SELF_MENU: ("Face data is held for you. You can withdraw your face consent and have your face "
                        f"data deleted now. {KEEPS_WORKING}"),
    m.Phase.SELF_DELETE: "Deleting your face data...",
}

OUTCOMES = {
    m.SelfServiceOutcome.NOTHING_TO_DELETE: ("No face data is held for you, so there is nothing to delete. "
                                             f"{KEEPS_WORKING}"),
    m.SelfServiceOutcome.DATABASE_UNAVAILABLE: ("The database is not answering, so nothing was deleted. Please try "
                                                f"again later or ask the management office. {KEEPS_WORKING}"),
    m.SelfServiceOutcome.UNCONFIRMED: ("The deletion could not be confirmed. Please ask the management office, "
                                       f"which can check it and print your receipt. {KEEPS_WORKING}"),
}


def deleted(receipt: int) -> str:
    return (f"Your face data has been deleted and your face consent withdrawn. Receipt number {receipt}. "
            f"{KEEPS_WORKING}")


def message(state: m.State) -> str:
    """The screen's sentence in a self-service phase."""
    if state.phase is not m.Phase.SELF_DONE:
        return PHASE_MESSAGES.get(state.phase, "")
    if state.self_outcome is m.SelfServiceOutcome.DELETED and state.receipt is not None:
        return deleted(state.receipt)
    if state.self_outcome is not None and state.self_outcome in OUTCOMES:
        return OUTCOMES[state.self_outcome]
    if state.decision is not None:  # the identification was refused: wrong PIN, locked, unknown...
        return f"{state.decision.message} Nothing was deleted."
    return OUTCOMES[m.SelfServiceOutcome.UNCONFIRMED]
