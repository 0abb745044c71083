"""A gate whose clock is more than [gate] max_clock_skew_seconds off the database server's raises the
`clock_skew` alarm on /health (issue 17, finding 5); a gate on time does not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from gate.clock import utcnow
from gate.context import GateContext
from gate.service.builder import build_runtime
from gate.service.simrig import SimRig
from tests.conftest import _postgres_database, make_installation
from tests.service.conftest import LOADED_MACHINE_TIMEOUTS

pytestmark = pytest.mark.postgres


@pytest.fixture
def shared_url() -> Iterator[str]:
    yield from _postgres_database()


def _alarms(data_dir: Path, offset: timedelta) -> list[str]:
    ctx = GateContext.open(data_dir, clock=lambda: utcnow() + offset)
    rig = SimRig(mode="door").start()
    try:
        runtime = build_runtime(ctx, rig=rig, timeouts=LOADED_MACHINE_TIMEOUTS).start()
        try:
            alarms = runtime.snapshot().as_dict()["alarms"]
            assert isinstance(alarms, list)
            return alarms
        finally:
            runtime.stop()
    finally:
        rig.stop()
        ctx.close()


def test_a_gate_ten_minutes_fast_or_slow_shows_clock_skew_and_one_on_time_does_not(
        tmp_path: Path, shared_url: str) -> None:
    north = make_installation(tmp_path / "north", shared_url)
    south = make_installation(tmp_path / "south", shared_url)
    assert "clock_skew" not in _alarms(north, timedelta(0))
    assert "clock_skew" in _alarms(south, timedelta(minutes=10))
    assert "clock_skew" in _alarms(south, timedelta(minutes=-10))
    assert "clock_skew" not in _alarms(south, timedelta(seconds=2))  # within the default 5 s
