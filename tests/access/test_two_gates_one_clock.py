"""Two gates, "north" and "south", on one PostgreSQL database (issue 17, findings 5 and 6).

South's clock is 10 minutes off. Lock-outs are timed by the database server's clock, so a 30 s PIN
lock-out started at south lasts 30 s at north, whichever way south is wrong; a site-wide setting
changed at one gate is what the other uses, without a restart; `gate purge` at either finds the same
templates due and both print the same retention schedule.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from gate.clock import utcnow
from gate.context import GateContext
from gate.core.decision import Reason
from gate.store import residents
from gate.store.models import FaceTemplate
from tests.conftest import GateCli, _postgres_database, make_installation
from tests.store.helpers import resident_with_template

pytestmark = pytest.mark.postgres

CODE, PIN = "A1", "482915"


@pytest.fixture
def shared_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
def site(tmp_path: Path, shared_url: str) -> tuple[Path, Path]:
    north = make_installation(tmp_path / "north", shared_url)
    south = make_installation(tmp_path / "south", shared_url)
    return north, south


def _open(data_dir: Path, offset: timedelta = timedelta(0)) -> GateContext:
    return GateContext.open(data_dir, clock=lambda: utcnow() + offset)


@pytest.mark.parametrize("offset", [timedelta(minutes=10), timedelta(minutes=-10)], ids=["fast", "slow"])
def test_a_pin_lockout_started_at_a_gate_with_a_wrong_clock_lasts_its_30_s_at_the_other(
        site: tuple[Path, Path], offset: timedelta) -> None:
    north, south = _open(site[0]), _open(site[1], offset)
    try:
        with north.transaction() as session:
            resident = residents.add_resident(session, code=CODE, name=CODE, actor="test")
            residents.set_pin(session, resident, PIN, north.hasher, actor="test")
        # One wrong PIN locks, set at north for the whole site; south picks it up at its next poll.
        GateCli(site[0]).ok("site", "set", "security.pin_max_failures", "1")
        assert south.refresh_site_settings() == ["security.pin_max_failures"]
        assert south.settings.pin_lockout_base_seconds == 30

        wrong = south.access().pin("main", CODE, "000000").decision
        assert wrong.reason is Reason.WRONG_PIN and 25 <= (wrong.retry_after_seconds or 0) <= 30

        at_north = north.access().pin("main", CODE, PIN).decision
        assert at_north.reason is Reason.LOCKED_OUT  # 10 min slow: it still applies at north
        assert at_north.retry_after_seconds is not None and 20 <= at_north.retry_after_seconds <= 30  # not 630 s
        # Events show each gate's own time; their id is the order they were decided in.
        from gate.store.models import AccessEvent

        with north.sessions() as session:
            rows = session.query(AccessEvent).order_by(AccessEvent.id).all()
        assert [r.reason for r in rows] == ["wrong_pin", "locked_out"]
        assert abs(rows[0].at - (utcnow() + offset)) < timedelta(minutes=1)
    finally:
        north.close()
        south.close()


def test_a_retention_change_at_north_is_what_gate_purge_at_south_uses(site: tuple[Path, Path]) -> None:
    north_cli, south_cli = GateCli(site[0]), GateCli(site[1])
    north = _open(site[0])
    try:
        resident_with_template(north, "A1", card="1:1", pin="482915")
        with north.transaction() as session:  # made and last used 60 days ago
            sixty_days_ago = utcnow() - timedelta(days=60)
            session.execute(update(FaceTemplate).values(created_at=sixty_days_ago, last_used_at=sixty_days_ago))
    finally:
        north.close()
    assert "0 face templates due" in south_cli.ok("purge", "--dry-run")
    north_cli.ok("site", "set", "retention.template_days", "30")
    assert "1 face templates due" in south_cli.ok("purge", "--dry-run")
    assert "1 face templates due" in north_cli.ok("purge", "--dry-run")
    schedule = north_cli.ok("retention-schedule")
    assert "30 days" in schedule and south_cli.ok("retention-schedule") == schedule
