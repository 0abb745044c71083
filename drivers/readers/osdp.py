"""OSDP readers on RS-485 through libosdp's control panel.

libosdp does all OSDP framing, CRC-16 (initial value 0x1D0F), sequencing and the secure
channel; this module gives it a byte channel over ``serial.serial_for_url``, turns its
events into ReaderEvents and watches the link:

* The secure channel always uses this reader's own key (``EnforceSecure``).  Only in
  ``install_mode`` may a factory-new reader be reached with the default install key
  (SCBK-D), after which libosdp hands it our key with KEYSET.
* Offline detection: libosdp needs about eight seconds of failed polls; we also declare the
  reader offline when no byte at all has arrived for ``offline_after`` seconds.
* libosdp parks an offline reader for 300 s before retrying, too long for a pulled cable,
  so while offline we restart its state machine (disable/enable) on a back-off schedule.
* Line noise: libosdp drops damaged frames silently, so the channel checks the received bytes
  itself (drivers.readers.osdp_wire) and the reader reports noise, and a link lost to it, as
  rate-limited ReaderFaults.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

import osdp
import serial

from drivers.backoff import Backoff
from drivers.errors import DriverConfigError
from drivers.readers.base import FAULT_INTERVAL_S, CardRead, KeyPress, Reader, ReaderEvent, ReaderHealth, Stopper
from drivers.readers.osdp_wire import OsdpRxCheck
from drivers.serialerrors import SERIAL_ERRORS
from gate.core.cardnumber import CardNumberError, normalize_card

if TYPE_CHECKING:
    from drivers.config import ReaderConfig

log = logging.getLogger(__name__)

# Keypads send '*' and '#' either as ASCII or as DEL/CR (OSDP spec, osdp_KEYPAD).
_KEYS = {0x7F: "*", 0x0D: "#"}


# libosdp's own refresh thread sleeps 20 ms between calls, which adds up to 20 ms at each end
# of every poll; 5 ms costs little CPU and takes roughly 15-45 ms off a card read.
REFRESH_S = 0.005


class _ControlPanel(osdp.ControlPanel):
    @staticmethod
    def refresh(event, lock, ctx):  # called by osdp.ControlPanel.start() on its thread
        while not event.wait(REFRESH_S):
            with lock:
                ctx.refresh()


class SerialChannel(osdp.Channel):
    """libosdp's byte pipe.  Never blocks and never raises: a lost port reads as silence
    while it is reopened with back-off."""

    def __init__(self, url: str, baudrate: int, backoff: Backoff) -> None:
        super().__init__()
        self.url = url
        self.baudrate = baudrate
        self._backoff = backoff
        self._port: serial.SerialBase | None = None
        self._retry_at = 0.0
        self.last_rx = 0.0
        self.last_tx = 0.0
        self.last_error: str | None = None
        self.reopens = 0
        self._opened_once = False
        self._lock = threading.Lock()
        #: What the control panel receives, checked frame by frame for noise.
        self.rx_check = OsdpRxCheck()

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def _ensure(self) -> serial.SerialBase | None:
        if self._port is not None:
            return self._port
        now = time.monotonic()
        if now < self._retry_at:
            return None
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0, write_timeout=1)
        except SERIAL_ERRORS as exc:
            self._lost(f"cannot open {self.url}: {exc}")
            return None
        if self._opened_once:
            self.reopens += 1
        self._opened_once = True
        self._backoff.reset()
        return self._port

    def _lost(self, why: str) -> None:
        self.last_error = why
        if self._port is not None:
            try:
                self._port.close()
            except Exception:  # noqa: BLE001 - the port is already gone
                pass
        self._port = None
        self._retry_at = time.monotonic() + self._backoff.next_delay()

    def read(self, max_bytes: int) -> bytes:
        with self._lock:
            port = self._ensure()
            if port is None:
                return b""
            try:
                data = port.read(max_bytes)
            except SERIAL_ERRORS as exc:
                self._lost(f"{self.url} lost: {exc}")
                return b""
            if data:
                self.last_rx = time.monotonic()
                self.rx_check.feed(data)
            return data

    def write(self, buf: bytes) -> int:
        with self._lock:
            port = self._ensure()
            if port is None:
                return 0
            try:
                written = port.write(buf) or 0
                self.last_tx = time.monotonic()
                return written
            except SERIAL_ERRORS as exc:
                self._lost(f"{self.url} lost: {exc}")
                return 0

    def flush(self) -> None:
        pass

    def close(self) -> None:
        with self._lock:
            if self._port is not None:
                self._port.close()
                self._port = None


class OsdpReader(Reader):
    backend = "osdp"
    reject_noun = "damaged frames or noise bursts"

    def __init__(
        self,
        port: str,
        *,
        key: bytes,
        address: int = 0,
        name: str = "reader",
        baudrate: int = 9600,
        install_mode: bool = False,
        offline_after: float = 2.0,
        feedback_ms: int = 2000,
        backoff: Backoff | None = None,
        log_level: int = osdp.LogLevel.Error,
        fault_interval: float = FAULT_INTERVAL_S,
        on_event: Callable[[ReaderEvent], None] | None = None,
    ) -> None:
        if not isinstance(key, bytes) or len(key) != 16:
            raise ValueError("the OSDP secure channel key must be 16 bytes")
        super().__init__(name, port, on_event, fault_interval)
        self.address = address
        self._offline_after = offline_after
        self._feedback_units = max(1, feedback_ms // 100)
        backoff = backoff or Backoff(1.0, 30.0)
        # A restart inside the ~0.5 s handshake would abort it: never kick faster than 1 s.
        self._kick_backoff = Backoff(max(1.0, backoff.initial), max(1.0, backoff.maximum))
        self._channel = SerialChannel(port, baudrate, Backoff(0.2, self._kick_backoff.maximum))
        flags = [osdp.LibFlag.InstallMode] if install_mode else [osdp.LibFlag.EnforceSecure]
        self._info = osdp.PDInfo(address, self._channel, scbk=key, flags=flags, name=name)
        self._log_level = log_level
        self._cp: _ControlPanel | None = None
        self._stopper = Stopper()
        self._thread: threading.Thread | None = None
        self._offline_since: float | None = None
        self._next_kick = 0.0
        self._noise_at = float("-inf")

    @classmethod
    def from_config(cls, config: ReaderConfig, on_event: Callable[[ReaderEvent], None] | None = None) -> Self:
        if config.key is None:
            raise DriverConfigError(
                "[reader] an OSDP reader needs its own secure channel key: set key_file or key."
            )
        return cls(
            config.port, key=config.key, address=config.address, name=config.name,
            baudrate=config.baudrate, install_mode=config.install_mode,
            offline_after=config.offline_after_ms / 1000, feedback_ms=config.feedback_ms,
            backoff=config.backoff(), fault_interval=config.fault_interval_ms / 1000, on_event=on_event,
        )

    def _start(self) -> None:
        self._cp = _ControlPanel([self._info], log_level=self._log_level)
        self._cp.start()
        self._thread = threading.Thread(target=self._run, name=f"reader-{self.name}", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self._stopper.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._cp is not None:
            self._cp.stop()
        self._channel.close()

    # -- feedback -------------------------------------------------------------------------
    def feedback(self, granted: bool) -> bool:
        self._check_running()
        if not self._online or self._cp is None:
            return False
        color = osdp.CommandLEDColor.Green if granted else osdp.CommandLEDColor.Red
        led = {
            "command": osdp.Command.LED, "reader": 0, "led_number": 0, "temporary": True,
            "control_code": 2, "on_count": self._feedback_units, "off_count": 0,
            "on_color": color, "off_color": osdp.CommandLEDColor.Black,
            "timer_count": self._feedback_units,
        }
        buzzer = {
            "command": osdp.Command.Buzzer, "reader": 0, "control_code": 2,
            "on_count": 2 if granted else 1, "off_count": 1, "rep_count": 1 if granted else 3,
        }
        return bool(self._cp.submit_command(self.address, led)) & bool(
            self._cp.submit_command(self.address, buzzer)
        )

    def health(self) -> ReaderHealth:
        base = super().health()
        sc = None
        if self._cp is not None and self._state == "running":
            sc = self._cp.is_sc_active(self.address)
        return ReaderHealth(**{**base.__dict__, "secure_channel": sc,
                               "last_error": base.last_error or self._channel.last_error})

    # -- event thread ---------------------------------------------------------------------
    def _run(self) -> None:
        assert self._cp is not None
        while not self._stopper.is_set():
            try:
                event = self._cp.get_event(self.address, timeout=0.1)
                if event is not None:
                    self._translate(event, time.perf_counter())
                self._watch_noise()
                self._watch_link()
                self._fault_tick()
            except Exception as exc:  # noqa: BLE001 - a bad event must not end the reader
                log.exception("OSDP reader %s", self.name)
                self._fault(f"internal error: {exc}")
                self._stopper.wait(0.1)

    def _translate(self, event: dict, at: float) -> None:
        kind = event.get("event")
        data = bytes(event.get("data") or b"")
        if kind == osdp.Event.CardRead:
            bits = event.get("length")
            fmt = event.get("format")
            try:
                if fmt == osdp.CardFormat.ASCII:
                    card = normalize_card(data)
                    bits = None
                else:
                    kind_name = "wiegand" if fmt == osdp.CardFormat.Wiegand else "raw"
                    card = normalize_card(data, bits, kind_name)
            except CardNumberError as exc:
                self._fault(f"unusable card data: {exc}", data)
                return
            self._emit(CardRead(self.name, card, bits, data, at))
        elif kind == osdp.Event.KeyPress:
            keys = "".join(_KEYS.get(b, chr(b)) for b in data)
            if all(k in "0123456789*#" for k in keys):
                self._emit(KeyPress(self.name, keys, at))
            else:
                self._fault("keypad sent characters that are not keys", data)

    def _watch_noise(self) -> None:
        for run in self._channel.rx_check.take_runs():
            self._noise_at = time.monotonic()
            self._fault(f"line noise on the OSDP bus: {len(run)} bytes that are not a valid frame", run)

    def _watch_link(self) -> None:
        assert self._cp is not None
        now = time.monotonic()
        lib_online = self._cp.is_online(self.address)
        silent = now - self._channel.last_rx > self._offline_after
        online = lib_online and not silent and self._channel.is_open
        if online:
            self._offline_since = None
            self._kick_backoff.reset()
            self._next_kick = 0.0
            if not self._online:
                sc = "secure channel" if self._cp.is_sc_active(self.address) else "NO secure channel"
                self._set_online(True, f"online, {sc}")
            return
        if self._online:
            why = (self._channel.last_error or "port closed") if not self._channel.is_open else (
                f"no reply for {self._offline_after:.1f} s" if silent else "libosdp reports offline")
            self._set_online(False, why)
            if now - self._noise_at < self._faults.interval:
                self._fault(f"the reader went offline after line noise on the OSDP bus ({why})")
        if self._offline_since is None:
            self._offline_since = now
            self._next_kick = now + self._kick_backoff.next_delay()
        elif now >= self._next_kick and (silent or now - self._channel.last_tx > 0.5):
            # Restart libosdp's state machine: a parked PD would otherwise wait 300 s.  Not while
            # a handshake is under way (both sides still talking), which a restart would abort.
            with self._cp.lock:
                self._cp.ctx.disable_pd(0)
            self._stopper.wait(0.1)
            with self._cp.lock:
                self._cp.ctx.enable_pd(0)
            self._next_kick = time.monotonic() + self._kick_backoff.next_delay()
