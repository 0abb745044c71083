"""Carrying out a decision at the door: release it for a granted transaction, light the reader's LEDs.

A grant that meets a momentary serial glitch is tried again `RETRIES` times, `RETRY_INTERVAL` apart, but
only while the same transaction is still "open" on the screen: never later than ~1.5 s after the
decision, so a board that comes back after the person has gone does not release the door for nobody.
Then it is recorded as `grant_failed` and the screen says the door could not be released.

The retries are posted to the runtime's queue (`RetryGrant`) and handled on its loop, where the
transaction's state is read: no handler sleeps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from drivers.door import DoorDevice
from drivers.readers.base import ReaderDevice
from gate.service.controls import RetryGrant
from gate.service.event_log import EventLog

log = logging.getLogger("gate.service")

RETRIES = 3
RETRY_INTERVAL = 0.5


class DoorGrant:
    """`grant(token)` and `refuse()` from the loop; `retry(RetryGrant)` when a retry comes back to it."""

    def __init__(self, door: DoorDevice | None, reader: ReaderDevice | None, events: EventLog,
                 post: Callable[[RetryGrant], None], still_open: Callable[[int], bool], *,
                 retries: int = RETRIES, interval: float = RETRY_INTERVAL) -> None:
        self.door = door
        self.reader = reader
        self.events = events
        self.retries = retries
        self.interval = interval
        self._post = post
        self._still_open = still_open
        self._lock = threading.Lock()  # the failed token is read by snapshot() from web threads
        self._failed_token: int | None = None

    def grant(self, token: int) -> None:
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

    def _release(self, token: int, retries: int) -> None:
        if self.door is None or not self._still_open(token):
            return
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
