"""gate.toml is parsed once, at load: typed sections, defaults, one-sentence refusals, environment overrides."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from drivers.config import DoorConfig, ReaderConfig, RelayConfig
from gate.config import DEFAULT_CONFIG_TEXT, DRIVER_SECTIONS, SECTIONS, Settings, load_settings, parse_settings
from gate.errors import ConfigError
from tests.conftest import REPO

WHERE = "data/gate.toml"
DATA = Path("/srv/gate-data")
KEY_HEX = "00112233445566778899aabbccddeeff"


def parse(text: str, data_dir: Path = DATA, environ: dict[str, str] | None = None) -> Settings:
    return parse_settings(text, data_dir, where=WHERE, environ=environ or {})


def refusal(text: str, data_dir: Path = DATA, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, data_dir, environ)
    return str(info.value)


def one_sentence(message: str) -> bool:
    # One sentence: a single full stop at the end (dots inside quoted values, paths and numbers aside).
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"|\S*/\S*|\d\.\d", "", message)
    return message.endswith(".") and unquoted.count(". ") == 0 and "\n" not in message


def test_idle_minutes_in_words_is_refused_with_one_sentence() -> None:
    assert refusal('[web]\nidle_minutes = "fifteen"\n') == (
        "data/gate.toml: [web] idle_minutes must be a whole number of minutes between 1 and 1440, got 'fifteen'.")


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'gate.db'}"
    assert settings.key_file == tmp_path / "keys" / "master.key"
    assert settings.config_file == tmp_path / "gate.toml"
    assert settings.retention.template_days == settings.template_retention_days == 365
    assert (settings.security.pin_max_failures, settings.security.pin_lockout_base_seconds,
            settings.security.face_max_attempts) == (5, 30, 3)
    assert (settings.web.host, settings.web.port, settings.web.tls, settings.web.tls_cert) == ("127.0.0.1", 8080,
                                                                                                False, None)
    assert (settings.web.idle_minutes, settings.web.proxy_hops) == (15, 0)
    assert settings.gate.name == "main" and settings.gate.kiosk_clients == ("127.0.0.1", "::1")
    assert (settings.gate.claim_timeout, settings.gate.face_timeout, settings.gate.refusal_timeout,
            settings.gate.held_open_seconds, settings.gate.offline_cache_hours,
            settings.gate.cache_refresh_seconds) == (20, 15, 8, 30, 24, 60)
    assert settings.camera.source is None
    assert (settings.mqtt.enabled, settings.mqtt.host, settings.mqtt.port, settings.mqtt.topic) == (
        False, "127.0.0.1", 1883, "gate/events")
    assert (settings.webhook.enabled, settings.webhook.url, settings.webhook.timeout_seconds) == (False, "", 5.0)
    assert (settings.site.timezone, settings.site.forbid_face_for_minors, settings.site.face_filing_warn_at) == (
        "UTC", False, 90_000)
    assert settings.privacy.kiosk_self_service is False  # P2 self-service is a site's choice, off by default
    assert (settings.metrics.enabled, settings.metrics.token_file) == (False, None)
    assert settings.relay is None and settings.reader is None


def test_require_file_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist: run `gate --data-dir .* init` first\.$"):
        load_settings(tmp_path, require_file=True)


def test_the_default_file_is_valid_and_means_the_defaults(tmp_path: Path) -> None:
    assert parse(DEFAULT_CONFIG_TEXT, tmp_path) == load_settings(tmp_path)


def test_the_default_file_documents_every_key() -> None:
    documented = set(re.findall(r"^#?\s*([a-z_]+)\s*=", DEFAULT_CONFIG_TEXT, re.MULTILINE))
    headers = set(re.findall(r"^#?\s*\[([a-z.]+)\]", DEFAULT_CONFIG_TEXT, re.MULTILINE))
    assert set(SECTIONS) | set(DRIVER_SECTIONS) | {"relay.door"} <= headers
    for cls in (*SECTIONS.values(), RelayConfig, DoorConfig, ReaderConfig):
        keys = {f.name for f in dataclasses.fields(cls)} - {"door"}
        assert keys <= documented, (cls.__name__, keys - documented)
    assert "key_file" in documented


def test_the_documentation_has_every_section_and_key() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name, cls in SECTIONS.items():
        assert f"## [{name}]" in doc, name
        part = doc.split(f"## [{name}]", 1)[1].split("\n## ", 1)[0]
        for item in dataclasses.fields(cls):
            assert f"| `{item.name}` |" in part, (name, item.name)
    for name, cls in (("relay", RelayConfig), ("relay.door", DoorConfig), ("reader", ReaderConfig)):
        part = doc.split(f"## [{name}]", 1)[1].split("\n## ", 1)[0]
        for item in dataclasses.fields(cls):
            if item.name != "door":
                assert f"| `{item.name}` |" in part, (name, item.name)
    assert "configuration.md" in (REPO / "README.md").read_text(encoding="utf-8")


GOOD = f"""
[database]
url = "postgresql+psycopg://gate@10.0.0.5:5432/gate"
[keys]
master_key_file = "/mnt/usb/master.key"
[retention]
template_days = 1095
[security]
pin_max_failures = 3
pin_lockout_base_seconds = 60
face_max_attempts = 1
[web]
host = "10.0.0.2"
port = 8443
tls = true
tls_cert = "/etc/ssl/gate.pem"
idle_minutes = 5
proxy_hops = 1
[face]
[gate]
name = "north"
claim_timeout = 10
face_timeout = 7.5
refusal_timeout = 4
held_open_seconds = 45
offline_cache_hours = 0.5
cache_refresh_seconds = 15
kiosk_clients = ["10.0.0.9"]
[camera]
source = "rtsp://10.0.0.7/stream1"
[mqtt]
enabled = true
host = "broker.lan"
port = 8883
topic = "site/gates"
username = "gate"
password = "s3cret-Pass"
tls = true
ca_file = "keys/ca.pem"
client_cert = "keys/client.pem"
client_key = "keys/client.key"
[homeassistant]
enabled = true
discovery_prefix = "ha"
topic = "site/ha"
commands = true
command_max_age_seconds = 3
[webhook]
enabled = true
url = "https://hooks.example/gate"
timeout_seconds = 2.5
[site]
timezone = "Asia/Shanghai"
forbid_face_for_minors = true
face_filing_warn_at = 50000
[privacy]
kiosk_self_service = true

