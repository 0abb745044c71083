"""Exponential back-off for reopening a lost serial link."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before the next reconnect attempt: initial, doubling, capped at ``maximum``."""

    initial: float = 0.2
    maximum: float = 10.0
    factor: float = 2.0
    _next: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self._next = self.initial

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial
