"""Two gates on one PostgreSQL database: "north" straight to the server, "south" through a LinkProxy.

Both run in this process (the service tests' simulated hardware: a Modbus board and an OSDP reader
on pseudo-terminals), each with its own data folder, journal and decision engine, as two gate
computers would. `site_factory(**gate_keys)` writes the keys into both gates' `[gate]` section.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gate.context import GateContext
from gate.service.builder import build_runtime
from gate.service.runtime import GateRuntime
from gate.service.simrig import SimRig
from gate.store import gates, residents
from tests.conftest import _postgres_database, make_installation
from tests.multigate.proxy import LinkProxy
from tests.service.conftest import CARD, CODE, LOADED_MACHINE_TIMEOUTS, PIN, Gate

POSTGRES = ("127.0.0.1", 5432)

__all__ = ["CARD", "CODE", "PIN", "Site", "site_factory"]


@dataclass
class Site:
    url: str
    proxy: LinkProxy
    north: Gate
    south: Gate


def _toml(url: str, gate_keys: dict[str, object]) -> str:
    lines = ["[database]", f'url = "{url}"', "[gate]"]
    lines += [f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"'
              for key, value in gate_keys.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
def site_factory(tmp_path: Path, postgres_url: str) -> Iterator[Callable[..., Site]]:
    started: list[tuple[SimRig, GateRuntime, GateContext]] = []
    proxies: list[LinkProxy] = []

    def start_gate(data_dir: Path, name: str) -> Gate:
        ctx = GateContext.open(data_dir)
        rig = SimRig(pulse_ms=500).start()
        runtime = build_runtime(ctx, rig=rig, timeouts=LOADED_MACHINE_TIMEOUTS, gate_name=name)
        started.append((rig, runtime, ctx))
        runtime.start()
        gate = Gate(ctx, rig, runtime)
        assert gate.wait_for(lambda: runtime.snapshot().door.state == "locked"), f"{name}: door never reconciled"
        return gate

    def make(**gate_keys: object) -> Site:
        north_dir = make_installation(tmp_path / "north", postgres_url)
        ctx = GateContext.open(north_dir)
        try:
            with ctx.transaction() as session:
                for name in ("north", "south"):
                    gates.add_gate(session, name, actor="test")
                resident = residents.add_resident(session, code=CODE, name="Test Resident", actor="test")
                residents.add_card(session, resident, CARD, actor="test")
                residents.set_pin(session, resident, PIN, ctx.hasher, actor="test")
        finally:
            ctx.close()
        proxy = LinkProxy(POSTGRES).start()
        proxies.append(proxy)
        # South is a second gate computer: its own folder (the same key, copied as an installer would).
        south_dir = tmp_path / "south"
        shutil.copytree(north_dir, south_dir)
        (north_dir / "gate.toml").write_text(_toml(postgres_url, gate_keys), encoding="utf-8")
        (south_dir / "gate.toml").write_text(_toml(proxy.url_for(postgres_url), gate_keys), encoding="utf-8")
        for journal in south_dir.glob("*.jsonl"):
            journal.unlink()
        return Site(postgres_url, proxy, start_gate(north_dir, "north"), start_gate(south_dir, "south"))

    yield make
    for proxy in proxies:
        proxy.restore()
    for rig, runtime, ctx in reversed(started):
        runtime.stop()
        rig.stop()
        ctx.close()
    for proxy in proxies:
        proxy.stop()
