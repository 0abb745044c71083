"""Wrong-PIN counters: a lockout per resident, a growing wait at each gate keypad. Pure: time is passed in.

Two counters see every PIN attempt, with different jobs:

- The resident's (`resident:<id>`, at every gate) locks that resident's PIN after `max_failures` wrong
  PINs inside the window, for a lock that doubles each time up to `max_seconds`. Nobody else is locked.
- The gate keypad's (`gate:<id>`, whoever is claimed) never refuses a right PIN: past `free` wrong PINs
  inside its window it makes the keypad wait, growing with each further wrong PIN, before it evaluates
  the next one. That bounds guesses per hour at a gate however many residents the guesser claims.

Both counters decay: failures older than the window (counted from the first one) no longer count,
and neither does the lockout level, so a resident locked once is not locked for an hour forever.
The caller loads the state, asks these functions, and stores the result.
"""

from __future__ import annotations

import math
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
    # For a resident: the PIN is locked until then. For a gate keypad: no PIN is evaluated before then.
    locked_until: datetime | None = None
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds until the lock or wait ends (rounded up, so "0 s" is never shown); 0 when free."""
        if not self.is_locked(now):
            return 0
        assert self.locked_until is not None
        return math.ceil((self.locked_until - now).total_seconds())


@dataclass(frozen=True)
class ResidentRules:
    max_failures: int = 5
    base_seconds: int = 30
    window: timedelta = timedelta(hours=24)
    max_seconds: int = int(MAX_DELAY.total_seconds())


@dataclass(frozen=True)
class GateRules:
    free: int = 3  # wrong PINs in the window before the keypad starts to wait
    base_seconds: int = 5
    max_seconds: int = 120
    window: timedelta = timedelta(minutes=15)


def decayed(state: LockoutState, now: datetime, window: timedelta) -> LockoutState:
    """The state with failures older than the window forgotten, and the lockout level with them.

    A lock (or wait) still running is kept to its end. A row without `first_failure_at` predates the
    window (it was written before counters decayed): its failures are of unknown age and are forgotten.
    """
    if state.failures == 0 and state.lockouts == 0:
        return state
    if state.first_failure_at is not None and now - state.first_failure_at < window:
        return state
    return LockoutState(locked_until=state.locked_until if state.is_locked(now) else None)


def _counted(state: LockoutState, now: datetime) -> LockoutState:
    first = state.first_failure_at if state.failures or state.lockouts else None
    return replace(state, failures=state.failures + 1, first_failure_at=first or now, last_failure_at=now)


def resident_after_failure(state: LockoutState, now: datetime, rules: ResidentRules) -> LockoutState:
    state = _counted(decayed(state, now, rules.window), now)
    if state.failures < rules.max_failures:
        return state
    # Each lockout in the window doubles the lock, so guessing one resident's PIN takes months, not minutes.
    delay = min(rules.base_seconds << min(state.lockouts, 32), rules.max_seconds)
    return replace(state, failures=0, lockouts=state.lockouts + 1, locked_until=now + timedelta(seconds=delay))


def gate_wait_seconds(failures: int, rules: GateRules) -> int:
    """How long the keypad waits after its `failures`-th wrong PIN in the window."""
    if failures < rules.free:
        return 0
    return min(rules.base_seconds << min(failures - rules.free, 32), rules.max_seconds)


def gate_after_failure(state: LockoutState, now: datetime, rules: GateRules) -> LockoutState:
    state = _counted(decayed(state, now, rules.window), now)
    wait = gate_wait_seconds(state.failures, rules)
    return replace(state, locked_until=now + timedelta(seconds=wait) if wait else None)


def tries_left(state: LockoutState, now: datetime, rules: ResidentRules) -> int:
    """Wrong PINs this resident may still type before the lock; 0 while locked."""
    if state.is_locked(now):
        return 0
    return max(rules.max_failures - decayed(state, now, rules.window).failures, 0)


def after_pin_attempt(state: LockoutState, *, success: bool, is_gate_keypad: bool, now: datetime,
                      resident: ResidentRules, gate: GateRules) -> LockoutState:
    """One evaluated PIN attempt's effect on one counter.

    A right PIN clears the resident's counter but not the gate keypad's: otherwise someone guessing
    codes at a gate could reset its wait by typing their own PIN between guesses.
    """
    if is_gate_keypad:
        return decayed(state, now, gate.window) if success else gate_after_failure(state, now, gate)
    return LockoutState() if success else resident_after_failure(state, now, resident)
