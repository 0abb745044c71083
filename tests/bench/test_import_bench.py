"""`gate bench import` runs and reports (its figures are not asserted, only that it ran)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from gate.cli import cli


def test_bench_import_runs_and_card_decisions_go_on_during_it() -> None:
    result = CliRunner().invoke(cli, ["bench", "import", "--rows", "300", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["added"] == 300 and figures["failure"] is None
    assert figures["card_during_import"]["n"] >= 1 and "not_granted" in figures["card_during_import"]
