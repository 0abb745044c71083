"""N1: "under 14" is computed from the date of birth on a given local date (pure, no clock)."""

from __future__ import annotations

from datetime import date

from gate.core.minors import age_on, is_under_14


def test_the_14th_birthday_ends_being_under_14_on_that_day() -> None:
    born = date(2012, 6, 15)
    assert age_on(born, date(2026, 6, 14)) == 13 and is_under_14(born, date(2026, 6, 14))
    assert age_on(born, date(2026, 6, 15)) == 14 and not is_under_14(born, date(2026, 6, 15))
    assert is_under_14(born, date(2012, 6, 15))


def test_a_29_february_birthday_completes_the_year_on_1_march() -> None:
    born = date(2012, 2, 29)
    assert is_under_14(born, date(2026, 2, 28))
    assert not is_under_14(born, date(2026, 3, 1))
