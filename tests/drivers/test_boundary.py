"""The gate service translates driver errors where it builds devices, so a person still gets one
sentence and no traceback: a bad [relay] or [reader] section stops `gate serve` with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.errors import DriverConfigError
from gate.context import GateContext
from gate.errors import ConfigError
from gate.service.builder import _devices_from_config
from tests.conftest import GateCli


def _configure(data_dir: Path, text: str) -> None:
    with (data_dir / "gate.toml").open("a", encoding="utf-8") as config:
        config.write("\n" + text)


@pytest.mark.parametrize("section, message", [
    ('[relay]\nbackend = "modbus"\nport = "/dev/null"\n[relay.door]\npulse_ms = "abc"\n',
     "[relay.door] pulse_ms must be an integer between 1 and 600000, got 'abc'."),
    ('[reader]\nbackend = "osdp"\nport = "/dev/null"\nkey_file = "missing.key"\n',
     "[reader] key_file {data}/missing.key cannot be read: No such file or directory."),
])
def test_serve_prints_a_driver_config_error_as_one_sentence(data_dir: Path, gate_cli: GateCli,
                                                             section: str, message: str) -> None:
    _configure(data_dir, section)
    result = gate_cli("serve", "--port", "0")
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    # Checked when the settings load, so the sentence names the file too.
    assert result.stderr.strip() == f"Error: {data_dir / 'gate.toml'}: " + message.format(data=data_dir)
    assert "Traceback" not in result.output


def test_a_driver_config_error_arrives_as_the_gates_config_error(data_dir: Path) -> None:
    _configure(data_dir, '[relay]\nbackend = "lcus"\nport = "/dev/null"\ninputs = 2\n')
    with pytest.raises(ConfigError, match=r"LCUS boards have no inputs: set inputs = 0\.") as caught:
        GateContext.open(data_dir)
    assert isinstance(caught.value.__cause__, DriverConfigError)


def test_devices_from_config_builds_the_configured_door_and_reader(data_dir: Path) -> None:
    _configure(data_dir, '[relay]\nbackend = "simulated"\n[reader]\nbackend = "line"\nport = "/dev/null"\n')
    ctx = GateContext.open(data_dir)
    try:
        door, reader_factory = _devices_from_config(ctx)
        assert door is not None and reader_factory is not None
        reader = reader_factory(lambda event: None)
        assert reader.health().port == "/dev/null"
    finally:
        ctx.close()
