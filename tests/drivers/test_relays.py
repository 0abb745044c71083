"""Relay boards against their simulators over pseudo-terminals, including faults."""

from __future__ import annotations

import threading

import pytest
import serial

from drivers.backoff import Backoff
from drivers.errors import DeviceClosed, RelayError, RelayLinkLost, RelayProtocolError
from drivers.relays.lcus import LcusRelayBoard
from drivers.relays.modbus import ModbusRelayBoard
from drivers.relays.simulated import SimulatedHardware, SimulatedRelayBoard
from drivers.sim.lcus_device import SimLcusDevice
from drivers.sim.wire import PtyWire

from .conftest import frame, wait_until

# Replies arrive in milliseconds; the timeout is generous so a loaded machine is not a "silent board".
FAST = dict(backoff=Backoff(0.05, 0.3), reply_timeout=1.0)


def modbus(wire: PtyWire, **kw) -> ModbusRelayBoard:
    return ModbusRelayBoard(wire.driver_path, **{**FAST, **kw})


def test_pulse_turns_on_then_off(wire, modbus_sim):
    with modbus(wire) as board:
        board.pulse(2, 150)
        assert modbus_sim.coils[2] is True
        assert modbus_sim.wait_for_coil(2, False)
    assert [(w.coil, w.on) for w in modbus_sim.writes()] == [(2, True), (2, False)]
    on, off = modbus_sim.writes()
    assert off.at - on.at >= 0.14


def test_hold_and_read_back(wire, modbus_sim):
    modbus_sim.set_input(1, True)
    modbus_sim.set_input(6, True)
    with modbus(wire) as board:
        board.hold(3, True)
        assert board.read_outputs() == (False, False, False, True, False, False, False, False)
        assert board.read_inputs() == (False, True, False, False, False, False, True, False)
        board.hold(3, False)
        assert not any(board.read_outputs())
        assert board.health().connected and board.health().commanded[3] is False


def test_hold_cancels_pulse_in_progress(wire, modbus_sim):
    with modbus(wire, pulse_mode="host") as board:
        board.pulse(0, 1000)
        board.hold(0, True)
        threading.Event().wait(1.5)  # well past the pulse's end
    assert [(w.coil, w.on) for w in modbus_sim.writes()] == [(0, True), (0, True)]
    assert modbus_sim.coils[0] is True


def test_other_slave_ids_and_bases(wire):
    from drivers.sim.modbus_board import SimModbusBoard

    with SimModbusBoard(wire.device_path, slave_id=7) as sim, modbus(wire, slave_id=7, outputs=4, coil_base=4) as board:
        board.hold(1, True)
        assert sim.coils[5] is True
        assert wire.trace.sent().startswith(b"\x07\x05\x00\x05\xff\x00")


def test_exception_reply_is_a_protocol_error(wire, modbus_sim):
    with modbus(wire, coil_base=100) as board:  # the simulated board has 16 coils
        with pytest.raises(RelayProtocolError) as info:
            board.hold(0, True)
        assert isinstance(info.value, ValueError)
        # An exception reply is an answer: the link itself is fine.
        assert board.health().connected


def test_silent_board_is_link_lost_then_recovers(wire, modbus_sim):
    with modbus(wire) as board:
        wire.mute()
        with pytest.raises(RelayLinkLost) as info:
            board.hold(0, True)
        assert isinstance(info.value, ConnectionError)
        health = board.health()
        assert not health.connected and "no valid reply" in health.last_error
        wire.unmute()
        assert wait_until(lambda: _try(board.read_inputs))
        assert board.health().reconnects >= 1


@pytest.mark.parametrize("damage", [
    pytest.param(lambda b: b[:-1], id="truncated"),
    pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 0xFF]), id="wrong-crc"),
    pytest.param(lambda b: b"\x00\x13\x37" + b, id="garbage-before"),
    pytest.param(lambda b: b"\xff" * 40, id="noise"),
])
def test_damaged_replies_are_errors_and_lose_nothing(wire, modbus_sim, damage):
    with modbus(wire) as board:
        wire.tamper_next_reply(damage)
        try:
            board.hold(0, True)
            damaged_ok = True
        except RelayLinkLost:
            damaged_ok = False
        # Whatever happened to that reply, the next requests work and the state is right.
        assert wait_until(lambda: _try(lambda: board.hold(0, True)))
        assert board.read_outputs()[0] is True
        board.hold(0, False)
        assert board.read_outputs()[0] is False
    if damaged_ok:
        # pymodbus tolerates leading garbage it can skip; a valid frame was still required.
        assert modbus_sim.coils[0] is False


def test_port_disappears_and_comes_back(wire, modbus_sim):
    with modbus(wire) as board:
        assert board.read_inputs() is not None
        wire.unplug()
        with pytest.raises(RelayLinkLost):
            board.read_inputs()
        with pytest.raises(RelayLinkLost):
            board.hold(0, True)  # fails fast while the port is gone
        wire.replug()
        assert wait_until(lambda: _try(board.read_inputs))
        health = board.health()
        assert health.connected and health.reconnects >= 1 and health.failures >= 1


def test_pulse_end_is_written_after_reconnect(wire, modbus_sim):
    with modbus(wire, pulse_mode="host") as board:
        board.pulse(0, 100)
        wire.unplug()  # the "off" half cannot be written now
        assert wait_until(lambda: 0 in board.health().pending_rest)
        assert modbus_sim.coils[0] is True
        wire.replug()
        assert modbus_sim.wait_for_coil(0, False)
        assert wait_until(lambda: board.health().pending_rest == ())


