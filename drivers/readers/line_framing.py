"""Splitting a serial byte stream into card lines and turning a line into a card number.

Kept apart from the thread that owns the port so it can be tested with bytes alone.
"""

from __future__ import annotations

import re

from gate.cardnumber import CardNumberError, normalize_card

MAX_LINE = 128


class LineSplitter:
    """Bytes in, complete lines (or over-long garbage) out; CR, LF and CRLF all end a line."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buf = bytearray()
        self._max = max_line

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        lines: list[bytes] = []
        while True:
            cut = min((i for i in (self._buf.find(b"\n"), self._buf.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                break
            line = bytes(self._buf[:cut])
            del self._buf[: cut + 1]
            if line:
                lines.append(line)
        if len(self._buf) > self._max:
            # A line with no end: hand it over as-is so the caller can report it as garbage.
            lines.append(bytes(self._buf))
            self._buf.clear()
        return lines

    def reset(self) -> bytes:
        """Forget a partial line (the port was lost mid-line); returns what was dropped."""
        rest, self._buf = bytes(self._buf), bytearray()
        return rest


class LineDecoder:
    """Line -> canonical card using the configured pattern, base and bit length."""

    def __init__(self, pattern: str, base: str = "auto", bits: int | None = None) -> None:
        self.pattern = re.compile(pattern)
        self.base = base
        self.bits = bits

    def decode(self, line: bytes) -> str:
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise CardNumberError(f"line is not ASCII text: {line[:40].hex(' ')}") from None
        m = self.pattern.search(text)
        if not m:
            raise CardNumberError(f"line does not match the reader pattern: {text[:60]!r}")
        card = m["card"]
        if self.base == "16":
            return normalize_card(card, self.bits, fmt="hex")
        if self.base == "10":
            return normalize_card(card, self.bits, fmt="decimal")
        return normalize_card(card, self.bits)
