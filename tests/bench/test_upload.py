"""`gate bench upload` runs each case in a child process and reports figures (never asserted here)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gate.cli import cli
from tests.conftest import FACES

# Five child processes, each loading the face models: minutes on a shared 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def test_bench_upload_measures_every_case_through_the_route() -> None:
    result = CliRunner().invoke(cli, ["bench", "upload", "--rounds", "1", "--faces", str(FACES), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    cases = ("png_36mp", "png_12mp", "jpeg_12mp", "jpeg_vga", "png_36mp_full_decode")
    for case in cases:
        assert {"idle_mb", "peak_mb", "over_idle_mb", "vs_640x480", "request"} <= set(figures[case]), case
        assert figures[case]["idle_mb"] > 0 and figures[case]["request"]["n"] == 1, case
    # The route refuses the 36 MP PNG (from its header) and takes the others in.
    assert figures["png_36mp"]["statuses"] == [422]
    assert figures["png_12mp"]["statuses"] == figures["jpeg_12mp"]["statuses"] == [200]
    assert figures["png_36mp_full_decode"]["statuses"] == [0]  # the decoder alone, no request
