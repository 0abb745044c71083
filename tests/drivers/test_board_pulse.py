"""Board-timed pulses against the Modbus simulator over a pty, and the door state they leave."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from drivers.backoff import Backoff
from drivers.config import DriverConfigError, parse_relay
from drivers.door import DoorController
from drivers.errors import RelayProtocolError
from drivers.relays.modbus import ModbusRelayBoard, flash_units
from drivers.sim.modbus_board import SimModbusBoard
from gate.service.status import door_status

from .conftest import frame, wait_until

DOOR, EXIT, FIRE = 0, 1, 2
FAST = dict(backoff=Backoff(0.05, 0.3), reply_timeout=1.0)


def test_a_door_pulse_is_one_flash_command_on_the_wire(wire, modbus_sim):
    with ModbusRelayBoard(wire.driver_path, **FAST) as board:
        wire.clear_trace()
        board.pulse(0, 3000)
        sent = wire.trace.sent()
        assert sent.startswith(frame("modbus_fc05_slave1_flash_on_relay0_3s.hex")[0])
        # The only other request is the one-time read-back that the board really switched.
        assert sent[8:] == bytes.fromhex("01 01 00 00 00 08 3D CC")
        assert modbus_sim.flashes == [(0, True, 30)]
        assert board.health().pulse_timing == "board" and board.health().commanded[0] is True
        wire.clear_trace()
        board.pulse(0, 3000)
        assert wire.trace.sent() == frame("modbus_fc05_slave1_flash_on_relay0_3s.hex")[0]


def test_flash_frames_are_documented():
    boards = (Path(__file__).resolve().parents[2] / "hardware" / "boards.md").read_text()
    for name in ("modbus_fc05_slave1_flash_on_relay0_3s.hex", "modbus_fc05_slave1_flash_off_relay0_3s.hex",
                 "modbus_hostile_fc01_reply_to_fc02_fire_open.hex", "modbus_hostile_fc02_wrong_byte_count.hex"):
        assert f"`{frame(name)[0].hex(' ').upper()}`" in boards, name


def test_fail_safe_door_uses_flash_off(wire, modbus_sim):
    modbus_sim.force_coil(0, True)  # fail-safe: energised = locked
    with ModbusRelayBoard(wire.driver_path, **FAST) as board:
        wire.clear_trace()
        board.pulse(0, 3000, level=False)
        assert wire.trace.sent().startswith(frame("modbus_fc05_slave1_flash_off_relay0_3s.hex")[0])
        assert modbus_sim.coils[0] is False


def test_the_board_ends_the_pulse_with_nobody_listening(wire, modbus_sim):
    with ModbusRelayBoard(wire.driver_path, **FAST) as board:
        board.pulse(0, 700)
        wire.cut()  # from here on the host can neither write nor read
        assert modbus_sim.wait_for_coil(0, False, timeout=0.7 + 1.0)
    assert [(w.coil, w.on, w.by) for w in modbus_sim.writes()] == [(0, True, "host"), (0, False, "timer")]


def test_hold_during_a_board_pulse_is_asserted_again_after_the_board_timer(wire, modbus_sim):
    with ModbusRelayBoard(wire.driver_path, **FAST) as board:
        board.pulse(0, 500)
        board.hold(0, True)  # e.g. the fire alarm during a grant
        threading.Event().wait(1.2)
        assert modbus_sim.coils[0] is True
        assert board.health().commanded[0] is True
    assert [(w.on, w.by) for w in modbus_sim.writes()] == [(True, "host"), (True, "host"), (False, "timer"),
                                                          (True, "host")]


@pytest.mark.parametrize("flash, words", [("none", "refused"), ("ignored", "did not switch")])
def test_a_board_without_the_flash_command_fails_the_grant_and_says_what_to_set(wire, flash, words):
    with SimModbusBoard(wire.device_path, flash=flash) as sim, ModbusRelayBoard(wire.driver_path, **FAST) as board:
        with pytest.raises(RelayProtocolError) as info:
            board.pulse(0, 3000)
        assert words in str(info.value)
        if flash == "ignored":
            assert 'pulse_mode = "host"' in str(info.value)
        assert sim.coils[0] is False


def test_flash_units_round_up_to_the_board_step():
    assert [flash_units(ms) for ms in (1, 100, 101, 3000, 3276700)] == [1, 1, 2, 30, 0x7FFF]
    with pytest.raises(ValueError):
        flash_units(3276701)


def test_pulse_mode_defaults_and_refusals():
    assert parse_relay({"backend": "modbus", "port": "/dev/x"}).pulse_mode == "board"
    assert parse_relay({"backend": "modbus", "port": "/dev/x", "coil_base": 1}).pulse_mode == "host"
    assert parse_relay({"backend": "modbus", "port": "/dev/x", "pulse_mode": "host"}).pulse_mode == "host"
    assert parse_relay({"backend": "lcus", "port": "/dev/x"}).pulse_mode == "host"
    with pytest.raises(DriverConfigError) as info:
        parse_relay({"backend": "lcus", "port": "/dev/x", "pulse_mode": "board"})
    assert str(info.value) == ('[relay] pulse_mode = "board": lcus boards cannot time a pulse themselves; '
                               'use pulse_mode = "host" or remove the key.')
    with pytest.raises(DriverConfigError, match="pulse_mode must be one of board, host"):
        parse_relay({"backend": "modbus", "port": "/dev/x", "pulse_mode": "both"})


def _door(wire, pulse_mode: str, pulse_ms: int = 300) -> DoorController:
    cfg = parse_relay({"backend": "modbus", "port": wire.driver_path, "pulse_mode": pulse_mode,
                       "reply_timeout_ms": 300, "reconnect_initial_ms": 50, "reconnect_max_ms": 300,
                       "door": {"pulse_ms": pulse_ms, "door_sensor_input": DOOR, "exit_button_input": EXIT,
                                "fire_alarm_input": FIRE, "poll_ms": 20}})
    return DoorController(ModbusRelayBoard.from_config(cfg), cfg.door)


@pytest.mark.parametrize("pulse_mode", ["host", "board"])
def test_door_never_says_locked_while_the_link_is_down_after_a_pulse(wire, modbus_sim, pulse_mode):
    modbus_sim.set_input(DOOR, True)
    modbus_sim.set_input(FIRE, True)
    with _door(wire, pulse_mode) as door:
        assert wait_until(lambda: door.snapshot().state == "locked")
        assert door.snapshot().pulse_timing == pulse_mode
        assert door.grant()
        wire.cut()
        states = set()
        deadline = threading.Event()
        for _ in range(40):  # 0.8 s: the pulse ends and the link is found down meanwhile
            snap = door.snapshot()
            states.add(snap.state)
            assert snap.state != "locked", snap
            deadline.wait(0.02)
        snap = door.snapshot()
        assert snap.state in ("unknown", "release_pending") and snap.state_reason
        assert wait_until(lambda: door.snapshot().state == "unknown")
        assert "link to the relay board is down" in door.snapshot().state_reason
        shown = door_status(door).as_dict()  # what /health and `gate status` print
        assert shown["state"] == "unknown" and shown["pulse_timing"] == pulse_mode
        assert "link to the relay board is down" in str(shown["state_reason"])
        wire.mend()
        assert wait_until(lambda: door.snapshot().state == "locked")
        assert door.snapshot().state_reason is None
    assert modbus_sim.coils[0] is False


def test_host_pulse_end_not_yet_acknowledged_is_release_pending(wire, modbus_sim):
    modbus_sim.set_input(DOOR, True)
    modbus_sim.set_input(FIRE, True)
    with _door(wire, "host", pulse_ms=100) as door:
        assert wait_until(lambda: door.snapshot().state == "locked")
        assert door.grant()
        wire.unplug()  # the "off" write cannot be made
        assert wait_until(lambda: 0 in door.snapshot().board.pending_rest)
        snap = door.snapshot()
        assert snap.state in ("release_pending", "unknown") and snap.state != "locked"
        wire.replug()
        assert modbus_sim.wait_for_coil(0, False)
        assert wait_until(lambda: door.snapshot().state == "locked")


def test_lcus_door_reports_host_timing(wire):
    from drivers.relays.lcus import LcusRelayBoard
    from drivers.sim.lcus_device import SimLcusDevice

    cfg = parse_relay({"backend": "lcus", "port": wire.driver_path, "door": {"pulse_ms": 100, "poll_ms": 20}})
    with SimLcusDevice(wire.device_path), DoorController(LcusRelayBoard.from_config(cfg), cfg.door) as door:
        assert wait_until(lambda: door.snapshot().state == "locked")
        assert door.snapshot().pulse_timing == "host"
