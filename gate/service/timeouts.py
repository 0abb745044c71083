"""How long each phase of a transaction may last at this gate, and the machine's rules built from them."""

from __future__ import annotations

from dataclasses import dataclass

from gate.core import machine as m
from gate.core.policy import GatePolicy


@dataclass(frozen=True)
class Timeouts:
    claim: float = 20.0
    face: float = 15.0
    decision: float = 10.0
    refusal: float = 8.0
    passage: float = 8.0
    held_open: float = 30.0


DEFAULT_TIMEOUTS = Timeouts()


def rules_for(policy: GatePolicy, timeouts: Timeouts, *, self_service: bool = False) -> m.Rules:
    """The transaction machine's view of the gate: the policy's ways in, the service's timeouts, and
    whether the site offers "My face data" at the kiosk."""
    return m.Rules(methods=policy.methods, max_face_attempts=policy.max_face_attempts,
                   claim_timeout=timeouts.claim, face_timeout=timeouts.face, decision_timeout=timeouts.decision,
                   refusal_timeout=timeouts.refusal, passage_timeout=timeouts.passage, self_service=self_service)
