"""Whether the database answers, since when it does not, and why (for /health and the offline path).

`DatabaseHealth` is also the decision path's circuit: once a call failed (`lost`), decisions go
straight to the offline copy without asking the database, and `Reprobe` asks it again in the
background, off the loop, every few seconds, until it answers; then the loop closes the circuit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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
        self._refused: str | None = None

    @property
    def ok(self) -> bool:
        return self._ok

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def offline_since(self) -> datetime | None:
        return self._since

    @property
    def refused(self) -> str | None:
        """Why the gate does not join a database that answers (its schema is one this code refuses), or None."""
        return self._refused

    def refuse(self, sentence: str) -> None:
        """The database answers but its schema is refused: the circuit stays open and /health says why."""
        with self._lock:
            self._refused = sentence
            self._error = "NotMigratedError"

    def lost(self, err: Exception) -> None:
        """Open the circuit: until `back()`, the decision path does not ask the database."""
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
            self._ok, self._error, self._since, self._refused = True, None, None, None
            return True


#: Seconds between two background probes while the circuit is open.
REPROBE_SECONDS = 2.0


class _Repeater:
    """One pending `threading.Timer` at a time on a daemon thread, never on the gate's loop; `stop()`
    cancels it and no timer is scheduled after that."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._stopped = False

    def _schedule(self) -> None:
        """Idempotent: does nothing while a run is pending or after `stop()`."""
        with self._lock:
            if self._timer is not None or self._stopped:
                return
            self._timer = threading.Timer(self.interval, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
        self._run()

    def _run(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


class Reprobe(_Repeater):
    """While the circuit is open: `probe()` on a timer thread every `interval` s (never on the gate's
    loop, never a sleep in a handler) and `on_back()` once it answers. `arm()` is idempotent."""

    def __init__(self, probe: Callable[[], bool], on_back: Callable[[], None],
                 interval: float = REPROBE_SECONDS) -> None:
        super().__init__(interval)
        self.probe = probe
        self.on_back = on_back
        self.probes = 0

    def arm(self) -> None:
        self._schedule()

    def _run(self) -> None:
        self.probes += 1
        try:
            answered = self.probe()
        except Exception:  # noqa: BLE001 - a probe that breaks is a probe that failed; try again later
            log.exception("database probe failed")
            answered = False
        if answered:
            self.on_back()
        else:
            self.arm()


class Heartbeat(_Repeater):
    """While the circuit is closed: `ping()` every `interval` s on a timer thread (the ping itself runs
    within the decision deadline). A ping that fails opens the circuit and calls `on_lost()` (which
    arms the re-probe), so a stalled database shows as offline on /health even when no card comes,
    and the next card is decided from the offline copy without paying the deadline first."""

    def __init__(self, ping: Callable[[], None], database: DatabaseHealth, on_lost: Callable[[], None],
                 interval: float = REPROBE_SECONDS) -> None:
        super().__init__(interval)
        self.ping = ping
        self.database = database
        self.on_lost = on_lost

    def start(self) -> None:
        self._schedule()

    def _run(self) -> None:
        if self.database.ok:
            try:
                self.ping()
            except Exception as err:  # noqa: BLE001 - any failure to answer is the database being away
                self.database.lost(err)
                self.on_lost()
        self.start()
