"""The grant window: a grant releases the door only within the window after the credential."""

from __future__ import annotations

from gate.core.grant_window import grant_in_time


def test_a_grant_at_once_or_within_the_window_is_in_time() -> None:
    assert grant_in_time(100.0, 100.0, 2000)
    assert grant_in_time(100.0, 101.5, 2000)
    assert grant_in_time(100.0, 102.0, 2000)  # the window's last instant still counts


def test_a_grant_after_the_window_is_too_late() -> None:
    assert not grant_in_time(100.0, 102.001, 2000)
    assert not grant_in_time(100.0, 150.6, 2000)  # the 45 s stall: the door opened 50.6 s after the card
    assert not grant_in_time(100.0, 100.6, 500)


def test_a_now_before_the_credential_is_not_in_time() -> None:
    # Two clocks mixed up: the grant cannot be placed in time, so the door stays locked.
    assert not grant_in_time(100.0, 99.0, 2000)

