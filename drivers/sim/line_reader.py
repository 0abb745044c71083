"""A reader that prints one card number per line (Wiegand-to-serial converter, USB reader)."""

from __future__ import annotations

import time

import serial


class SimLineReader:
    def __init__(self, port: str, *, baudrate: int = 9600, line_end: bytes = b"\r\n") -> None:
        self.port = port
        self._baudrate = baudrate
        self._end = line_end
        self._serial: serial.SerialBase | None = None
        self.last_sent_at = 0.0

    def start(self) -> SimLineReader:
        self._serial = serial.serial_for_url(self.port, baudrate=self._baudrate, timeout=0.1)
        return self

    def present(self, text: str) -> None:
        """Print a card as the converter would, e.g. "0012345678" or "188,24910"."""
        self.send_raw(text.encode("ascii") + self._end)

    def send_raw(self, data: bytes) -> None:
        assert self._serial is not None, "start() the simulated reader first"
        self.last_sent_at = time.perf_counter()
        self._serial.write(data)
        self._serial.flush()

    def stop(self) -> None:
        if self._serial is not None:
            self._serial.close()

    def __enter__(self) -> SimLineReader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
