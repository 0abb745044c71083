"""Byte-level facts, checked against the fixture files in tests/fixtures/frames/."""

from __future__ import annotations

import pytest

from drivers.errors import FrameError, RelayProtocolError
from drivers.readers.osdp import OsdpReader
from drivers.relays import lcus_frames
from drivers.relays.lcus import LcusRelayBoard
from drivers.relays.modbus import ModbusRelayBoard
from drivers.sim.lcus_device import SimLcusDevice
from drivers.sim.osdp_reader import SimOsdpReader
from drivers.sim.wire import PtyWire

from .conftest import Recorder, frame, wait_until


def test_lcus_encode_matches_fixtures():
    assert lcus_frames.encode(0, True) == frame("lcus_ch1_on.hex")[0]
    assert lcus_frames.encode(0, False) == frame("lcus_ch1_off.hex")[0]
    assert lcus_frames.encode(1, True) == frame("lcus_ch2_on.hex")[0]


def test_lcus_decode_rejects_bad_checksum_and_truncation():
    with pytest.raises(FrameError, match="checksum"):
        lcus_frames.decode(frame("lcus_bad_checksum.hex")[0])
    with pytest.raises(FrameError, match="4 bytes"):
        lcus_frames.decode(frame("lcus_truncated.hex")[0])
    assert lcus_frames.decode(frame("lcus_ch2_on.hex")[0]) == (1, True)


def test_lcus_splitter_resynchronises_and_reports_everything():
    stream = (b"\x00\xff" + frame("lcus_bad_checksum.hex")[0] + frame("lcus_ch1_on.hex")[0]
              + frame("lcus_truncated.hex")[0])
    out = lcus_frames.FrameSplitter().feed(stream)
    decoded = [x for x in out if not isinstance(x, FrameError)]
    errors = [x for x in out if isinstance(x, FrameError)]
    assert decoded == [(0, True)]
    assert any("outside a frame" in str(e) for e in errors)
    assert any("checksum" in str(e) for e in errors)


def test_modbus_fc05_bytes_on_the_wire(wire: PtyWire, modbus_sim):
    with ModbusRelayBoard(wire.driver_path, slave_id=1) as board:
        wire.clear_trace()
        board.hold(0, True)
        board.hold(0, False)
        board.read_inputs()
    assert wire.trace.sent() == (frame("modbus_fc05_slave1_coil0_on.hex")[0]
                                 + frame("modbus_fc05_slave1_coil0_off.hex")[0]
                                 + frame("modbus_fc02_slave1_read8.hex")[0])
    # FC05 replies echo the request.
    assert wire.trace.received().startswith(frame("modbus_fc05_slave1_coil0_on.hex")[0])


def test_modbus_exception_reply_fixture_is_refused(wire, modbus_sim):
    with ModbusRelayBoard(wire.driver_path, coil_base=100) as board:
        with pytest.raises(RelayProtocolError):
            board.hold(0, True)
    assert wire.trace.received() == frame("modbus_fc05_exception_illegal_address.hex")[0]


def test_lcus_bytes_on_the_wire_at_9600_8n1(wire: PtyWire):
    with SimLcusDevice(wire.device_path) as device, LcusRelayBoard(wire.driver_path, outputs=4) as board:
        board.pulse(0, 50)
        assert wait_until(lambda: len(device.history) >= 2)
        port_settings = board._serial.get_settings() if board._serial else {}
    assert wire.trace.sent() == frame("lcus_ch1_on.hex")[0] + frame("lcus_ch1_off.hex")[0]
    assert port_settings["baudrate"] == 9600
    assert (port_settings["bytesize"], port_settings["parity"], port_settings["stopbits"]) == (8, "N", 1)


def _crc16_aug_ccitt(data: bytes) -> int:
    # Test-side oracle only: the drivers leave OSDP framing and CRC to libosdp.
    crc = 0x1D0F
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _osdp_packets(stream: bytes) -> list[bytes]:
    packets, i = [], 0
    while (i := stream.find(b"\x53", i)) >= 0 and i + 4 <= len(stream):
        length = stream[i + 2] | (stream[i + 3] << 8)
        if length < 8 or i + length > len(stream):
            i += 1
            continue
        packets.append(stream[i:i + length])
        i += length
    return packets


def test_osdp_crc16_oracle_matches_check_value():
    data, expected = frame("osdp_crc16_check.hex")
    assert _crc16_aug_ccitt(data) == int.from_bytes(expected, "big")


def test_libosdp_frames_carry_crc16_with_initial_value_1d0f(wire: PtyWire):
    key = bytes(range(16))
    events = Recorder()
    with SimOsdpReader(wire.device_path, key=key), \
            OsdpReader(wire.driver_path, key=key, on_event=events):
        assert events.wait_for(lambda e: getattr(e, "online", False))
    assert _osdp_packets(wire.trace.sent())[0] == frame("osdp_id_request_addr0.hex")[0]
    for direction in (wire.trace.sent(), wire.trace.received()):
        packets = [p for p in _osdp_packets(direction) if p[4] & 0x04]  # CTRL bit 2: CRC present
        assert len(packets) >= 3
        for packet in packets:
            assert _crc16_aug_ccitt(packet[:-2]) == int.from_bytes(packet[-2:], "little"), packet.hex(" ")
