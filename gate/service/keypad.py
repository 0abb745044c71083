"""The reader keypad's buffer: digits collect, '#' submits, '*' clears, forgotten after a while."""

from __future__ import annotations

import threading
from collections.abc import Callable

MAX_DIGITS = 32


class Keypad:
    """Owned by the loop thread. `forget` is called by a timer (it should post back onto the loop)."""

    def __init__(self, forget_after: float, forget: Callable[[], None]) -> None:
        self.forget_after = forget_after
        self._forget = forget
        self._buffer = ""
        self._timer: threading.Timer | None = None

    @property
    def buffer(self) -> str:
        return self._buffer

    def press(self, key: str) -> str | None:
        """The typed digits when `key` is '#' and something was typed; None otherwise."""
        if key == "*":
            self._buffer = ""
            return None
        if key != "#":
            if key.isdigit() and len(self._buffer) < MAX_DIGITS:
                self._buffer += key
                self._arm()
            return None
        typed, self._buffer = self._buffer, ""
        return typed or None

    def clear(self) -> None:
        self._buffer = ""

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _arm(self) -> None:
        # Half-typed digits are forgotten after the claim timeout: the next person starts clean.
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self.forget_after, self._forget)
        self._timer.daemon = True
        self._timer.start()
