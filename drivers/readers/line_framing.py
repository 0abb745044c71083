"""Splitting a serial byte stream into card lines and checking a line against the card format.

Kept apart from the thread that owns the port so it can be tested with bytes alone.

A plain line reader has no checksum of its own, so everything that keeps noise from reading as
a card is here: every line must be printable ASCII, the pattern picks the number out of it, and
the number must have the configured format (``LineFormat``): the exact number of digits the
reader prints, and for Wiegand frames printed in hex the two parity bits.  A decimal number
without a check digit cannot reveal a digit changed into another digit; hardware/README.md
says how many single-bit flips still get through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gate.core.cardnumber import CardNumberError, normalize_card

MAX_LINE = 128
#: A reader prints a line in one go; bytes left waiting longer than this without their line end
#: are a fragment (noise, or a line cut short), and must not be glued to the next card.
MAX_GAP_S = 0.5

#: Line formats: ``decimal`` (digits only), ``hex`` (hex digits only, e.g. a card UID), ``wiegand``
#: (the raw frame in hex, parity included and checked) and ``text`` (anything
#: gate.core.cardnumber accepts -- decimal, 0x-hex, facility:number -- without length checks).
LINE_FORMATS = ("decimal", "hex", "wiegand", "text")

#: Frame lengths whose parity gate.core.cardnumber checks and strips.
WIEGAND_PARITY_BITS = (26, 34, 37)


def default_lengths(fmt: str, bits: int | None) -> tuple[int, ...]:
    """The number of characters a reader of this format prints when the config does not say."""
    if fmt == "decimal":
        return (10,)  # "0012345678": the common USB / Wiegand-to-serial print-out
    if fmt == "hex":
        return (8,)  # a 4-byte card UID
    if fmt == "wiegand" and bits is not None:
        return (-(-bits // 4),)
    return ()


class LineSplitter:
    """Bytes in, complete lines out; CR, LF and CRLF all end a line.

    ``feed`` returns ``(line, overflow)`` pairs.  A line longer than ``max_line`` is handed
    over in pieces flagged ``overflow`` up to and including its end, so that the tail of
    garbage is never mistaken for a short card number.
    """

    def __init__(self, max_line: int = MAX_LINE, max_gap: float = MAX_GAP_S) -> None:
        self._buf = bytearray()
        self._max = max_line
        self._max_gap = max_gap
        self._overflow = False
        self._last_at = 0.0

    def expire(self, now: float) -> bytes:
        """The unfinished line, if its last byte came more than ``max_gap`` before ``now``."""
        if self._buf and now - self._last_at > self._max_gap:
            return self.reset()
        return b""

    def feed(self, data: bytes, now: float = 0.0) -> list[tuple[bytes, bool]]:
        """``now`` (time.monotonic) is when ``data`` arrived; call ``expire(now)`` first."""
        self._last_at = now
        self._buf += data
        lines: list[tuple[bytes, bool]] = []
        while True:
            cut = min((i for i in (self._buf.find(b"\n"), self._buf.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                break
            line = bytes(self._buf[:cut])
            del self._buf[: cut + 1]
            if line or self._overflow:
                if line:
                    lines.append((line, self._overflow))
                self._overflow = False
        if len(self._buf) > self._max:
            lines.append((bytes(self._buf), True))
            self._buf.clear()
            self._overflow = True
        return lines

    def reset(self) -> bytes:
        """Forget a partial line (the port was lost mid-line); returns what was dropped."""
        rest, self._buf = bytes(self._buf), bytearray()
        self._overflow = False
        return rest


@dataclass(frozen=True)
class LineFormat:
    """What a card line must look like: ``fmt`` (one of LINE_FORMATS), its lengths and bits."""

    fmt: str = "decimal"
    lengths: tuple[int, ...] = ()
    bits: int | None = None

    def __post_init__(self) -> None:
        if self.fmt not in LINE_FORMATS:
            raise ValueError(f"unknown line format {self.fmt!r}: use one of {', '.join(LINE_FORMATS)}")
        if self.fmt == "wiegand" and self.bits not in WIEGAND_PARITY_BITS:
            raise ValueError(f"a Wiegand line needs bits = {', '.join(map(str, WIEGAND_PARITY_BITS))}")
        if not self.lengths and self.fmt != "text":
            object.__setattr__(self, "lengths", default_lengths(self.fmt, self.bits))

    def describe(self) -> str:
        lengths = " or ".join(str(n) for n in self.lengths)
        return {
            "decimal": f"{lengths} decimal digits",
            "hex": f"{lengths} hex digits",
            "wiegand": f"a {self.bits}-bit Wiegand frame in {lengths} hex digits",
            "text": "a card number",
        }[self.fmt]


class LineDecoder:
    """Line -> canonical card, or CardNumberError saying why the line is not one."""

    def __init__(self, pattern: str, line_format: LineFormat | None = None) -> None:
        self.pattern = re.compile(pattern)
        self.format = line_format or LineFormat()

    def decode(self, line: bytes) -> str:
        # Printable ASCII only: control characters are how noise usually shows, and \s in a
        # pattern would otherwise let some of them (VT, FF, FS...) pass as spaces.
        if any(b < 0x20 or b > 0x7E for b in line):
            raise CardNumberError(f"line has bytes that are not printable text: {line[:40].hex(' ')}")
        text = line.decode("ascii")
        m = self.pattern.search(text)
        if not m:
            raise CardNumberError(f"line does not match the reader pattern: {text[:60]!r}")
        card: str = m["card"]
        fmt = self.format
        if fmt.fmt == "text":
            return normalize_card(card, fmt.bits)
        digits = "0-9" if fmt.fmt == "decimal" else "0-9A-Fa-f"
        if not re.fullmatch(f"[{digits}]+", card) or len(card) not in fmt.lengths:
            raise CardNumberError(f"expected {fmt.describe()}, got {card[:60]!r}")
        value = int(card, 10 if fmt.fmt == "decimal" else 16)
        if fmt.fmt == "wiegand":
            if value >> fmt.bits:  # type: ignore[operator]  # bits is set for wiegand (checked above)
                raise CardNumberError(f"{card!r} has more bits than a {fmt.bits}-bit Wiegand frame")
            return normalize_card(card, fmt.bits, fmt="hex")  # checks and strips the parity
        if fmt.bits is not None:
            # The number a reader prints is the card's bits without parity (gate.core.cardnumber).
            width = fmt.bits - 2 if fmt.bits in WIEGAND_PARITY_BITS else fmt.bits
            if value >> width:
                raise CardNumberError(f"{card!r} does not fit in a {fmt.bits}-bit card")
        return str(value)


@dataclass(frozen=True)
class LineResult:
    """One line off the wire: ``card`` if it is one, else ``why`` it was rejected."""

    line: bytes
    card: str | None = None
    why: str = ""


class CardLines:
    """The line reader without its port: bytes in, cards and rejected lines out."""

    def __init__(self, decoder: LineDecoder, max_line: int = MAX_LINE, max_gap: float = MAX_GAP_S) -> None:
        self.decoder = decoder
        self.splitter = LineSplitter(max_line, max_gap)

    def feed(self, data: bytes, now: float) -> list[LineResult]:
        out = self.expire(now)
        for line, overflow in self.splitter.feed(data, now) if data else ():
            if overflow:
                out.append(LineResult(line, why="line too long: not a card number"))
                continue
            try:
                out.append(LineResult(line, card=self.decoder.decode(line)))
            except CardNumberError as exc:
                out.append(LineResult(line, why=str(exc)))
        return out

    def expire(self, now: float) -> list[LineResult]:
        stale = self.splitter.expire(now)
        return [LineResult(stale, why="unfinished line: no line end followed it")] if stale else []

    def reset(self) -> bytes:
        return self.splitter.reset()
