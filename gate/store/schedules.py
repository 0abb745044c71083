"""Time schedules with holidays, and anti-passback. The verdicts are pure functions; the loaders read
the database and hand plain data to them.

Rules:
* A resident with schedules of their own is bound by those; otherwise by their group's; a resident
  with neither is not restricted. With several schedules, being inside any window is enough.
* A window applies on the weekdays it names, between start (inclusive) and end (exclusive), in the
  site's local time ([site] timezone, default UTC). On a holiday only windows marked `on_holidays`
  apply, whatever the weekday.
* Anti-passback (optional, per gate pair): after a granted entry at the entry gate, a second entry is
  refused until an exit at the exit gate or until `reset_minutes` have passed. Exits are never
  refused (nobody is shut in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gate.errors import PolicyError
from gate.store.models import (
    Gate,
    Holiday,
    PassbackPair,
    PassbackPresence,
    Resident,
    Schedule,
    ScheduleAssignment,
    ScheduleWindow,
)

_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")


@dataclass(frozen=True)
class Window:
    days: str          # "1111100": Monday first
    start: time
    end: time | None   # None: until midnight ("24:00")
    on_holidays: bool = False

    def covers(self, local: datetime, holiday: bool) -> bool:
        if holiday:
            if not self.on_holidays:
                return False
        elif self.days[local.weekday()] != "1":
            return False
        now = local.time().replace(tzinfo=None)
        return self.start <= now and (self.end is None or now < self.end)


def parse_window(days: str, start: str, end: str, on_holidays: bool = False) -> Window:
    if not re.fullmatch(r"[01]{7}", days):
        raise PolicyError("Days are seven 0/1 characters, Monday first: e.g. 1111100 for Monday to Friday.")
    if not _HHMM.fullmatch(start) or start == "24:00" or not _HHMM.fullmatch(end):
        raise PolicyError("Times are HH:MM (00:00 to 23:59; the end may be 24:00).")
    start_t = time.fromisoformat(start)
    end_t = None if end == "24:00" else time.fromisoformat(end)
    if end_t is not None and end_t <= start_t:
        raise PolicyError("A window ends after it starts; split a window that crosses midnight in two.")
    return Window(days, start_t, end_t, on_holidays)


def allowed(schedules: Iterable[Iterable[Window]] | None, holidays: frozenset[date], local: datetime) -> bool:
    """None (no schedule applies): allowed. Otherwise inside any window of any schedule."""
    if schedules is None:
        return True
    holiday = local.date() in holidays
    return any(window.covers(local, holiday) for windows in schedules for window in windows)


def passback_allows(inside: bool | None, since: datetime | None, now: datetime, reset_minutes: int) -> bool:
    if not inside or since is None:
        return True
    return now - since >= timedelta(minutes=reset_minutes)


# -- loaders and the AccessService hook -----------------------------------------------------------
class SiteRules:
    """Plugged into AccessService: the schedule and anti-passback parts of the subject."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.zone = ZoneInfo(timezone)

    def within_schedule(self, session: Session, resident: Resident, now: datetime) -> bool:
        return schedule_checker(session, resident, self.zone)(now)

    def passback_ok(self, session: Session, resident: Resident, gate: Gate, now: datetime) -> bool:
        pair = session.scalar(select(PassbackPair).where(PassbackPair.entry_gate_id == gate.id))
        if pair is None:
            return True
        presence = session.get(PassbackPresence, (pair.id, resident.id))
        return passback_allows(presence.inside if presence else None, presence.at if presence else None, now,
                               pair.reset_minutes)

    def after_grant(self, session: Session, resident: Resident, gate: Gate, now: datetime) -> None:
        pairs = session.scalars(select(PassbackPair).where(
            or_(PassbackPair.entry_gate_id == gate.id, PassbackPair.exit_gate_id == gate.id)))
        for pair in pairs:
            presence = session.get(PassbackPresence, (pair.id, resident.id)) or PassbackPresence(
                pair_id=pair.id, resident_id=resident.id)
            presence.inside = pair.entry_gate_id == gate.id
            presence.at = now
            session.add(presence)


def schedule_checker(session: Session, resident: Resident, zone: ZoneInfo | None = None):
    """A function now -> allowed, with everything it needs loaded now (also used by the offline cache)."""
    zone = zone or ZoneInfo("UTC")
    query = select(ScheduleAssignment.schedule_id).where(ScheduleAssignment.resident_id == resident.id)
    ids = list(session.scalars(query))
    if not ids and resident.group_name:
        ids = list(session.scalars(select(ScheduleAssignment.schedule_id)
                                   .where(ScheduleAssignment.group_name == resident.group_name)))
    if not ids:
        return lambda now: True
    rows = session.scalars(select(ScheduleWindow).where(ScheduleWindow.schedule_id.in_(ids)))
    by_schedule: dict[int, list[Window]] = {i: [] for i in ids}
    for row in rows:
        by_schedule[row.schedule_id].append(parse_window(row.days, row.start, row.end, row.on_holidays))
    holidays = frozenset(session.scalars(select(Holiday.day)))
    schedules = list(by_schedule.values())
    return lambda now: allowed(schedules, holidays, now.astimezone(zone))


# -- editing (used by the CLI) ----------------------------------------------------------------------
def add_window(session: Session, schedule_name: str, days: str, start: str, end: str, on_holidays: bool,
               now: datetime) -> Schedule:
    parse_window(days, start, end, on_holidays)
    schedule = session.scalar(select(Schedule).where(Schedule.name == schedule_name))
    if schedule is None:
        schedule = Schedule(name=schedule_name, created_at=now)
        session.add(schedule)
        session.flush()
    session.add(ScheduleWindow(schedule_id=schedule.id, days=days, start=start, end=end, on_holidays=on_holidays))
    session.flush()
    return schedule


def assign(session: Session, schedule_name: str, *, resident: Resident | None = None,
           group: str | None = None) -> ScheduleAssignment:
    schedule = session.scalar(select(Schedule).where(Schedule.name == schedule_name))
    if schedule is None:
        raise PolicyError(f"No schedule named {schedule_name!r}: add a window to create it.")
    if (resident is None) == (group is None):
        raise PolicyError("Assign a schedule to one resident or to one group.")
    row = ScheduleAssignment(schedule_id=schedule.id, resident_id=resident.id if resident else None,
                             group_name=group)
    session.add(row)
    session.flush()
    return row
