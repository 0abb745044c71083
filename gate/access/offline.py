"""Card and PIN without the database, for a bounded time.

On a multi-gate site the database (PostgreSQL) is on another machine. The gate keeps a copy of what
card and PIN decisions need (card numbers, resident status, PIN hashes, schedule verdict inputs,
the gate's policy), refreshed every `refresh_seconds` while the database answers. When it does not,
card and PIN are decided from the copy by the same `EvidencePipeline` as online, for at most
`max_age_seconds` after the last refresh; the events are kept and written when the database is back.
Face is never decided from the copy: it needs the template store, and is offered again once the
database is back.

Validity periods travel with the copy (residents' and cards' dates, visitor codes' windows), so an
ended tenant stays refused offline. Visitor codes are capped offline: each gate admits at most the
entries the copy says remain, counting its own offline uses in memory; when the database is back the
journalled uses take their entries from the record (`gate.service.event_log`), never below zero. Two
gates offline at once may each admit up to that count (documented in docs/tenants.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from gate.access.directory import Entry, VisitorEntry
from gate.access.pipeline import EvidencePipeline, Outcome
from gate.config import Settings
from gate.core.cardnumber import normalize_card
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import Decision, Subject
from gate.core.lockout import LockoutState
from gate.core.policy import NON_FACE, GatePolicy, Method
from gate.core.validity import Validity, from_dates
from gate.core.visitors import VisitorPass
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
    valid_from: date | None = None
    valid_until: date | None = None


@dataclass(frozen=True)
class CachedVisitor:
    locator: str
    code_hash: str
    visitor: VisitorPass


#: A card's own validity dates, by card number (only cards that have any).
CardDates = dict[str, tuple[date | None, date | None]]

#: What the offline copy may decide without the database: the methods that are not face.
OFFLINE_METHODS = NON_FACE | {Method.VISITOR}


@dataclass(frozen=True)
class CacheCopy:
    loaded_at: datetime
    policy: GatePolicy
    by_card: dict[str, CachedResident]
    by_code: dict[str, CachedResident]
    holidays: frozenset[date] = frozenset()
    timezone: str = "UTC"
    card_dates: CardDates = field(default_factory=dict)
    visitors: dict[str, CachedVisitor] = field(default_factory=dict)  # by locator

    def allowed_now(self, resident: CachedResident, now: datetime) -> bool:
        return allowed(resident.windows, self.holidays, now.astimezone(ZoneInfo(self.timezone)))


class OfflineDirectory:
    """The directory over one copy. Lock counters live in memory (shared by the cache across copies)."""

    def __init__(self, copy: CacheCopy, locks: dict[str, LockoutState], guard: threading.Lock,
                 visitor_uses: dict[int, int] | None = None) -> None:
        self.copy = copy
        self._locks = locks
        self._guard = guard
        self._uses = visitor_uses if visitor_uses is not None else {}

    @property
    def policy(self) -> GatePolicy:
        return self.copy.policy

    def resident(self, claim: Claim, now: datetime) -> Entry | None:
        card_validity = Validity()
        zone = ZoneInfo(self.copy.timezone)
        if claim.kind is ClaimKind.CARD:
            try:
                uid = normalize_card(claim.value)
            except GateError:
                uid = ""
            cached = self.copy.by_card.get(uid)
            card_validity = from_dates(*self.copy.card_dates.get(uid, (None, None)), zone)
        elif claim.kind is not ClaimKind.CODE:
            cached = None
        else:
            cached = self.copy.by_code.get(claim.value)
        if cached is None:
            return None
        # Consent and templates are not copied: face is never decided offline.
        subject = Subject(resident_id=cached.resident_id, active=cached.active, has_pin=cached.pin_hash is not None,
                          has_card=cached.has_card, within_schedule=self.copy.allowed_now(cached, now),
                          validity=from_dates(cached.valid_from, cached.valid_until, zone), card_validity=card_validity)
        return Entry(subject, cached.pin_hash)

    def visitor(self, locator: str, now: datetime) -> VisitorEntry | None:
        cached = self.copy.visitors.get(locator)
        if cached is None:
            return None
        with self._guard:
            used = self._uses.get(cached.visitor.visitor_id, 0)
        remaining = max(cached.visitor.remaining - used, 0)
        return VisitorEntry(replace(cached.visitor, remaining=remaining), cached.code_hash)

    def take_visitor_entry(self, visitor_id: int) -> bool:
        """Counted in memory against the copy's remaining entries (the cap); reconciled at replay."""
        cached = next((v for v in self.copy.visitors.values() if v.visitor.visitor_id == visitor_id), None)
        with self._guard:
            used = self._uses.get(visitor_id, 0)
            if cached is None or used >= cached.visitor.remaining:
                return False
            self._uses[visitor_id] = used + 1
        return True

    def lock_state(self, scope: str) -> LockoutState:
        with self._guard:
            return self._locks.get(scope, LockoutState())

    def store_lock_state(self, scope: str, state: LockoutState) -> None:
        with self._guard:
            self._locks[scope] = state

    def granted(self, entry: Entry, now: datetime) -> None:
        """Anti-passback needs the shared database; offline it is neither checked nor recorded."""

    def record(self, method: Method, resident_id: int | None, decision: Decision, now: datetime,
               card: str | None = None, visitor_id: int | None = None) -> None:
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
        # Visitor entries used from this gate's copies since the last refresh (the offline cap).
        self._visitor_uses: dict[int, int] = {}
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
                # A fresh copy is read after the journal was replayed (gate.service.decisions), so the
                # record's remaining entries already count this gate's offline uses.
                self._visitor_uses.clear()
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

    def visitor(self, code: str, now: datetime) -> Outcome:
        return self.decide(Method.VISITOR, Claim(ClaimKind.VISITOR, code), now)

    def decide(self, method: Method, claim: Claim, now: datetime, *, pin: str | None = None) -> Outcome:
        """Card, PIN, card+PIN or a visitor code from the copy; raises CacheExpired when there is no usable copy."""
        if method not in OFFLINE_METHODS:
            raise ValueError(f"{method.value} is never decided from the local copy")
        directory = OfflineDirectory(self._require(now), self._locks, self._guard, self._visitor_uses)
        return self.pipeline.run(directory, method, claim, now, pin=pin)

    def _require(self, now: datetime) -> CacheCopy:
        copy = self._copy
        if copy is None or now - copy.loaded_at > self.max_age:
            raise CacheExpired("the database is unreachable and the local copy is missing or too old")
        return copy


class CacheExpired(GateError):
    pass
