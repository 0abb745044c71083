"""Card and PIN without the database, for a bounded time.

On a multi-gate site the database (PostgreSQL) is on another machine. The gate keeps a copy of what
card and PIN decisions need (card numbers, resident status, PIN hashes, schedule verdict inputs,
the gate's policy), refreshed every `refresh_seconds` while the database answers. When it does not,
card and PIN are decided from the copy by the same `EvidencePipeline` as online, for at most
`max_age_seconds` after the last refresh; the events are kept and written when the database is back.
Face is never decided from the copy: it needs the template store, and is offered again once the
database is back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gate.access.directory import Entry
from gate.access.pipeline import EvidencePipeline, Outcome
from gate.config import Settings
from gate.core.cardnumber import normalize_card
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import Decision, Subject
from gate.core.lockout import LockoutState
from gate.core.policy import NON_FACE, GatePolicy, Method
from gate.errors import GateError
from gate.store.gates import get_gate, policy_of
from gate.store.models import Resident, ResidentStatus


@dataclass(frozen=True)
class CachedResident:
    resident_id: int
    code: str
    active: bool
    pin_hash: str | None
    allowed_now: Callable[[datetime], bool] = field(default=lambda now: True, compare=False)
    has_card: bool = False


@dataclass(frozen=True)
class CacheCopy:
    loaded_at: datetime
    policy: GatePolicy
    by_card: dict[str, CachedResident]
    by_code: dict[str, CachedResident]


class OfflineDirectory:
    """The directory over one copy. Lock counters live in memory (shared by the cache across copies)."""

    def __init__(self, copy: CacheCopy, locks: dict[str, LockoutState], guard: threading.Lock) -> None:
        self.copy = copy
        self._locks = locks
        self._guard = guard

    @property
    def policy(self) -> GatePolicy:
        return self.copy.policy

    def resident(self, claim: Claim, now: datetime) -> Entry | None:
        if claim.kind is ClaimKind.CARD:
            try:
                cached = self.copy.by_card.get(normalize_card(claim.value))
            except GateError:
                cached = None
        else:
            cached = self.copy.by_code.get(claim.value)
        if cached is None:
            return None
        # Consent and templates are not copied: face is never decided offline.
        subject = Subject(resident_id=cached.resident_id, active=cached.active, has_pin=cached.pin_hash is not None,
                          has_card=cached.has_card, within_schedule=cached.allowed_now(now))
        return Entry(subject, cached.pin_hash)

    def lock_state(self, scope: str) -> LockoutState:
        with self._guard:
            return self._locks.get(scope, LockoutState())

    def store_lock_state(self, scope: str, state: LockoutState) -> None:
        with self._guard:
            self._locks[scope] = state

    def granted(self, entry: Entry, now: datetime) -> None:
        """Anti-passback needs the shared database; offline it is neither checked nor recorded."""

    def record(self, method: Method, resident_id: int | None, decision: Decision, now: datetime,
               card: str | None = None) -> None:
        """Offline events are kept by the gate service's event log and written when the database is back."""


class OfflineCache:
    def __init__(self, settings: Settings, hasher: PasswordHasher, max_age_seconds: float = 24 * 3600,
                 schedule_for: Callable[[Session, Resident], Callable[[datetime], bool]] | None = None) -> None:
        self.settings = settings
        self.pipeline = EvidencePipeline(hasher, settings)
        self.max_age = timedelta(seconds=max_age_seconds)
        self.schedule_for = schedule_for
        self._copy: CacheCopy | None = None
        self._locks: dict[str, LockoutState] = {}
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
                                       resident.pin.pin_hash if resident.pin else None, allowed,
                                       has_card=bool(resident.cards))
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

    def card(self, raw: str, now: datetime) -> Outcome:
        return self.decide(Method.CARD, Claim(ClaimKind.CARD, raw), now)

    def card_pin(self, raw: str, pin: str, now: datetime) -> Outcome:
        return self.decide(Method.CARD_PIN, Claim(ClaimKind.CARD, raw), now, pin=pin)

    def pin(self, code: str, pin: str, now: datetime) -> Outcome:
        return self.decide(Method.PIN, Claim(ClaimKind.CODE, code), now, pin=pin)

    def decide(self, method: Method, claim: Claim, now: datetime, *, pin: str | None = None) -> Outcome:
        """Card, PIN or card+PIN from the copy; raises CacheExpired when there is no usable copy."""
        if method not in NON_FACE:
            raise ValueError(f"{method.value} is never decided from the local copy")
        directory = OfflineDirectory(self._require(now), self._locks, self._guard)
        return self.pipeline.run(directory, method, claim, now, pin=pin)

    def _require(self, now: datetime) -> CacheCopy:
        copy = self._copy
        if copy is None or now - copy.loaded_at > self.max_age:
            raise CacheExpired("the database is unreachable and the local copy is missing or too old")
        return copy


class CacheExpired(GateError):
    pass
