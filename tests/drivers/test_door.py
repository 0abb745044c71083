"""DoorController: grants, fire alarm, holds, turnstile passage, faults, and no clicks on restart."""

from __future__ import annotations

import pytest

from drivers.backoff import Backoff
from drivers.config import parse_relay
from drivers.door import DoorController
from drivers.errors import DeviceClosed
from drivers.relays import make_board
from drivers.relays.modbus import ModbusRelayBoard
from drivers.relays.simulated import SimulatedHardware, SimulatedRelayBoard
from drivers.sim.wire import PtyWire

from .conftest import Recorder, wait_until

DOOR, EXIT, FIRE, PASSAGE = 0, 1, 2, 3


def door_cfg(**door):
    base = {"release_output": 0, "pulse_ms": 150, "door_sensor_input": DOOR, "exit_button_input": EXIT,
            "fire_alarm_input": FIRE, "poll_ms": 20}
    base.update(door)
    base = {k: v for k, v in base.items() if v is not None}
    return parse_relay({"backend": "simulated", "reconnect_initial_ms": 50, "reconnect_max_ms": 200,
                        "door": base})


@pytest.fixture
def hw() -> SimulatedHardware:
    hw = SimulatedHardware(outputs=4, inputs=4)
    hw.set_input(DOOR, True)  # closed
    hw.set_input(FIRE, True)  # loop healthy
    return hw


def run(hw, events=None, **door) -> DoorController:
    cfg = door_cfg(**door)
    controller = DoorController(make_board(cfg, hardware=hw), cfg.door, on_event=events)
    controller.start()
    assert wait_until(lambda: controller.snapshot().state == "locked" or controller.snapshot().fire_alarm)
    return controller


def changes(hw, channel=0):
    return [c.on for c in hw.history if c.channel == channel]


def test_grant_pulses_once(hw):
    events = Recorder()
    with run(hw, events) as door:
        assert door.grant("card 12345678")
        assert hw.wait_for(0, False)
        assert wait_until(lambda: changes(hw) == [True, False])
        snap = door.snapshot()
        assert snap.link_ok and snap.state in ("locked", "pulsed") and snap.door_open is False
    assert "granted" in events.kinds()


def test_fire_alarm_holds_released_and_overrides_everything(hw):
    events = Recorder()
    with run(hw, events) as door:
        hw.set_input(FIRE, False)  # loop opens: alarm (or cut wire)
        assert events.wait_for(lambda e: e.kind == "fire_alarm")
        assert hw.wait_for(0, True)
        assert door.grant("card")  # already released, no pulse
        assert wait_until(lambda: door.snapshot().state == "held")
        assert changes(hw) == [True]
        hw.set_input(FIRE, True)
        assert events.wait_for(lambda e: e.kind == "fire_alarm_cleared")
        assert hw.wait_for(0, False)
    assert changes(hw) == [True, False]


def test_fire_loop_open_at_start_releases(hw):
    hw.set_input(FIRE, False)
    with run(hw) as door:
        assert hw.wait_for(0, True)
        assert door.snapshot().fire_alarm


def test_fail_safe_polarity(hw):
    events = Recorder()
    with run(hw, events, failure_mode="safe") as door:
        # Energised = locked: a de-energised output found at start is locked, never pulsed.
        assert hw.wait_for(0, True)
        assert changes(hw) == [True]
        assert door.grant()
        assert wait_until(lambda: changes(hw) == [True, False, True])
        hw.set_input(FIRE, False)
        assert hw.wait_for(0, False)
    assert "relocked_at_start" in events.kinds()


def test_exit_button_and_forced_door(hw):
    events = Recorder()
    with run(hw, events):
        hw.set_input(DOOR, False)  # opened without a grant
        assert events.wait_for(lambda e: e.kind == "door_forced")
        hw.set_input(DOOR, True)
        assert events.wait_for(lambda e: e.kind == "door_closed")
        hw.set_input(EXIT, True)
        assert events.wait_for(lambda e: e.kind == "exit_request")
        assert wait_until(lambda: changes(hw) == [True, False])
        hw.set_input(EXIT, False)
        hw.set_input(DOOR, False)
        assert events.wait_for(lambda e: e.kind == "door_opened")


def test_maintenance_hold(hw):
    with run(hw) as door:
        door.hold("maintenance")
        assert hw.wait_for(0, True)
        assert door.snapshot().holds == ("maintenance",)
        door.unhold("maintenance")
        assert hw.wait_for(0, False)


def test_turnstile_passage_and_timeout(hw):
    events = Recorder()
    with run(hw, events, mode="turnstile", pulse_ms=100, passage_sensor_input=PASSAGE,
             passage_window_ms=2000, door_sensor_input=None, exit_button_input=None) as door:
        assert door.grant()
        assert wait_until(lambda: changes(hw) == [True, False])
        on, off = [c.at for c in hw.history]
        assert off - on >= 0.095  # turnstiles ignore contacts shorter than 100 ms
        hw.set_input(PASSAGE, True)
        assert events.wait_for(lambda e: e.kind == "passage")
        hw.set_input(PASSAGE, False)
        assert door.grant()
        assert events.wait_for(lambda e: e.kind == "passage_timeout")
        hw.set_input(PASSAGE, True)
        assert events.wait_for(lambda e: e.kind == "passage_unexpected")