[metrics]
enabled = true
token_file = "keys/metrics.token"

[log]
format = "text"
file = "logs/gate.log"
max_bytes = 1048576
backups = 3
level = "debug"
[relay]
backend = "modbus"
port = "/dev/ttyUSB0"
[relay.door]
pulse_ms = 2000
door_sensor_input = 0
[reader]
backend = "osdp"
port = "/dev/ttyUSB1"
key = "{KEY_HEX}"
"""


def test_every_section_with_good_values() -> None:
    settings = parse(GOOD)
    assert settings.database_url == "postgresql+psycopg://gate@10.0.0.5:5432/gate"
    assert settings.key_file == Path("/mnt/usb/master.key")
    assert settings.template_retention_days == 1095
    assert (settings.pin_max_failures, settings.pin_lockout_base_seconds, settings.face_max_attempts) == (3, 60, 1)
    assert settings.web == type(settings.web)(host="10.0.0.2", port=8443, tls=True, tls_cert="/etc/ssl/gate.pem",
                                              idle_minutes=5, proxy_hops=1)
    assert (settings.web_host, settings.web_port) == ("10.0.0.2", 8443)
    gate = settings.gate
    assert (gate.name, gate.claim_timeout, gate.face_timeout, gate.refusal_timeout, gate.held_open_seconds,
            gate.offline_cache_hours, gate.cache_refresh_seconds, gate.kiosk_clients) == (
        "north", 10.0, 7.5, 4.0, 45.0, 0.5, 15.0, ("10.0.0.9",))
    assert isinstance(gate.claim_timeout, float)
    assert settings.camera.source == "rtsp://10.0.0.7/stream1"
    assert (settings.mqtt.enabled, settings.mqtt.host, settings.mqtt.port, settings.mqtt.topic) == (
        True, "broker.lan", 8883, "site/gates")
    mqtt = settings.mqtt
    assert (mqtt.username, mqtt.password, mqtt.tls, mqtt.ca_file, mqtt.client_cert, mqtt.client_key) == (
        "gate", "s3cret-Pass", True, "keys/ca.pem", "keys/client.pem", "keys/client.key")
    ha = settings.homeassistant
    assert (ha.enabled, ha.discovery_prefix, ha.topic, ha.commands, ha.command_max_age_seconds) == (
        True, "ha", "site/ha", True, 3.0)
    assert (settings.webhook.enabled, settings.webhook.url, settings.webhook.timeout_seconds) == (
        True, "https://hooks.example/gate", 2.5)
    assert (settings.site.timezone, settings.forbid_face_for_minors, settings.face_filing_warn_at) == (
        "Asia/Shanghai", True, 50_000)
    assert settings.privacy.kiosk_self_service is True
    assert (settings.metrics.enabled, settings.metrics.token_file) == (True, "keys/metrics.token")
    assert settings.log == type(settings.log)(format="text", file="logs/gate.log", max_bytes=1_048_576, backups=3,
                                              level="debug")
    assert settings.relay is not None and settings.relay.backend == "modbus" and settings.relay.door.pulse_ms == 2000
    assert settings.reader is not None and settings.reader.key == bytes.fromhex(KEY_HEX)


@pytest.mark.parametrize("source", ["device:0", "rtsp://cam/1", "rtsps://cam/1", "http://cam/mjpg", "file:/v.mp4",
                                    "folder:/srv/images", "pushed:main"])
def test_camera_sources(source: str) -> None:
    assert parse(f'[camera]\nsource = "{source}"\n').camera.source == source


BAD = [
    ("database", "url", '"not a url"', 'a database URL such as'),
    ("database", "url", "5", "a database URL such as"),
    ("keys", "master_key_file", '""', "a file path"),
    ("retention", "template_days", "2000", "a whole number of days between 1 and 1095 (3 years is the legal maximum)"),
    ("retention", "template_days", "0", "a whole number of days between 1 and 1095"),
    ("retention", "template_days", "30.5", "a whole number of days between 1 and 1095"),
    ("retention", "visitor_days", "0", "a whole number of days between 1 and 1095"),
    ("retention", "visitor_days", "1096", "a whole number of days between 1 and 1095"),
    ("security", "pin_max_failures", "0", "a whole number between 1 and 100"),
    ("security", "pin_max_failures", "true", "a whole number between 1 and 100"),
    ("security", "pin_lockout_base_seconds", '"30"', "a whole number of seconds between 1 and 86400"),
    ("security", "face_max_attempts", "11", "a whole number between 1 and 10"),
    ("security", "pin_resident_window_hours", "0", "a whole number of hours between 1 and 720"),
    ("security", "pin_gate_free_failures", "101", "a whole number between 1 and 100"),
    ("security", "pin_gate_delay_base_seconds", "0.5", "a whole number of seconds between 1 and 3600"),
    ("security", "pin_gate_delay_max_seconds", "3601", "a whole number of seconds between 1 and 3600"),
    ("security", "pin_gate_window_minutes", "true", "a whole number of minutes between 1 and 1440"),
    ("face", "max_upload_megapixels", "0.5", "a number of megapixels between 1 and 40"),
    ("face", "engine", '"tensorflow"', '"onnx" or "dlib"'),
    ("face", "threads", "0", "a whole number of threads between 1 and 16"),
    ("web", "host", '"two words"', "a host name or IP address"),
    ("web", "host", '""', "a host name or IP address"),
    ("web", "port", "70000", "a whole number between 1 and 65535"),
    ("web", "tls", '"yes"', "true or false"),
    ("web", "tls_cert", "1", "a file path"),
    ("web", "idle_minutes", "0", "a whole number of minutes between 1 and 1440"),
    ("web", "idle_minutes", "1441", "a whole number of minutes between 1 and 1440"),
    ("web", "session_hours", "0", "a whole number of hours between 1 and 168"),
    ("web", "trusted_hosts", '"localhost"', "a list of host names or IP addresses"),
    ("web", "trusted_hosts", '["evil example"]', "a list of host names or IP addresses"),
    ("web", "trusted_hosts", "[]", "a list of host names or IP addresses"),
    ("web", "proxy_hops", "-1", "a whole number between 0 and 10"),
    ("web", "threads", "0", "a whole number between 1 and 256"),
    ("web", "connection_limit", "true", "a whole number between 1 and 100000"),
    ("web", "channel_timeout", "\"30s\"", "a whole number of seconds between 1 and 3600"),
    ("web", "cleanup_interval", "4000", "a whole number of seconds between 1 and 3600"),
    ("gate", "name", '""', "a gate name"),
    ("gate", "claim_timeout", '"20s"', "a number of seconds between 1 and 600"),
    ("gate", "face_timeout", "0", "a number of seconds between 1 and 600"),
    ("gate", "refusal_timeout", "601", "a number of seconds between 1 and 600"),
    ("gate", "held_open_seconds", "false", "a number of seconds between 1 and 3600"),
    ("gate", "offline_cache_hours", "1000", "a number of hours between 0.1 and 720"),
    ("gate", "cache_refresh_seconds", "0.5", "a number of seconds between 1 and 3600"),
    ("gate", "change_poll_seconds", "0.1", "a number of seconds between 0.5 and 3600"),
    ("gate", "decision_deadline_ms", "50", "a whole number of milliseconds between 100 and 5000"),
    ("gate", "grant_window_ms", "2.5", "a whole number of milliseconds between 500 and 30000"),
    ("gate", "kiosk_sound", '"loud"', "true or false"),
    ("gate", "kiosk_clients", '"127.0.0.1"', "a list of IP addresses"),
    ("gate", "kiosk_clients", '["screen.local"]', "a list of IP addresses"),
    ("gate", "kiosk_clients", "[]", "a list of IP addresses"),
    ("gate", "refuse_remote_in_fire_alarm", '"no"', "true or false"),
    ("gate", "max_clock_skew_seconds", "0", "a number of seconds between 1 and 3600"),
    ("camera", "source", '"webcam"', 'a camera such as "device:0"'),
    ("camera", "source", '"device:front"', 'a camera such as "device:0"'),
    ("mqtt", "enabled", "1", "true or false"),
    ("mqtt", "host", '"a\\nb"', "a host name or IP address"),
    ("mqtt", "port", "0", "a whole number between 1 and 65535"),
    ("mqtt", "topic", '"gate/#"', "an MQTT topic without the wildcards + and #"),
    ("mqtt", "include_resident", '"yes"', "true or false"),
    ("mqtt", "username", '""', "a user name"),
    ("mqtt", "password", "1234", "a non-empty text without control characters"),
    ("mqtt", "tls", '"yes"', "true or false"),
    ("mqtt", "ca_file", "1", "a file path"),
    ("mqtt", "client_cert", '""', "a file path"),
    ("mqtt", "client_key", "[]", "a file path"),
    ("homeassistant", "enabled", '"yes"', "true or false"),
    ("homeassistant", "discovery_prefix", '"ha/+"', "an MQTT topic without the wildcards + and #"),
    ("homeassistant", "topic", '""', "an MQTT topic without the wildcards + and #"),
    ("homeassistant", "commands", "1", "true or false"),
    ("homeassistant", "command_max_age_seconds", "61", "a number of seconds between 1 and 60"),
    ("homeassistant", "command_max_age_seconds", "0.5", "a number of seconds between 1 and 60"),
    ("webhook", "enabled", '"on"', "true or false"),
    ("webhook", "url", '"file:///etc/passwd"', "an http:// or https:// URL naming a host"),
    ("webhook", "url", '"https://"', "an http:// or https:// URL naming a host"),
    ("webhook", "timeout_seconds", "61", "a number of seconds between 0.1 and 60"),
    ("webhook", "include_resident", "1", "true or false"),
    ("site", "language", '"fr"', '"zh_Hans_CN" (Chinese) or "en" (English)'),
    ("site", "timezone", '"Mars/Olympus"', 'an IANA time zone such as "Asia/Shanghai"'),
    ("site", "forbid_face_for_minors", '"no"', "true or false"),
    ("site", "face_filing_warn_at", "100001", "a whole number between 1 and 100000"),
    ("site", "resident_codes", '"emoji"', '"digits" or "letters"'),
    ("privacy", "kiosk_self_service", '"yes"', "true or false"),
    ("metrics", "enabled", '"yes"', "true or false"),
    ("metrics", "token_file", '""', "a file path"),
    ("log", "format", '"xml"', '"json" or "text"'),
    ("log", "file", '""', "a file path"),
    ("log", "max_bytes", "1000", "a whole number of bytes between 65536 and 1073741824"),
    ("log", "backups", "0", "a whole number between 1 and 100"),
    ("log", "level", '"verbose"', '"debug", "info", "warning" or "error"'),
]


@pytest.mark.parametrize(("section", "key", "literal", "expected"), BAD, ids=[f"{s}.{k}={v}" for s, k, v, _ in BAD])
def test_bad_values_are_refused_with_one_sentence(section: str, key: str, literal: str, expected: str) -> None:
    message = refusal(f"[{section}]\n{key} = {literal}\n")
    assert message.startswith(f"{WHERE}: [{section}] {key} must be {expected}")
    assert re.search(r", got .+\.$", message), message
    assert one_sentence(message), message


def test_every_key_has_a_bad_value_case() -> None:
    covered = {(section, key) for section, key, _, _ in BAD}
    for name, cls in SECTIONS.items():
        for item in dataclasses.fields(cls):
            assert (name, item.name) in covered, (name, item.name)


def test_unknown_key_is_refused_naming_the_keys_there_are() -> None:
    assert refusal('[mqtt]\nhost = "broker"\npasswd = "hunter2"\n') == (
        f"{WHERE}: [mqtt] passwd is not a known key; the [mqtt] keys are ca_file, client_cert, client_key, enabled, "
        "host, include_resident, password, port, tls, topic, username.")
    assert refusal("[face]\nthreshold = 0.5\n") == (
        f"{WHERE}: [face] threshold is not a known key; the [face] keys are engine, max_upload_megapixels, threads.")
    assert "[web] idle_minute is not a known key" in refusal("[web]\nidle_minute = 15\n")


def test_unknown_section_and_a_section_that_is_not_a_table() -> None:
    message = refusal("[wbe]\nport = 8080\n")
    assert message.startswith(f"{WHERE}: [wbe] is not a known section; the sections are camera, database, face, ")
    assert one_sentence(message)
    assert refusal("web = 8080\n") == f"{WHERE}: [web] must be a table of settings, got 8080."
    assert refusal("[web.extra]\nport = 1\n").startswith(f"{WHERE}: [web] extra is not a known key;")


def test_the_mqtt_password_is_never_shown() -> None:
    """Not in a refusal of the value itself, nor in the settings' repr (which a log line might print)."""
    message = refusal('[mqtt]\nusername = "gate"\npassword = "hunter2\\u0001"\n')
    assert message == (f"{WHERE}: [mqtt] password must be a non-empty text without control characters, got a "
                       "value not shown here.")
    settings = parse('[mqtt]\nusername = "gate"\npassword = "hunter2"\n')
    assert settings.mqtt.password == "hunter2"
    assert "hunter2" not in repr(settings) and "hunter2" not in repr(settings.mqtt)


