"""DatabaseDeadline on its own: work past the deadline is abandoned, work queued behind it never
starts, and the PIN check's CPU time is not counted (no database needed: the work is plain callables)."""

from __future__ import annotations

import threading
import time

import pytest

from gate.service.db_deadline import DatabaseDeadline, DatabaseStalled


def test_work_past_the_deadline_is_abandoned_and_work_queued_behind_it_never_starts() -> None:
    deadline = DatabaseDeadline(0.2)
    hung, ran = threading.Event(), []
    try:
        with pytest.raises(DatabaseStalled):
            deadline.run(lambda: hung.wait(30))  # a query on a stalled link
        with pytest.raises(DatabaseStalled):
            deadline.run(lambda: ran.append("late"))  # waits behind it, past its own deadline
    finally:
        hung.set()
    assert deadline.run(lambda: "answered") == "answered"  # the worker is free again
    assert ran == []  # the queued work was never started once its caller had given up


def test_the_pin_check_does_not_count_toward_the_deadline() -> None:
    deadline = DatabaseDeadline(0.2)

    def decision_with_a_slow_pin_check() -> str:
        with deadline.paused():
            time.sleep(0.6)  # argon2 on a slow gate computer: CPU, it cannot stall
        return "granted"

    assert deadline.run(decision_with_a_slow_pin_check) == "granted"

    def decision_with_a_slow_database() -> str:
        time.sleep(0.6)
        return "granted"

    with pytest.raises(DatabaseStalled):
        deadline.run(decision_with_a_slow_database)
