"""Wrong PINs through the evidence pipeline, on SQLite and PostgreSQL: one resident's lockout never
locks out another, the gate keypad waits instead of refusing right PINs, counters decay, and nothing
typed during a wait is tested."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from gate.access.offline import OfflineCache
from gate.access.pipeline import AccessService, Outcome
from gate.clock import utcnow
from gate.context import GateContext
from gate.core.decision import Reason
from gate.core.lockout import gate_scope, resident_scope
from gate.store import residents
from gate.store.models import Lockout

ALICE, BOB, CAROL = ("A1", "482915"), ("B1", "730264"), ("C1", "520131")


class MovableClock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def site(any_data_dir: Path, clock: MovableClock) -> Iterator[GateContext]:
    # The shared clock moves too: lock-outs are timed by the site's (the database's) clock.
    context = GateContext.open(any_data_dir, clock=clock, shared_clock=lambda _session: clock())
    with context.transaction() as session:
        for (code, pin), card in zip((ALICE, BOB, CAROL), ("1:1001", "1:1002", "1:1003"), strict=True):
            resident = residents.add_resident(session, code=code, name=code, actor="test")
            residents.add_card(session, resident, card, actor="test")
            residents.set_pin(session, resident, pin, context.hasher, actor="test")
    yield context
    context.close()


def after_any_wait(access: AccessService, clock: MovableClock, code: str, pin: str) -> Outcome:
    """A PIN typed once the keypad's wait (if any) is over, as a patient person would."""
    outcome = access.pin("main", code, pin)
    if outcome.decision.reason is Reason.PIN_WAIT:
        assert outcome.decision.retry_after_seconds
        clock.now += timedelta(seconds=outcome.decision.retry_after_seconds)
        outcome = access.pin("main", code, pin)
    return outcome


def counters(ctx: GateContext) -> dict[str, tuple[int, int]]:
    with ctx.sessions() as session:
        return {row.scope: (row.failures, row.lockouts) for row in session.scalars(select(Lockout))}


def test_another_residents_right_pin_is_granted_after_someone_elses_wrong_pins(site, clock):
    access = site.access()
    for _ in range(site.settings.pin_max_failures):
        assert not after_any_wait(access, clock, ALICE[0], "000000").decision.granted
    assert after_any_wait(access, clock, *ALICE).decision.reason is Reason.LOCKED_OUT
    bob = after_any_wait(access, clock, *BOB)
    assert bob.decision.granted, bob.decision
    assert access.card("main", "1:1001").decision.granted  # Alice's card is never locked


def test_tries_left_count_down_then_the_resident_is_told_how_long(site, clock):
    access = site.access()
    seen = [after_any_wait(access, clock, ALICE[0], "000000").decision for _ in range(5)]
    assert [d.tries_left for d in seen] == [4, 3, 2, 1, 0]
    assert seen[0].message == "Wrong PIN. 4 tries left."
    assert seen[4].retry_after_seconds == site.settings.pin_lockout_base_seconds
    assert seen[4].message == "Wrong PIN. Too many wrong PINs for this resident: try again in 30 s, or use your card."
    # The keypad's wait (20 s after five wrong PINs in a row) comes first, then Alice's own lock.
    waiting = access.pin("main", *ALICE).decision
    assert (waiting.reason, waiting.retry_after_seconds) == (Reason.PIN_WAIT, 20)
    clock.now += timedelta(seconds=20)
    locked = access.pin("main", *ALICE).decision
    assert (locked.reason, locked.retry_after_seconds) == (Reason.LOCKED_OUT, 10)
    assert locked.message == "Too many wrong PINs for this resident: try again in 10 s, or use your card."
    clock.now += timedelta(seconds=10)
    assert access.pin("main", *ALICE).decision.granted


