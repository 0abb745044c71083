"""The runtime's small collaborators on their own: door reactions, the keypad buffer, the machine's rules."""

from __future__ import annotations

import enum

import pytest

from gate.core.policy import GatePolicy, Method
from gate.service.door_watch import door_reaction
from gate.service.keypad import Keypad
from gate.service.timeouts import Timeouts, rules_for


class Kind(enum.StrEnum):  # drivers.door's event kinds are (becoming) a StrEnum with these values
    DOOR_CLOSED = "door_closed"
    PASSAGE_TIMEOUT = "passage_timeout"


@pytest.mark.parametrize(("kind", "raised", "cleared", "recorded"), [
    ("fire_alarm", {"fire_alarm"}, set(), "fire_alarm"),
    ("fire_alarm_cleared", set(), {"fire_alarm"}, "fire_alarm_cleared"),
    ("link_lost", {"relay_offline"}, set(), "link_lost"),
    ("link_restored", set(), {"relay_offline"}, "link_restored"),
    ("door_forced", {"door_forced"}, set(), "door_forced"),
    (Kind.DOOR_CLOSED, set(), {"door_held_open", "door_forced"}, "door_closed"),
    ("held_open", {"door_held_open"}, set(), "held_open"),
    (Kind.PASSAGE_TIMEOUT, set(), set(), "granted_not_used"),
    ("exit_request", set(), set(), "exit_request"),
    ("granted", set(), set(), None),
])
def test_door_events_map_to_alarms_and_records(kind: str, raised: set[str], cleared: set[str],
                                               recorded: str | None) -> None:
    reaction = door_reaction(kind)
    assert (set(reaction.raise_alarms), set(reaction.clear_alarms), reaction.record) == (raised, cleared, recorded)


def test_only_an_opening_door_arms_the_held_open_timer_and_only_a_passage_passes() -> None:
    assert door_reaction("door_opened").arm_held_open and door_reaction("door_forced").arm_held_open
    assert door_reaction("door_closed").cancel_held_open and not door_reaction("passage_timeout").arm_held_open
    assert door_reaction("passage").passage and not door_reaction("granted").passage


def test_keypad_collects_digits_submits_on_hash_and_clears_on_star() -> None:
    keypad = Keypad(3600, lambda: None)
    try:
        assert [keypad.press(k) for k in "12a3"] == [None] * 4 and keypad.buffer == "123"
        assert keypad.press("#") == "123" and keypad.buffer == ""
        assert keypad.press("#") is None  # nothing typed: nothing submitted
        keypad.press("9")
        assert keypad.press("*") is None and keypad.buffer == ""
        for _ in range(40):
            keypad.press("1")
        assert len(keypad.buffer) == 32
    finally:
        keypad.stop()


def test_the_machines_rules_take_the_ways_in_from_the_policy_and_the_times_from_the_service() -> None:
    policy = GatePolicy(gate_id=1, name="main", methods=frozenset({Method.CARD, Method.FACE}), max_face_attempts=2)
    rules = rules_for(policy, Timeouts(claim=1, face=2, decision=3, refusal=4, passage=5, held_open=6))
    assert rules.methods == policy.methods and rules.max_face_attempts == 2
    assert (rules.claim_timeout, rules.face_timeout, rules.decision_timeout, rules.refusal_timeout,
            rules.passage_timeout) == (1, 2, 3, 4, 5)
