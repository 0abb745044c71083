"""Readers against protocol-level simulators: libosdp PD and a line-printing reader, over ptys."""

from __future__ import annotations

import threading
import time

import osdp
import pytest

from drivers.backoff import Backoff
from drivers.config import DEFAULT_LINE_PATTERN, parse_reader
from drivers.errors import DeviceClosed
from drivers.readers import CardRead, KeyPress, ReaderFault, ReaderStatus, make_reader
from drivers.readers.line import LineReader
from drivers.readers.line_framing import LineSplitter
from drivers.readers.osdp import OsdpReader
from drivers.sim.line_reader import SimLineReader
from drivers.sim.osdp_reader import SimOsdpReader
from drivers.sim.wire import PtyWire
from gate.core.cardnumber import encode_wiegand

from .conftest import Recorder, wait_until

KEY = bytes.fromhex("8f3a6b1c0d2e4f5061728394a5b6c7d8")


def online(e) -> bool:
    return isinstance(e, ReaderStatus) and e.online


def offline(e) -> bool:
    return isinstance(e, ReaderStatus) and not e.online


def osdp_reader(wire: PtyWire, events, **kw) -> OsdpReader:
    kw.setdefault("key", KEY)
    return OsdpReader(wire.driver_path, address=kw.pop("address", 3), offline_after=kw.pop("offline_after", 1.5),
                      backoff=Backoff(1.0, 1.5), on_event=events, **kw)


@pytest.fixture
def pd(wire):
    with SimOsdpReader(wire.device_path, address=3, key=KEY) as sim:
        yield sim


def test_osdp_card_keys_and_feedback_over_secure_channel(wire, pd):
    events = Recorder()
    with osdp_reader(wire, events) as reader:
        assert events.wait_for(online)
        assert reader.health().secure_channel is True and pd.secure
        pd.present_card("188:24910")
        card = events.wait_for(lambda e: isinstance(e, CardRead))
        assert card.card == "12345678" and card.bits == 26 and card.raw == encode_wiegand("12345678")
        pd.type_keys("1234#")
        assert events.wait_for(lambda e: isinstance(e, KeyPress)).keys == "1234#"
        assert reader.feedback(granted=True)
        led = pd.wait_for_command(osdp.Command.LED)
        assert led["on_color"] == osdp.CommandLEDColor.Green and led["temporary"]
        buzzer = pd.wait_for_command(osdp.Command.Buzzer)
        assert buzzer["rep_count"] == 1
        pd.commands.clear()
        assert reader.feedback(granted=False)
        assert pd.wait_for_command(osdp.Command.LED)["on_color"] == osdp.CommandLEDColor.Red
        assert pd.wait_for_command(osdp.Command.Buzzer)["rep_count"] == 3


def test_osdp_bad_card_data_is_a_fault_not_a_card(wire, pd):
    events = Recorder()
    with osdp_reader(wire, events):
        assert events.wait_for(online)
        good = bytearray(encode_wiegand("12345678"))
        good[1] ^= 0x10  # one data bit flipped: parity fails
        pd.present_raw(bytes(good), 26)
        fault = events.wait_for(lambda e: isinstance(e, ReaderFault))
        assert "parity" in fault.message and fault.data == bytes(good)
        pd.present_card("42")
        assert events.wait_for(lambda e: isinstance(e, CardRead)).card == "42"
        assert events.of(CardRead)[0].card == "42"


def test_osdp_wrong_key_never_comes_online_and_reads_nothing(wire):
    events = Recorder()
    with SimOsdpReader(wire.device_path, address=3, key=bytes(16)) as sim, osdp_reader(wire, events) as reader:
        sim.present_card("12345678")
        assert events.wait_for(online, timeout=3) is None
        assert not reader.health().online and not sim.secure
    assert events.of(CardRead) == []


def test_osdp_factory_default_key_only_in_install_mode(wire):
    # Without install mode the CP refuses to use the default key (SCBK-D).
    events = Recorder()
    with SimOsdpReader(wire.device_path, address=3, key=None, install_mode=True) as sim:
        with osdp_reader(wire, events):
            assert events.wait_for(online, timeout=3) is None
        assert sim.key is None
        # In install mode it connects with SCBK-D and hands the reader our key (KEYSET).
        events = Recorder()
        with osdp_reader(wire, events, install_mode=True) as reader:
            assert events.wait_for(online)
            keyset = sim.wait_for_command(osdp.Command.Keyset)
            assert keyset is not None and bytes(keyset["data"]) == KEY
            assert wait_until(lambda: reader.health().secure_channel)
    assert sim.key == KEY


