"""Site-wide settings in the database (issue 17, finding 6), on SQLite and PostgreSQL: seeded once from
gate.toml, then the file's site-wide keys are ignored with a warning; changed through the gate.toml
checks, audited old -> new; a running gate sees a change at its next poll."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from gate.clock import utcnow
from gate.context import GateContext
from gate.errors import ConfigError
from gate.store import site_settings
from gate.store.models import AuditEntry
from tests.conftest import GateCli, make_installation


def _append(data_dir: Path, text: str) -> None:
    config = data_dir / "gate.toml"
    config.write_text(config.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_the_first_gate_seeds_from_its_file_and_a_later_file_value_is_ignored_with_a_warning(
        tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    first = tmp_path / "north"
    first.mkdir()
    (first / "gate.toml").write_text(f'[database]\nurl = "{database_url}"\n[retention]\ntemplate_days = 200\n'
                                     "[security]\npin_max_failures = 4\n", encoding="utf-8")
    make_installation(first)
    second = make_installation(tmp_path / "south", database_url)
    _append(second, "\n[security]\npin_max_failures = 9\n")  # too late: the database holds the site's value
    _append(second, "\n[retention]\ntemplate_days = 30\n")
    with caplog.at_level(logging.WARNING, logger="gate.store.site_settings"):
        south = GateContext.open(second)
    try:
        assert south.settings.template_retention_days == 200 and south.settings.pin_max_failures == 4
        warned = " ".join(record.getMessage() for record in caplog.records)
        assert "[security] pin_max_failures in gate.toml is ignored" in warned
        assert "[retention] template_days in gate.toml is ignored" in warned
        assert "gate site set security.pin_max_failures VALUE" in warned
        assert south.file_settings is not None and south.file_settings.pin_max_failures == 9  # as written
    finally:
        south.close()


def test_a_change_is_checked_like_gate_toml_audited_and_seen_by_a_running_gate(any_data_dir: Path) -> None:
    editor, running = GateContext.open(any_data_dir), GateContext.open(any_data_dir)
    try:
        assert running.refresh_site_settings() == []  # nothing moved since it opened
        with editor.transaction() as session:
            with pytest.raises(ConfigError, match=r"^\[retention\] template_days must be a whole number of days "
                                                  r"between 1 and 1095 \(3 years is the legal maximum\), got 2000\.$"):
                site_settings.change(session, "retention.template_days", 2000, actor="admin", now=utcnow())
            with pytest.raises(ConfigError, match="'web.port' is not a site-wide setting"):
                site_settings.change(session, "web.port", 80, actor="admin", now=utcnow())
            with pytest.raises(ConfigError, match=r"\[site\] timezone must be an IANA time zone"):
                site_settings.change(session, "site.timezone", "Mars/Olympus", actor="admin", now=utcnow())
        with editor.transaction() as session:
            assert site_settings.change(session, "retention.template_days", 90, actor="admin",
                                        now=utcnow()) == (365, 90)
            site_settings.change(session, "security.pin_max_failures", 3, actor="admin", now=utcnow())
        assert running.settings.template_retention_days == 365  # until its next poll
        assert sorted(running.refresh_site_settings()) == ["retention.template_days", "security.pin_max_failures"]
        assert running.settings.template_retention_days == 90 and running.settings.pin_max_failures == 3
        access = running.access()
        assert access.settings.pin_max_failures == 3 and access.pipeline.resident_rules.max_failures == 3
        with editor.sessions() as session:
            entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "site.setting")
                                           .order_by(AuditEntry.id)))
        assert [(e.actor, e.subject, json.loads(e.details)["old"], json.loads(e.details)["new"])
                for e in entries] == [("admin", "site:retention.template_days", 365, 90),
                                      ("admin", "site:security.pin_max_failures", 5, 3)]
    finally:
        editor.close()
        running.close()


def test_gate_site_set_and_show(any_data_dir: Path) -> None:
    cli = GateCli(any_data_dir)
    assert "site.timezone = \"UTC\"   (applies when each gate restarts)" in cli.ok("site", "show")
    out = cli.ok("site", "set", "site.timezone", "Asia/Shanghai")
    assert out.strip() == 'site.timezone: "UTC" -> "Asia/Shanghai" (applies at each gate\'s next restart).'
    assert "within seconds" in cli.ok("site", "set", "site.forbid_face_for_minors", "true")
    shown = cli.ok("site", "show")
    assert 'site.timezone = "Asia/Shanghai"' in shown and "site.forbid_face_for_minors = true" in shown
    refused = cli("site", "set", "security.face_max_attempts", "11")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == ("Error: [security] face_max_attempts must be a whole number between 1 and 10, "
                                      "got 11.")
    assert cli("site", "set", "gate.name", "north").exit_code == 1
