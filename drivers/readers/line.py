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
from drivers.readers.base import CardRead, Reader, ReaderEvent, Stopper
from drivers.readers.line_framing import LineDecoder, LineSplitter
from drivers.serialerrors import SERIAL_ERRORS
from gate.core.cardnumber import CardNumberError

if TYPE_CHECKING:
    from drivers.config import ReaderConfig


class LineReader(Reader):
    backend = "line"

    def __init__(
        self,
        port: str,
        *,
        name: str = "reader",
        baudrate: int = 9600,
        pattern: str,
        base: str = "auto",
        bits: int | None = None,
        backoff: Backoff | None = None,
        on_event: Callable[[ReaderEvent], None] | None = None,
    ) -> None:
        super().__init__(name, port, on_event)
        self._baudrate = baudrate
        self._decoder = LineDecoder(pattern, base, bits)
        self._bits = bits
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
            base=config.base, bits=config.bits, backoff=config.backoff(), on_event=on_event,
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
        splitter = LineSplitter()
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
                    if data:
                        self.bytes_in += len(data)
                        self._handle(splitter.feed(data))
            except SERIAL_ERRORS as exc:
                lost = splitter.reset()
                if lost:
                    self._fault("partial line lost with the port", lost)
                self._set_online(False, f"{self.port} lost: {exc}")
            finally:
                port.close()

    def _handle(self, lines: list[tuple[bytes, bool]]) -> None:
        for line, overflow in lines:
            at = time.perf_counter()
            if overflow:
                self._fault("line too long: not a card number", line)
                continue
            try:
                card = self._decoder.decode(line)
            except CardNumberError as exc:
                self._fault(str(exc), line)
                continue
            self._emit(CardRead(self.name, card, self._bits, line, at))
