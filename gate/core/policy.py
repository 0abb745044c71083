"""Which ways in a gate accepts, and the rule that face is never the only one (CAC 10; SPC 10)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gate.errors import PolicyError
from gate.i18n.marker import N_


class Method(enum.StrEnum):
    CARD = "card"
    PIN = "pin"            # resident code + PIN
    CARD_PIN = "card+pin"
    FACE = "face"          # 1:1 after a claim by card or resident code
    CARD_FACE = "card+face"
    VISITOR = "visitor"    # a visitor code (gate.core.visitors): never a gate's policy choice, never face

    @property
    def uses_face(self) -> bool:
        return self in (Method.FACE, Method.CARD_FACE)

    @property
    def uses_pin(self) -> bool:
        return self in (Method.PIN, Method.CARD_PIN)


NON_FACE = frozenset({Method.CARD, Method.PIN, Method.CARD_PIN})
#: The methods a gate's policy chooses from. Visitor codes are accepted where a visitor record names
#: the gate, whatever its policy, so "visitor" is not one of them.
POLICY_METHODS = tuple(m for m in Method if m is not Method.VISITOR)
LIVENESS_MODES = ("none", "blink", "head_turn")


def parse_methods(text: str) -> frozenset[Method]:
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    try:
        methods = frozenset(Method(name) for name in names)
        if Method.VISITOR in methods:
            raise ValueError(Method.VISITOR.value)
        return methods
    except ValueError as err:
        known = ", ".join(m.value for m in POLICY_METHODS)
        raise PolicyError(f"Unknown method in {text!r}: methods are {known}.") from err


def format_methods(methods: frozenset[Method]) -> str:
    return ",".join(m.value for m in Method if m in methods)


AT_LEAST_ONE = N_("A gate must accept at least one way in.")


def validate_methods(methods: frozenset[Method]) -> None:
    """Reject policies that make face the only way in for anyone.

    Whoever can reach face must have a non-face way in with what they already hold: a claim by resident
    code (face) needs code+PIN at the gate; a claim by card (card+face) needs card or card+PIN.
    """
    if not methods:
        raise PolicyError.of(AT_LEAST_ONE)
    if not methods & NON_FACE:
        raise PolicyError.of(N_("Face can never be the only way in: add card, pin or card+pin (CAC 2025 rules "
                                "art. 10; SPC 2021 provisions art. 10)."))
    if Method.FACE in methods and Method.PIN not in methods:
        raise PolicyError.of(N_("With 'face' (claim by resident code) the gate must also accept 'pin', or a resident "
                                "who refuses face and has no card would have no way in."))
    if Method.CARD_FACE in methods and not methods & {Method.CARD, Method.CARD_PIN}:
        raise PolicyError.of(N_("With 'card+face' the gate must also accept 'card' or 'card+pin', so a card holder "
                                "who refuses face still gets in."))


#: What a stored policy runs as when its non-face part is empty: the gate's default, card or resident code + PIN.
FALLBACK_METHODS = frozenset({Method.CARD, Method.PIN})


def policy_problem(methods: frozenset[Method]) -> str | None:
    """Why a policy may not run as it is (the sentence `validate_methods` gives), or None when it may."""
    try:
        validate_methods(methods)
    except PolicyError as err:
        return str(err)
    return None


def runnable_methods(methods: frozenset[Method]) -> frozenset[Method]:
    """The part of a stored policy that runs: all of a valid one; of an invalid one (written straight
    into the database, or saved by an older version) only its non-face part, since dropping face can
    only take away a way in that must never be the only one; card and PIN when that leaves nothing."""
    if policy_problem(methods) is None:
        return methods
    return (methods & NON_FACE) or FALLBACK_METHODS


def read_stored(text: str) -> tuple[frozenset[Method], str | None]:
    """A gate's stored methods as they will run, and the problem with them (None when they are valid).

    Unlike `parse_methods`, never raises: an unknown name is a problem to report, not a gate that
    stops deciding, and the known names are kept.
    """
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    values = {m.value for m in POLICY_METHODS}
    unknown = [name for name in names if name not in values]
    known = frozenset(Method(name) for name in names if name in values)
    if unknown:
        return runnable_methods(known), f"Unknown method {', '.join(map(repr, unknown))} in the stored policy."
    return runnable_methods(known), policy_problem(known)


def has_non_face_way_in(methods: frozenset[Method], *, has_card: bool, has_pin: bool) -> bool:
    """Whether a resident holding these credentials gets in at a gate with these methods without face:
    a card the gate accepts on its own (or with a PIN they have), or a PIN with their resident code."""
    by_card = has_card and (Method.CARD in methods or (Method.CARD_PIN in methods and has_pin))
    by_pin = has_pin and Method.PIN in methods
    return by_card or by_pin


@dataclass(frozen=True)
class GatePolicy:
    gate_id: int
    name: str
    methods: frozenset[Method]
    face_threshold: float | None = None
    liveness: str = "none"
    max_pin_failures: int = 5
    max_face_attempts: int = 3
    #: Why the stored policy could not run as stored (`read_stored`), or None; `methods` is then the part
    #: that runs, and the gate service raises the `policy_invalid` alarm.
    invalid: str | None = None

    @property
    def face_allowed(self) -> bool:
        return any(m.uses_face for m in self.methods)

    @property
    def alternatives(self) -> frozenset[Method]:
        return self.methods & NON_FACE