def test_lost_link_fails_secure_and_recovers(hw):
    events = Recorder()
    with run(hw, events) as door:
        hw.reachable = False
        assert events.wait_for(lambda e: e.kind == "link_lost")
        assert door.grant() is False
        assert "grant_failed" in events.kinds()
        snap = door.snapshot()
        assert not snap.link_ok and snap.fault and not snap.board.connected
        hw.set_input(FIRE, False)  # alarm while blind ...
        hw.reachable = True
        assert events.wait_for(lambda e: e.kind == "link_restored")
        assert hw.wait_for(0, True)  # ... is acted on as soon as the board is back
    assert changes(hw) == [True]


def test_stopped_controller_raises_typed_error(hw):
    door = run(hw)
    door.stop()
    with pytest.raises(DeviceClosed):
        door.grant()
    with pytest.raises(DeviceClosed):
        door.start()


def test_event_listener_errors_do_not_stop_the_door(hw):
    def broken(event):
        raise RuntimeError("listener bug")

    with run(hw, broken) as door:
        assert door.grant()
        assert wait_until(lambda: changes(hw) == [True, False])


# -- restarts against the Modbus simulator over a pty ------------------------------------------
def comes_to_lock(door: DoorController) -> bool:
    return wait_until(lambda: door.snapshot().state == "locked")


def modbus_door(wire: PtyWire) -> DoorController:
    cfg = door_cfg()
    board = ModbusRelayBoard(wire.driver_path, backoff=Backoff(0.05, 0.3), reply_timeout=1.0)
    return DoorController(board, cfg.door)


def test_restarting_the_service_never_pulses(wire, modbus_sim):
    modbus_sim.set_input(DOOR, True)
    modbus_sim.set_input(FIRE, True)
    for _ in range(3):
        door = modbus_door(wire).start()
        assert comes_to_lock(door)
        polled = modbus_sim.requests
        assert modbus_sim.wait_for_requests(polled + 3)  # it is running and polling inputs
        door.stop()
    assert modbus_sim.writes() == []
    assert modbus_sim.coils == (False,) * 8


def test_start_after_crash_mid_pulse_only_locks(wire, modbus_sim):
    modbus_sim.set_input(DOOR, True)
    modbus_sim.set_input(FIRE, True)
    modbus_sim.force_coil(0, True)  # as if the previous process died during a pulse
    before = len(modbus_sim.writes())
    with modbus_door(wire) as door:
        assert wait_until(lambda: door.snapshot().state == "locked")
        assert modbus_sim.wait_for_coil(0, False)
    assert [(w.coil, w.on) for w in modbus_sim.writes()[before:]] == [(0, False)]


def test_stop_during_pulse_locks(wire, modbus_sim):
    modbus_sim.set_input(FIRE, True)
    modbus_sim.set_input(DOOR, True)
    door = modbus_door(wire).start()
    assert wait_until(lambda: door.snapshot().state == "locked")
    cfg_pulse = door.config.pulse_ms
    assert cfg_pulse < 1000
    assert door.grant()
    door.stop()
    assert modbus_sim.coils[0] is False
    assert [(w.coil, w.on) for w in modbus_sim.writes()] == [(0, True), (0, False)]


def test_simulated_board_restart_history_shows_no_pulse(hw):
    for _ in range(3):
        with SimulatedRelayBoard(hw) as board:
            cfg = door_cfg()
            door = DoorController(board, cfg.door)
            door.start()
            assert comes_to_lock(door)
            door.stop()
    assert hw.history == []
    hw.assert_outputs(False, False, False, False)


def test_lcus_door_notices_the_unplugged_board(wire):
    from drivers.relays.lcus import LcusRelayBoard
    from drivers.sim.lcus_device import SimLcusDevice

    events = Recorder()
    cfg = parse_relay({"backend": "lcus", "port": wire.driver_path, "outputs": 2,
                       "door": {"pulse_ms": 100, "poll_ms": 20}})
    with SimLcusDevice(wire.device_path) as device:
        board = LcusRelayBoard(wire.driver_path, outputs=2, backoff=Backoff(0.05, 0.3))
        with DoorController(board, cfg.door, on_event=events) as door:
            # Write-only board: the locked command is repeated at start (no relay moves).
            assert device.wait_for(lambda d: [(h.coil, h.on) for h in d.history] == [(0, False)])
            wire.unplug()
            assert events.wait_for(lambda e: e.kind == "link_lost")
            assert door.grant() is False
            wire.replug()
            assert events.wait_for(lambda e: e.kind == "link_restored")
            assert door.grant()
            assert device.wait_for(lambda d: [h.on for h in d.history] == [False, True, False])


def test_board_missing_at_start_is_reported_then_picked_up(wire, modbus_sim):
    modbus_sim.set_input(DOOR, True)
    modbus_sim.set_input(FIRE, True)
    wire.unplug()
    events = Recorder()
    door = modbus_door(wire)
    door.subscribe(events)
    with door:
        assert events.wait_for(lambda e: e.kind == "link_lost")
        snap = door.snapshot()
        assert not snap.link_ok and snap.state == "unknown" and "cannot open" in snap.fault
        assert door.grant() is False
        wire.replug()
        assert events.wait_for(lambda e: e.kind == "link_restored")
        assert wait_until(lambda: door.snapshot().state == "locked")
        assert door.grant()
    assert [(w.coil, w.on) for w in modbus_sim.writes()] == [(0, True), (0, False)]


def test_grant_right_after_start_is_a_full_pulse(hw):
    cfg = door_cfg(poll_ms=1000)  # the first poll has not settled anything yet
    with DoorController(make_board(cfg, hardware=hw), cfg.door) as door:
        assert door.grant()
        assert wait_until(lambda: changes(hw) == [True, False])
    on, off = [c.at for c in hw.history]
    assert off - on >= 0.14
