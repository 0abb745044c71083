"""`gate bench all --quick`: every benchmark runs and lands in the one table (figures are not asserted)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from gate.cli import cli
from tests.conftest import FACES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # every benchmark, one after the other

ROWS = [
    "access card decision", "access PIN decision", "relay card to pulse (drivers only)",
    "gate card to relay", "gate PIN to relay", "gate face to relay", "face verify 1:1 (640x480, onnx)",
    "face verify 1:1 (640x480, dlib)",
    "halfopen card to relay, none held", "halfopen card to relay, 300 held",
    "halfopen GET /health, none held", "halfopen GET /health, 300 held", "upload 36 MP PNG (peak RSS over idle)",
    "offline card to relay, file free", "offline card to relay, file locked",
]
FACE_ROWS = {"gate face to relay", "face verify 1:1 (640x480, onnx)", "face verify 1:1 (640x480, dlib)"}


def test_bench_all_quick_prints_one_row_per_figure() -> None:
    result = CliRunner().invoke(cli, ["bench", "all", "--quick", "--faces", str(FACES)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("benchmark "))
    assert lines[header].split()[:6] == ["benchmark", "n", "median", "ms", "p95", "ms"]
    body = lines[header + 2:]
    assert [line for name in ROWS for line in body if line.startswith(name + " ")] == body, body
    for name, line in zip(ROWS, body, strict=True):
        assert line.startswith(name + " ")
        figures = line[len(name):].split()
        if name in FACE_ROWS and not FACES.is_dir():
            assert line.endswith("skipped: no face photos folder")
            continue
        n, median = int(figures[0]), float(figures[1])
        assert n > 0 and median > 0, line
    halfopen = next(line for line in body if line.startswith("halfopen card to relay, 300 held"))
    assert re.search(r"\d+\.\d\dx median, \d+\.\d\dx p99 \(goal 1\.2x\); 300/300 held", halfopen)
