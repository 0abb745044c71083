"""Times for people: stored times are UTC; what a person reads is the site's local time with the zone
named, so an 07:30 entry in Beijing reads 07:30, not 23:30 the day before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def _aware(moment: datetime) -> datetime:
    # The database gives naive datetimes (SQLite) that are UTC by our convention.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def offset_text(offset: timedelta | None) -> str:
    """UTC+08:00 style; UTC for zero."""
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    return _aware(moment).astimezone(zone)


def local_time_text(moment: datetime | None, zone: ZoneInfo, *, seconds: bool = True) -> str:
    """'2026-12-01 07:30:05 UTC+08:00'; an empty string for no time."""
    if moment is None:
        return ""
    here = local(moment, zone)
    shown = here.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{shown} {offset_text(here.utcoffset())}"


def local_date_text(moment: datetime | date | None, zone: ZoneInfo) -> str:
    """The local calendar date of a moment; a plain date is already local."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return local(moment, zone).date().isoformat()
    return moment.isoformat()


def iso_with_offset(moment: datetime, zone: ZoneInfo) -> str:
    """For exports: ISO 8601 local time carrying its offset (2026-12-01T07:30:05+08:00)."""
    return local(moment, zone).isoformat(timespec="seconds")
