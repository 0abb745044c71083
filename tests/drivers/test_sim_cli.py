"""`gate sim` and `gate bench relay` from the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from drivers.config import parse_reader, parse_relay
from drivers.door import DoorController
from drivers.readers import CardRead, make_reader
from drivers.relays import make_board
from drivers.sim.rig import SimRig
from gate.bench.relay import card_to_relay
from gate.cli import cli
from gate.cli.sim import run_command

from .conftest import Recorder, wait_until


def test_sim_prints_ports_and_takes_commands():
    script = "\n".join([
        "card 188:24910", "keys 12#", "input 1 on", "outputs", "line 0012345678",
        "bogus", "input 1 maybe", "cut reader", "mend reader", "unplug nowhere", "help", "quit",
    ]) + "\n"
    result = CliRunner().invoke(cli, ["sim"], input=script)
    assert result.exit_code == 0, result.output
    out = result.output
    for device in ("relay", "reader", "line", "lcus"):
        assert f"  {device}" in out
    assert '[relay]' in out and 'backend = "modbus"' in out and 'key_file = "' in out
    assert "card 188:24910 presented" in out
    assert "unknown command 'bogus'" in out
    assert "error: input N on|off" in out
    assert "reader: cut" in out and "reader: mend" in out
    assert "error: unplug needs one of" in out
    assert '"modbus_coils": [0, 0, 0, 0, 0, 0, 0, 0]' in out
    assert out.rstrip().endswith("simulators stopped")


def test_sim_rejects_unknown_device():
    result = CliRunner().invoke(cli, ["sim", "--devices", "relay,toaster"])
    assert result.exit_code != 0 and "toaster" in result.output


def test_sim_config_drives_a_real_gate_through_the_commands():
    """The printed config works: the drivers connect to the rig, and commands show up as events."""
    with SimRig(("relay", "reader")) as rig:
        relay_cfg = parse_relay(rig.relay_config(pulse_ms=100))
        reader_cfg = parse_reader(rig.reader_config())
        events = Recorder()
        door = DoorController(make_board(relay_cfg), relay_cfg.door)
        with door, make_reader(reader_cfg, events):
            assert events.wait_for(lambda e: getattr(e, "online", False))
            assert "presented" in run_command(rig, "card 12345678")
            card = events.wait_for(lambda e: isinstance(e, CardRead))
            assert card.card == "12345678"
            assert door.grant()
            assert wait_until(lambda: json.loads(run_command(rig, "outputs"))["modbus_writes"][-1][1:] == [0, 0])
            assert [w[1:] for w in json.loads(run_command(rig, "outputs"))["modbus_writes"]] == [[0, 1], [0, 0]]
            assert "input 2 off" == run_command(rig, "input 2 off")
            assert rig.relay.wait_for_coil(0, True)  # fire loop open: released


def test_card_to_relay_benchmark_reports_numbers():
    result = card_to_relay(5)
    assert set(result) >= {"median_ms", "p99_ms"}
    assert 0 < result["median_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["n"] == 5


def test_gate_bench_relay_command():
    result = CliRunner().invoke(cli, ["bench", "relay", "--rounds", "3", "--reader", "line", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["n"] == 3 and data["reader"] == "line" and data["median_ms"] > 0


def test_watch_shows_relay_writes_as_they_happen():
    with SimRig(("relay",)) as rig:
        relay_cfg = parse_relay(rig.relay_config(pulse_ms=100))
        with DoorController(make_board(relay_cfg), relay_cfg.door) as door:
            assert wait_until(lambda: door.snapshot().state == "locked")
            lines: list[str] = []

            def echo(line: str) -> None:
                lines.append(line)
                if line.startswith("watching"):
                    assert door.grant()  # only once the watch has its baseline

            run_command(rig, "watch 2", echo)
    assert [line.split()[-3:] for line in lines[1:3]] == [["coil", "0", "ON"], ["coil", "0", "off"]]
    assert lines[-1] == "watch ended"
