"""What a person at the gate says about who they are, before any evidence: a card, a resident code or a
visitor code (gate.core.visitors)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ClaimKind(enum.StrEnum):
    CARD = "card"
    CODE = "code"
    VISITOR = "visitor"


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    value: str
