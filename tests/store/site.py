"""Two installations, "north" and "south", on one fresh PostgreSQL database, joined as one site."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gate.context import GateContext
from tests.conftest import GateCli, _postgres_database, make_installation, publish_site_notice


@dataclass
class Site:
    north: GateContext
    south: GateContext
    north_dir: Path
    south_dir: Path


@pytest.fixture
def site_url() -> Iterator[str]:
    yield from _postgres_database()


def write_config(data_dir: Path, url: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "gate.toml").write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")


@pytest.fixture
def joined(tmp_path: Path, site_url: str) -> Iterator[Site]:
    """north founds the site with the key file `gate init` made; south joins and north approves it."""
    north_dir = make_installation(tmp_path / "north", site_url)
    GateCli(north_dir).ok("join", "--first", "--name", "north")
    south_dir = tmp_path / "south"
    write_config(south_dir, site_url)
    out = GateCli(south_dir).ok("join", "--name", "south")
    fingerprint = out.split("--fingerprint ")[1].split()[0].rstrip("`")
    GateCli(north_dir).ok("gates", "approve", "south", "--fingerprint", fingerprint)
    publish_site_notice(south_dir)
    north, south = GateContext.open(north_dir), GateContext.open(south_dir)
    yield Site(north, south, north_dir, south_dir)
    north.close()
    south.close()