def test_mqtt_keys_that_go_together() -> None:
    assert refusal('[mqtt]\npassword = "hunter2"\n') == (
        f"{WHERE}: [mqtt] password is set but username is not; set both or neither.")
    assert refusal('[mqtt]\nclient_key = "keys/c.key"\n') == (
        f"{WHERE}: [mqtt] client_key is set but client_cert is not; set client_cert too.")
    assert parse('[mqtt]\nusername = "gate"\n').mqtt.password is None


def test_home_assistant_is_off_by_default() -> None:
    ha = parse("").homeassistant
    assert (ha.enabled, ha.commands, ha.discovery_prefix, ha.topic, ha.command_max_age_seconds) == (
        False, False, "homeassistant", "gate/homeassistant", 5.0)
    mqtt = parse("").mqtt
    assert (mqtt.username, mqtt.password, mqtt.tls, mqtt.ca_file, mqtt.client_cert) == (None, None, False, None, None)


def test_invalid_toml_names_the_file() -> None:
    assert refusal("[web\n").startswith(f"{WHERE} is not valid TOML: ")


def test_an_enabled_webhook_needs_a_url() -> None:
    assert refusal("[webhook]\nenabled = true\n") == (
        f"{WHERE}: [webhook] url must be set to an http:// or https:// URL when enabled = true.")
    assert parse("[webhook]\nenabled = false\n").webhook.url == ""


