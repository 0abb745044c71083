"""Config parsing, and the hardware/examples/*.toml files, so the docs cannot drift."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from drivers.config import DriverConfigError, parse_reader, parse_relay
from drivers.errors import DriverError
from drivers.readers import make_reader
from drivers.relays import make_board
from gate.errors import GateError

from .conftest import EXAMPLES


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    for example in EXAMPLES.glob("*.toml"):
        shutil.copy(example, tmp_path)
    (tmp_path / "reader.key").write_text("00112233445566778899aabbccddeeff\n")
    return tmp_path


def test_every_example_parses_and_builds_its_drivers(examples: Path):
    files = sorted(examples.glob("*.toml"))
    assert len(files) >= 5
    seen = set()
    for path in files:
        data = tomllib.loads(path.read_text())
        assert set(data) <= {"relay", "reader"}, path.name
        if "relay" in data:
            cfg = parse_relay(data["relay"])
            board = make_board(cfg)  # constructing touches no hardware
            assert board.backend == cfg.backend and not board.closed
            seen.add(cfg.backend)
            seen.add(cfg.door.mode)
            seen.add(cfg.door.failure_mode)
        if "reader" in data:
            rcfg = parse_reader(data["reader"], base_dir=examples)
            if rcfg.backend == "line":
                make_reader(rcfg)  # compiles the pattern
            seen.add(rcfg.backend)
    assert {"modbus", "lcus", "osdp", "line", "door", "turnstile", "secure", "safe"} <= seen


def test_example_values_are_what_the_docs_say(examples: Path):
    door = tomllib.loads((examples / "door-modbus-osdp.toml").read_text())
    relay = parse_relay(door["relay"])
    assert (relay.door.door_sensor_input, relay.door.exit_button_input, relay.door.fire_alarm_input) == (0, 1, 2)
    reader = parse_reader(door["reader"], base_dir=examples)
    assert reader.key == bytes.fromhex("00112233445566778899aabbccddeeff")
    assert not reader.install_mode
    turnstile = parse_relay(tomllib.loads((examples / "turnstile-modbus-osdp.toml").read_text())["relay"])
    assert turnstile.door.pulse_ms >= 100 and turnstile.door.passage_window_ms == 5000
    hexline = parse_reader(tomllib.loads((examples / "reader-line-wiegand-hex.toml").read_text())["reader"])
    from drivers.readers.line_framing import LineDecoder, LineFormat
    assert LineDecoder(hexline.pattern, LineFormat(hexline.format, hexline.length, hexline.bits)).decode(
        b"W26: 378C29C") == "12345678"


@pytest.mark.parametrize("data, message", [
    ({"backend": "modbus", "port": "/dev/x", "baud": 9600}, "unknown key.*baud"),
    ({"port": "/dev/x"}, "backend is required"),
    ({"backend": "gpio", "port": "/dev/x"}, "backend must be one of"),
    ({"backend": "modbus"}, "port is required"),
    ({"backend": "modbus", "port": "/dev/x", "slave_id": 0}, "slave_id"),
    ({"backend": "modbus", "port": "/dev/x", "baudrate": "9600"}, "integer"),
    ({"backend": "modbus", "port": "/dev/x", "door": {"mode": "turnstile", "pulse_ms": 50}}, "at least 100 ms"),
    ({"backend": "modbus", "port": "/dev/x", "door": {"releaseoutput": 1}}, r"\[relay.door\] has unknown key"),
    ({"backend": "modbus", "port": "/dev/x", "door": {"exit_button_input": 1, "fire_alarm_input": 1}}, "same input"),
    ({"backend": "modbus", "port": "/dev/x", "outputs": 2, "door": {"release_output": 2}}, "release_output"),
    ({"backend": "lcus", "port": "/dev/x", "door": {"fire_alarm_input": 0}}, "no inputs"),
    ({"backend": "modbus", "port": "/dev/x", "door": {"failure_mode": "open"}}, "failure_mode"),
    ({"backend": "modbus", "port": "/dev/x", "door": {"passage_sensor_input": 3, "poll_ms": 100}}, "50 ms"),
])
def test_relay_config_errors_name_the_key(data, message):
    with pytest.raises(DriverConfigError, match=message) as info:
        parse_relay(data)
    assert isinstance(info.value, DriverError) and isinstance(info.value, ValueError)
    assert not isinstance(info.value, GateError)  # the service translates it (tests/drivers/test_boundary.py)
    _one_sentence(str(info.value))


def _one_sentence(message: str) -> None:
    assert message.startswith("[relay") or message.startswith("[reader"), message
    assert message.endswith(".") and "\n" not in message, message


@pytest.mark.parametrize("data, message", [
    ({"backend": "osdp", "port": "/dev/x"}, "secure channel key"),
    ({"backend": "osdp", "port": "/dev/x", "key": "1234"}, "32 hex digits"),
    ({"backend": "osdp", "port": "/dev/x", "key": "00" * 16, "key_file": "k"}, "not both"),
    ({"backend": "osdp", "port": "/dev/x", "key_file": "/nonexistent/reader.key"}, "key_file"),
    ({"backend": "line", "port": "/dev/x", "address": 3}, "only apply to"),
    ({"backend": "line", "port": "/dev/x", "pattern": "(\\d+"}, "regular expression"),
    ({"backend": "line", "port": "/dev/x", "pattern": "\\d+"}, "named group"),
    ({"backend": "line", "port": "/dev/x", "speed": 1}, "unknown key"),
])
def test_reader_config_errors(data, message):
    with pytest.raises(DriverConfigError, match=message) as info:
        parse_reader(data)
    _one_sentence(str(info.value))


def test_integer_error_names_the_key_its_range_and_the_value():
    with pytest.raises(DriverConfigError) as info:
        parse_relay({"backend": "modbus", "port": "/dev/x", "door": {"pulse_ms": "abc"}})
    assert str(info.value) == "[relay.door] pulse_ms must be an integer between 1 and 600000, got 'abc'."


def test_osdp_key_only_in_config_and_defaults():
    cfg = parse_reader({"backend": "osdp", "port": "/dev/x", "key": "AA" * 16, "install_mode": True})
    assert cfg.key == b"\xaa" * 16 and cfg.install_mode and cfg.baudrate == 9600
    assert "aa" * 16 not in repr(cfg).lower()
    lcus = parse_relay({"backend": "lcus", "port": "/dev/x"})
    assert (lcus.inputs, lcus.outputs, lcus.door.failure_mode) == (0, 1, "secure")
