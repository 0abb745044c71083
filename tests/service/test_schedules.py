"""Time schedules with holidays, per resident and per group; anti-passback per gate pair."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gate.context import GateContext
from gate.core.decision import Reason
from gate.errors import PolicyError
from gate.store import gates, residents
from gate.store.models import Holiday, PassbackPair
from gate.store.schedules import SiteRules, add_window, allowed, assign, parse_window
from tests.service.conftest import CARD, CODE, PIN

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)   # a Monday
SATURDAY_10 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
WORKDAYS = parse_window("1111100", "08:00", "18:00")
HOLIDAY_MORNING = parse_window("0000000", "09:00", "12:00", on_holidays=True)


def test_windows_weekdays_hours_and_holidays() -> None:
    assert allowed(None, frozenset(), MONDAY_10)
    assert allowed([[WORKDAYS]], frozenset(), MONDAY_10)
    assert not allowed([[WORKDAYS]], frozenset(), SATURDAY_10)
    assert not allowed([[WORKDAYS]], frozenset(), MONDAY_10.replace(hour=18))  # end is exclusive
    assert not allowed([[WORKDAYS]], frozenset({MONDAY_10.date()}), MONDAY_10)  # holiday: workdays do not apply
    assert allowed([[WORKDAYS, HOLIDAY_MORNING]], frozenset({MONDAY_10.date()}), MONDAY_10)
    assert allowed([[WORKDAYS], [parse_window("0000011", "00:00", "24:00")]], frozenset(), SATURDAY_10)


@pytest.mark.parametrize("args", [("11111", "08:00", "18:00"), ("1111100", "8:00", "18:00"),
                                  ("1111100", "18:00", "08:00"), ("1111100", "24:00", "24:00")])
def test_bad_windows_are_refused(args: tuple[str, str, str]) -> None:
    with pytest.raises(PolicyError):
        parse_window(*args)


def at(ctx: GateContext, when: datetime) -> GateContext:
    ctx.clock = lambda: when
    return ctx


def test_resident_and_group_schedules_apply_to_card_and_pin(installation: GateContext) -> None:
    ctx = installation
    with ctx.transaction() as session:
        add_window(session, "office", "1111100", "08:00", "18:00", False, MONDAY_10)
        add_window(session, "weekend", "0000011", "00:00", "24:00", False, MONDAY_10)
        resident = residents.get_resident(session, CODE)
        resident.group_name = "staff"
        assign(session, "office", group="staff")
    access = at(ctx, MONDAY_10).access()
    access.rules = SiteRules()
    assert access.card("main", CARD).decision.granted
    access.clock = lambda: SATURDAY_10
    assert access.card("main", CARD).decision.reason is Reason.OUTSIDE_SCHEDULE
    assert access.pin("main", CODE, PIN).decision.reason is Reason.OUTSIDE_SCHEDULE
    # the resident's own schedule wins over the group's
    with ctx.transaction() as session:
        assign(session, "weekend", resident=residents.get_resident(session, CODE))
    assert access.card("main", CARD).decision.granted
    access.clock = lambda: MONDAY_10
    assert access.card("main", CARD).decision.reason is Reason.OUTSIDE_SCHEDULE
    with ctx.transaction() as session:
        session.add(Holiday(day=date(2026, 11, 28), name="test holiday"))
    access.clock = lambda: SATURDAY_10
    assert access.card("main", CARD).decision.reason is Reason.OUTSIDE_SCHEDULE


def test_anti_passback_between_an_entry_and_an_exit_gate(installation: GateContext) -> None:
    ctx = installation
    with ctx.transaction() as session:
        entry = gates.get_gate(session, "main")
        exit_gate = gates.add_gate(session, "exit", "card,pin", actor="test")
        session.add(PassbackPair(name="lobby", entry_gate_id=entry.id, exit_gate_id=exit_gate.id, reset_minutes=60))
    access = at(ctx, MONDAY_10).access()
    access.rules = SiteRules()
    assert access.card("main", CARD).decision.granted
    second = access.card("main", CARD).decision
    assert second.reason is Reason.ANTI_PASSBACK and not second.granted
    assert access.card("exit", CARD).decision.granted
    assert access.card("exit", CARD).decision.granted  # exits are never refused
    assert access.card("main", CARD).decision.granted
    access.clock = lambda: MONDAY_10.replace(hour=11, minute=1)  # a missed exit expires after reset_minutes
    assert access.card("main", CARD).decision.granted


def test_schedule_commands(tmp_path) -> None:
    from click.testing import CliRunner

    from gate.cli import cli
    from gate.install import initialise

    data = tmp_path / "d"
    initialise(data)
    run = CliRunner()
    base = ["--data-dir", str(data)]
    assert run.invoke(cli, base + ["schedule", "window", "office", "--days", "1111100", "--start", "08:00",
                                   "--end", "18:00"]).exit_code == 0
    assert run.invoke(cli, base + ["schedule", "assign", "office", "--group", "staff"]).exit_code == 0
    assert run.invoke(cli, base + ["holiday", "add", "2026-10-01", "--name", "National Day"]).exit_code == 0
    listing = run.invoke(cli, base + ["schedule", "list"]).output
    assert "1111100 08:00-18:00" in listing and "group staff" in listing and "2026-10-01" in listing
    bad = run.invoke(cli, base + ["schedule", "window", "x", "--days", "11", "--start", "08:00", "--end", "18:00"])
    assert bad.exit_code != 0 and "seven 0/1" in bad.output
