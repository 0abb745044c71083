"""`gate gates remove` and `gate gates rename`, on SQLite and PostgreSQL: audited, and refused for a gate
that is running or (removal) has access events unless asked."""

from __future__ import annotations

import json

from sqlalchemy import select

from gate.clock import utcnow
from gate.context import GateContext
from gate.store import heartbeats
from gate.store.gates import get_gate
from gate.store.models import AccessEvent, AuditEntry
from tests.conftest import GateCli


def audit_actions(data_dir) -> list[tuple[str, str]]:
    ctx = GateContext.open(data_dir)
    try:
        with ctx.sessions() as session:
            return [(e.action, e.subject) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    finally:
        ctx.close()


def running_elsewhere(data_dir, name: str) -> None:
    ctx = GateContext.open(data_dir)
    try:
        with ctx.transaction() as session:
            heartbeats.beat(session, get_gate(session, name), heartbeats.Instance(host="gate-far", pid=77),
                            "running", utcnow())
    finally:
        ctx.close()


def names(cli: GateCli) -> list[str]:
    return [row["name"] for row in json.loads(cli.ok("gates", "list", "--json"))]


def test_the_unused_main_gate_can_be_removed_audited(any_data_dir):
    cli = GateCli(any_data_dir)
    cli.ok("gates", "add", "north")
    assert "removed gate main" in cli.ok("gates", "remove", "main")
    assert names(cli) == ["north"]
    assert ("gate.remove", "gate:main") in audit_actions(any_data_dir)


def test_a_gate_with_events_is_removed_only_when_asked_and_its_events_stay(any_data_dir):
    cli = GateCli(any_data_dir)
    ctx = GateContext.open(any_data_dir)
    try:
        ctx.access().card("main", "123,45678")  # an unknown card: one refused event at main
    finally:
        ctx.close()
    refused = cli("gates", "remove", "main")
    assert refused.exit_code == 1 and "has 1 access events" in refused.stderr and "--forget-events" in refused.stderr
    assert "keep their rows without a gate" in cli.ok("gates", "remove", "main", "--forget-events")
    ctx = GateContext.open(any_data_dir)
    try:
        with ctx.sessions() as session:
            assert [e.gate_id for e in session.scalars(select(AccessEvent))] == [None]
    finally:
        ctx.close()


def test_a_running_gate_is_neither_removed_nor_renamed(any_data_dir):
    cli = GateCli(any_data_dir)
    running_elsewhere(any_data_dir, "main")
    for args in (("remove", "main"), ("rename", "main", "north")):
        result = cli("gates", *args)
        assert result.exit_code == 1 and "is running on gate-far (process 77)" in result.stderr
    assert names(cli) == ["main"]


def test_rename_keeps_the_gate_and_is_audited(any_data_dir):
    cli = GateCli(any_data_dir)
    cli.ok("gates", "add", "south")
    out = cli.ok("gates", "rename", "main", "north")
    assert '[gate] name = "north"' in out
    assert names(cli) == ["north", "south"]
    assert ("gate.rename", "gate:north") in audit_actions(any_data_dir)
    taken = cli("gates", "rename", "north", "south")
    assert taken.exit_code == 1 and "exists already" in taken.stderr
    bad = cli("gates", "rename", "north", "no/slash")
    assert bad.exit_code == 1 and "A gate name is" in bad.stderr
    missing = cli("gates", "remove", "east")
    assert missing.exit_code == 1 and "No gate named 'east'" in missing.stderr


# -- no silent local database -------------------------------------------------------------------------


def test_a_command_without_the_site_database_makes_no_local_sqlite_database(tmp_path, monkeypatch):
    """A second gate's folder whose gate.toml does not name the site's database (and no
    GATE_DATABASE_URL): commands refuse instead of creating and using a new, empty local database."""
    monkeypatch.delenv("GATE_DATABASE_URL", raising=False)
    data_dir = tmp_path / "south"
    data_dir.mkdir()
    (data_dir / "gate.toml").write_text("[gate]\nname = \"south\"\n", encoding="utf-8")
    cli = GateCli(data_dir)
    for args in (("gates", "list"), ("db", "upgrade"), ("resident", "list")):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert f"There is no database at {data_dir / 'gate.db'}" in result.stderr
        assert "GATE_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
    assert not (data_dir / "gate.db").exists()


def test_init_refuses_a_new_sqlite_file_when_gate_toml_names_the_site_database(tmp_path, monkeypatch):
    data_dir = tmp_path / "south"
    data_dir.mkdir()
    (data_dir / "gate.toml").write_text('[database]\nurl = "postgresql+psycopg://gate@10.0.0.5/gate"\n',
                                        encoding="utf-8")
    monkeypatch.setenv("GATE_DATABASE_URL", f"sqlite:///{tmp_path / 'stray.db'}")
    result = GateCli(data_dir)("init")
    assert result.exit_code == 1 and "names the site's database but GATE_DATABASE_URL" in result.stderr
    assert not (tmp_path / "stray.db").exists()


def test_init_writes_the_gate_name_adds_that_gate_and_refuses_a_differing_existing_config(tmp_path):
    data_dir = tmp_path / "east"
    cli = GateCli(data_dir)
    assert "added gate 'east'" in cli.ok("init", "--gate-name", "east")
    assert 'name = "east"' in (data_dir / "gate.toml").read_text(encoding="utf-8")
    assert names(cli) == ["east"]
    other = cli("init", "--gate-name", "west")
    assert other.exit_code == 1 and "exists already and its [gate] name is not 'west'" in other.stderr
    bad = GateCli(tmp_path / "bad")("init", "--gate-name", "a/b")
    assert bad.exit_code == 1 and "A gate name is" in bad.stderr and not (tmp_path / "bad" / "gate.toml").exists()
