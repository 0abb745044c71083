"""What a person at the gate says about who they are, before any evidence: a card or a resident code."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ClaimKind(enum.StrEnum):
    CARD = "card"
    CODE = "code"


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    value: str
