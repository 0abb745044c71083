"""`gate bench scale --quick` builds its installation into the data folder's cache, reuses it, and prints
every figure beside the small install (the figures themselves are not asserted)."""

from __future__ import annotations

import re

from click.testing import CliRunner

from gate.bench.scale import cached_install
from gate.cli import cli

FIGURES = ["card decision", "PIN decision", "residents page", "residents search (unit)", "events page",
           "system events page", "event CSV export, first rows", "event CSV export, one day in full", "dashboard"]


def test_bench_scale_quick_builds_once_and_reports_every_figure(tmp_path) -> None:
    first = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "bench", "scale", "--quick"])
    assert first.exit_code == 0, first.output
    body = first.stdout.splitlines()
    for name in FIGURES:
        big = next(line for line in body if line.startswith(f"{name}, 1,000 residents "))
        assert re.search(r"\d+\.\d\dx the small install", big), big
        assert any(line.startswith(f"{name}, 10 residents ") for line in body), name
    assert "large install built in" in first.stdout
    cache = list((tmp_path / "bench-cache").iterdir())
    assert len(cache) == 1 and (cache[0] / "ready.json").is_file()
    # The next run reuses it rather than building again; the figures are all there for --json too.
    assert cached_install(tmp_path / "bench-cache", 1_000, 20_000, cheap=True) == (cache[0], None)
