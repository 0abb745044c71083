"""Readers that print one card number per line on a serial port.

Wiegand-to-serial converters and USB readers in serial (CDC) mode.  A thread owns the port,
reopens it with back-off when it disappears, and hands bytes to LineSplitter/LineDecoder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

import serial

from drivers.backoff import Backoff
from drivers.readers.base import FAULT_INTERVAL_S, CardRead, Reader, ReaderEvent, Stopper
from drivers.readers.line_framing import CardLines, LineDecoder, LineFormat, LineResult
from drivers.serialerrors import SERIAL_ERRORS

if TYPE_CHECKING:
    from drivers.config import ReaderConfig


class LineReader(Reader):
    backend = "line"
    reject_noun = "lines"

    def __init__(
        self,
        port: str,
        *,
        name: str = "reader",
        baudrate: int = 9600,
        pattern: str,
        line_format: LineFormat | None = None,
        backoff: Backoff | None = None,
        fault_interval: float = FAULT_INTERVAL_S,
        on_event: Callable[[ReaderEvent], None] | None = None,
    ) -> None:
        super().__init__(name, port, on_event, fault_interval)
        self._baudrate = baudrate
        self._decoder = LineDecoder(pattern, line_format)
        self._bits = self._decoder.format.bits
        self._backoff = backoff or Backoff()
        self._stopper = Stopper()
        self._thread: threading.Thread | None = None
        self._serial: serial.Serial | None = None
        #: Bytes taken off the port so far (lets a caller know a partial line was seen).
        self.bytes_in = 0

    @classmethod
    def from_config(cls, config: ReaderConfig, on_event: Callable[[ReaderEvent], None] | None = None) -> Self:
        return cls(
            config.port, name=config.name, baudrate=config.baudrate, pattern=config.pattern,
            line_format=LineFormat(config.format, config.length or (), config.bits),
            backoff=config.backoff(), fault_interval=config.fault_interval_ms / 1000, on_event=on_event,
        )

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"reader-{self.name}", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self._stopper.set()
        if self._thread is not None:
            self._thread.join(5)

    def _open(self) -> serial.Serial | None:
        try:
            return serial.serial_for_url(self.port, baudrate=self._baudrate, timeout=0.1)
        except SERIAL_ERRORS as exc:
            self._set_online(False, f"cannot open {self.port}: {exc}")
            self._last_error = f"cannot open {self.port}: {exc}"
            return None

    def _run(self) -> None:
        lines = CardLines(self._decoder)
        while not self._stopper.is_set():
            port = self._open()
            if port is None:
                self._stopper.wait(self._backoff.next_delay())
                continue
            self._backoff.reset()
            self._set_online(True, f"{self.port} open")
            try:
                while not self._stopper.is_set():
                    # Block for the first byte only, then take whatever else has arrived.
                    data = port.read(1)
                    if data and port.in_waiting:
                        data += port.read(port.in_waiting)
                    self.bytes_in += len(data)
                    self._handle(lines.feed(data, time.monotonic()))
                    self._fault_tick()
            except SERIAL_ERRORS as exc:
                lost = lines.reset()
                if lost:
                    self._fault("partial line lost with the port", lost)
                self._set_online(False, f"{self.port} lost: {exc}")
            finally:
                port.close()

    def _handle(self, results: list[LineResult]) -> None:
        at = time.perf_counter()
        for result in results:
            if result.card is None:
                self._fault(result.why, result.line)
            else:
                self._emit(CardRead(self.name, result.card, self._bits, result.line, at))
