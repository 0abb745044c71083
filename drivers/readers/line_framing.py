"""Splitting a serial byte stream into card lines and turning a line into a card number.

Kept apart from the thread that owns the port so it can be tested with bytes alone.
"""

from __future__ import annotations

import re

from gate.core.cardnumber import CardNumberError, normalize_card

MAX_LINE = 128


class LineSplitter:
    """Bytes in, complete lines out; CR, LF and CRLF all end a line.

    ``feed`` returns ``(line, overflow)`` pairs.  A line longer than ``max_line`` is handed
    over in pieces flagged ``overflow`` up to and including its end, so that the tail of
    garbage is never mistaken for a short card number.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buf = bytearray()
        self._max = max_line
        self._overflow = False

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
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
