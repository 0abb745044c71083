"""What the evidence pipeline needs to know at one gate for one decision, wherever it comes from.

Two implementations: the database (`gate.access.sql_directory.SqlDirectory`, one per transaction)
and the gate's offline copy (`gate.access.offline.OfflineDirectory`). The pipeline in
`gate.access.pipeline` gathers and decides through this interface only, so card, PIN and card+PIN
are decided the same way online and offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gate.core.claims import Claim
from gate.core.decision import Decision, Subject
from gate.core.lockout import LockoutState
from gate.core.policy import GatePolicy, Method
from gate.core.visitors import VisitorPass


@dataclass(frozen=True)
class Entry:
    """A claimed resident: what the decision may know of them, and the stored PIN hash to verify against."""

    subject: Subject
    pin_hash: str | None
    #: The masked name the screen shows on a grant (gate.core.names); None where the source has no name.
    greeting: str | None = None


@dataclass(frozen=True)
class VisitorEntry:
    """A visitor record found by its locator, and the hash of its secret digits to verify against."""

    visitor: VisitorPass
    code_hash: str


class Directory(Protocol):
    @property
    def policy(self) -> GatePolicy:
        """The gate's policy, with its id (the gate keypad's lock scope)."""
        ...

    def resident(self, claim: Claim, now: datetime) -> Entry | None:
        """The resident a card or resident code claims to be; None for unknown or malformed claims."""
        ...

    def visitor(self, locator: str, now: datetime) -> VisitorEntry | None:
        """The visitor record this locator points to (gate.core.visitors), or None."""
        ...

    def take_visitor_entry(self, visitor_id: int) -> bool:
        """Take one entry of a granted visitor code, atomically; False when none was left after all."""
        ...

    def lock_state(self, scope: str) -> LockoutState: ...

    def store_lock_state(self, scope: str, state: LockoutState) -> None: ...

    def granted(self, entry: Entry, now: datetime) -> None:
        """Bookkeeping after a grant (anti-passback); nothing where it is not kept."""
        ...

    def record(self, method: Method, resident_id: int | None, decision: Decision, now: datetime,
               card: str | None = None, visitor_id: int | None = None) -> int | None:
        """The event row's id, or None where events are kept elsewhere until the database is back.

        `card`: the claimed card, for the log line (masked there), never stored."""
        ...
