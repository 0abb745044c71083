"""Strict Modbus replies: a valid-CRC reply that does not answer the request is refused, never read.

The hostile replies are real bytes put on the wire in place of the simulated board's own reply
(``PtyWire.tamper_next_reply``), so they go through pymodbus's framing and CRC check first.
"""

from __future__ import annotations

import random
import time

import pytest
from pymodbus.framer.rtu import FramerRTU

from drivers.backoff import Backoff
from drivers.config import parse_relay
from drivers.door import DoorController, DoorEventKind
from drivers.errors import RelayError, RelayLinkLost, RelayProtocolError
from drivers.relays.modbus import ModbusRelayBoard

from .conftest import TIMEOUT, Recorder, frame, wait_until

DOOR, EXIT, FIRE = 0, 1, 2


def crc(body: bytes) -> bytes:
    return body + FramerRTU.compute_CRC(body).to_bytes(2, "big")


def board_on(wire, **kw) -> ModbusRelayBoard:
    return ModbusRelayBoard(wire.driver_path, **{"backoff": Backoff(0.01, 0.05), "reply_timeout": 0.25, **kw})


def answered(wire, board, hostile: bytes, call):
    """Put ``hostile`` on the wire instead of the board's reply to ``call``; return what call gave or raised."""
    assert wait_until(lambda: _ok(board.read_inputs))  # a live link, so the request really goes out
    wire.tamper_next_reply(lambda _reply: hostile)
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            result = call()
        except RelayError as exc:
            result = exc
        if wire.tampers_pending == 0:
            return result
        # The simulated board missed the request now and then right after a reopen: without
        # the hostile reply, nothing may have been accepted; ask again once the back-off is over.
        assert isinstance(result, RelayError), result
        assert time.monotonic() < deadline, "the hostile reply was never sent"
        time.sleep(0.06)


def _ok(fn) -> bool:
    try:
        fn()
        return True
    except RelayError:
        return False


INPUT_POLL_HOSTILE = {
    "read-coils reply to an input poll": frame("modbus_hostile_fc01_reply_to_fc02_fire_open.hex")[0],
    "wrong byte count": frame("modbus_hostile_fc02_wrong_byte_count.hex")[0],
    "no data bytes": crc(bytes([1, 2, 0])),
    "write-coil echo to an input poll": crc(bytes.fromhex("01 05 00 00 FF 00")),
    "read-registers reply": crc(bytes.fromhex("01 03 02 00 05")),
    "exception for another function": crc(bytes.fromhex("01 81 02")),
}


@pytest.mark.parametrize("hostile", list(INPUT_POLL_HOSTILE.values()), ids=list(INPUT_POLL_HOSTILE))
def test_hostile_reply_to_an_input_poll_is_refused(wire, modbus_sim, hostile):
    modbus_sim.set_input(FIRE, True)
    with board_on(wire) as board:
        result = answered(wire, board, hostile, board.read_inputs)
        assert isinstance(result, RelayLinkLost), result
        assert "refused" in str(result)
        # The link is reopened and the next poll reads the board's real inputs.
        assert wait_until(lambda: _ok(board.read_inputs))
        assert board.read_inputs()[FIRE] is True


def test_padding_bits_beyond_the_count_are_refused(wire, modbus_sim):
    with board_on(wire, inputs=4) as board:
        result = answered(wire, board, crc(bytes.fromhex("01 02 01 F5")), board.read_inputs)
        assert isinstance(result, RelayLinkLost) and "beyond the 4" in str(result)


def test_a_matching_reply_is_still_read(wire, modbus_sim):
    with board_on(wire) as board:
        assert answered(wire, board, crc(bytes.fromhex("01 02 01 05")), board.read_inputs) == (
            True, False, True, False, False, False, False, False)


WRITE_HOSTILE = {
    "echo of another coil": crc(bytes.fromhex("01 05 00 01 FF 00")),
    "echo of another value": crc(bytes.fromhex("01 05 00 00 00 00")),
    "flash echo instead of on": crc(bytes.fromhex("01 05 02 00 FF 00")),
    "write-multiple reply": crc(bytes.fromhex("01 0F 00 00 00 01")),
    "read-coils reply": crc(bytes.fromhex("01 01 01 01")),
}


@pytest.mark.parametrize("hostile", list(WRITE_HOSTILE.values()), ids=list(WRITE_HOSTILE))
def test_hostile_reply_to_a_coil_write_is_refused(wire, modbus_sim, hostile):
    with board_on(wire) as board:
        result = answered(wire, board, hostile, lambda: board.hold(0, True))
        assert isinstance(result, RelayLinkLost), result