def test_relay_and_reader_are_checked_at_load_as_gate_config_errors(tmp_path: Path) -> None:
    message = refusal('[relay]\nbackend = "modbus"\n')
    assert message == f"{WHERE}: [relay] port is required for the modbus backend."
    with pytest.raises(ConfigError) as info:
        parse('[relay]\nbackend = "modbus"\nport = "/dev/ttyUSB0"\n[relay.door]\nrelease_output = 9\n')
    assert str(info.value) == f"{WHERE}: [relay.door] release_output must be an integer between 0 and 7, got 9."
    assert type(info.value) is ConfigError  # gate's error, whatever base the drivers' own error has
    assert refusal('[reader]\nbackend = "osdp"\nport = "/dev/ttyUSB1"\n').startswith(
        f"{WHERE}: [reader] an OSDP reader needs its own secure channel key")
    # A relative key_file is found in the data folder.
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "reader.key").write_text(KEY_HEX + "\n")
    reader = parse('[reader]\nbackend = "osdp"\nport = "/dev/ttyUSB1"\nkey_file = "keys/reader.key"\n', tmp_path).reader
    assert reader is not None and reader.key == bytes.fromhex(KEY_HEX)
    # An empty table is a header left for later: no device, as before.
    assert parse("[relay]\n[reader]\n").relay is None


