"""Finding 5: a plain line reader must not turn noise into cards.

The fuzz of the finding is replayed over a pty through a reader built from the default
``[reader]`` config: every single-bit flip of ``0012345678\\r\\n`` and 800 seeded garbage
bursts.  A decimal reader without a check digit cannot see a digit flipped into another digit,
so those flips still read as another number; everything else must be rejected, and reported
as rate-limited reader faults.  The counts asserted here are the ones in hardware/README.md.
"""

from __future__ import annotations

import random
import re
import time

import pytest

from drivers.config import DEFAULT_LINE_PATTERN, DriverConfigError, parse_reader
from drivers.readers import CardRead, ReaderFault, ReaderStatus, make_reader
from drivers.readers.base import FaultTally
from drivers.readers.line_framing import CardLines, LineDecoder, LineFormat
from drivers.sim.line_reader import SimLineReader
from drivers.sim.wire import PtyWire
from gate.core.cardnumber import CardNumberError, encode_wiegand

from .conftest import Recorder, wait_until

CARD_LINE = b"0012345678\r\n"
#: A card line sent after each case: the events between two of them belong to the case.
SENTINEL = b"0099999999\r\n"
#: Digit flips of "0012345678" that give another digit: no length or character check can see them.
DIGIT_TO_DIGIT_FLIPS = 32


def bit_flips(line: bytes, positions: range) -> list[bytes]:
    return [line[:i] + bytes([line[i] ^ (1 << bit)]) + line[i + 1:] for i in positions for bit in range(8)]


def garbage_bursts(n: int = 800, seed: int = 5) -> list[bytes]:
    """Noise as it shows on a serial line, weighted towards what a loose parser would take as a
    number: digits, line ends and separators among random bytes."""
    rnd = random.Random(seed)
    bursts = []
    for _ in range(n):
        out = bytearray()
        for _ in range(rnd.randint(1, 24)):
            r = rnd.random()
            if r < 0.35:
                out.append(rnd.choice(b"0123456789"))
            elif r < 0.45:
                out.append(rnd.choice(b"\r\n"))
            elif r < 0.5:
                out.append(rnd.choice(b" ,:x"))
            else:
                out.append(rnd.randrange(256))
        bursts.append(bytes(out))
    return bursts


def could_be_a_card(case: bytes) -> list[str]:
    """The cards a correct default reader may produce for ``case``: its ten-digit lines only."""
    lines = re.split(rb"[\r\n]", case)
    return [str(int(line)) for line in lines if re.fullmatch(rb"[0-9]{10}", line)]


def replay(cases: list[bytes]) -> tuple[list[list[str]], list[ReaderFault], int, float]:
    """Cards per case, the fault events, the reader's count of rejected lines and the run time."""
    events = Recorder()
    sentinel = str(int(SENTINEL))
    per_case: list[list[str]] = []
    with PtyWire("line") as wire:
        reader = make_reader(parse_reader({"backend": "line", "port": wire.driver_path}), events)
        started = time.monotonic()
        with reader, SimLineReader(wire.device_path) as sim:
            assert events.wait_for(lambda e: isinstance(e, ReaderStatus) and e.online)
            seen = 0
            for case in cases:
                sim.send_raw(case + b"\r\n" + SENTINEL)
                assert wait_until(lambda: sum(c.card == sentinel for c in events.of(CardRead)) > len(per_case))
                cards = [c.card for c in events.of(CardRead)]
                end = [i for i, card in enumerate(cards) if card == sentinel][len(per_case)]
                per_case.append(cards[seen:end])
                seen = end + 1
        elapsed = time.monotonic() - started
        return per_case, events.of(ReaderFault), reader.health().rejected_frames, elapsed


@pytest.mark.slow
def test_the_findings_fuzz_over_the_wire_with_the_default_config():
    digit_flips = bit_flips(CARD_LINE, range(10))  # the finding's 80
    end_flips = bit_flips(CARD_LINE, range(10, 12))
    bursts = garbage_bursts()
    cases = digit_flips + end_flips + bursts
    per_case, faults, rejected, elapsed = replay(cases)

    for case, cards in zip(cases, per_case, strict=True):
        assert cards == could_be_a_card(case), case
    other_numbers = [cards for cards in per_case[:80] if cards and cards != ["12345678"]]
    assert len(digit_flips) == 80 and len(other_numbers) == DIGIT_TO_DIGIT_FLIPS
    # A damaged CR costs the read (the person shows the card again); after an intact CR the line is
    # whole and a damaged LF is only a stray byte.
    assert per_case[80:88] == [[]] * 8 and per_case[88:96] == [["12345678"]] * 8
    assert sum(bool(cards) for cards in per_case[96:]) == 0  # no garbage burst is a card
    assert rejected >= 80 - DIGIT_TO_DIGIT_FLIPS + 16 + 700
    # Rate-limited: one at once, then at most one per 10 s (the default), with every line counted.
    assert len(faults) <= 2 + elapsed / 10
    assert sum(f.count for f in faults) == rejected


def test_the_flips_a_decimal_line_cannot_see_and_those_bits_can():
    def cards(fmt: LineFormat) -> int:
        decoder = LineDecoder(DEFAULT_LINE_PATTERN, fmt)
        read = [r.card for line in bit_flips(CARD_LINE, range(10))
                for r in CardLines(decoder).feed(line, 0.0) if r.card]
        return len(read)

    assert cards(LineFormat("decimal")) == DIGIT_TO_DIGIT_FLIPS
    # A 26-bit card's number has 24 bits: flips that push it past 16777215 are caught as well.
    assert cards(LineFormat("decimal", bits=26)) == 21


