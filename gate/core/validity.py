"""Validity periods: when a resident, a card or a visitor code may be used. Pure; time passed in.

Residents and cards carry calendar dates (a lease runs "from 1 March until 28 February"), read in the
site's time zone: `valid_from` from 00:00 of that local day, `valid_until` up to the end of that local
day (inclusive). Visitor codes carry instants (a visit runs "today 14:00 to 18:00"). Both become a
`Validity` of aware instants here, so the decision only compares instants.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo


class Standing(enum.StrEnum):
    VALID = "valid"
    NOT_YET = "not_yet"
    ENDED = "ended"


@dataclass(frozen=True)
class Validity:
    """[start, end): None on either side means unbounded. Aware datetimes."""

    start: datetime | None = None
    end: datetime | None = None

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None

    def standing(self, now: datetime) -> Standing:
        if self.start is not None and now < self.start:
            return Standing.NOT_YET
        if self.end is not None and now >= self.end:
            return Standing.ENDED
        return Standing.VALID


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def from_dates(valid_from: date | None, valid_until: date | None, zone: tzinfo) -> Validity:
    """Local calendar days as instants: until is inclusive of its whole local day."""
    start = local_midnight(valid_from, zone) if valid_from is not None else None
    end = local_midnight(valid_until + timedelta(days=1), zone) if valid_until is not None else None
    return Validity(start, end)


def check_order(valid_from: date | datetime | None, valid_until: date | datetime | None) -> str | None:
    """Why a period is impossible (one sentence), or None."""
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        return "The end of validity is before its start: correct one of the two dates."
    return None
