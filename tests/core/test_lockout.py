"""Wrong-PIN counters without a database: per-resident lockout, the gate keypad's wait, decay, and the
guess bounds docs/security.md states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gate.core import lockout as lk
from gate.core.decision import Decision, Reason, duration_text

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
RESIDENT = lk.ResidentRules(max_failures=5, base_seconds=30, window=timedelta(hours=24))
GATE = lk.GateRules(free=3, base_seconds=5, max_seconds=120, window=timedelta(minutes=15))


def fail_resident(state: lk.LockoutState, now: datetime, times: int = 1) -> lk.LockoutState:
    for _ in range(times):
        state = lk.resident_after_failure(state, now, RESIDENT)
    return state


def test_tries_left_count_down_to_a_lock_that_doubles_up_to_an_hour() -> None:
    state = lk.LockoutState()
    left = []
    for _ in range(4):
        state = fail_resident(state, T0)
        left.append(lk.tries_left(state, T0, RESIDENT))
    assert left == [4, 3, 2, 1]
    state = fail_resident(state, T0)
    assert lk.tries_left(state, T0, RESIDENT) == 0 and state.seconds_left(T0) == 30
    locks = []
    now = T0
    for _ in range(9):
        now = state.locked_until or now
        state = fail_resident(state, now, 5)
        locks.append(state.seconds_left(now))
    assert locks == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_a_right_pin_clears_the_resident_but_not_the_gate_keypad() -> None:
    resident = fail_resident(lk.LockoutState(), T0, 3)
    gate = lk.LockoutState()
    for _ in range(3):
        gate = lk.gate_after_failure(gate, T0, GATE)
    after = {keypad: lk.after_pin_attempt(state, success=True, is_gate_keypad=keypad, now=T0, resident=RESIDENT,
                                          gate=GATE) for keypad, state in ((False, resident), (True, gate))}
    assert after[False] == lk.LockoutState()
    assert after[True] == gate


def test_resident_failures_and_lockout_level_decay_after_the_window() -> None:
    state = fail_resident(lk.LockoutState(), T0, 4)
    assert lk.tries_left(state, T0 + timedelta(hours=23), RESIDENT) == 1
    assert lk.tries_left(state, T0 + timedelta(hours=24), RESIDENT) == 5
    # Seven lockouts in the window put the lock at an hour; a day after the first failure, it is 30 s again.
    now = T0
    for _ in range(8):
        state = fail_resident(lk.LockoutState() if now == T0 else state, now, 5)
        now = state.locked_until or now
    assert state.lockouts == 8 and state.first_failure_at == T0
    later = T0 + timedelta(hours=24, minutes=1)
    state = fail_resident(state, later, 5)
    assert (state.lockouts, state.seconds_left(later), state.first_failure_at) == (1, 30, later)


def test_a_lock_running_when_the_window_ends_is_kept_to_its_end() -> None:
    state = lk.LockoutState(failures=0, lockouts=8, locked_until=T0 + timedelta(hours=1),
                            first_failure_at=T0 - timedelta(hours=23, minutes=30))
    assert lk.decayed(state, T0, RESIDENT.window) == state
    later = T0 + timedelta(minutes=45)  # the window ended 15 minutes ago, the lock has 15 minutes to go
    assert lk.decayed(state, later, RESIDENT.window) == lk.LockoutState(locked_until=T0 + timedelta(hours=1))


def test_counters_written_before_they_decayed_are_forgotten_but_a_running_lock_holds() -> None:
    legacy = lk.LockoutState(failures=4, lockouts=3)
    assert lk.tries_left(legacy, T0, RESIDENT) == 5
    locked = lk.LockoutState(failures=0, lockouts=3, locked_until=T0 + timedelta(minutes=2))
    assert lk.decayed(locked, T0, RESIDENT.window).seconds_left(T0) == 120


def test_the_gate_keypad_waits_after_free_failures_growing_to_the_maximum_then_decays() -> None:
    state = lk.LockoutState()
    waits = []
    now = T0
    for _ in range(10):
        now = max(now, state.locked_until or now)
        state = lk.gate_after_failure(state, now, GATE)
        waits.append(state.seconds_left(now))
    assert waits == [0, 0, 5, 10, 20, 40, 80, 120, 120, 120]
    assert state.first_failure_at == T0
    fresh = lk.gate_after_failure(state, T0 + GATE.window, GATE)
    assert (fresh.failures, fresh.seconds_left(T0 + GATE.window)) == (1, 0)


def test_gate_wait_text_rounds_up_and_names_the_unit() -> None:
    assert lk.LockoutState(locked_until=T0 + timedelta(seconds=7.2)).seconds_left(T0) == 8
    assert lk.LockoutState(locked_until=T0).seconds_left(T0) == 0
    assert [duration_text(s) for s in (1, 59, 60, 61, 200, 3600)] == ["1 s", "59 s", "1 min", "2 min", "4 min",
                                                                      "60 min"]


@pytest.mark.parametrize(("decision", "message"), [
    (Decision(False, Reason.WRONG_PIN, tries_left=2), "Wrong PIN. 2 tries left."),
    (Decision(False, Reason.WRONG_PIN, tries_left=1), "Wrong PIN. 1 try left."),
    (Decision(False, Reason.WRONG_PIN, tries_left=3, retry_after_seconds=5),
     "Wrong PIN. 3 tries left. Please wait 5 s before the next PIN."),
    (Decision(False, Reason.WRONG_PIN, tries_left=0, retry_after_seconds=30, card_works=True),
     "Wrong PIN. Too many wrong PINs for this resident: try again in 30 s, or use your card."),
    (Decision(False, Reason.LOCKED_OUT, tries_left=0, retry_after_seconds=200, card_works=True),
     "Too many wrong PINs for this resident: try again in 4 min, or use your card."),
    (Decision(False, Reason.LOCKED_OUT, tries_left=0, retry_after_seconds=200),
     "Too many wrong PINs for this resident: try again in 4 min, or ask the management office."),
    (Decision(False, Reason.PIN_WAIT, retry_after_seconds=8), "Please wait 8 s before the next PIN."),
    (Decision(False, Reason.WRONG_PIN), "Wrong PIN."),
])
def test_the_screen_shows_tries_left_and_the_wait(decision: Decision, message: str) -> None:
    assert decision.message == message


def guesses(duration: timedelta, *, gates: int = 1, one_resident: bool = True) -> int:
    """Wrong PINs a guesser gets evaluated in `duration`, typing the moment each wait or lock ends.

    With `one_resident` every guess is at the same resident (threat 1); otherwise each guess claims a
    different resident with the same common PIN (threat 2), so only the gate keypads slow it down.
    """
    keypads = [lk.LockoutState() for _ in range(gates)]
    resident = lk.LockoutState()
    now, count, end = T0, 0, T0 + duration
    while True:
        gate = min(range(gates), key=lambda k: keypads[k].locked_until or T0)
        ready = max(now, keypads[gate].locked_until or T0, (resident.locked_until or T0) if one_resident else T0)
        if ready >= end:
            return count
        keypads[gate] = lk.gate_after_failure(keypads[gate], ready, GATE)
        if one_resident:
            resident = lk.resident_after_failure(resident, ready, RESIDENT)
        count += 1
        now = ready + timedelta(seconds=1)  # typing a code and a PIN takes at least a second


@pytest.mark.parametrize(("duration", "gates", "one_resident", "bound"), [
    (timedelta(hours=1), 1, True, 35),
    (timedelta(days=1), 1, True, 150),
    (timedelta(days=1), 4, True, 150),  # the resident's lock holds at every gate
    (timedelta(days=365), 4, True, 54_535),
    (timedelta(hours=1), 1, False, 53),
    (timedelta(days=1), 1, False, 1216),
])
def test_guesses_are_bounded_as_docs_security_states(duration: timedelta, gates: int, one_resident: bool,
                                                     bound: int) -> None:
    assert guesses(duration, gates=gates, one_resident=one_resident) == bound
