"""A receive-side check of the OSDP byte stream, to see line noise that libosdp keeps to itself.

libosdp parses and verifies every frame, but its Python binding reports no framing or CRC
errors (its log goes to stderr only).  The driver owns the byte channel, so it looks at the
same bytes on their way in: a frame is ``SOM(0x53) ADDR LEN_LSB LEN_MSB CTRL ... CHECK`` whose
length field covers the whole frame, with a CRC-16/AUG-CCITT (initial value 0x1D0F, little
endian) when CTRL bit 2 is set, else an 8-bit two's-complement checksum.  Bytes that do not
belong to such a frame are noise or damage.  This only reads; building and answering frames
stays with libosdp.
"""

from __future__ import annotations

import threading

SOM = 0x53
#: OSDP 2.2 lets a sender put mark bytes (0xFF) before SOM; they are not noise.
MARK = 0xFF
MIN_FRAME = 7  # SOM ADDR LEN LEN CTRL CODE CHECKSUM
MAX_FRAME = 1440  # larger than any reply a reader sends; a longer length field is noise
#: Report a run of noise without waiting for the next good frame once it is this long.
MAX_JUNK = 256


def crc16_aug_ccitt(data: bytes) -> int:
    crc = 0x1D0F
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def frame_ok(frame: bytes) -> bool:
    """True if ``frame`` (exactly one frame, SOM first) has a consistent length and check."""
    if len(frame) < MIN_FRAME or frame[0] != SOM or frame[2] | frame[3] << 8 != len(frame):
        return False
    if frame[4] & 0x04:
        return crc16_aug_ccitt(frame[:-2]) == int.from_bytes(frame[-2:], "little")
    return sum(frame) & 0xFF == 0


class OsdpRxCheck:
    """Bytes in (as the control panel receives them); counts good frames and runs of noise.

    A damaged frame and any noise around it form one *run*: the bytes between two good frames.
    Runs made only of mark bytes are not noise.  Thread-safe: libosdp's thread feeds it, the
    reader's thread takes the runs.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._junk = bytearray()
        self._runs: list[bytes] = []
        self._lock = threading.Lock()
        self.good_frames = 0
        self.noise_runs = 0

    def feed(self, data: bytes) -> None:
        with self._lock:
            self._buf += data
            self._scan()

    def take_runs(self) -> list[bytes]:
        """The runs of noise completed since the last call."""
        with self._lock:
            runs, self._runs = self._runs, []
            return runs

    def _scan(self) -> None:
        buf = self._buf
        while True:
            start = buf.find(SOM)
            if start < 0:
                self._junk += buf
                buf.clear()
                break
            self._junk += buf[:start]
            del buf[:start]
            if len(buf) < 4:
                break
            length = buf[2] | buf[3] << 8
            if MIN_FRAME <= length <= MAX_FRAME:
                if len(buf) < length:
                    break
                if frame_ok(bytes(buf[:length])):
                    self._end_run()
                    self.good_frames += 1
                    del buf[:length]
                    continue
            # Not a frame after all: its SOM is noise, look again from the next byte.
            self._junk += buf[:1]
            del buf[:1]
        if len(self._junk) >= MAX_JUNK:
            self._end_run()

    def _end_run(self) -> None:
        junk, self._junk = bytes(self._junk), bytearray()
        if junk.strip(bytes([MARK])):
            self.noise_runs += 1
            self._runs.append(junk)
