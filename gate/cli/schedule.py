"""`gate schedule`, `gate holiday`, `gate passback`: time schedules, holidays and anti-passback pairs.

Every change is audited like the other commands; the checks and the audit entries are the web UI's too
(gate.store.schedule_edit). The gate service reads them at every decision (and
copies them into its offline cache at every refresh).
"""

from __future__ import annotations

import click
from sqlalchemy import select

from gate.cli import Env, pass_env
from gate.clock import utcnow
from gate.store import residents, schedule_edit
from gate.store.models import Holiday, Schedule, ScheduleAssignment

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
        schedule_edit.add_window(session, name, days, start, end, on_holidays, actor=ACTOR, now=utcnow())
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
        schedule_edit.assign(session, name, resident=resident, group=group, actor=ACTOR)
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
    with env.context().transaction() as session:
        holiday = schedule_edit.add_holiday(session, day, name, actor=ACTOR)
    click.echo(f"holiday {holiday.day.isoformat()} added")


@click.group("passback")
def passback_group() -> None:
    """Anti-passback between an entry gate and an exit gate (optional)."""


@passback_group.command("add")
@click.argument("name")
@click.option("--entry", "entry_name", required=True)
@click.option("--exit", "exit_name", required=True)
@click.option("--reset-minutes", default=720, show_default=True, type=int,
              help="After this many minutes inside, a new entry is allowed again (1 to 10080).")
@pass_env
def passback_add(env: Env, name: str, entry_name: str, exit_name: str, reset_minutes: int) -> None:
    with env.context().transaction() as session:
        schedule_edit.add_passback(session, name, entry_name, exit_name, reset_minutes, actor=ACTOR)
    click.echo(f"anti-passback {name}: entry {entry_name}, exit {exit_name}, reset after {reset_minutes} min")


COMMANDS = [schedule_group, holiday_group, passback_group]
