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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from gate.access.directory import Entry
from gate.access.pipeline import EvidencePipeline, Outcome
from gate.config import Settings
from gate.core.cardnumber import normalize_card
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import Decision, Subject
from gate.core.lockout import LockoutState
from gate.core.policy import NON_FACE, GatePolicy, Method
from gate.errors import GateError
from gate.store.schedules import Window, allowed

#: A resident's schedules as plain data (`gate.store.schedules.allowed`): None means not restricted.
Windows = tuple[tuple[Window, ...], ...] | None


@dataclass(frozen=True)
class CachedResident:
    resident_id: int
    code: str
    active: bool
    pin_hash: str | None
    has_card: bool = False
    windows: Windows = None


@dataclass(frozen=True)
class CacheCopy:
    loaded_at: datetime
    policy: GatePolicy
    by_card: dict[str, CachedResident]
    by_code: dict[str, CachedResident]
    holidays: frozenset[date] = frozenset()
    timezone: str = "UTC"

    def allowed_now(self, resident: CachedResident, now: datetime) -> bool:
        return allowed(resident.windows, self.holidays, now.astimezone(ZoneInfo(self.timezone)))


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
                          has_card=cached.has_card, within_schedule=self.copy.allowed_now(cached, now))
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
    """The copy in memory. `saver`, when given, is called with each freshly loaded copy (the gate
    service writes it to its disk, `gate.access.offline_disk`); `adopt` takes one read back from there."""

    def __init__(self, settings: Settings, hasher: PasswordHasher, max_age_seconds: float = 24 * 3600,
                 timezone: str = "UTC", saver: Callable[[CacheCopy], object] | None = None) -> None:
        self.settings = settings
        self.pipeline = EvidencePipeline(hasher, settings)
        self.max_age = timedelta(seconds=max_age_seconds)
        self.timezone = timezone
        self.saver = saver
        self._copy: CacheCopy | None = None
        self._locks: dict[str, LockoutState] = {}
        self._guard = threading.Lock()
        self._refreshing = threading.Lock()  # the loop's periodic refresh and the change watcher's

    def refresh(self, sessions: sessionmaker[Session], gate_name: str, now: datetime) -> int:
        """Reload the copy from the database (and save it); raises what the database raises."""
        from gate.access.offline_load import load_copy

        with self._refreshing:
            with sessions() as session:
                copy = load_copy(session, gate_name, self.settings, self.timezone, now)
            with self._guard:
                self._copy = copy
            if self.saver is not None:
                self.saver(copy)
        return len(copy.by_code)

    def adopt(self, copy: CacheCopy) -> None:
        """Use a copy read from the gate's disk, unless a newer one is already here."""
        with self._guard:
            if self._copy is None or self._copy.loaded_at < copy.loaded_at:
                self._copy = copy

    @property
    def copy(self) -> CacheCopy | None:
        return self._copy

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
