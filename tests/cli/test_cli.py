"""The CLI as an installer and an operator use it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from gate.config import load_settings
from gate.store import db
from tests.conftest import REPO, GateCli


def test_init_creates_config_key_and_migrated_database(tmp_path):
    cli = GateCli(tmp_path / "fresh")
    out = cli.ok("init")
    assert "created master key" in out and "migrated the database" in out
    key = tmp_path / "fresh" / "keys" / "master.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.parent.stat().st_mode & 0o777 == 0o700
    assert "nothing to do" in cli.ok("init")


def test_resident_card_pin_consent_flow(gate_cli):
    gate_cli.ok("resident", "add", "A1", "--name", "Alice Wang", "--unit", "3-201")
    assert "card 8106606 added" in gate_cli.ok("card", "add", "A1", "123,45678")  # FC 123 << 16 | 45678
    gate_cli.ok("pin", "set", "A1", input="482915\n")
    listing = gate_cli.ok("resident", "list")
    assert "A1" in listing and "cards=1 pin=yes face=no" in listing
    assert "notice version 1" in gate_cli.ok("consent", "grant", "A1", "--operator", "op1")
    assert "destroyed: 0" in gate_cli.ok("consent", "withdraw", "A1", "--operator", "op1")
    assert "removed resident A1" in gate_cli.ok("resident", "remove", "A1")
    assert "audit log intact" in gate_cli.ok("audit", "verify")


def test_pin_never_appears_in_database_or_output(gate_cli, data_dir):
    gate_cli.ok("resident", "add", "A1", "--name", "Alice")
    result = gate_cli("pin", "set", "A1", input="739164\n")
    assert "739164" not in result.output
    assert b"739164" not in (data_dir / "gate.db").read_bytes()


@pytest.mark.parametrize("args, message", [
    (("resident", "add", "A 1", "--name", "x"), "resident code"),
    (("card", "add", "NOPE", "123"), "No resident with code 'NOPE'"),
    (("gates", "set", "main", "--methods", "face"), "only way in"),
    (("gates", "set", "main", "--methods", "card,pin,face"), "impact assessment"),
    (("gates", "set", "nowhere", "--methods", "card"), "No gate named"),
])
def test_expected_errors_are_one_sentence_on_stderr(gate_cli, args, message):
    result = gate_cli(*args)
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_weak_pins_and_bad_card_numbers_are_refused(gate_cli):
    gate_cli.ok("resident", "add", "A1", "--name", "Alice")
    assert "consecutive" in gate_cli("pin", "set", "A1", input="123456\n").stderr
    assert "4 to 8 digits" in gate_cli("pin", "set", "A1", input="12a4\n").stderr
    assert "not a card number" in gate_cli("card", "add", "A1", "DROP TABLE").stderr


def test_face_is_enabled_only_after_an_impact_assessment(gate_cli, tmp_path):
    document = tmp_path / "dpia.pdf"
    document.write_bytes(b"%PDF assessment")
    gate_cli.ok("gates", "assess", "main", "--date", "2026-11-01", "--approver", "DPO Li", "--document", str(document))
    assert "card,pin,face" in gate_cli.ok("gates", "set", "main", "--methods", "card,pin,face")
    assert gate_cli("gates", "assess", "main", "--date", "01/11/2026", "--approver", "x",
                    "--document", str(document)).exit_code != 0


def test_purge_and_rotate_from_the_cli(gate_cli):
    assert "purged 0 face templates" in gate_cli.ok("purge")
    assert "re-wrapped 0 data keys" in gate_cli.ok("keys", "rotate")


def test_audit_verify_exits_non_zero_on_tampering(gate_cli, data_dir):
    gate_cli.ok("resident", "add", "A1", "--name", "Alice")
    settings = load_settings(data_dir)
    engine = db.make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 1"))
    engine.dispose()
    result = gate_cli("audit", "verify")
    assert result.exit_code == 1 and "BROKEN" in result.stderr


def test_unmigrated_database_is_refused_with_the_command_to_run(tmp_path):
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    from gate.store import db

    engine = db.make_engine(f"sqlite:///{data_dir / 'gate.db'}")  # an empty database file, no schema
    engine.connect().close()
    engine.dispose()
    result = GateCli(data_dir)("resident", "list")
    assert result.exit_code != 0
    assert "db upgrade" in result.stderr and "Traceback" not in result.stderr
    GateCli(data_dir).ok("db", "upgrade")
    GateCli(data_dir).ok("resident", "list")


def test_data_dir_is_required(monkeypatch):
    from click.testing import CliRunner

    from gate.cli import cli

    monkeypatch.delenv("GATE_DATA_DIR", raising=False)
    result = CliRunner().invoke(cli, ["resident", "list"])
    assert result.exit_code != 0 and "GATE_DATA_DIR" in result.stderr


def test_retention_over_three_years_is_refused(tmp_path):
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    (data_dir / "gate.toml").write_text("[retention]\ntemplate_days = 2000\n")
    result = GateCli(data_dir)("init")
    assert result.exit_code != 0 and "3 years" in result.stderr


def test_the_installed_console_script_works_with_gate_data_dir(tmp_path):
    gate = Path(sys.executable).parent / "gate"
    env = {**os.environ, "GATE_DATA_DIR": str(tmp_path / "d")}
    done = subprocess.run([str(gate), "init"], env=env, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    failed = subprocess.run([str(gate), "card", "add", "NOPE", "1"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert failed.returncode == 1 and failed.stderr.startswith("Error: No resident")


def test_retention_schedule_follows_configuration(tmp_path):
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    (data_dir / "gate.toml").write_text("[retention]\ntemplate_days = 180\n")
    cli = GateCli(data_dir)
    cli.ok("init")
    text_out = cli.ok("retention-schedule")
    assert "180 days" in text_out and "1095 days" in text_out


def test_purge_dry_run_lists_and_deletes_nothing(gate_cli, data_dir):
    from datetime import timedelta

    from sqlalchemy import update

    from gate.clock import utcnow
    from gate.context import GateContext
    from gate.store.models import FaceTemplate
    from tests.store.helpers import resident_with_template

    ctx = GateContext.open(data_dir)
    resident_with_template(ctx, "A1")
    with ctx.transaction() as session:
        # Made and last used 400 days ago: past the site's 365 days (a template cannot be used before it
        # was made, so both move).
        long_ago = utcnow() - timedelta(days=400)
        session.execute(update(FaceTemplate).values(created_at=long_ago, last_used_at=long_ago))
    ctx.close()
    out = gate_cli.ok("purge", "--dry-run")
    assert "A1: expired" in out and "1 face templates due" in out
    assert "face=yes" in gate_cli.ok("resident", "list")
    assert "expired=1" in gate_cli.ok("purge")
    assert "face=no" in gate_cli.ok("resident", "list")


@pytest.mark.parametrize(("change", "message"), [
    ({"--approver": " "}, "needs the name of its approver"),
    ({"--date": "2999-01-01"}, "is in the future"),
    ({"--document": "EMPTY"}, "Attach the signed assessment document"),
    ({"--document": "MISSING"}, "Cannot read the assessment document"),
])
def test_assess_refuses_what_the_web_ui_refuses(gate_cli, tmp_path, change, message):
    """U1: the CLI runs the same checks as the settings page (it once took an empty, future-dated record)."""
    (tmp_path / "dpia.pdf").write_bytes(b"%PDF assessment")
    (tmp_path / "EMPTY").write_bytes(b"")
    options = {"--date": "2026-11-01", "--approver": "DPO Li", "--document": str(tmp_path / "dpia.pdf")}
    options |= {k: str(tmp_path / v) if k == "--document" else v for k, v in change.items()}
    result = gate_cli("gates", "assess", "main", *[part for pair in options.items() for part in pair])
    assert result.exit_code != 0 and message in result.stderr, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "assessment=no" in gate_cli.ok("gates", "list")


def test_privacy_record_as_json_and_text(gate_cli, data_dir):
    """U2: the record of processing on demand, as JSON for the regulator and as text for a person."""
    import json

    gate_cli.ok("resident", "add", "A1", "--name", "Alice Wang")
    record = json.loads(gate_cli.ok("privacy", "record", "--json"))
    assert record["counts"]["residents_active"] == 1
    assert record["storage"]["master_key_file"] == str(data_dir / "keys" / "master.key")
    assert record["storage"]["database_backend"] == "sqlite" and record["recipients"] == []
    text = gate_cli.ok("privacy", "record")
    assert "storage:" in text and "master key file:" in text and "recipients:\n  none" in text


def test_face_is_never_anyones_only_way_in_from_the_cli(gate_cli, tmp_path):
    document = tmp_path / "dpia.pdf"
    document.write_bytes(b"%PDF assessment")
    gate_cli.ok("gates", "assess", "main", "--date", "2026-11-01", "--approver", "DPO Li", "--document", str(document))
    gate_cli.ok("gates", "set", "main", "--methods", "pin,face")
    gate_cli.ok("resident", "add", "A1", "--name", "Alice Wang")
    refused = gate_cli("consent", "grant", "A1", "--operator", "op1")
    assert refused.exit_code != 0 and "has no way in without face at main" in refused.stderr
    assert "Traceback" not in refused.output + refused.stderr
    gate_cli.ok("pin", "set", "A1", input="482915\n")
    gate_cli.ok("consent", "grant", "A1", "--operator", "op1")
    gate_cli.ok("card", "add", "A1", "123,45678")
    assert "PIN cleared for A1" in gate_cli.ok("pin", "clear", "A1")  # no template yet: nothing to protect
    assert "pin=no" in gate_cli.ok("resident", "list")


def test_after_init_consent_waits_for_a_completed_notice_then_prints_its_receipt(tmp_path):
    """C3: `gate init` only drafts the notice; the CLI says so in one sentence, then works once published."""
    cli = GateCli(tmp_path / "fresh")
    assert "drafted face notice version 1" in cli.ok("init")
    cli.ok("resident", "add", "901", "--name", "Kid", "--birth-date", "2020-05-01")
    refused = cli("consent", "grant", "901", "--operator", "op1", "--guardian", "Parent One")
    assert refused.exit_code != 0 and "No face notice is published" in refused.stderr
    assert "Traceback" not in refused.output + refused.stderr
    from tests.conftest import publish_site_notice

    publish_site_notice(tmp_path / "fresh")
    no_guardian = cli("consent", "grant", "901", "--operator", "op1")
    assert no_guardian.exit_code != 0 and "under 14" in no_guardian.stderr
    granted = cli.ok("consent", "grant", "901", "--operator", "op1", "--guardian", "Parent One")
    assert "against notice version 1 (receipt no." in granted
    bad_date = cli("resident", "add", "902", "--name", "Kid", "--birth-date", "1.5.2020")
    assert bad_date.exit_code != 0 and "YYYY-MM-DD" in bad_date.stderr
