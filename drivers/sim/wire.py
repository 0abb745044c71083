"""A serial cable made of two pseudo-terminal pairs, with faults you can inject.

The driver opens ``driver_path`` and the simulated device opens ``device_path``; a pump
thread copies bytes between the two pty masters.  Keeping the cable in the middle (rather
than letting both ends share one pty) is what makes the realistic faults possible: cut the
cable, silence the device, corrupt or truncate a reply, or unplug the adapter so that the
driver's port path disappears and later comes back (as a USB adapter does under
/dev/serial/by-id).
"""

from __future__ import annotations

import os
import select
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field


def _raw_pty() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    # Non-blocking master: after the far end closes and reopens its port, select() can report a
    # hang-up as "readable" and a blocking read would then wait forever while holding the wire's lock.
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


def _write_line(fd: int, data: bytes, patience: float = 0.2) -> None:
    """Write to a non-blocking pty master; what the far end does not take in time is lost, as on a UART."""
    deadline = time.monotonic() + patience
    while data:
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            select.select([], [fd], [], remaining)
        except OSError:
            return


@dataclass
class WireTrace:
    """Bytes seen on the cable, per direction, with a monotonic timestamp per chunk."""

    to_device: list[tuple[float, bytes]] = field(default_factory=list)
    to_driver: list[tuple[float, bytes]] = field(default_factory=list)

    def sent(self) -> bytes:
        return b"".join(chunk for _, chunk in self.to_device)

    def received(self) -> bytes:
        return b"".join(chunk for _, chunk in self.to_driver)


class PtyWire:
    """Owns both pty pairs, the stable driver-side path and the pump thread."""

    def __init__(self, name: str, directory: str | None = None) -> None:
        self._own_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="gate-sim-")
        self.driver_path = os.path.join(self.directory, name)
        self._lock = threading.Lock()
        self._trace = WireTrace()
        self._tamper: list[Callable[[bytes], bytes]] = []
        self._cut = False
        self._muted = False
        self._plugged = False
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._dev_master, self._dev_slave, self.device_path = _raw_pty()
        self._drv_master = self._drv_slave = -1
        self._plug()
        self._thread = threading.Thread(target=self._pump, name=f"wire-{name}", daemon=True)
        self._thread.start()

    # -- faults ---------------------------------------------------------------------------
    def cut(self) -> None:
        """Pull the cable: both directions drop bytes, the port itself stays."""
        self._cut = True

    def mend(self) -> None:
        self._cut = False

    def mute(self) -> None:
        """The device stops answering (its replies are lost); requests still reach it."""
        self._muted = True

    def unmute(self) -> None:
        self._muted = False

    def tamper_next_reply(self, change: Callable[[bytes], bytes]) -> None:
        """Apply ``change`` to the next chunk the device sends (truncate, flip a CRC byte...)."""
        with self._lock:
            self._tamper.append(change)

    @property
    def tampers_pending(self) -> int:
        """How many ``tamper_next_reply`` changes are still waiting for a reply to damage."""
        with self._lock:
            return len(self._tamper)

    def inject_to_driver(self, data: bytes) -> None:
        """Put bytes on the line as if the device (or noise) had sent them."""
        with self._lock:
            if self._plugged:
                _write_line(self._drv_master, data)
                self._trace.to_driver.append((time.monotonic(), data))

    def unplug(self) -> None:
        """The adapter disappears: the driver's open port fails and its path vanishes."""
        with self._lock:
            if not self._plugged:
                return
            self._plugged = False
            try:
                os.unlink(self.driver_path)
            except FileNotFoundError:
                pass
            os.close(self._drv_master)
            os.close(self._drv_slave)
            self._drv_master = self._drv_slave = -1
        self._wake()

    def replug(self) -> None:
        with self._lock:
            if not self._plugged:
                self._plug()
        self._wake()

    @property
    def plugged(self) -> bool:
        return self._plugged

    # -- observation ----------------------------------------------------------------------
    @property
    def trace(self) -> WireTrace:
        return self._trace

    def clear_trace(self) -> None:
        with self._lock:
            self._trace = WireTrace()

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake()
        self._thread.join(5)
        self.unplug()
        for fd in (self._dev_master, self._dev_slave, self._wake_r, self._wake_w):
            os.close(fd)
        if self._own_dir:
            try:
                os.rmdir(self.directory)
            except OSError:
                pass

    def __enter__(self) -> PtyWire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------
    def _plug(self) -> None:
        self._drv_master, self._drv_slave, slave_path = _raw_pty()
        # Replace the link atomically so a driver retrying open() never sees a half-made path.
        tmp = self.driver_path + ".new"
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.symlink(slave_path, tmp)
        os.replace(tmp, self.driver_path)
        self._plugged = True

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _pump(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                drv = self._drv_master if self._plugged else -1
            fds = [self._dev_master, self._wake_r] + ([drv] if drv >= 0 else [])
            try:
                readable, _, _ = select.select(fds, [], [], 0.5)
            except (OSError, ValueError):
                continue
            if self._wake_r in readable:
                os.read(self._wake_r, 64)
            if self._dev_master in readable:
                self._forward_reply()
            if drv >= 0 and drv in readable:
                self._forward_request(drv)

    def _forward_request(self, drv: int) -> None:
        with self._lock:
            if not self._plugged or drv != self._drv_master:
                return
            try:
                data = os.read(drv, 4096)
            except OSError:
                return
            if not data or self._cut:
                return
            self._trace.to_device.append((time.monotonic(), data))
        _write_line(self._dev_master, data)

    def _forward_reply(self) -> None:
        try:
            data = os.read(self._dev_master, 4096)
        except OSError:
            return
        with self._lock:
            if not data or self._cut or self._muted or not self._plugged:
                return
            if self._tamper:
                data = self._tamper.pop(0)(data)
            if data:
                _write_line(self._drv_master, data)
                self._trace.to_driver.append((time.monotonic(), data))
