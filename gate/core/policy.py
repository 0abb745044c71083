"""Which ways in a gate accepts, and the rule that face is never the only one (CAC 10; SPC 10)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gate.errors import PolicyError


class Method(enum.StrEnum):
    CARD = "card"
    PIN = "pin"            # resident code + PIN
    CARD_PIN = "card+pin"
    FACE = "face"          # 1:1 after a claim by card or resident code
    CARD_FACE = "card+face"

    @property
    def uses_face(self) -> bool:
        return self in (Method.FACE, Method.CARD_FACE)

    @property
    def uses_pin(self) -> bool:
        return self in (Method.PIN, Method.CARD_PIN)


NON_FACE = frozenset({Method.CARD, Method.PIN, Method.CARD_PIN})
LIVENESS_MODES = ("none", "blink", "head_turn")


def parse_methods(text: str) -> frozenset[Method]:
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    try:
        return frozenset(Method(name) for name in names)
    except ValueError as err:
        known = ", ".join(m.value for m in Method)
        raise PolicyError(f"Unknown method in {text!r}: methods are {known}.") from err


def format_methods(methods: frozenset[Method]) -> str:
    return ",".join(m.value for m in Method if m in methods)


def validate_methods(methods: frozenset[Method]) -> None:
    """Reject policies that make face the only way in for anyone.

    Whoever can reach face must have a non-face way in with what they already hold: a claim by resident
    code (face) needs code+PIN at the gate; a claim by card (card+face) needs card or card+PIN.
    """
    if not methods:
        raise PolicyError("A gate must accept at least one way in.")
    if not methods & NON_FACE:
        raise PolicyError(
            "Face can never be the only way in: add card, pin or card+pin (CAC 2025 rules art. 10; "
            "SPC 2021 provisions art. 10)."
        )
    if Method.FACE in methods and Method.PIN not in methods:
        raise PolicyError(
            "With 'face' (claim by resident code) the gate must also accept 'pin', or a resident who "
            "refuses face and has no card would have no way in."
        )
    if Method.CARD_FACE in methods and not methods & {Method.CARD, Method.CARD_PIN}:
        raise PolicyError(
            "With 'card+face' the gate must also accept 'card' or 'card+pin', so a card holder who "
            "refuses face still gets in."
        )


@dataclass(frozen=True)
class GatePolicy:
    gate_id: int
    name: str
    methods: frozenset[Method]
    face_threshold: float | None = None
    liveness: str = "none"
    max_pin_failures: int = 5
    max_face_attempts: int = 3

    @property
    def face_allowed(self) -> bool:
        return any(m.uses_face for m in self.methods)

    @property
    def alternatives(self) -> frozenset[Method]:
        return self.methods & NON_FACE
