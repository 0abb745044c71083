"""The CLI's one-sentence errors in the shell's language; `gate db upgrade` names codes a keypad cannot type."""

from __future__ import annotations

from gate.cli.language import cli_language
from tests.conftest import GateCli


def test_the_cli_language_follows_lc_all_then_lc_messages_then_lang() -> None:
    assert cli_language({"LANG": "zh_CN.UTF-8"}) == "zh_Hans_CN"
    assert cli_language({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert cli_language({"LC_MESSAGES": "zh_TW", "LANG": "C"}) == "zh_Hans_CN"
    assert cli_language({"LANG": "C.UTF-8"}) == "en" and cli_language({}) == "en"


def test_an_expected_error_is_printed_in_chinese_under_a_chinese_locale(gate_cli: GateCli, monkeypatch) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    gate_cli.ok("resident", "add", "101", "--name", "王芳")
    again = gate_cli("resident", "add", "101", "--name", "王芳")
    assert again.exit_code == 1 and "住户编号 '101' 已存在。" in again.stderr and "Traceback" not in again.output
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    again = gate_cli("resident", "add", "101", "--name", "王芳")
    assert "A resident with code '101' already exists." in again.stderr


def test_codes_follow_the_site_setting_and_db_upgrade_lists_the_untypeable(gate_cli: GateCli) -> None:
    gate_cli.ok("resident", "add", "A1", "--name", "Letters")  # the suite's sites allow letters
    gate_cli.ok("site", "set", "site.resident_codes", "digits")
    refused = gate_cli("resident", "add", "B2", "--name", "Letters")
    assert refused.exit_code == 1 and "1-32 digits" in refused.stderr
    out = gate_cli.ok("db", "upgrade")
    assert "1 resident code(s) have characters a gate keypad cannot type" in out and "A1" in out
