"""`gate bench login` runs and reports each kind and the ratios (figures are not asserted)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from gate.cli import cli

pytestmark = pytest.mark.slow


def test_bench_login_reports_medians_and_ratios() -> None:
    text = CliRunner().invoke(cli, ["bench", "login", "--rounds", "2"])
    assert text.exit_code == 0, text.output
    assert re.search(r"unknown/known median \d+\.\d\dx, locked/known \d+\.\d\dx", text.stdout)
    as_json = CliRunner().invoke(cli, ["bench", "login", "--rounds", "1", "--json"])
    result = json.loads(as_json.stdout)
    assert {"known_wrong_password", "unknown_username", "locked_account"} <= set(result)
    assert result["unknown_username"]["n"] == 1 and result["ratio_unknown"] > 0
