"""Wrong-PIN lockout with a growing delay. Pure: the caller loads and stores the state."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

MAX_DELAY = timedelta(hours=1)

# Lock scopes: one spelling for the database rows and the offline copy's counters.
_GATE_PREFIX = "gate:"


def gate_scope(gate_id: int) -> str:
    """The counter of one gate's keypad (every code typed there counts)."""
    return f"{_GATE_PREFIX}{gate_id}"


def resident_scope(resident_id: int) -> str:
    """The counter of one resident's PIN, whichever gate it is typed at."""
    return f"resident:{resident_id}"


def is_gate_scope(scope: str) -> bool:
    return scope.startswith(_GATE_PREFIX)


@dataclass(frozen=True)
class LockoutState:
    failures: int = 0
    lockouts: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def after_failure(state: LockoutState, now: datetime, max_failures: int, base_seconds: int) -> LockoutState:
    failures = state.failures + 1
    if failures < max_failures:
        return replace(state, failures=failures)
    # Each lockout doubles the delay, so guessing a 4-digit PIN takes years, not minutes.
    delay = min(timedelta(seconds=base_seconds * 2**state.lockouts), MAX_DELAY)
    return LockoutState(failures=0, lockouts=state.lockouts + 1, locked_until=now + delay)


def after_success(state: LockoutState) -> LockoutState:
    return LockoutState()


def after_pin_attempt(state: LockoutState, *, success: bool, is_gate_keypad: bool, now: datetime,
                      max_failures: int, base_seconds: int) -> LockoutState:
    """One PIN attempt's effect on one counter.

    A right PIN clears the resident's counter but not the gate keypad's: otherwise someone guessing
    codes at a gate could reset its lockout by typing their own PIN between guesses.
    """
    if success:
        return state if is_gate_keypad else after_success(state)
    return after_failure(state, now, max_failures, base_seconds)
