"""From a claim at a gate to a recorded decision: resolve, gather evidence, decide, record.

The gate service calls this for every card, PIN and face attempt. Card and PIN never touch the key
file or the face pipeline, so they keep working when either is broken.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gate.core import lockout

from gate.secrets import passwords
from gate.core.cardnumber import normalize_card
from gate.core.claims import Claim, ClaimKind
from gate.clock import Clock, utcnow
from gate.config import Settings
from gate.store.consent import current_consent
from gate.store.db import transaction
from gate.core.decision import Decision, Evidence, FaceOutcome, Locks, Reason, Subject, decide
from gate.errors import GateError
from gate.store.events import record_event
from gate.store.gates import get_gate, policy_of
from gate.store.models import Card, Gate, Lockout, Resident, ResidentStatus
from gate.core.policy import GatePolicy, Method


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    resident_id: int | None
    event_id: int | None
    gate_id: int


class SubjectRules(Protocol):
    """Time schedules and anti-passback (gate.store.schedules.SiteRules); optional."""

    def within_schedule(self, session: Session, resident: Resident, now: datetime) -> bool: ...

    def passback_ok(self, session: Session, resident: Resident, gate: Gate, now: datetime) -> bool: ...

    def after_grant(self, session: Session, resident: Resident, gate: Gate, now: datetime) -> None: ...


def resolve_claim(session: Session, claim: Claim) -> Resident | None:
    """The resident a card or resident code claims to be; None for unknown or malformed claims."""
    if claim.kind is ClaimKind.CARD:
        try:
            uid = normalize_card(claim.value)
        except GateError:
            return None
        return session.scalar(select(Resident).join(Card).where(Card.uid == uid))
    return session.scalar(select(Resident).where(Resident.code == claim.value))


def _face_method(claim: Claim) -> Method:
    return Method.CARD_FACE if claim.kind is ClaimKind.CARD else Method.FACE


class AccessService:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, hasher: PasswordHasher,
                 clock: Clock = utcnow, rules: SubjectRules | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.hasher = hasher
        self.clock = clock
        self.rules = rules
        self._dummy_hash = hasher.hash(passwords.DUMMY_PIN)

    # -- public entry points ------------------------------------------------------------------------
    def card(self, gate_name: str, raw_card: str) -> Outcome:
        return self._run(gate_name, Method.CARD, Claim(ClaimKind.CARD, raw_card), pin=None, face=None)

    def pin(self, gate_name: str, resident_code: str, pin: str) -> Outcome:
        return self._run(gate_name, Method.PIN, Claim(ClaimKind.CODE, resident_code), pin=pin, face=None)

    def card_pin(self, gate_name: str, raw_card: str, pin: str) -> Outcome:
        return self._run(gate_name, Method.CARD_PIN, Claim(ClaimKind.CARD, raw_card), pin=pin, face=None)

    def face(self, gate_name: str, claim: Claim, outcome: FaceOutcome | None, face_failures: int = 0) -> Outcome:
        return self._run(gate_name, _face_method(claim), claim, pin=None, face=outcome, face_failures=face_failures)

    def face_precheck(self, gate_name: str, claim: Claim, face_failures: int = 0) -> Decision | None:
        """Before any camera opens: the denial a face attempt would end in regardless of the face, or None.

        This is how "no consent, no capture" holds (no bystander processing, M2): a claim without a
        current consent and a template is refused here and the camera is never opened.
        """
        with self.sessions() as session:
            _, policy, _, subject = self._situation(session, gate_name, claim, self.clock())
            # Pretend the face matched: whatever still denies is a reason not to open the camera.
            decision = decide(policy, _face_method(claim), subject, Evidence(face=FaceOutcome.MATCH),
                              Locks(face_failures=face_failures))
            return None if decision.granted else decision

    def policy(self, gate_name: str) -> GatePolicy:
        with self.sessions() as session:
            return policy_of(get_gate(session, gate_name), self.settings)

    # -- the pipeline -------------------------------------------------------------------------------
    def _run(self, gate_name: str, method: Method, claim: Claim, *, pin: str | None,
             face: FaceOutcome | None, face_failures: int = 0) -> Outcome:
        now = self.clock()
        with transaction(self.sessions) as session:
            gate, policy, resident, subject = self._situation(session, gate_name, claim, now)
            gate_lock = self._lock_state(session, f"gate:{gate.id}")
            resident_lock = self._lock_state(session, f"resident:{resident.id}") if resident else lockout.LockoutState()
            locks = Locks(resident_locked=resident_lock.is_locked(now), gate_locked=gate_lock.is_locked(now),
                          face_failures=face_failures)

            pin_matches: bool | None = None
            if method.uses_pin and method in policy.methods and not (locks.gate_locked or locks.resident_locked):
                stored = resident.pin.pin_hash if resident is not None and resident.pin is not None else self._dummy_hash
                pin_matches = passwords.verify(self.hasher, stored, pin or "") and resident is not None

            decision = decide(policy, method, subject, Evidence(pin_matches=pin_matches, face=face), locks)

            if method.uses_pin and pin_matches is not None:
                self._update_locks(session, gate.id, resident, pin_matches and decision.granted, now)
            if decision.granted and resident is not None and self.rules is not None:
                self.rules.after_grant(session, resident, gate, now)
            event = record_event(session, at=now, gate_id=gate.id, gate_name=gate.name,
                                 resident_id=resident.id if resident else None, method=method, decision=decision)
            return Outcome(decision, resident.id if resident else None, event.id, gate.id)

    def _situation(self, session: Session, gate_name: str, claim: Claim,
                   now: datetime) -> tuple[Gate, GatePolicy, Resident | None, Subject | None]:
        """The gate, its policy, the claimed resident and what the decision needs to know of them."""
        gate = get_gate(session, gate_name)
        resident = resolve_claim(session, claim)
        subject = self._subject(session, resident)
        if subject is not None and resident is not None and self.rules is not None:
            subject = replace(subject, within_schedule=self.rules.within_schedule(session, resident, now),
                              passback_ok=self.rules.passback_ok(session, resident, gate, now))
        return gate, policy_of(gate, self.settings), resident, subject

    @staticmethod
    def _subject(session: Session, resident: Resident | None) -> Subject | None:
        if resident is None:
            return None
        return Subject(
            resident_id=resident.id,
            active=resident.status is ResidentStatus.ACTIVE,
            has_pin=resident.pin is not None,
            has_consent=current_consent(session, resident) is not None,
            has_template=resident.face_pseudonym is not None,
        )

    @staticmethod
    def _lock_state(session: Session, scope: str) -> lockout.LockoutState:
        row = session.get(Lockout, scope)
        if row is None:
            return lockout.LockoutState()
        return lockout.LockoutState(row.failures, row.lockouts, row.locked_until)

    def _update_locks(self, session: Session, gate_id: int, resident: Resident | None, success: bool,
                      now: datetime) -> None:
        scopes = [f"gate:{gate_id}"] + ([f"resident:{resident.id}"] if resident else [])
        for scope in scopes:
            new = lockout.after_pin_attempt(
                self._lock_state(session, scope), success=success, is_gate_keypad=scope.startswith("gate:"),
                now=now, max_failures=self.settings.pin_max_failures,
                base_seconds=self.settings.pin_lockout_base_seconds)
            row = session.get(Lockout, scope) or Lockout(scope=scope)
            row.failures, row.lockouts, row.locked_until = new.failures, new.lockouts, new.locked_until
            session.add(row)


__all__ = ["AccessService", "Claim", "ClaimKind", "Outcome", "Reason", "resolve_claim"]
