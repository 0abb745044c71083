"""Backends are chosen by name through one registry per device kind, each built by its from_config;
the typed seams (door, reader, camera protocols) and the door's event kinds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.config import parse_reader, parse_relay
from drivers.door import DoorController, DoorDevice, DoorEvent, DoorEventKind
from drivers.errors import DriverConfigError
from drivers.readers import READERS, ReaderDevice, make_reader
from drivers.readers.line import LineReader
from drivers.readers.osdp import OsdpReader
from drivers.registry import Registry
from drivers.relays import RELAYS, RelayBoard, make_board
from drivers.relays.lcus import LcusRelayBoard
from drivers.relays.modbus import ModbusRelayBoard
from drivers.relays.simulated import SimulatedHardware, SimulatedRelayBoard

from .conftest import Recorder, wait_until

REPO = Path(__file__).resolve().parents[2]
KEY = "00112233445566778899aabbccddeeff"


def test_each_relay_backend_is_built_by_its_from_config():
    assert RELAYS.names() == ("modbus", "lcus", "simulated")
    modbus = make_board(parse_relay({"backend": "modbus", "port": "/dev/ttyX", "slave_id": 7, "outputs": 4,
                                     "reply_timeout_ms": 120, "reconnect_initial_ms": 30}))
    assert type(modbus) is ModbusRelayBoard
    assert (modbus.slave_id, modbus.outputs, modbus.port) == (7, 4, "/dev/ttyX")
    assert modbus.reply_timeout == 0.12 and modbus._backoff.initial == 0.03
    lcus = make_board(parse_relay({"backend": "lcus", "port": "/dev/ttyY", "outputs": 2}))
    assert type(lcus) is LcusRelayBoard and (lcus.outputs, lcus.inputs) == (2, 0)
    hardware = SimulatedHardware(outputs=2, inputs=1)
    sim = make_board(parse_relay({"backend": "simulated", "outputs": 2, "inputs": 1}), hardware=hardware)
    assert type(sim) is SimulatedRelayBoard and sim.hardware is hardware


def test_each_reader_backend_is_built_by_its_from_config():
    assert READERS.names() == ("osdp", "line")
    osdp = make_reader(parse_reader({"backend": "osdp", "port": "/dev/ttyZ", "key": KEY, "address": 3}))
    assert type(osdp) is OsdpReader and osdp.address == 3
    line = make_reader(parse_reader({"backend": "line", "port": "/dev/ttyW", "format": "wiegand", "bits": 26}))
    assert type(line) is LineReader
    assert (line.port, line._decoder.format.fmt, line._bits) == ("/dev/ttyW", "wiegand", 26)


def test_an_unknown_backend_names_the_choices():
    with pytest.raises(DriverConfigError, match=r"Unknown relay backend 'gpio': use one of modbus, lcus, simulated\."):
        RELAYS.load("gpio")
    with pytest.raises(DriverConfigError, match="backend must be one of osdp, line"):
        parse_reader({"backend": "wiegand", "port": "/dev/x"})


def test_a_registered_backend_is_accepted_by_the_config_and_built(monkeypatch: pytest.MonkeyPatch):
    """A site's own board: registered under a new name, parsed and built like the built-in ones."""
    monkeypatch.setitem(RELAYS._entries, "bench-board", "drivers.relays.simulated:SimulatedRelayBoard")
    config = parse_relay({"backend": "bench-board", "port": "/dev/ttyS0", "outputs": 3, "inputs": 0})
    board = make_board(config)
    assert isinstance(board, SimulatedRelayBoard) and board.outputs == 3


def test_registry_entries_must_name_a_class_of_the_right_kind():
    registry: Registry[RelayBoard] = Registry("relay", RelayBoard, {"reader": "drivers.readers.line:LineReader"})
    with pytest.raises(TypeError, match="not a RelayBoard"):
        registry.load("reader")
    with pytest.raises(ValueError, match="module:Class"):
        registry.register("broken", "drivers.relays.simulated")


def test_backends_are_imported_only_when_chosen():
    code = """
import json, sys
from drivers.config import parse_reader, parse_relay
from drivers.readers import make_reader
from drivers.relays import make_board
steps = {}
def heavy():
    return sorted(m for m in ("pymodbus", "osdp", "serial", "cv2") if m in sys.modules)
steps["imported"] = heavy()
make_reader(parse_reader({"backend": "line", "port": "/dev/x"}))
steps["line"] = heavy()
make_board(parse_relay({"backend": "modbus", "port": "/dev/x"}))
steps["modbus"] = heavy()
print(json.dumps(steps))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)
    assert steps == {"imported": [], "line": ["serial"], "modbus": ["pymodbus", "serial"]}


def test_door_event_kinds_are_todays_strings():
    assert {kind.value for kind in DoorEventKind} == {
        "granted", "grant_failed", "hold", "unhold", "relocked_at_start", "link_lost", "link_restored", "fault",
        "fire_alarm", "fire_alarm_cleared", "door_opened", "door_closed", "door_forced", "exit_request",
        "passage", "passage_unexpected", "passage_timeout", "held_open",
    }
    assert DoorEventKind.DOOR_FORCED == "door_forced" and f"{DoorEventKind.LINK_LOST}" == "link_lost"
    assert json.dumps({"event": DoorEventKind.FIRE_ALARM}) == '{"event": "fire_alarm"}'


def test_door_events_carry_the_enum_and_the_door_meets_its_protocol():
    hardware = SimulatedHardware(outputs=2, inputs=2)
    config = parse_relay({"backend": "simulated", "outputs": 2, "inputs": 2, "door": {"exit_button_input": 1}})
    events = Recorder()
    door = DoorController(make_board(config, hardware=hardware), config.door)
    assert isinstance(door, DoorDevice)
    unsubscribe = door.subscribe(events)
    with door:
        assert wait_until(lambda: door.snapshot().state == "locked")
        hardware.set_input(1, True)
        event = events.wait_for(lambda e: isinstance(e, DoorEvent) and e.kind == DoorEventKind.EXIT_REQUEST)
        assert event is not None
    unsubscribe()
    assert all(isinstance(e, DoorEvent) and type(e.kind) is DoorEventKind for e in events.events)
    assert DoorEventKind.GRANTED in events.kinds()


def test_readers_meet_their_protocol():
    for config in ({"backend": "line", "port": "/dev/x"}, {"backend": "osdp", "port": "/dev/x", "key": KEY}):
        reader: ReaderDevice = make_reader(parse_reader(config))
        assert isinstance(reader, ReaderDevice)


def test_osdp_from_config_refuses_a_config_without_key():
    from drivers.config import ReaderConfig

    with pytest.raises(DriverConfigError, match="secure channel key"):
        OsdpReader.from_config(ReaderConfig(backend="osdp", port="/dev/x"))
