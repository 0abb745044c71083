"""`gate resident add/edit --valid-from --valid-until`: a tenant's lease from the command line."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from gate.context import GateContext
from gate.store import residents


@pytest.fixture
def data_dir(_sqlite_template: Path, tmp_path: Path) -> Path:
    """A copy of the session's installation (`gate init` per test costs a second or more)."""
    shutil.copytree(_sqlite_template, tmp_path / "data")
    return tmp_path / "data"


def test_validity_from_the_command_line(gate_cli, data_dir) -> None:
    added = gate_cli("resident", "add", "T1", "--name", "Tenant", "--valid-from", "2026-03-01",
                     "--valid-until", "2027-02-28")
    assert added.exit_code == 0, added.output
    edited = gate_cli("resident", "edit", "T1", "--valid-until", "2027-08-31")
    assert edited.exit_code == 0 and "2026-03-01 – 2027-08-31" in edited.output
    wrong = gate_cli("resident", "edit", "T1", "--valid-until", "31/08/2027")
    assert wrong.exit_code != 0 and "YYYY-MM-DD" in wrong.output
    backwards = gate_cli("resident", "edit", "T1", "--valid-until", "2026-01-01")
    assert backwards.exit_code != 0 and "before its start" in backwards.output
    cleared = gate_cli("resident", "edit", "T1", "--valid-from", "")
    assert cleared.exit_code == 0, cleared.output
    context = GateContext.open(data_dir)
    try:
        with context.sessions() as session:
            stored = residents.get_resident(session, "T1")
            assert (stored.valid_from, stored.valid_until) == (None, date(2027, 8, 31))
    finally:
        context.close()