def test_environment_overrides_win_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gate.toml").write_text('[database]\nurl = "sqlite:////file.db"\n[keys]\nmaster_key_file = "k/a.key"\n',
                                        encoding="utf-8")
    monkeypatch.delenv("GATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("GATE_KEY_FILE", raising=False)
    settings = load_settings(tmp_path)
    assert (settings.database_url, settings.key_file) == ("sqlite:////file.db", tmp_path / "k" / "a.key")
    monkeypatch.setenv("GATE_DATABASE_URL", "postgresql+psycopg://gate@db/gate")
    monkeypatch.setenv("GATE_KEY_FILE", "other/b.key")
    settings = load_settings(tmp_path)
    assert settings.database_url == settings.database.url == "postgresql+psycopg://gate@db/gate"
    assert settings.key_file == settings.keys.master_key_file == tmp_path / "other" / "b.key"
    monkeypatch.setenv("GATE_KEY_FILE", "/abs/c.key")
    assert load_settings(tmp_path).key_file == Path("/abs/c.key")


def test_a_bad_environment_value_names_the_variable() -> None:
    assert refusal("", environ={"GATE_DATABASE_URL": "nonsense"}).startswith(
        "GATE_DATABASE_URL must be a database URL such as ")


def _gate(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATE_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    gate = Path(sys.executable).parent / "gate"  # the installed console script, as an operator runs it
    return subprocess.run([str(gate), *args], env=env, capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("command", [["status"], ["serve", "--port", "0"]])
def test_the_cli_prints_the_sentence_without_a_traceback(data_dir: Path, command: list[str]) -> None:
    config = data_dir / "gate.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("port = 8080", 'port = 8080\nidle_minutes = "fifteen"'), encoding="utf-8")
    done = _gate(data_dir, *command)
    assert done.returncode != 0
    assert done.stderr.strip() == (f"Error: {config}: [web] idle_minutes must be a whole number of minutes between "
                                   "1 and 1440, got 'fifteen'.")
    assert "Traceback" not in done.stderr + done.stdout


def test_the_web_ui_uses_the_typed_web_section(data_dir: Path) -> None:
    from gate.context import GateContext
    from webui import create_app

    (data_dir / "gate.toml").write_text("[web]\nidle_minutes = 40\n", encoding="utf-8")
    context = GateContext.open(data_dir)
    try:
        app = create_app(context, config={"TESTING": True})
        assert app.config["IDLE_TIMEOUT"] == timedelta(minutes=40)
        assert app.config["SESSION_LIFETIME"] == app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
        assert app.config["SESSION_COOKIE_SECURE"] is False
    finally:
        context.close()
