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
    """Something arrived that is not a card: kept whole for the audit trail."""

    reader: str
    message: str
    data: bytes
    at: float


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


class Reader(abc.ABC):
    backend = "abstract"

    def __init__(self, name: str, port: str, on_event: Callable[[ReaderEvent], None] | None) -> None:
        self.name = name
        self.port = port
        self._on_event = on_event
        self._state = "new"
        self._online = False
        self._last_error: str | None = None
        self._reconnects = 0
        self._rejected = 0
        self._online_once = False

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
        self._rejected += 1
        self._last_error = message
        self._emit(ReaderFault(self.name, message, data, time.perf_counter()))


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
