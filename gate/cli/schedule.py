"""`gate schedule`, `gate holiday`, `gate passback`: time schedules, holidays and anti-passback pairs.

Every change is audited like the other commands. The gate service reads them at every decision (and
copies them into its offline cache at every refresh).
"""

from __future__ import annotations

from datetime import date

import click
from sqlalchemy import select

from gate.cli import Env, pass_env
from gate.clock import utcnow
from gate.errors import PolicyError
from gate.store import audit, gates, residents, schedules
from gate.store.models import Holiday, PassbackPair, Schedule, ScheduleAssignment

ACTOR = "cli"


@click.group("schedule")
def schedule_group() -> None:
    """Weekly time windows for residents or groups (residents with none assigned are not restricted)."""


@schedule_group.command("window")
@click.argument("name")
@click.option("--days", required=True, help="Seven 0/1, Monday first: 1111100 = Monday to Friday.")
@click.option("--start", required=True, help="HH:MM, site local time ([site] timezone).")
@click.option("--end", required=True, help="HH:MM or 24:00.")
@click.option("--holidays", "on_holidays", is_flag=True, help="This window also applies on holidays.")
@pass_env
def schedule_window(env: Env, name: str, days: str, start: str, end: str, on_holidays: bool) -> None:
    """Add a window to schedule NAME (created if new)."""
    with env.context().transaction() as session:
        schedules.add_window(session, name, days, start, end, on_holidays, utcnow())
        audit.record(session, ACTOR, "schedule.window", f"schedule:{name}", days=days, start=start, end=end,
                     on_holidays=on_holidays)
    click.echo(f"schedule {name}: window {days} {start}-{end}" + (" (also on holidays)" if on_holidays else ""))


@schedule_group.command("assign")
@click.argument("name")
@click.option("--resident", "code", default=None, help="Resident code.")
@click.option("--group", default=None, help="Group name (residents.group_name).")
@pass_env
def schedule_assign(env: Env, name: str, code: str | None, group: str | None) -> None:
    """Bind a resident, or every resident of a group, to schedule NAME."""
    with env.context().transaction() as session:
        resident = residents.get_resident(session, code) if code else None
        schedules.assign(session, name, resident=resident, group=group)
        audit.record(session, ACTOR, "schedule.assign", f"schedule:{name}",
                     resident=resident.id if resident else None, group=group)
    click.echo(f"schedule {name} assigned to " + (f"resident {code}" if code else f"group {group}"))


@schedule_group.command("list")
@pass_env
def schedule_list(env: Env) -> None:
    with env.context().sessions() as session:
        for schedule in session.scalars(select(Schedule).order_by(Schedule.name)):
            click.echo(schedule.name)
            for w in schedule.windows:
                click.echo(f"  {w.days} {w.start}-{w.end}" + (" holidays" if w.on_holidays else ""))
            for a in session.scalars(select(ScheduleAssignment).where(ScheduleAssignment.schedule_id == schedule.id)):
                click.echo("  -> " + (f"resident #{a.resident_id}" if a.resident_id else f"group {a.group_name}"))
        for holiday in session.scalars(select(Holiday).order_by(Holiday.day)):
            click.echo(f"holiday {holiday.day.isoformat()} {holiday.name}")


@click.group("holiday")
def holiday_group() -> None:
    """Holidays: on these days only windows marked --holidays apply."""


@holiday_group.command("add")
@click.argument("day")
@click.option("--name", default="")
@pass_env
def holiday_add(env: Env, day: str, name: str) -> None:
    try:
        when = date.fromisoformat(day)
    except ValueError as err:
        raise PolicyError(f"A holiday is a date YYYY-MM-DD, got {day!r}.") from err
    with env.context().transaction() as session:
        session.add(Holiday(day=when, name=name))
        audit.record(session, ACTOR, "holiday.add", f"holiday:{when.isoformat()}", name=name)
    click.echo(f"holiday {when.isoformat()} added")


@click.group("passback")
def passback_group() -> None:
    """Anti-passback between an entry gate and an exit gate (optional)."""


@passback_group.command("add")
@click.argument("name")
@click.option("--entry", "entry_name", required=True)
@click.option("--exit", "exit_name", required=True)
@click.option("--reset-minutes", default=720, show_default=True, type=click.IntRange(1, 10080))
@pass_env
def passback_add(env: Env, name: str, entry_name: str, exit_name: str, reset_minutes: int) -> None:
    with env.context().transaction() as session:
        entry, exit_gate = gates.get_gate(session, entry_name), gates.get_gate(session, exit_name)
        if entry.id == exit_gate.id:
            raise PolicyError("The entry and the exit gate of a pair must differ.")
        session.add(PassbackPair(name=name, entry_gate_id=entry.id, exit_gate_id=exit_gate.id,
                                 reset_minutes=reset_minutes))
        audit.record(session, ACTOR, "passback.add", f"passback:{name}", entry=entry_name, exit=exit_name,
                     reset_minutes=reset_minutes)
    click.echo(f"anti-passback {name}: entry {entry_name}, exit {exit_name}, reset after {reset_minutes} min")


COMMANDS = [schedule_group, holiday_group, passback_group]