def test_close_ends_a_pulse_early_and_never_turns_anything_on(wire, modbus_sim):
    board = modbus(wire).open()
    board.pulse(0, 60_000)
    board.close()
    assert modbus_sim.coils[0] is False
    assert [(w.coil, w.on) for w in modbus_sim.writes()] == [(0, True), (0, False)]


def test_open_and_close_write_nothing(wire, modbus_sim):
    for _ in range(3):
        with modbus(wire) as board:
            board.read_inputs()
    assert modbus_sim.writes() == []


def test_closed_board_raises_typed_error(wire, modbus_sim):
    board = modbus(wire)
    with pytest.raises(DeviceClosed):
        board.pulse(0, 10)
    with board:
        pass
    with pytest.raises(DeviceClosed) as info:
        board.read_inputs()
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(DeviceClosed):
        board.open()


def test_bad_channel_and_length(wire, modbus_sim):
    with modbus(wire, outputs=2) as board:
        with pytest.raises(ValueError):
            board.pulse(2, 10)
        with pytest.raises(ValueError):
            board.pulse(0, 0)


def test_board_absent_at_start_is_reported_not_raised(tmp_path):
    board = ModbusRelayBoard(str(tmp_path / "no-such-port"), **FAST)
    with board:
        health = board.health()
        assert not health.connected and "cannot open" in health.last_error
        with pytest.raises(RelayLinkLost):
            board.read_inputs()


# -- LCUS ------------------------------------------------------------------------------------
def test_lcus_pulse_and_hold(wire):
    with SimLcusDevice(wire.device_path) as device, LcusRelayBoard(wire.driver_path, outputs=4, **_lcus_kw()) as board:
        board.pulse(1, 80)
        assert device.wait_for(lambda d: [(h.coil, h.on) for h in d.history] == [(1, True), (1, False)])
        board.hold(3, True)
        assert device.wait_for(lambda d: d.relays[3])
        assert board.read_inputs() == ()
        with pytest.raises(RelayError):
            board.read_outputs()
        assert device.rejected == []


def test_lcus_device_rejects_garbage_and_keeps_valid_frames(wire):
    with SimLcusDevice(wire.device_path) as device:
        port = serial.serial_for_url(wire.driver_path, baudrate=9600)
        try:
            port.write(b"\x01\x02" + frame("lcus_bad_checksum.hex")[0] + frame("lcus_ch2_on.hex")[0]
                       + frame("lcus_truncated.hex")[0] + frame("lcus_ch1_off.hex")[0])
            port.flush()
            assert device.wait_for(lambda d: d.relays[1] and len(d.rejected) >= 3)
        finally:
            port.close()
        # The frame after the truncated one is recovered by resynchronising on A0.
        assert [(h.coil, h.on) for h in device.history] == [(1, True), (0, False)]


def test_lcus_unplug_and_replug(wire):
    with SimLcusDevice(wire.device_path) as device, LcusRelayBoard(wire.driver_path, outputs=4, **_lcus_kw()) as board:
        wire.unplug()
        # The kernel may accept a write or two before the hang-up reaches the port, as with USB.
        assert wait_until(lambda: _lost(lambda: board.hold(0, True)))
        assert not board.health().connected
        wire.replug()
        assert wait_until(lambda: _try(lambda: board.hold(0, True)))
        assert device.wait_for(lambda d: d.relays[0])


def _lcus_kw():
    return dict(backoff=Backoff(0.05, 0.3))


# -- simulated board ----------------------------------------------------------------------------
def test_simulated_board_records_history_and_can_be_driven():
    hw = SimulatedHardware(outputs=4, inputs=4)
    with SimulatedRelayBoard(hw) as board:
        hw.set_input(2, True)
        assert board.read_inputs() == (False, False, True, False)
        board.pulse(1, 30)
        assert hw.wait_for(1, False) and hw.pulses(1) == 1
        hw.assert_outputs(False, False, False, False)
        with pytest.raises(AssertionError):
            hw.assert_outputs(True)
        hw.reachable = False
        with pytest.raises(RelayLinkLost):
            board.hold(0, True)
        hw.reachable = True
        assert wait_until(lambda: _try(lambda: board.hold(0, True)))
        hw.assert_outputs(True, False)


def test_refused_pulse_end_is_retried_with_backoff_not_in_a_loop():
    hw = SimulatedHardware(outputs=2, inputs=0)
    with SimulatedRelayBoard(hw, backoff=Backoff(0.05, 0.2)) as board:
        board.pulse(0, 50)
        hw.refuse_writes = True
        assert wait_until(lambda: board.health().pending_rest == (0,))
        attempts = hw.write_attempts
        threading.Event().wait(1.0)
        # Back-off allows about 1.0 / 0.2 + a few retries; a spinning worker would make thousands.
        assert hw.write_attempts - attempts < 50
        assert hw.outputs[0] is True
        hw.refuse_writes = False
        assert hw.wait_for(0, False)
        assert wait_until(lambda: board.health().pending_rest == ())


def _try(fn) -> bool:
    try:
        fn()
        return True
    except RelayError:
        return False


def _lost(fn) -> bool:
    try:
        fn()
        return False
    except RelayLinkLost:
        return True