def test_wrong_flash_time_in_the_echo_is_refused(wire, modbus_sim):
    with board_on(wire) as board:
        wrong = crc(bytes.fromhex("01 05 02 00 00 1F"))  # 3.1 s echoed for a 3 s request
        result = answered(wire, board, wrong, lambda: board.pulse(0, 3000))
        assert isinstance(result, RelayLinkLost) and "4c 7a" not in str(result)
        assert "echoed 02 00 00 1f instead of 02 00 00 1e" in str(result)


def test_exception_for_the_same_function_is_a_protocol_error(wire, modbus_sim):
    with board_on(wire) as board:
        result = answered(wire, board, frame("modbus_fc05_exception_illegal_address.hex")[0],
                          lambda: board.hold(0, True))
        assert isinstance(result, RelayProtocolError) and not isinstance(result, RelayLinkLost)


def test_read_coils_reply_to_a_poll_never_raises_the_fire_alarm(wire, modbus_sim):
    """The finding: a valid-CRC FC01 frame answering an FC02 poll was read as "fire loop open"."""
    modbus_sim.set_input(DOOR, True)
    modbus_sim.set_input(FIRE, True)
    cfg = parse_relay({"backend": "modbus", "port": wire.driver_path, "reply_timeout_ms": 250,
                       "reconnect_initial_ms": 10, "reconnect_max_ms": 50,
                       "door": {"door_sensor_input": DOOR, "exit_button_input": EXIT, "fire_alarm_input": FIRE,
                                "poll_ms": 20}})
    events = Recorder()
    with DoorController(ModbusRelayBoard.from_config(cfg), cfg.door, on_event=events) as door:
        assert wait_until(lambda: door.snapshot().state == "locked")
        for _ in range(5):
            wire.tamper_next_reply(lambda _r: frame("modbus_hostile_fc01_reply_to_fc02_fire_open.hex")[0])
            assert wait_until(lambda: wire.tampers_pending == 0)
        assert events.wait_for(lambda e: e.kind == DoorEventKind.LINK_LOST)
        assert wait_until(lambda: door.snapshot().state == "locked")
        assert DoorEventKind.FIRE_ALARM not in events.kinds()
        assert not door.snapshot().fire_alarm
    assert modbus_sim.writes() == []  # the release output was never touched


def _fuzz_frame(rng: random.Random) -> bytes:
    """A valid-CRC frame near the right reply to "read 8 discrete inputs of slave 1"."""
    # Another slave or an unknown function is never framed as a reply at all (the driver waits
    # out its timeout), so they are rare here: the near misses are what must be refused.
    slave = rng.choice([1] * 12 + [2, 247])
    function = rng.choice([2] * 8 + [1, 1, 3, 4, 5, 15, 0x82, 0x81, 0x42])
    if function & 0x80:
        body = bytes([slave, function, rng.randrange(256)])
    elif function in (5, 15):
        body = bytes([slave, function]) + rng.randbytes(4)
    else:
        count = rng.choice([1, 1, 1, 0, 2, 3])
        data = rng.randbytes(rng.choice([count, count, count, max(0, count - 1), count + 1]))
        body = bytes([slave, function, count]) + data
    return crc(body)


def _oracle(reply: bytes) -> tuple[bool, ...] | None:
    """What the driver may make of ``reply``: the inputs if it answers the poll exactly, else nothing."""
    if len(reply) == 6 and reply[:3] == bytes([1, 2, 1]):
        return tuple(bool(reply[3] >> i & 1) for i in range(8))
    return None


@pytest.mark.slow
def test_fuzzed_valid_crc_replies_are_only_read_when_they_match(wire, modbus_sim):
    rng = random.Random(20240611)
    frames = [_fuzz_frame(rng) for _ in range(300)]
    accepted = refused = 0
    with board_on(wire, reply_timeout=0.2) as board:
        for hostile in frames:
            result = answered(wire, board, hostile, board.read_inputs)
            expected = _oracle(hostile)
            if expected is None:
                assert isinstance(result, RelayError), (hostile.hex(" "), result)
                refused += 1
            else:
                assert result == expected, (hostile.hex(" "), result)
                accepted += 1
    # The generator must exercise both sides, or the test proves nothing.
    assert accepted >= 30 and refused >= 150, (accepted, refused)
