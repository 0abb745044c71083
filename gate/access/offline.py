"""Card and PIN without the database, for a bounded time.

On a multi-gate site the database (PostgreSQL) is on another machine. The gate keeps a copy of what
card and PIN decisions need (card numbers, resident status, PIN hashes, schedule verdict inputs,
the gate's policy), refreshed every `refresh_seconds` while the database answers. When it does not,
card and PIN are decided from the copy with the same pure `decide()` for at most `max_age_seconds`
after the last refresh; the events are kept and written when the database is back. Face is never
decided from the cache: it needs the template store, and is offered again once the database is back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gate.core import lockout

from gate.secrets import passwords
from gate.core.cardnumber import normalize_card
from gate.config import Settings
from gate.core.decision import Decision, Evidence, Locks, Subject, decide
from gate.errors import GateError
from gate.store.gates import get_gate, policy_of
from gate.store.models import Resident, ResidentStatus
from gate.core.policy import GatePolicy, Method


@dataclass(frozen=True)
class CachedResident:
    resident_id: int
    code: str
    active: bool
    pin_hash: str | None
    allowed_now: Callable[[datetime], bool] = field(default=lambda now: True, compare=False)


@dataclass(frozen=True)
class CacheCopy:
    loaded_at: datetime
    policy: GatePolicy
    by_card: dict[str, CachedResident]
    by_code: dict[str, CachedResident]


@dataclass(frozen=True)
class CachedOutcome:
    decision: Decision
    resident_id: int | None
    method: Method


class OfflineCache:
    def __init__(self, settings: Settings, hasher: PasswordHasher, max_age_seconds: float = 24 * 3600,
                 schedule_for: Callable[[Session, Resident], Callable[[datetime], bool]] | None = None) -> None:
        self.settings = settings
        self.hasher = hasher
        self._dummy_hash = hasher.hash(passwords.DUMMY_PIN)
        self.max_age = timedelta(seconds=max_age_seconds)
        self.schedule_for = schedule_for
        self._copy: CacheCopy | None = None
        self._locks: dict[str, lockout.LockoutState] = {}
        self._guard = threading.Lock()

    def refresh(self, sessions: sessionmaker[Session], gate_name: str, now: datetime) -> int:
        """Reload the copy from the database; raises what the database raises."""
        with sessions() as session:
            policy = policy_of(get_gate(session, gate_name), self.settings)
            by_card: dict[str, CachedResident] = {}
            by_code: dict[str, CachedResident] = {}
            query = select(Resident).options(selectinload(Resident.cards), selectinload(Resident.pin))
            for resident in session.scalars(query):
                allowed = self.schedule_for(session, resident) if self.schedule_for else (lambda now: True)
                entry = CachedResident(resident.id, resident.code, resident.status is ResidentStatus.ACTIVE,
                                       resident.pin.pin_hash if resident.pin else None, allowed)
                by_code[resident.code] = entry
                for card in resident.cards:
                    by_card[card.uid] = entry
        with self._guard:
            self._copy = CacheCopy(now, policy, by_card, by_code)
        return len(by_code)

    def age(self, now: datetime) -> float | None:
        copy = self._copy
        return None if copy is None else (now - copy.loaded_at).total_seconds()

    def usable(self, now: datetime) -> bool:
        copy = self._copy
        return copy is not None and now - copy.loaded_at <= self.max_age

    def card(self, raw: str, now: datetime) -> CachedOutcome:
        copy = self._require(now)
        try:
            entry = copy.by_card.get(normalize_card(raw))
        except GateError:
            entry = None
        return CachedOutcome(decide(copy.policy, Method.CARD, self._subject(entry, now), Evidence()),
                             entry.resident_id if entry else None, Method.CARD)

    def card_pin(self, raw: str, pin: str, now: datetime) -> CachedOutcome:
        copy = self._require(now)
        try:
            entry = copy.by_card.get(normalize_card(raw))
        except GateError:
            entry = None
        return self._pin(copy, entry, pin, now, Method.CARD_PIN)

    def pin(self, code: str, pin: str, now: datetime) -> CachedOutcome:
        copy = self._require(now)
        return self._pin(copy, copy.by_code.get(code), pin, now, Method.PIN)

    def _pin(self, copy: CacheCopy, entry: CachedResident | None, pin: str, now: datetime,
             method: Method) -> CachedOutcome:
        with self._guard:
            gate_lock = self._locks.get("gate", lockout.LockoutState())
            res_lock = self._locks.get(f"r{entry.resident_id}", lockout.LockoutState()) if entry else lockout.LockoutState()
        locks = Locks(resident_locked=res_lock.is_locked(now), gate_locked=gate_lock.is_locked(now))
        matches = None
        if method in copy.policy.methods and not (locks.gate_locked or locks.resident_locked):
            stored = entry.pin_hash if entry and entry.pin_hash else self._dummy_hash
            matches = passwords.verify(self.hasher, stored, pin) and entry is not None
        decision = decide(copy.policy, method, self._subject(entry, now), Evidence(pin_matches=matches), locks)
        if matches is not None:
            self._count(entry, bool(matches and decision.granted), now)
        return CachedOutcome(decision, entry.resident_id if entry else None, method)

    def _count(self, entry: CachedResident | None, success: bool, now: datetime) -> None:
        with self._guard:
            for scope in ["gate"] + ([f"r{entry.resident_id}"] if entry else []):
                self._locks[scope] = lockout.after_pin_attempt(
                    self._locks.get(scope, lockout.LockoutState()), success=success, is_gate_keypad=scope == "gate",
                    now=now, max_failures=self.settings.pin_max_failures,
                    base_seconds=self.settings.pin_lockout_base_seconds)

    def _require(self, now: datetime) -> CacheCopy:
        copy = self._copy
        if copy is None or now - copy.loaded_at > self.max_age:
            raise CacheExpired("the database is unreachable and the local copy is missing or too old")
        return copy

    @staticmethod
    def _subject(entry: CachedResident | None, now: datetime) -> Subject | None:
        if entry is None:
            return None
        return Subject(resident_id=entry.resident_id, active=entry.active, has_pin=entry.pin_hash is not None,
                       within_schedule=entry.allowed_now(now))


class CacheExpired(GateError):
    pass
