"""Control events: what the loop handles besides the transaction machine's own events.

Reader events go on the queue as the driver's own classes (`drivers.readers.base`); these are the rest.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field

from drivers.readers.base import CardRead, KeyPress, ReaderFault, ReaderStatus


@dataclass(frozen=True)
class Beat:
    """No event came within the heartbeat interval: the loop turns once anyway (the watchdog's ping)."""


@dataclass(frozen=True, eq=False)
class Sync:
    """Answered once everything queued before it has been handled."""

    reply: queue.Queue[bool] = field(repr=False)


@dataclass(frozen=True, eq=False)
class CaptureCard:
    """The next card read goes to this waiter instead of being decided."""

    waiter: queue.Queue[str] = field(repr=False)


@dataclass(frozen=True, eq=False)
class ReleaseCapture:
    waiter: queue.Queue[str] = field(repr=False)


@dataclass(frozen=True)
class RetryGrant:
    token: int
    retries: int


@dataclass(frozen=True)
class ForgetKeys:
    """Half-typed keypad digits expire."""


@dataclass(frozen=True)
class DoorInput:
    """A door event (drivers.door.DoorEvent, or the held-open note): anything with `kind` and `detail`."""

    kind: str
    detail: str


@dataclass(frozen=True)
class Refresh:
    """Periodic: reload the policy between transactions and refresh the offline copy."""


@dataclass(frozen=True)
class ReloadPolicy:
    pass


@dataclass(frozen=True)
class DatabaseBack:
    """The background re-probe found the database answering: close the circuit, replay the journal."""


@dataclass(frozen=True)
class RemoteOpen:
    """Open the door once at a remote's request (Home Assistant, an operator): audited as `actor`, one
    pulse, no retry. `reply`, when given, gets None once opened or the sentence that says why not."""

    actor: str
    detail: str
    reply: queue.Queue[str | None] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, eq=False)
class Override:
    """An operator's door command from the web UI: "keep_open" or "lock_down" for `seconds`, or "end".

    Audited as `actor` with the `reason` before the door moves; `reply` gets None when done, or the
    sentence that says why it was refused."""

    action: str
    actor: str
    reason: str
    seconds: float = 0.0
    reply: queue.Queue[str | None] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class OverrideEnds:
    """A keep open or lock down reached its end time (posted by its timer; `serial` names which one)."""

    serial: int


ReaderEvent = CardRead | KeyPress | ReaderStatus | ReaderFault
Control = (Beat | Sync | CaptureCard | ReleaseCapture | RetryGrant | ForgetKeys | DoorInput | Refresh
           | ReloadPolicy | DatabaseBack | RemoteOpen | Override | OverrideEnds)
