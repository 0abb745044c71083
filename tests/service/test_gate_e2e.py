"""End to end through the simulators: OSDP reader and Modbus relay board on pseudo-terminals."""

from __future__ import annotations

from gate.core.decision import Reason
from gate.service.simrig import DOOR_SENSOR, EXIT_BUTTON, FIRE_ALARM
from tests.service.conftest import CARD, CODE, PIN, Gate


def test_card_opens_the_door_and_the_reader_shows_green(gate: Gate) -> None:
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.last_access()["granted"] is True
    assert gate.last_access()["method"] == "card"
    assert gate.rig.reader.wait_for_command(_led_command(), timeout=20) is not None  # type: ignore[union-attr]
    # and back to locked after the pulse
    assert gate.rig.board.wait_for_coil(0, False, timeout=20)  # type: ignore[union-attr]


def _led_command() -> int:
    import osdp

    return osdp.Command.LED


def test_unknown_card_is_refused_and_the_door_stays_locked(gate: Gate) -> None:
    gate.card("1:1")
    assert gate.wait_for(lambda: gate.last_access().get("reason") == Reason.UNKNOWN_CARD.value)
    assert gate.releases() == 0
    assert gate.runtime.snapshot().phase == "refusal"


def test_pin_on_the_readers_keypad(gate: Gate) -> None:
    gate.keys(f"{CODE}#")
    assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "choice")
    gate.keys(f"{PIN}#")
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.last_access()["method"] == "pin" and gate.last_access()["granted"] is True


def test_pin_on_the_screen_never_opens_the_camera(gate: Gate) -> None:
    from gate.core import machine as m

    gate.runtime.post(m.Choose("pin"))
    gate.runtime.post(m.EnterCode(CODE))
    gate.runtime.post(m.EnterPin(PIN))
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.runtime.snapshot().camera.opens == 0


def test_wrong_pins_lock_the_keypad_but_not_the_card(gate: Gate) -> None:
    from gate.core import machine as m

    for _ in range(5):
        gate.runtime.post(m.EnterCode(CODE))
        gate.runtime.post(m.EnterPin("000000"))
        gate.runtime.wait_idle()
    gate.runtime.post(m.EnterCode(CODE))
    gate.runtime.post(m.EnterPin(PIN))
    # The gate keypad's wait after five wrong PINs in a row comes before the resident's own lock.
    assert gate.wait_for(lambda: gate.last_access().get("reason") == Reason.PIN_WAIT.value)
    assert gate.releases() == 0
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)


def test_exit_button_opens(gate: Gate) -> None:
    gate.rig.set_input(EXIT_BUTTON, True)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    gate.rig.set_input(EXIT_BUTTON, False)
    assert gate.wait_for(lambda: any(e.get("event") == "exit_request" for e in gate.runtime.snapshot().last_events))


def test_fire_alarm_holds_the_door_released_and_is_logged(gate: Gate) -> None:
    gate.rig.set_input(FIRE_ALARM, False)
    assert gate.wait_for(lambda: "fire_alarm" in gate.runtime.snapshot().alarms)
    assert gate.rig.board.wait_for_coil(0, True, timeout=20)  # type: ignore[union-attr]
    # the alarm is raised before the event's row is written: wait for the row, on a loaded machine too
    assert gate.wait_for(lambda: any(e.get("event") == "fire_alarm" for e in gate.runtime.snapshot().last_events))
    gate.rig.set_input(FIRE_ALARM, True)
    assert gate.wait_for(lambda: "fire_alarm" not in gate.runtime.snapshot().alarms)
    assert gate.rig.board.wait_for_coil(0, False, timeout=20)  # type: ignore[union-attr]


def test_forced_open_raises_an_alarm(gate: Gate) -> None:
    gate.rig.set_input(DOOR_SENSOR, False)
    assert gate.wait_for(lambda: "door_forced" in gate.runtime.snapshot().alarms)


def test_operator_ui_hooks_capture_a_card_without_deciding_and_take_frames(gate: Gate) -> None:
    import threading

    got: list[str | None] = []
    waiting = threading.Thread(target=lambda: got.append(gate.runtime.capture_card(20)))
    waiting.start()
    gate.runtime.wait_idle()  # the capture request is registered before the card comes
    gate.card(CARD)
    waiting.join(30)
    assert got == ["12345678"]  # 188:24910, canonical
    assert gate.releases() == 0 and gate.last_access() == {}
    gate.rig.show_photo(__import__("numpy").zeros((120, 160, 3), dtype="uint8"), "blank")
    frames = gate.runtime.camera_frames(3)
    assert len(frames) == 3 and frames[0].shape == (120, 160, 3)


def test_half_typed_keys_are_forgotten(gate_factory) -> None:
    from gate.service.runtime import Timeouts

    gate = gate_factory(timeouts=Timeouts(claim=3.0, face=60, decision=60))
    gate.keys("99")  # someone types and walks away
    assert gate.wait_for(lambda: gate.runtime.keypad.buffer == "99")
    assert gate.wait_for(lambda: gate.runtime.keypad.buffer == "")
    gate.keys(f"{CODE}#{PIN}#")  # would be resident "991001" had the digits stayed
    assert gate.wait_for(lambda: gate.releases() >= 1)
