"""docs/site.md "Setting up two or more gates", run as written: every command of its `sh` block, in order,
each on the computer the comment before it names, against a real PostgreSQL database. Each computer's
/var/lib/gate and the USB stick are temporary folders; `$SITE_DB` is the test database. Afterwards each
gate finds its own gate in the shared database (no "No gate named 'main'") and both hold the same site key,
which no file carries: neither keeps a master.key."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.context import GateContext
from tests.conftest import _postgres_database

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "docs" / "site.md"

pytestmark = pytest.mark.postgres


def documented_steps() -> list[tuple[str, str]]:
    """(computer, command) for each line of the section's sh block; the computer from "# On NAME"."""
    section = SITE.read_text(encoding="utf-8").split("## Setting up two or more gates", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "docs/site.md lost its set-up commands"
    steps: list[tuple[str, str]] = []
    computer = ""
    for line in block.group(1).splitlines():
        on = re.match(r"# On (\w+)", line)
        if on:
            computer = on.group(1)
        elif line.strip() and not line.startswith("#"):
            assert computer, f"no computer named before {line!r}"
            steps.append((computer, line.split("  #")[0].strip()))
    return steps


def test_the_documented_steps_set_up_two_gates_on_one_postgresql_database(tmp_path, monkeypatch):
    from gate.cli import cli

    monkeypatch.delenv("GATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("GATE_DATA_DIR", raising=False)
    steps = documented_steps()
    assert [c for c, _ in steps].count("north") >= 1 and [c for c, _ in steps].count("south") >= 2
    for site_db in _postgres_database():
        folders = {name: tmp_path / name for name in ("north", "south")}

        outputs: dict[str, str] = {}
        for computer, command in steps:
            argv = shlex.split(command.replace("/var/lib/gate", str(folders[computer]))
                               .replace('"$SITE_DB"', shlex.quote(site_db)))
            if argv[0] == "gate":
                result = CliRunner().invoke(cli, argv[1:])
                assert result.exit_code == 0, f"{computer}: {command}: {result.output}{result.stderr}"
                outputs[f"{computer}: {command}"] = result.stdout
            else:
                subprocess.run(argv, check=True, env={**os.environ})

        listed = outputs["south: gate --data-dir /var/lib/gate gates list"]
        assert [line.split()[0] for line in listed.splitlines()[1:]] == ["north", "south"]  # no unused 'main'
        site_keys = []
        for computer in ("north", "south"):
            assert not (folders[computer] / "keys" / "master.key").exists()
            ctx = GateContext.open(folders[computer])
            try:
                site_keys.append(ctx.key_file.load().current)
                assert ctx.settings.gate.name == computer and ctx.settings.database_url == site_db
                with ctx.sessions() as session:
                    from gate.store.gates import get_gate

                    get_gate(session, computer)  # what `gate serve` looks up first
            finally:
                ctx.close()
            assert not (folders[computer] / "gate.db").exists()
        assert site_keys[0] == site_keys[1]
