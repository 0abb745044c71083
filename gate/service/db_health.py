"""Whether the database answers, since when it does not, and why (for /health and the offline path)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from gate.clock import Clock

log = logging.getLogger("gate.service")


class DatabaseHealth:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._ok = True
        self._error: str | None = None
        self._since: datetime | None = None

    @property
    def ok(self) -> bool:
        return self._ok

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def offline_since(self) -> datetime | None:
        return self._since

    def lost(self, err: Exception) -> None:
        with self._lock:
            if self._ok:
                self._since = self.clock()
                log.warning("database unreachable: %s", err)
            self._ok = False
            self._error = type(err).__name__

    def back(self) -> bool:
        """Mark the database reachable; True when it was not (the caller then flushes what it kept)."""
        with self._lock:
            if self._ok:
                return False
            self._ok, self._error, self._since = True, None, None
            return True