def test_osdp_cable_pulled_then_reconnected(wire, pd):
    events = Recorder()
    with osdp_reader(wire, events) as reader:
        assert events.wait_for(online)
        wire.cut()
        assert events.wait_for(offline)
        assert not reader.health().online
        wire.mend()
        assert wait_until(lambda: len([e for e in events.of(ReaderStatus) if e.online]) >= 2, timeout=30)
        assert reader.health().reconnects == 1 and reader.health().secure_channel
        pd.present_card("7")
        assert events.wait_for(lambda e: isinstance(e, CardRead)).card == "7"


def test_osdp_reader_stops_answering(wire, pd):
    events = Recorder()
    with osdp_reader(wire, events):
        assert events.wait_for(online)
        wire.mute()
        assert events.wait_for(offline)
        assert "no reply" in events.wait_for(offline).detail
        wire.unmute()
        assert wait_until(lambda: len([e for e in events.of(ReaderStatus) if e.online]) >= 2, timeout=30)


def test_osdp_adapter_unplugged_and_back(wire, pd):
    events = Recorder()
    with osdp_reader(wire, events) as reader:
        assert events.wait_for(online)
        wire.unplug()
        assert events.wait_for(offline)
        assert reader.feedback(True) is False  # nothing to show it on
        wire.replug()
        assert wait_until(lambda: len([e for e in events.of(ReaderStatus) if e.online]) >= 2, timeout=30)
        pd.present_card("8")
        assert events.wait_for(lambda e: isinstance(e, CardRead)).card == "8"


def test_osdp_reader_from_config_and_closed_use(wire, pd, tmp_path):
    (tmp_path / "r.key").write_text(KEY.hex())
    cfg = parse_reader({"backend": "osdp", "port": wire.driver_path, "address": 3, "key_file": "r.key"},
                       base_dir=tmp_path)
    events = Recorder()
    reader = make_reader(cfg, events)
    with reader:
        assert events.wait_for(online)
    with pytest.raises(DeviceClosed):
        reader.feedback(True)


# -- line readers ---------------------------------------------------------------------------------
def line_reader(wire: PtyWire, events, **kw) -> LineReader:
    kw.setdefault("pattern", DEFAULT_LINE_PATTERN)
    kw.setdefault("fault_interval", 0.05)
    return LineReader(wire.driver_path, backoff=Backoff(0.05, 0.3), on_event=events, **kw)


def test_line_reader_cards_and_garbage(wire):
    events = Recorder()
    with line_reader(wire, events, fault_interval=2.0) as reader, SimLineReader(wire.device_path) as sim:
        assert events.wait_for(online)
        sim.present("0012345678")
        sim.send_raw(b"\xff\xfe\x00garbage\r\n")
        sim.send_raw(b"188,24910\n0x00BC614E\r12345678\r")  # not the 10 digits this reader prints
        sim.send_raw(b"9" * 300 + b"1\r\n")  # far too long: its short tail must not pass as card 1
        sim.present("0000000005")
        assert wait_until(lambda: len(events.of(CardRead)) == 2)
        assert [c.card for c in events.of(CardRead)] == ["12345678", "5"]
        # One fault at once, the rest counted into one more after fault_interval: never one per line.
        assert wait_until(lambda: sum(f.count for f in events.of(ReaderFault)) == reader.health().rejected_frames
                          and len(events.of(ReaderFault)) == 2)
        first, summary = events.of(ReaderFault)
        assert first.data == b"\xff\xfe\x00garbage" and first.count == 1
        assert summary.count == reader.health().rejected_frames - 1 >= 4
        assert summary.message.startswith(f"{summary.count} lines rejected") and summary.data == b"188,24910"


