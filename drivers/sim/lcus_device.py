"""An LCUS USB relay: reads A0-frames from the device end of a PtyWire, never answers."""

from __future__ import annotations

import threading
import time

import serial

from drivers.errors import FrameError
from drivers.relays import lcus_frames
from drivers.sim.modbus_board import CoilWrite


class SimLcusDevice:
    def __init__(self, port: str, *, channels: int = 4) -> None:
        self.port = port
        self._relays = [False] * channels
        self.history: list[CoilWrite] = []
        self.rejected: list[FrameError] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: serial.SerialBase | None = None

    @property
    def relays(self) -> tuple[bool, ...]:
        with self._cond:
            return tuple(self._relays)

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def start(self) -> SimLcusDevice:
        self._serial = serial.serial_for_url(self.port, baudrate=lcus_frames.BAUDRATE, timeout=0.1)
        self._thread = threading.Thread(target=self._run, name="sim-lcus", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        assert self._serial is not None
        splitter = lcus_frames.FrameSplitter()
        while not self._stop.is_set():
            data = self._serial.read(64)
            if not data:
                continue
            for item in splitter.feed(data):
                with self._cond:
                    if isinstance(item, FrameError):
                        self.rejected.append(item)
                    else:
                        channel, on = item
                        if channel < len(self._relays):
                            self._relays[channel] = on
                            self.history.append(CoilWrite(time.perf_counter(), channel, on))
                        else:
                            self.rejected.append(FrameError(f"no relay {channel + 1} on this board"))
                    self._cond.notify_all()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._serial is not None:
            self._serial.close()

    def __enter__(self) -> SimLcusDevice:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
