"""Visitor codes: what a code looks like and when it opens. Pure; time passed in.

A visitor code is typed where a resident code is (the kiosk's code field or the reader keypad,
then '#'). It is told apart by its shape: ten digits starting with 9 (resident codes of that shape
are refused, `gate.store.residents`). The four digits after the 9 locate the visitor record (like a
resident code), the last five are the secret (like a PIN, stored only as an argon2id hash). One
code, no second step: a visitor never uses face.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from gate.core.decision import Decision, Locks, Reason
from gate.core.policy import GatePolicy
from gate.core.validity import Standing, Validity

PREFIX = "9"
LOCATOR_DIGITS = 4
SECRET_DIGITS = 5
PATTERN = re.compile(rf"{PREFIX}(\d{{{LOCATOR_DIGITS}}})(\d{{{SECRET_DIGITS}}})")
LENGTH = 1 + LOCATOR_DIGITS + SECRET_DIGITS


def is_visitor_code(text: str) -> bool:
    return PATTERN.fullmatch(text) is not None


def split_code(text: str) -> tuple[str, str] | None:
    """(locator, secret), or None when the text is not a visitor code."""
    found = PATTERN.fullmatch(text)
    return None if found is None else (found.group(1), found.group(2))


def make_code(locator: str, secret: str) -> str:
    code = f"{PREFIX}{locator}{secret}"
    if not is_visitor_code(code):
        raise ValueError("a visitor code is a 4-digit locator and a 5-digit secret")
    return code


def spaced(code: str) -> str:
    """For reading aloud or off a phone: 9 1234 56789."""
    return f"{code[:1]} {code[1:1 + LOCATOR_DIGITS]} {code[1 + LOCATOR_DIGITS:]}"


@dataclass(frozen=True)
class VisitorPass:
    """What the decision knows of one visitor record."""

    visitor_id: int
    window: Validity
    remaining: int
    gate_ids: frozenset[int]
    revoked: bool = False


def decide_visitor(policy: GatePolicy, visitor: VisitorPass | None, secret_matches: bool | None, locks: Locks,
                   now: datetime) -> Decision:
    """The secret is tested first (a wrong one says nothing about the record), then revocation, the
    gate, the window and the count. The keypad's wait after wrong codes bounds guessing, as for PINs."""
    if locks.gate_wait_seconds > 0:
        return Decision(False, Reason.PIN_WAIT, retry_after_seconds=locks.gate_wait_seconds)
    if visitor is None or secret_matches is not True:
        return Decision(False, Reason.VISITOR_UNKNOWN)
    if visitor.revoked:
        return Decision(False, Reason.VISITOR_REVOKED)
    if policy.gate_id not in visitor.gate_ids:
        return Decision(False, Reason.VISITOR_WRONG_GATE)
    standing = visitor.window.standing(now)
    if standing is Standing.NOT_YET:
        return Decision(False, Reason.VISITOR_NOT_YET_VALID)
    if standing is Standing.ENDED:
        return Decision(False, Reason.VISITOR_EXPIRED)
    if visitor.remaining <= 0:
        return Decision(False, Reason.VISITOR_USED_UP)
    return Decision(True, Reason.GRANTED)