def test_the_keypad_waits_after_wrong_pins_and_a_right_pin_after_the_wait_is_accepted(site, clock):
    access = site.access()
    free = site.settings.security.pin_gate_free_failures
    for i in range(free):  # codes nobody has, with a common PIN
        assert access.pin("main", f"X{i}", "520131").decision.reason is Reason.UNKNOWN_RESIDENT
    waiting = access.pin("main", *BOB).decision
    assert (waiting.reason, waiting.retry_after_seconds) == (Reason.PIN_WAIT, 5)
    assert waiting.message == "Please wait 5 s before the next PIN."
    assert access.card("main", "1:1002").decision.granted  # the card never waits
    clock.now += timedelta(seconds=5)
    assert access.pin("main", *BOB).decision.granted


def test_a_guessers_attempts_during_the_wait_are_not_evaluated(site, clock):
    access = site.access()
    for i in range(site.settings.security.pin_gate_free_failures):
        access.pin("main", f"X{i}", "520131")
    before = counters(site)
    # Carol's PIN is 520131: during the wait even the right guess is not tested, nor is the code looked up.
    for code in ("C1", "X9", "A1"):
        decision = access.pin("main", code, "520131").decision
        assert (decision.granted, decision.reason) == (False, Reason.PIN_WAIT), code
    assert counters(site) == before
    clock.now += timedelta(seconds=2)
    assert access.pin("main", "C1", "520131").decision.retry_after_seconds == 3  # typing did not extend it


def test_resident_counters_decay_after_their_window(site, clock):
    access = site.access()
    for _ in range(4):
        after_any_wait(access, clock, ALICE[0], "000000")
    clock.now += timedelta(hours=site.settings.security.pin_resident_window_hours)
    decision = after_any_wait(access, clock, ALICE[0], "000000").decision
    assert decision.tries_left == 4  # the four wrong PINs of yesterday no longer count
    with site.sessions() as session:
        row = session.get(Lockout, resident_scope(1))
        assert row is not None and row.first_failure_at == clock.now


def test_gate_counters_decay_after_their_window(site, clock):
    access = site.access()
    for i in range(6):
        after_any_wait(access, clock, f"X{i}", "520131")
    clock.now += timedelta(minutes=site.settings.security.pin_gate_window_minutes)
    assert access.pin("main", "X7", "520131").decision.reason is Reason.UNKNOWN_RESIDENT
    assert access.pin("main", "X8", "520131").decision.reason is Reason.UNKNOWN_RESIDENT  # no wait yet
    gate_id = access.pin("main", *BOB).gate_id
    assert counters(site)[gate_scope(gate_id)] == (2, 0)  # the six wrong PINs before no longer count


def test_a_counter_written_before_counters_decayed_is_forgotten(site, clock):
    with site.engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("lockouts")}
    assert {"first_failure_at", "last_failure_at"} <= columns
    with site.transaction() as session:
        session.add(Lockout(scope=resident_scope(1), failures=4, lockouts=6))
    decision = site.access().pin("main", ALICE[0], "000000").decision
    assert decision.tries_left == 4


@pytest.mark.slow  # two argon2 checks per attempt
def test_the_offline_copy_applies_the_same_rules(site, clock):
    access = site.access()
    cache = OfflineCache(site.settings, site.hasher)
    cache.refresh(site.sessions, "main", clock.now)

    def both(code: str, pin: str):  # type: ignore[no-untyped-def]
        online = access.pin("main", code, pin).decision
        offline = cache.pin(code, pin, clock.now).decision
        assert offline == online, (code, pin)
        if online.reason is Reason.PIN_WAIT:
            assert online.retry_after_seconds
            clock.now += timedelta(seconds=online.retry_after_seconds)
        return online

    script = [(ALICE[0], "000000")] * 8 + [ALICE, ALICE, BOB, ("X1", "520131"), (ALICE[0], "000000")]
    reasons = [both(code, pin).reason for code, pin in script]
    assert {Reason.PIN_WAIT, Reason.WRONG_PIN, Reason.LOCKED_OUT, Reason.GRANTED, Reason.UNKNOWN_RESIDENT} <= set(
        reasons), reasons
    clock.now += timedelta(hours=1)
    assert both(*ALICE).granted
