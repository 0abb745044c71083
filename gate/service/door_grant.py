"""Carrying out a decision at the door: release it for a granted transaction, light the reader's LEDs.

A grant that meets a momentary serial glitch is tried again `RETRIES` times, `RETRY_INTERVAL` apart, but
only while the same transaction is still "open" on the screen: never later than ~1.5 s after the
decision, so a board that comes back after the person has gone does not release the door for nobody.
Then it is recorded as `grant_failed` and the screen says the door could not be released.

The retries are posted to the runtime's queue (`RetryGrant`) and handled on its loop, where the
transaction's state is read: no handler sleeps.

No grant is carried out late: every release (the first and each retry) happens only within
`[gate] grant_window_ms` after the credential (the card read, the PIN's last key, the face result:
when it reached the runtime's queue). Past it the grant is dropped, recorded as `grant_too_late`, the
reader shows red and the screen says the door could not be released (`gate.core.grant_window`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from drivers.door import DoorDevice
from drivers.readers.base import ReaderDevice
from gate.core.grant_window import DEFAULT_GRANT_WINDOW_MS, GRANT_TOO_LATE, grant_in_time
from gate.service.controls import RetryGrant
from gate.service.event_log import EventLog

log = logging.getLogger("gate.service")

Item = TypeVar("Item")

RETRIES = 3
RETRY_INTERVAL = 0.5


class DoorGrant:
    """`grant(token)` and `refuse()` from the loop; `retry(RetryGrant)` when a retry comes back to it."""

    def __init__(self, door: DoorDevice | None, reader: ReaderDevice | None, events: EventLog,
                 post: Callable[[RetryGrant], None], still_open: Callable[[int], bool], *,
                 retries: int = RETRIES, interval: float = RETRY_INTERVAL,
                 window_ms: int = DEFAULT_GRANT_WINDOW_MS, now: Callable[[], float] = time.monotonic,
                 record: Callable[[str, str], None] | None = None) -> None:
        self.door = door
        self.window_ms = window_ms
        self.now = now
        self._record = record  # a door event row (the decider's); None: the last events only
        self._credential_at = 0.0
        self.reader = reader
        self.events = events
        self.retries = retries
        self.interval = interval
        self._post = post
        self._still_open = still_open
        self._lock = threading.Lock()  # the failed token is read by snapshot() from web threads
        self._failed_token: int | None = None

    def grant(self, token: int, credential_at: float) -> None:
        """Release the door for `token`; `credential_at` is when its credential arrived (`now`'s clock)."""
        self._credential_at = credential_at
        if self.door is not None and self._still_open(token) and not self._in_time(token):
            return
        self._feedback(True)
        self._release(token, self.retries)

    def refuse(self) -> None:
        self._feedback(False)

    def retry(self, retry: RetryGrant) -> None:
        self._release(retry.token, retry.retries)

    def failed(self, token: int) -> bool:
        """Whether the door could not be released for this transaction (the screen says so)."""
        with self._lock:
            return self._failed_token == token

    def _in_time(self, token: int) -> bool:
        """The grant window's rule; a grant past it is dropped and recorded, the door stays locked."""
        late_ms = (self.now() - self._credential_at) * 1000
        if grant_in_time(self._credential_at, self.now(), self.window_ms):
            return True
        with self._lock:
            self._failed_token = token
        detail = f"released {late_ms:.0f} ms after the credential, past the {self.window_ms} ms window"
        log.warning("door grant dropped: %s", detail)
        self._feedback(False)
        if self._record is not None:
            self._record(GRANT_TOO_LATE, detail)
        else:
            self.events.remember({"kind": "door", "event": GRANT_TOO_LATE, "detail": detail})
        return False

    def _release(self, token: int, retries: int) -> None:
        if self.door is None or not self._still_open(token):
            return
        if retries < self.retries and not self._in_time(token):
            return  # the first attempt was checked by grant(); a retry is checked again here
        try:
            opened = self.door.grant("granted")
        except Exception as err:  # noqa: BLE001 - a dead board leaves the door locked (fail-secure)
            opened = False
            log.warning("door grant failed: %s", err)
        if opened:
            with self._lock:
                self._failed_token = None
            return
        if retries > 0:
            timer = threading.Timer(self.interval, self._post, args=(RetryGrant(token, retries - 1),))
            timer.daemon = True
            timer.start()
            return
        with self._lock:
            self._failed_token = token
        self.events.remember({"kind": "door", "event": "grant_failed", "detail": "relay board did not release"})

    def _feedback(self, granted: bool) -> None:
        if self.reader is None:
            return
        try:
            self.reader.feedback(granted)
        except Exception as err:  # noqa: BLE001 - LEDs are a courtesy, never a reason to fail a decision
            log.info("reader feedback failed: %s", err)


class StampedQueue(Generic[Item]):
    """The runtime's queue, stamping each item with when it arrived (`time.monotonic`): a card read or
    a key is stamped by the reader's thread as it happens, not when a busy loop gets to it, so the
    grant window counts from the credential itself."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self._queue: queue.SimpleQueue[tuple[float, Item]] = queue.SimpleQueue()

    def put(self, item: Item) -> None:
        self._queue.put((self.now(), item))

    def get(self, timeout: float | None = None) -> tuple[float, Item]:
        """The next item and when it arrived; queue.Empty after `timeout` seconds (None: wait for ever)."""
        return self._queue.get(timeout=timeout)
