"""LCUS-type USB relay frames: ``A0 <channel> <op> <sum>``, 9600 8N1.

``channel`` counts from 1, ``op`` is 0x01 (close the relay) or 0x00 (open it), and ``sum``
is the low byte of the sum of the first three bytes.  The boards do not acknowledge.
"""

from __future__ import annotations

from drivers.errors import FrameError

START = 0xA0
FRAME_LEN = 4
BAUDRATE = 9600


def encode(channel: int, on: bool) -> bytes:
    """Frame for relay ``channel`` (0-based here, 1-based on the wire)."""
    if not 0 <= channel < 255:
        raise ValueError(f"LCUS channel {channel} out of range")
    body = bytes((START, channel + 1, 0x01 if on else 0x00))
    return body + bytes((sum(body) & 0xFF,))


def decode(frame: bytes) -> tuple[int, bool]:
    """(0-based channel, on) from exactly one frame; FrameError says what is wrong."""
    if len(frame) != FRAME_LEN:
        raise FrameError(f"LCUS frame must be {FRAME_LEN} bytes, got {len(frame)}: {frame.hex(' ')}")
    start, channel, op, check = frame
    if start != START:
        raise FrameError(f"LCUS frame must start with A0: {frame.hex(' ')}")
    if (start + channel + op) & 0xFF != check:
        raise FrameError(f"LCUS checksum mismatch: {frame.hex(' ')}")
    if op not in (0, 1) or channel == 0:
        raise FrameError(f"LCUS frame with unknown channel/op: {frame.hex(' ')}")
    return channel - 1, op == 1


class FrameSplitter:
    """Turns a byte stream into frames, resynchronising on A0 after garbage.

    Used by the simulated device; nothing is silently dropped: ``feed`` returns the decoded
    frames and the rejected bytes with the reason.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bool] | FrameError]:
        self._buf += data
        out: list[tuple[int, bool] | FrameError] = []
        while self._buf:
            start = self._buf.find(START)
            if start != 0:
                junk = bytes(self._buf if start < 0 else self._buf[:start])
                del self._buf[: len(junk)]
                out.append(FrameError(f"LCUS: bytes outside a frame: {junk.hex(' ')}"))
                continue
            if len(self._buf) < FRAME_LEN:
                break
            frame = bytes(self._buf[:FRAME_LEN])
            try:
                out.append(decode(frame))
                del self._buf[:FRAME_LEN]
            except FrameError as exc:
                # Skip only the A0 so that a real frame starting inside the bad one survives.
                del self._buf[:1]
                out.append(exc)
        return out
