"""From a claim at a gate to a decision: resolve, gather evidence, decide, count, record.

`EvidencePipeline` is the one place this happens, for the database and for the gate's offline copy
alike (both are a `gate.access.directory.Directory`). `AccessService` runs it against the database
in one transaction per decision; the gate service calls it for every card, PIN and face attempt.
Card and PIN never touch the key file or the face pipeline, so they keep working when either is broken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from gate.access.directory import Directory
from gate.access.sql_directory import (
    EventRecorder,
    SqlDirectory,
    SubjectRules,
    resolve_claim,
)
from gate.clock import Clock, utcnow
from gate.config import Settings
from gate.core import lockout
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import Decision, Evidence, FaceOutcome, Locks, Reason, decide
from gate.core.policy import GatePolicy, Method
from gate.core.selfservice import holds_face_data, identify
from gate.core.visitors import decide_visitor, split_code
from gate.secrets import passwords
from gate.store import consent
from gate.store.db import transaction
from gate.store.events import StoreRecorder
from gate.store.gates import get_gate, policy_of
from gate.store.site_clock import SharedClock, database_now

#: The settings, or where to get the current ones: site-wide keys change while a gate runs.
SettingsSource = Settings | Callable[[], Settings]


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    resident_id: int | None
    event_id: int | None
    gate_id: int
    visitor_id: int | None = None


@dataclass(frozen=True)
class Identity:
    """Who asked at the kiosk: `refusal` None means `resident_id` is identified."""

    resident_id: int | None
    refusal: Decision | None
    has_face_data: bool = False


def face_method(claim: Claim) -> Method:
    return Method.CARD_FACE if claim.kind is ClaimKind.CARD else Method.FACE


def lockout_rules(settings: Settings) -> tuple[lockout.ResidentRules, lockout.GateRules]:
    security = settings.security
    return (lockout.ResidentRules(max_failures=security.pin_max_failures,
                                  base_seconds=security.pin_lockout_base_seconds,
                                  window=timedelta(hours=security.pin_resident_window_hours)),
            lockout.GateRules(free=security.pin_gate_free_failures,
                              base_seconds=security.pin_gate_delay_base_seconds,
                              max_seconds=security.pin_gate_delay_max_seconds,
                              window=timedelta(minutes=security.pin_gate_window_minutes)))


class EvidencePipeline:
    """Gathers the evidence for one decision from a directory and asks the pure `decide()`."""

    def __init__(self, hasher: PasswordHasher, settings: Settings) -> None:
        self.hasher = hasher
        self.use(settings)
        # An unknown code is checked against this hash, so it takes as long as a known one.
        self._dummy_hash = hasher.hash(passwords.DUMMY_PIN)

    def use(self, settings: Settings) -> None:
        """Take the lock-out rules of these settings (a site-wide change reaches a running gate here)."""
        self.resident_rules, self.gate_rules = lockout_rules(settings)
        self.rules_from = settings

    def run(self, directory: Directory, method: Method, claim: Claim, now: datetime, *, pin: str | None = None,
            face: FaceOutcome | None = None, face_failures: int = 0) -> Outcome:
        if claim.kind is ClaimKind.VISITOR or method is Method.VISITOR:
            return self._run_visitor(directory, claim, now)
        policy = directory.policy
        entry = directory.resident(claim, now)
        subject = entry.subject if entry is not None else None
        gate_scope = lockout.gate_scope(policy.gate_id)
        resident_scope = lockout.resident_scope(subject.resident_id) if subject is not None else None
        gate_state = directory.lock_state(gate_scope)
        resident_state = directory.lock_state(resident_scope) if resident_scope else lockout.LockoutState()
        locks = Locks(resident_locked_seconds=resident_state.seconds_left(now),
                      gate_wait_seconds=gate_state.seconds_left(now), face_failures=face_failures)

        pin_matches: bool | None = None
        if (method.uses_pin and method in policy.methods and not locks.gate_wait_seconds
                and not locks.resident_locked_seconds):
            stored = entry.pin_hash if entry is not None and entry.pin_hash is not None else self._dummy_hash
            pin_matches = passwords.verify(self.hasher, stored, pin or "") and entry is not None

        decision = decide(policy, method, subject, Evidence(pin_matches=pin_matches, face=face), locks, now)

        if pin_matches is not None:  # only a PIN that was tested counts, so a wait or a lock adds nothing
            decision = self._count_pin(directory, decision, pin_matches and decision.granted, gate_scope,
                                       gate_state, resident_scope, resident_state, now)
        if decision.granted and entry is not None:
            directory.granted(entry, now)
            decision = replace(decision, greeting=entry.greeting)
        resident_id = subject.resident_id if subject is not None else None
        card = claim.value if claim.kind is ClaimKind.CARD else None
        event_id = directory.record(method, resident_id, decision, now, card)
        return Outcome(decision, resident_id, event_id, policy.gate_id)

    def _run_visitor(self, directory: Directory, claim: Claim, now: datetime) -> Outcome:
        """A visitor code: locator finds the record, the secret digits are checked like a PIN (and counted
        on the gate keypad's counter, so guessing codes meets the same wait as guessing PINs), then the
        record's gates, window and entries decide; a grant takes one entry atomically."""
        policy = directory.policy
        gate_scope = lockout.gate_scope(policy.gate_id)
        gate_state = directory.lock_state(gate_scope)
        locks = Locks(gate_wait_seconds=gate_state.seconds_left(now))
        parts = split_code(claim.value)
        entry = directory.visitor(parts[0], now) if parts is not None else None
        matches: bool | None = None
        if not locks.gate_wait_seconds:
            stored = entry.code_hash if entry is not None else self._dummy_hash
            matches = passwords.verify(self.hasher, stored, parts[1] if parts else "") and entry is not None
        decision = decide_visitor(policy, entry.visitor if entry is not None else None, matches, locks, now)
        if decision.granted and entry is not None and not directory.take_visitor_entry(entry.visitor.visitor_id):
            decision = Decision(False, Reason.VISITOR_USED_UP)  # another gate took the last entry first
        if matches is not None:
            gate_state = lockout.after_pin_attempt(gate_state, success=matches, is_gate_keypad=True, now=now,
                                                   resident=self.resident_rules, gate=self.gate_rules)
            directory.store_lock_state(gate_scope, gate_state)
            if not matches:
                wait = gate_state.seconds_left(now)
                decision = replace(decision, retry_after_seconds=wait or None)
        # Only a code whose secret matched is tied to its record: a guess says nothing about anyone.
        visitor_id = entry.visitor.visitor_id if entry is not None and matches else None
        event_id = directory.record(Method.VISITOR, None, decision, now, visitor_id=visitor_id)
        return Outcome(decision, None, event_id, policy.gate_id, visitor_id)

    def identify(self, directory: Directory, claim: Claim, pin: str, now: datetime) -> Identity:
        """The kiosk's "My face data": card or resident code + PIN, whatever ways in the gate accepts.

        The PIN is tested and counted exactly as at the gate (the same two counters), so the kiosk is
        no side door for guessing PINs. No access event is written and no grant is booked: this is
        not a way in.
        """
        entry = directory.resident(claim, now)
        subject = entry.subject if entry is not None else None
        gate_scope = lockout.gate_scope(directory.policy.gate_id)
        resident_scope = lockout.resident_scope(subject.resident_id) if subject is not None else None
        gate_state = directory.lock_state(gate_scope)
        resident_state = directory.lock_state(resident_scope) if resident_scope else lockout.LockoutState()
        locks = Locks(resident_locked_seconds=resident_state.seconds_left(now),
                      gate_wait_seconds=gate_state.seconds_left(now))
        pin_matches: bool | None = None
        if not locks.gate_wait_seconds and not locks.resident_locked_seconds:
            stored = entry.pin_hash if entry is not None and entry.pin_hash is not None else self._dummy_hash
            pin_matches = passwords.verify(self.hasher, stored, pin) and entry is not None
        refusal = identify(subject, claim.kind is ClaimKind.CARD, pin_matches, locks)
        if pin_matches is not None:
            verdict = refusal or Decision(True, Reason.GRANTED)  # the counters' view: was the PIN right
            verdict = self._count_pin(directory, verdict, refusal is None, gate_scope, gate_state, resident_scope,
                                      resident_state, now)
            refusal = None if verdict.granted else verdict
        if refusal is not None or subject is None:
            return Identity(None, refusal)
        return Identity(subject.resident_id, None, holds_face_data(subject))

    def _count_pin(self, directory: Directory, decision: Decision, success: bool, gate_scope: str,
                   gate_state: lockout.LockoutState, resident_scope: str | None,
                   resident_state: lockout.LockoutState, now: datetime) -> Decision:
        """Count one tested PIN on both counters; a wrong one gets the tries-left / wait feedback."""
        gate_state = lockout.after_pin_attempt(gate_state, success=success, is_gate_keypad=True, now=now,
                                               resident=self.resident_rules, gate=self.gate_rules)
        directory.store_lock_state(gate_scope, gate_state)
        if resident_scope is not None:
            resident_state = lockout.after_pin_attempt(
                resident_state, success=success, is_gate_keypad=False, now=now,
                resident=self.resident_rules, gate=self.gate_rules)
            directory.store_lock_state(resident_scope, resident_state)
            if decision.reason is Reason.WRONG_PIN:
                decision = self._pin_feedback(decision, resident_state, gate_state, now)
        return decision

    def _pin_feedback(self, decision: Decision, resident: lockout.LockoutState, gate: lockout.LockoutState,
                      now: datetime) -> Decision:
        """A wrong PIN tells the resident how many tries are left, or how long their PIN is now locked,
        and how long the keypad waits before the next PIN.

        Once locked, the time shown covers the keypad's wait too, so "try again in 40 s" is not met by
        "please wait" when they come back.
        """
        left = lockout.tries_left(resident, now, self.resident_rules)
        wait = gate.seconds_left(now) if left else max(resident.seconds_left(now), gate.seconds_left(now))
        return replace(decision, tries_left=left, retry_after_seconds=wait or None)

    @staticmethod
    def precheck(directory: Directory, claim: Claim, now: datetime, face_failures: int = 0) -> Decision | None:
        """Before any camera opens: the denial a face attempt would end in regardless of the face, or None."""
        entry = directory.resident(claim, now)
        # Pretend the face matched: whatever still denies is a reason not to open the camera.
        decision = decide(directory.policy, face_method(claim), entry.subject if entry else None,
                          Evidence(face=FaceOutcome.MATCH), Locks(face_failures=face_failures), now)
        return None if decision.granted else decision


class AccessService:
    """The pipeline against the database: one transaction per decision, its event row written in it."""

    def __init__(self, sessions: sessionmaker[Session], settings: SettingsSource, hasher: PasswordHasher,
                 clock: Clock = utcnow, rules: SubjectRules | None = None,
                 recorder: EventRecorder | None = None, shared_clock: SharedClock | None = None) -> None:
        self.sessions = sessions
        self._settings = settings
        self.hasher = hasher
        self.clock = clock  # this gate's clock: the time events show
        self.shared_clock = shared_clock  # None: the database's (see `shared_now`)
        self.rules = rules
        self.recorder: EventRecorder = recorder if recorder is not None else StoreRecorder()
        self.pipeline = EvidencePipeline(hasher, settings() if callable(settings) else settings)

    @property
    def settings(self) -> Settings:
        """The current settings; new site-wide values also renew the pipeline's lock-out rules."""
        settings = self._settings() if callable(self._settings) else self._settings
        if settings is not self.pipeline.rules_from:
            self.pipeline.use(settings)
        return settings

    def shared_now(self, session: Session) -> datetime:
        """The time a decision compares shared state with (lock-outs, anti-passback, template deadlines):
        the database server's, read in the decision's own transaction, so every gate agrees whatever its
        own clock says (issue 17, finding 5). On SQLite, the database is on this machine: its clock."""
        if self.shared_clock is not None:
            return self.shared_clock(session)
        return database_now(session) or self.clock()

    def _directory(self, session: Session, gate_name: str) -> SqlDirectory:
        directory = SqlDirectory(session, gate_name, self.settings, self.rules, self.recorder)
        directory.event_time = self.clock()  # events show the gate's time; their id gives their order
        return directory

    # -- public entry points ------------------------------------------------------------------------
    def card(self, gate_name: str, raw_card: str) -> Outcome:
        return self.decide(gate_name, Method.CARD, Claim(ClaimKind.CARD, raw_card))

    def pin(self, gate_name: str, resident_code: str, pin: str) -> Outcome:
        return self.decide(gate_name, Method.PIN, Claim(ClaimKind.CODE, resident_code), pin=pin)

    def card_pin(self, gate_name: str, raw_card: str, pin: str) -> Outcome:
        return self.decide(gate_name, Method.CARD_PIN, Claim(ClaimKind.CARD, raw_card), pin=pin)

    def visitor(self, gate_name: str, code: str) -> Outcome:
        return self.decide(gate_name, Method.VISITOR, Claim(ClaimKind.VISITOR, code))

    def face(self, gate_name: str, claim: Claim, outcome: FaceOutcome | None, face_failures: int = 0) -> Outcome:
        return self.decide(gate_name, face_method(claim), claim, face=outcome, face_failures=face_failures)

    def decide(self, gate_name: str, method: Method, claim: Claim, *, pin: str | None = None,
               face: FaceOutcome | None = None, face_failures: int = 0) -> Outcome:
        with transaction(self.sessions) as session:
            directory = self._directory(session, gate_name)
            return self.pipeline.run(directory, method, claim, self.shared_now(session), pin=pin, face=face,
                                     face_failures=face_failures)

    def face_precheck(self, gate_name: str, claim: Claim, face_failures: int = 0) -> Decision | None:
        """Before any camera opens: the denial a face attempt would end in regardless of the face, or None.

        This is how "no consent, no capture" holds (no bystander processing, M2): a claim without a
        current consent and a template is refused here and the camera is never opened.
        """
        with self.sessions() as session:
            directory = self._directory(session, gate_name)
            return self.pipeline.precheck(directory, claim, self.shared_now(session), face_failures)

    def identify(self, gate_name: str, claim: Claim, pin: str) -> Identity:
        """The kiosk's self-service identification (card or code + PIN), counted by the PIN lock-outs."""
        with transaction(self.sessions) as session:
            directory = self._directory(session, gate_name)
            return self.pipeline.identify(directory, claim, pin, self.shared_now(session))

    def face_declined(self, claim: Claim) -> bool:
        """The claimed resident refused or withdrew face consent and gave none since (A3)."""
        with self.sessions() as session:
            resident = resolve_claim(session, claim)
            return resident is not None and consent.face_declined(session, resident)

    def policy(self, gate_name: str) -> GatePolicy:
        with self.sessions() as session:
            return policy_of(get_gate(session, gate_name), self.settings)


__all__ = ["AccessService", "Claim", "ClaimKind", "EvidencePipeline", "Identity", "Outcome", "Reason", "face_method",
           "resolve_claim"]
