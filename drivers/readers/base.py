"""The card-reader interface: events out (card, keys, status, fault), feedback in.

``ReaderDevice`` is what the gate relies on; ``Reader`` is the base every backend derives from,
built from a parsed ``[reader]`` section by its ``from_config`` (see drivers.readers.READERS).

Readers push events to a callback from their own thread; the callback should be quick
(hand the event to the gate's decision queue).  ``feedback(granted)`` drives the reader's
LED and buzzer where the hardware has them.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from drivers.errors import DeviceClosed

if TYPE_CHECKING:
    from drivers.config import ReaderConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardRead:
    reader: str
    card: str  # canonical, see gate.core.cardnumber
    bits: int | None
    raw: bytes
    at: float  # time.perf_counter() when the driver received it


@dataclass(frozen=True)
class KeyPress:
    reader: str
    keys: str
    at: float


@dataclass(frozen=True)
class ReaderStatus:
    reader: str
    online: bool
    detail: str
    at: float


@dataclass(frozen=True)
class ReaderFault:
    """Something arrived that is not a card.

    Rate-limited (``FaultTally``): ``count`` rejected inputs are reported by this one event,
    ``data`` is the first of them, kept whole for the audit trail.
    """

    reader: str
    message: str
    data: bytes
    at: float
    count: int = 1


ReaderEvent = CardRead | KeyPress | ReaderStatus | ReaderFault


@dataclass(frozen=True)
class ReaderHealth:
    backend: str
    port: str
    online: bool
    secure_channel: bool | None
    last_error: str | None
    reconnects: int
    rejected_frames: int


@runtime_checkable
class ReaderDevice(Protocol):
    """A started reader pushes ReaderEvents to the callback it was built with, from its own thread."""

    def start(self) -> ReaderDevice: ...

    def stop(self) -> None: ...

    def feedback(self, granted: bool) -> bool: ...

    def health(self) -> ReaderHealth: ...


#: Default for ``[reader] fault_interval_ms``: at most one ReaderFault per reader this often.
FAULT_INTERVAL_S = 10.0


class FaultTally:
    """At most one fault report per ``interval``; the rejections in between are counted.

    Noise on a reader's line can reject hundreds of lines or frames a second, and one event
    each would flood the event log and the gate's queue.  The first rejection is reported at
    once; later ones within the interval are counted and reported together (with the first of
    them as the sample) when it ends, so the count is never lost.
    """

    def __init__(self, interval: float = FAULT_INTERVAL_S, noun: str = "inputs") -> None:
        self.interval = interval
        self.noun = noun
        self._quiet_until = float("-inf")
        self._count = 0
        self._message = ""
        self._data = b""

    def add(self, message: str, data: bytes, now: float) -> tuple[str, bytes, int] | None:
        """A rejection at ``now`` (time.monotonic); returns (message, data, count) to report now, if any."""
        if now >= self._quiet_until and not self._count:
            self._quiet_until = now + self.interval
            return message, data, 1
        if not self._count:
            self._message, self._data = message, data
        self._count += 1
        return self.due(now)

    def due(self, now: float) -> tuple[str, bytes, int] | None:
        """The summary of the counted rejections once the interval has passed (or None)."""
        if not self._count or now < self._quiet_until:
            return None
        return self.flush(now)

    def flush(self, now: float) -> tuple[str, bytes, int] | None:
        """The summary of the counted rejections now, whatever the interval (at stop)."""
        if not self._count:
            return None
        count, message, data = self._count, self._message, self._data
        self._count, self._message, self._data = 0, "", b""
        self._quiet_until = now + self.interval
        if count > 1:
            message = f"{count} {self.noun} rejected in the last {self.interval:g} s, the first: {message}"
        return message, data, count


class Reader(abc.ABC):
    backend = "abstract"
    #: What a rejected input is called in a fault summary.
    reject_noun = "inputs"

    def __init__(self, name: str, port: str, on_event: Callable[[ReaderEvent], None] | None,
                 fault_interval: float = FAULT_INTERVAL_S) -> None:
        self.name = name
        self.port = port
        self._on_event = on_event
        self._state = "new"
        self._online = False
        self._last_error: str | None = None
        self._reconnects = 0
        self._rejected = 0
        self._online_once = False
        self._faults = FaultTally(fault_interval, self.reject_noun)
        self._faults_lock = threading.Lock()

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: ReaderConfig, on_event: Callable[[ReaderEvent], None] | None = None) -> Self:
        """A reader for a parsed ``[reader]`` section, not yet started."""

    @abc.abstractmethod
    def _start(self) -> None: ...

    @abc.abstractmethod
    def _stop(self) -> None: ...

    def start(self) -> Reader:
        if self._state == "closed":
            raise DeviceClosed(f"{self.backend} reader {self.name} is closed")
        if self._state == "new":
            self._state = "running"
            self._start()
        return self

    def stop(self) -> None:
        if self._state == "running":
            self._state = "closed"
            self._stop()
            with self._faults_lock:
                summary = self._faults.flush(time.monotonic())
            self._report(summary)
        self._state = "closed"

    def __enter__(self) -> Reader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def feedback(self, granted: bool) -> bool:
        """Show the decision on the reader; False when the reader cannot (or is offline)."""
        self._check_running()
        return False

    def health(self) -> ReaderHealth:
        return ReaderHealth(
            backend=self.backend,
            port=self.port,
            online=self._online,
            secure_channel=None,
            last_error=self._last_error,
            reconnects=self._reconnects,
            rejected_frames=self._rejected,
        )

    # -- for backends ---------------------------------------------------------------------
    def _check_running(self) -> None:
        if self._state != "running":
            raise DeviceClosed(f"{self.backend} reader {self.name} is not running")

    def _emit(self, event: ReaderEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:  # noqa: BLE001 - a listener must not kill the reader thread
            log.exception("reader event listener failed")

    def _set_online(self, online: bool, detail: str) -> None:
        if online == self._online:
            return
        self._online = online
        if online:
            if self._online_once:
                self._reconnects += 1
            self._online_once = True
        else:
            self._last_error = detail
        self._emit(ReaderStatus(self.name, online, detail, time.perf_counter()))

    def _fault(self, message: str, data: bytes = b"") -> None:
        """Something that is not a card was rejected; reported through the FaultTally."""
        with self._faults_lock:
            self._rejected += 1
            self._last_error = message
            report = self._faults.add(message, data, time.monotonic())
        self._report(report)

    def _fault_tick(self) -> None:
        """Report the rejections counted since the last fault once its interval is over; call
        it from the reader's loop so a summary goes out even when the noise has stopped."""
        with self._faults_lock:
            report = self._faults.due(time.monotonic())
        self._report(report)

    def _report(self, report: tuple[str, bytes, int] | None) -> None:
        if report is not None:
            message, data, count = report
            self._emit(ReaderFault(self.name, message, data, time.perf_counter(), count))


class Stopper:
    """A stop flag whose wait() returns early on stop (no sleep loops)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)
