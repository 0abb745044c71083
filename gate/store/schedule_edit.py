"""Editing time schedules, holidays and anti-passback pairs: one set of checks and one audit entry per
change, for the command line (gate.cli.schedule) and the web UI (webui.schedules) alike.

The rules themselves (what a window means, who is bound) are in gate.store.schedules.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.errors import ConflictError, NotFoundError, PolicyError
from gate.store import audit, gates, schedules
from gate.store.models import Holiday, PassbackPair, Resident, Schedule, ScheduleAssignment, ScheduleWindow

NAME_MAX = 64
HOLIDAY_NAME_MAX = 100
RESET_MINUTES = (1, 10_080)  # a minute to a week


def _name(text: str, what: str) -> str:
    name = text.strip()
    if not name or len(name) > NAME_MAX:
        raise PolicyError(f"A {what} needs a name of 1 to {NAME_MAX} characters.")
    return name


def add_window(session: Session, schedule_name: str, days: str, start: str, end: str, on_holidays: bool, *,
               actor: str, now: datetime) -> Schedule:
    """Add a weekly window to a schedule, creating the schedule if it is new."""
    name = _name(schedule_name, "schedule")
    schedule = schedules.add_window(session, name, days, start, end, on_holidays, now)
    audit.record(session, actor, "schedule.window", f"schedule:{name}", days=days, start=start, end=end,
                 on_holidays=on_holidays)
    return schedule


def remove_window(session: Session, window_id: int, *, actor: str) -> Schedule:
    window = session.get(ScheduleWindow, window_id)
    if window is None:
        raise NotFoundError("That time window no longer exists; reload the page.")
    schedule = window.schedule
    assigned = session.scalar(select(ScheduleAssignment.id).where(ScheduleAssignment.schedule_id == schedule.id)
                              .limit(1)) is not None
    if assigned and len(schedule.windows) == 1:
        raise PolicyError(f"This is the last window of schedule {schedule.name!r}, which is assigned: remove its "
                          "assignments first, or residents bound to it could never get in.")
    session.delete(window)
    session.flush()
    audit.record(session, actor, "schedule.window_remove", f"schedule:{schedule.name}", days=window.days,
                 start=window.start, end=window.end)
    return schedule


def assign(session: Session, schedule_name: str, *, resident: Resident | None = None, group: str | None = None,
           actor: str) -> ScheduleAssignment:
    group = group.strip() if group else None
    if group is not None and len(group) > NAME_MAX:
        raise PolicyError(f"A group name has at most {NAME_MAX} characters.")
    schedule = session.scalar(select(Schedule).where(Schedule.name == schedule_name))
    if schedule is not None:
        same = select(ScheduleAssignment.id).where(ScheduleAssignment.schedule_id == schedule.id)
        same = same.where(ScheduleAssignment.resident_id == resident.id) if resident is not None else \
            same.where(ScheduleAssignment.group_name == group)
        if session.scalar(same) is not None:
            raise ConflictError(f"Schedule {schedule_name!r} is already assigned to "
                                + (f"resident {resident.code}." if resident is not None else f"group {group!r}."))
    row = schedules.assign(session, schedule_name, resident=resident, group=group or None)
    audit.record(session, actor, "schedule.assign", f"schedule:{schedule_name}",
                 resident=resident.id if resident else None, group=group)
    return row


def unassign(session: Session, assignment_id: int, *, actor: str) -> None:
    row = session.get(ScheduleAssignment, assignment_id)
    if row is None:
        raise NotFoundError("That assignment no longer exists; reload the page.")
    schedule = session.get(Schedule, row.schedule_id)
    session.delete(row)
    session.flush()
    audit.record(session, actor, "schedule.unassign", f"schedule:{schedule.name if schedule else row.schedule_id}",
                 resident=row.resident_id, group=row.group_name)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as err:
        raise PolicyError(f"A holiday is a date YYYY-MM-DD, got {text[:20]!r}.") from err


def add_holiday(session: Session, day_text: str, name: str = "", *, actor: str) -> Holiday:
    day = parse_day(day_text)
    name = name.strip()
    if len(name) > HOLIDAY_NAME_MAX:
        raise PolicyError(f"A holiday's name has at most {HOLIDAY_NAME_MAX} characters.")
    if session.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
        raise ConflictError(f"{day.isoformat()} is already a holiday.")
    holiday = Holiday(day=day, name=name)
    session.add(holiday)
    session.flush()
    audit.record(session, actor, "holiday.add", f"holiday:{day.isoformat()}", name=name)
    return holiday


def remove_holiday(session: Session, day_text: str, *, actor: str) -> None:
    day = parse_day(day_text)
    holiday = session.scalar(select(Holiday).where(Holiday.day == day))
    if holiday is None:
        raise NotFoundError(f"{day.isoformat()} is not a holiday.")
    session.delete(holiday)
    session.flush()
    audit.record(session, actor, "holiday.remove", f"holiday:{day.isoformat()}", name=holiday.name)


def add_passback(session: Session, name: str, entry_name: str, exit_name: str, reset_minutes: int, *,
                 actor: str) -> PassbackPair:
    name = _name(name, "anti-passback pair")
    low, high = RESET_MINUTES
    if not low <= reset_minutes <= high:
        raise PolicyError(f"The reset time is {low} to {high} minutes (a week).")
    entry, exit_gate = gates.get_gate(session, entry_name), gates.get_gate(session, exit_name)
    if entry.id == exit_gate.id:
        raise PolicyError("The entry and the exit gate of a pair must differ.")
    if session.scalar(select(PassbackPair.id).where(PassbackPair.name == name)) is not None:
        raise ConflictError(f"An anti-passback pair named {name!r} already exists.")
    taken = session.scalar(select(PassbackPair.name).where(PassbackPair.entry_gate_id == entry.id))
    if taken is not None:
        # The gate checks one pair per entry gate; a second would be silently ignored.
        raise ConflictError(f"Gate {entry_name!r} is already the entry of pair {taken!r}.")
    pair = PassbackPair(name=name, entry_gate_id=entry.id, exit_gate_id=exit_gate.id, reset_minutes=reset_minutes)
    session.add(pair)
    session.flush()
    audit.record(session, actor, "passback.add", f"passback:{name}", entry=entry_name, exit=exit_name,
                 reset_minutes=reset_minutes)
    return pair


def remove_passback(session: Session, name: str, *, actor: str) -> None:
    pair = session.scalar(select(PassbackPair).where(PassbackPair.name == name))
    if pair is None:
        raise NotFoundError(f"No anti-passback pair named {name[:64]!r}.")
    session.delete(pair)
    session.flush()
    audit.record(session, actor, "passback.remove", f"passback:{name}")


__all__ = ["add_holiday", "add_passback", "add_window", "assign", "parse_day", "remove_holiday",
           "remove_passback", "remove_window", "unassign"]
