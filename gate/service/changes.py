"""A versioned change signal: the runtime bumps it when its state may have changed; a live view waits on it.

Waiting on a condition instead of polling keeps an idle operations stream from costing anything: a
stream thread sleeps until the gate loop handled something or an alarm moved, then reads the snapshot.
"""

from __future__ import annotations

import threading


class ChangeSignal:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._version = 0

    @property
    def version(self) -> int:
        with self._condition:
            return self._version

    def bump(self) -> None:
        with self._condition:
            self._version += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """The version once it differs from `seen`, or the same version after `timeout` seconds."""
        with self._condition:
            self._condition.wait_for(lambda: self._version != seen, timeout)
            return self._version