def test_a_wiegand_hex_line_catches_every_single_bit_error_of_the_frame():
    decoder = LineDecoder(r"^W26:\s*(?P<card>[0-9A-Fa-f]+)\s*$", LineFormat("wiegand", bits=26))
    frame = int.from_bytes(encode_wiegand("12345678"), "big") >> 6
    assert decoder.decode(b"W26: %X" % frame) == "12345678"
    for bit in range(26):
        with pytest.raises(CardNumberError, match="parity"):
            decoder.decode(b"W26: %07X" % (frame ^ (1 << bit)))
    # Flips of the printed characters: one that stays a hex digit changes a nibble, and parity
    # sees a change of an odd number of bits in either half; 2 of the 56 change two bits of one half.
    line = b"W26: %X\r\n" % frame
    read = [r.card for flipped in bit_flips(line, range(5, 12)) for r in CardLines(decoder).feed(flipped, 0.0)
            if r.card]
    assert len([card for card in read if card != "12345678"]) == 2  # the rest: C <-> c, the same card


@pytest.mark.parametrize("line, why", [
    (b"0012345678\x0b", "printable"),  # VT would pass as whitespace in a loose pattern
    (b"\x000012345678", "printable"),
    (b"00123456780012345678", "10 decimal digits"),  # two cards merged: a line end lost
    (b"00123", "10 decimal digits"),  # one card split by a stray line end
    (b"001234567A", "10 decimal digits"),
    (b"0x00BC614E", "10 decimal digits"),
    (b"188,24910", "10 decimal digits"),
])
def test_the_default_rejects_what_noise_makes_of_a_line(line, why):
    with pytest.raises(CardNumberError, match=why):
        LineDecoder(DEFAULT_LINE_PATTERN).decode(line)


def test_formats_lengths_and_the_text_format_for_facility_numbers():
    assert LineDecoder(DEFAULT_LINE_PATTERN, LineFormat("decimal", (8, 10))).decode(b"12345678") == "12345678"
    assert LineDecoder(DEFAULT_LINE_PATTERN, LineFormat("hex")).decode(b"00bc614e") == "12345678"
    with pytest.raises(CardNumberError, match="8 hex digits"):
        LineDecoder(DEFAULT_LINE_PATTERN, LineFormat("hex")).decode(b"bc614e")
    text = LineDecoder(DEFAULT_LINE_PATTERN, LineFormat("text"))
    assert [text.decode(x) for x in (b"188,24910", b"0x00BC614E", b"5")] == ["12345678"] * 2 + ["5"]


def test_a_fragment_left_on_the_line_is_rejected_and_not_glued_to_the_next_card():
    lines = CardLines(LineDecoder(DEFAULT_LINE_PATTERN))
    assert lines.feed(b"\x8a37", 1.0) == []
    results = lines.feed(CARD_LINE, 2.0)
    assert [(r.line, r.card) for r in results] == [(b"\x8a37", None), (b"0012345678", "12345678")]
    assert "unfinished line" in results[0].why


def test_fault_tally_reports_once_per_interval_with_the_count():
    tally = FaultTally(10.0, "lines")
    assert tally.add("bad 1", b"1", 100.0) == ("bad 1", b"1", 1)
    assert tally.add("bad 2", b"2", 101.0) is None
    assert tally.add("bad 3", b"3", 105.0) is None
    assert tally.due(109.9) is None
    message, data, count = tally.due(110.0)
    assert (data, count) == (b"2", 2) and message == "2 lines rejected in the last 10 s, the first: bad 2"
    assert tally.add("bad 4", b"4", 115.0) is None  # still inside the interval that began at 110
    assert tally.flush(116.0) == ("bad 4", b"4", 1)
    assert tally.due(200.0) is None


@pytest.mark.parametrize("data, message", [
    ({"backend": "line", "port": "/dev/x", "base": "16"}, "base was replaced by format"),
    ({"backend": "line", "port": "/dev/x", "format": "wiegand"}, "needs bits = 26, 34, 37"),
    ({"backend": "line", "port": "/dev/x", "format": "wiegand", "bits": 32}, "needs bits"),
    ({"backend": "line", "port": "/dev/x", "format": "text", "length": 10}, "length does not apply"),
    ({"backend": "line", "port": "/dev/x", "format": "octal"}, "format must be one of"),
    ({"backend": "line", "port": "/dev/x", "length": 0}, "length must be an integer between 1 and 40"),
    ({"backend": "line", "port": "/dev/x", "length": []}, "length must be"),
    ({"backend": "line", "port": "/dev/x", "fault_interval_ms": 5}, "fault_interval_ms"),
    ({"backend": "osdp", "port": "/dev/x", "key": "00" * 16, "format": "decimal"}, "only apply to backend = \"line\""),
])
def test_reader_format_config_errors(data, message):
    with pytest.raises(DriverConfigError, match=message) as info:
        parse_reader(data)
    text = str(info.value)
    assert text.startswith("[reader]") and text.endswith(".") and "\n" not in text


def test_format_keys_reach_the_reader():
    cfg = parse_reader({"backend": "line", "port": "/dev/x", "length": [10, 8], "bits": 26,
                        "fault_interval_ms": 2500})
    assert (cfg.format, cfg.length, cfg.bits, cfg.fault_interval_ms) == ("decimal", (8, 10), 26, 2500)
    reader = make_reader(cfg)
    assert reader._decoder.format == LineFormat("decimal", (8, 10), 26) and reader._faults.interval == 2.5
    assert make_reader(parse_reader({"backend": "line", "port": "/dev/x"}))._decoder.format.lengths == (10,)
