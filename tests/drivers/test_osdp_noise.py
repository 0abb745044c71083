"""Noise on the OSDP bus is a reader fault (rate-limited), never a card.

libosdp drops damaged frames without telling its Python caller, so the driver checks what its
channel receives (drivers.readers.osdp_wire).  These tests feed that check real frames and
damaged ones, then put noise on the wire between a libosdp control panel and a libosdp reader.
"""

from __future__ import annotations

import pytest

from drivers.backoff import Backoff
from drivers.readers import CardRead, ReaderFault, ReaderStatus
from drivers.readers.osdp import OsdpReader
from drivers.readers.osdp_wire import OsdpRxCheck, crc16_aug_ccitt, frame_ok
from drivers.sim.osdp_reader import SimOsdpReader
from drivers.sim.wire import PtyWire

from .conftest import FRAMES, Recorder, frame, wait_until

KEY = bytes.fromhex("8f3a6b1c0d2e4f5061728394a5b6c7d8")
ID_REQUEST = frame("osdp_id_request_addr0.hex")[0]  # as libosdp sends it, CRC-16


def checksum_frame(addr: int, code: int, data: bytes = b"") -> bytes:
    body = bytes([0x53, addr, 0, 0, 0x00, code]) + data
    length = len(body) + 1
    body = body[:2] + length.to_bytes(2, "little") + body[4:]
    return body + bytes([-sum(body) & 0xFF])


ACK = checksum_frame(0x80, 0x40)  # osdp_ACK from the reader at address 0, 8-bit checksum


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_the_check_knows_both_kinds_of_frame():
    assert FRAMES.exists() and frame_ok(ID_REQUEST) and frame_ok(ACK)
    assert crc16_aug_ccitt(b"123456789") == 0xE5CC
    assert not frame_ok(ID_REQUEST[:-1] + bytes([ID_REQUEST[-1] ^ 1]))
    assert not frame_ok(ACK[:-1])


@pytest.mark.parametrize("size", [1, 3, 64])
def test_good_frames_in_any_chunking_and_mark_bytes_are_not_noise(size):
    check = OsdpRxCheck()
    stream = (ID_REQUEST + b"\xff" + ACK) * 5
    for part in chunks(stream, size):
        check.feed(part)
    assert (check.good_frames, check.noise_runs, check.take_runs()) == (10, 0, [])


@pytest.mark.parametrize("damage, run", [
    (b"\x01\x02garbage", b"\x01\x02garbage"),  # noise between frames
    (ACK[:-1] + bytes([ACK[-1] ^ 0x5A]), ACK[:-1] + bytes([ACK[-1] ^ 0x5A])),  # wrong check byte
    (ID_REQUEST[:5], ID_REQUEST[:5]),  # truncated
    (b"\x53\x80\xff\x01\x00", b"\x53\x80\xff\x01\x00"),  # a header claiming 511 bytes
    (b"S\x80\x05\x00\xff\x00\x137garbage", b"S\x80\x05\x00\xff\x00\x137garbage"),  # a bogus length
])
def test_each_damage_between_good_frames_is_one_run(damage, run):
    check = OsdpRxCheck()
    for part in chunks(ACK + damage + ID_REQUEST + ACK * 80, 5):  # enough to fill a 511-byte claim
        check.feed(part)
    assert check.take_runs() == [run]
    assert (check.good_frames, check.noise_runs) == (82, 1)


def test_a_long_stretch_of_noise_is_reported_without_waiting_for_a_good_frame():
    check = OsdpRxCheck()
    check.feed(bytes(range(1, 80)) * 4)  # no SOM at all
    assert check.noise_runs == 1 and len(check.take_runs()[0]) == 316


@pytest.fixture
def link(tmp_path):
    events = Recorder()
    with PtyWire("osdp", str(tmp_path)) as wire, SimOsdpReader(wire.device_path, address=3, key=KEY) as pd:
        reader = OsdpReader(wire.driver_path, key=KEY, address=3, offline_after=1.5, backoff=Backoff(1.0, 1.5),
                            fault_interval=2.0, on_event=events)
        with reader:
            assert events.wait_for(lambda e: isinstance(e, ReaderStatus) and e.online)
            yield wire, pd, reader, events


def test_a_clean_bus_reports_no_noise(link):
    wire, pd, reader, events = link
    rx = reader._channel.rx_check
    assert wait_until(lambda: rx.good_frames >= 40)  # a second or two of polls in the secure channel
    pd.present_card("188:24910")
    assert events.wait_for(lambda e: isinstance(e, CardRead)).card == "12345678"
    assert rx.noise_runs == 0 and events.of(ReaderFault) == [] and reader.health().rejected_frames == 0


def test_noise_on_the_wire_is_a_reader_fault_and_no_card(link):
    wire, pd, reader, events = link
    noise = b"\x53\x80\x05\x00\xff\x00\x13\x37garbage"
    wire.inject_to_driver(noise)
    fault = events.wait_for(lambda e: isinstance(e, ReaderFault))
    assert fault is not None and "line noise on the OSDP bus" in fault.message and noise in fault.data
    assert fault.count == 1 and events.of(CardRead) == []


@pytest.mark.slow
def test_a_noisy_bus_gives_one_fault_per_interval_with_every_burst_counted(link):
    wire, pd, reader, events = link
    rx = reader._channel.rx_check
    for _ in range(12):
        # A good frame between two bursts makes each its own run of noise (if a burst costs the
        # link, the wait covers the reconnection).
        good = rx.good_frames
        assert wait_until(lambda good=good: rx.good_frames > good, timeout=30)
        wire.inject_to_driver(b"\x01\x53\x02zz")
    assert wait_until(lambda: rx.noise_runs >= 12)
    reader.stop()  # reports what is still counted
    faults = events.of(ReaderFault)
    assert events.of(CardRead) == []
    assert faults[0].count == 1 and "line noise on the OSDP bus" in faults[0].message
    assert sum(f.count for f in faults) == reader.health().rejected_frames >= 12
    assert len(faults) < reader.health().rejected_frames
    assert any(f.count > 1 and "rejected in the last 2 s" in f.message for f in faults)
    # Never two reports within the interval (the one at stop excepted).
    assert all(b.at - a.at >= 1.9 for a, b in zip(faults[:-2], faults[1:-1], strict=True))
