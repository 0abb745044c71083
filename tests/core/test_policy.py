"""A1 in the pure core: what part of a stored policy runs, and whether credentials give a non-face way in."""

import pytest

from gate.core.policy import (
    FALLBACK_METHODS,
    Method,
    has_non_face_way_in,
    parse_methods,
    read_stored,
    runnable_methods,
)


@pytest.mark.parametrize("stored, runs", [
    ("card,pin,face,card+face", "card,pin,face,card+face"),  # valid: all of it runs
    ("card,card+face", "card,card+face"),
    ("card,face", "card"),          # face without pin: invalid, its non-face part runs
    ("pin,card+face", "pin"),
    ("card+pin,face", "card+pin"),
    ("card+face", "card,pin"),      # nothing non-face left: the fallback
    ("face", "card,pin"),
    ("face,card+face", "card,pin"),
])
def test_an_invalid_policy_runs_as_its_non_face_part_or_card_and_pin(stored, runs):
    assert runnable_methods(parse_methods(stored)) == parse_methods(runs)


@pytest.mark.parametrize("stored", ["card+face", "face", "card,face", "pin,card+face", "face,card+face"])
def test_what_runs_of_an_invalid_policy_never_uses_face(stored):
    assert not any(m.uses_face for m in runnable_methods(parse_methods(stored)))


def test_reading_a_stored_policy_reports_the_problem_with_an_invalid_one_only():
    assert read_stored("card,pin") == (parse_methods("card,pin"), None)
    methods, problem = read_stored("card+face")
    assert methods == FALLBACK_METHODS
    assert problem is not None and "only way in" in problem


def test_unknown_names_in_a_stored_policy_are_a_problem_not_a_crash():
    methods, problem = read_stored("card,fingerprint")
    assert methods == frozenset({Method.CARD})
    assert problem is not None and "'fingerprint'" in problem
    methods, problem = read_stored("")
    assert methods == FALLBACK_METHODS and problem is not None


@pytest.mark.parametrize("methods, has_card, has_pin, way_in", [
    ("card,card+face", True, False, True),
    ("card,card+face", False, True, False),      # a PIN the gate does not accept
    ("card+pin,card+face", True, False, False),  # the card opens only with a PIN they do not have
    ("card+pin,card+face", True, True, True),
    ("pin,face", False, True, True),
    ("pin,face", True, False, False),            # a card the gate does not accept
    ("card,pin,face", False, False, False),      # nothing but face
])
def test_a_non_face_way_in_is_a_card_the_gate_accepts_or_a_pin_where_pin_is_accepted(
        methods, has_card, has_pin, way_in):
    assert has_non_face_way_in(parse_methods(methods), has_card=has_card, has_pin=has_pin) is way_in