def test_line_reader_port_disappears_and_comes_back(wire):
    events = Recorder()
    with line_reader(wire, events) as reader:
        assert events.wait_for(online)
        with SimLineReader(wire.device_path) as sim:
            sim.send_raw(b"12")  # half a line, then the adapter is gone
            assert wait_until(lambda: reader.bytes_in == 2)
            wire.unplug()
            assert events.wait_for(offline)
            assert events.wait_for(lambda e: isinstance(e, ReaderFault)).data == b"12"
            wire.replug()
            assert wait_until(lambda: len([e for e in events.of(ReaderStatus) if e.online]) >= 2)
            sim.present("0000000034")
            assert events.wait_for(lambda e: isinstance(e, CardRead)).card == "34"
        assert reader.health().reconnects == 1


def test_line_reader_absent_at_start(tmp_path):
    events = Recorder()
    reader = LineReader(str(tmp_path / "ttyUSB9"), pattern=DEFAULT_LINE_PATTERN, backoff=Backoff(0.05, 0.1),
                        on_event=events)
    with reader:
        assert wait_until(lambda: reader.health().last_error is not None)
        assert not reader.health().online


def test_line_splitter_endings_and_overflow():
    s = LineSplitter(max_line=8)
    assert s.feed(b"1\r\n2\n3\r") == [(b"1", False), (b"2", False), (b"3", False)]
    assert s.feed(b"45") == []
    assert s.feed(b"6\n") == [(b"456", False)]
    assert s.feed(b"123456789") == [(b"123456789", True)]
    assert s.feed(b"7\n8\n") == [(b"7", True), (b"8", False)]


def test_line_splitter_drops_a_fragment_left_without_its_line_end():
    s = LineSplitter(max_gap=0.5)
    assert s.feed(b"00123", now=10.0) == []
    assert s.expire(10.4) == b""  # still arriving
    assert s.expire(10.6) == b"00123"  # noise, or a line cut short: never glued to the next card
    assert s.feed(b"0012345678\r\n", now=11.0) == [(b"0012345678", False)]


def test_same_card_reads_the_same_on_both_readers(tmp_path):
    osdp_events, line_events = Recorder(), Recorder()
    with PtyWire("osdp", str(tmp_path)) as ow, PtyWire("line", str(tmp_path)) as lw, \
            SimOsdpReader(ow.device_path, address=3, key=KEY) as pd, SimLineReader(lw.device_path) as printer, \
            osdp_reader(ow, osdp_events), line_reader(lw, line_events):
        assert osdp_events.wait_for(online) and line_events.wait_for(online)
        for shown, printed in (("188:24910", "0012345678"), ("1:1", "0000065537"), ("255:65535", "0016777215")):
            pd.present_card(shown)
            printer.present(printed)
        assert wait_until(lambda: len(osdp_events.of(CardRead)) == 3 and len(line_events.of(CardRead)) == 3)
    assert [c.card for c in osdp_events.of(CardRead)] == [c.card for c in line_events.of(CardRead)]


def test_osdp_noise_and_damaged_replies_are_not_cards(wire, pd):
    events = Recorder()
    with osdp_reader(wire, events) as reader:
        assert events.wait_for(online)
        wire.inject_to_driver(b"\x53\x80\x05\x00\xff\x00\x13\x37garbage")  # noise, a bogus header
        wire.tamper_next_reply(lambda b: b[:-1] + bytes([b[-1] ^ 0x5A]))  # wrong CRC
        wire.tamper_next_reply(lambda b: b[: len(b) // 2])  # truncated
        assert wait_until(lambda: wire.tampers_pending == 0)
        # Damage may cost the secure-channel session (libosdp then drops the link and the driver
        # restarts it), and a card shown meanwhile is lost, as on a real bus; the person shows it
        # again.  Whatever happens, no damaged frame is ever taken as a card.
        deadline = time.monotonic() + 30
        while not events.of(CardRead) and time.monotonic() < deadline:
            if reader.health().online and reader.health().secure_channel:
                pd.present_card("188:24910")
                events.wait_for(lambda e: isinstance(e, CardRead), timeout=3)
            else:
                threading.Event().wait(0.1)
        cards = [c.card for c in events.of(CardRead)]
        assert cards and set(cards) == {"12345678"}
        assert any("line noise on the OSDP bus" in f.message for f in events.of(ReaderFault))
