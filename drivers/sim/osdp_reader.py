"""An OSDP reader: a real libosdp PeripheralDevice on the device end of a PtyWire.

Present a card (sent as a 26/34/37-bit Wiegand frame with parity, like a real reader),
type keys, and see the LED/buzzer commands and KEYSET the control panel sent.
"""

from __future__ import annotations

import threading
import time

import osdp
import serial

from gate.core.cardnumber import encode_wiegand


class _PeripheralDevice(osdp.PeripheralDevice):
    @staticmethod
    def refresh(event, lock, ctx):  # as a real reader's firmware: no 20 ms naps between polls
        while not event.wait(0.005):
            with lock:
                ctx.refresh()


class _PortChannel(osdp.Channel):
    def __init__(self, port: serial.SerialBase) -> None:
        super().__init__()
        self._port = port

    def read(self, max_bytes: int) -> bytes:
        return self._port.read(max_bytes)

    def write(self, buf: bytes) -> int:
        return self._port.write(buf) or 0

    def flush(self) -> None:
        pass


class SimOsdpReader:
    def __init__(
        self,
        port: str,
        *,
        address: int = 0,
        key: bytes | None = None,
        install_mode: bool = False,
        baudrate: int = 9600,
        log_level: int = osdp.LogLevel.Error,
    ) -> None:
        """``key=None`` with ``install_mode=True`` is a factory-new reader (default key only)."""
        self.port = port
        self.address = address
        self.key = key
        self._install_mode = install_mode
        self._baudrate = baudrate
        self._log_level = log_level
        self.commands: list[dict] = []
        self._cond = threading.Condition()
        self._pd: _PeripheralDevice | None = None
        self._serial: serial.SerialBase | None = None
        self.last_card_at = 0.0

    def start(self) -> SimOsdpReader:
        self._serial = serial.serial_for_url(self.port, baudrate=self._baudrate, timeout=0)
        self._serial.reset_input_buffer()
        caps = osdp.PDCapabilities([
            (osdp.Capability.CommunicationSecurity, 1, 1),
            (osdp.Capability.LEDControl, 1, 1),
            (osdp.Capability.AudibleControl, 1, 1),
            (osdp.Capability.CardDataFormat, 1, 1),
            (osdp.Capability.Readers, 1, 1),
        ])
        flags = [osdp.LibFlag.InstallMode] if self._install_mode else []
        info = osdp.PDInfo(self.address, _PortChannel(self._serial), scbk=self.key, flags=flags)
        self._pd = _PeripheralDevice(info, caps, log_level=self._log_level,
                                         command_handler=self._on_command)
        self._pd.start()
        return self

    def stop(self) -> None:
        if self._pd is not None:
            self._pd.stop()
            self._pd = None
        if self._serial is not None:
            self._serial.close()

    def __enter__(self) -> SimOsdpReader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- acting as the reader -------------------------------------------------------------
    def present_card(self, card: str, bits: int = 26) -> None:
        self.present_raw(encode_wiegand(card, bits), bits)

    def present_raw(self, data: bytes, bits: int, fmt: int = osdp.CardFormat.Wiegand) -> None:
        assert self._pd is not None, "start() the simulated reader first"
        self.last_card_at = time.perf_counter()
        ok = self._pd.submit_event({
            "event": osdp.Event.CardRead, "reader_no": 0, "format": fmt,
            "direction": 0, "length": bits, "data": data,
        })
        if not ok:
            raise RuntimeError("libosdp refused the card event")

    def type_keys(self, keys: str) -> None:
        assert self._pd is not None, "start() the simulated reader first"
        ok = self._pd.submit_event({"event": osdp.Event.KeyPress, "reader_no": 0, "data": keys.encode("ascii")})
        if not ok:
            raise RuntimeError("libosdp refused the keypad event")

    @property
    def secure(self) -> bool:
        return self._pd is not None and self._pd.is_sc_active()

    @property
    def online(self) -> bool:
        return self._pd is not None and self._pd.is_online()

    def wait_for_command(self, command: int, timeout: float = 10.0) -> dict | None:
        with self._cond:
            found = self._cond.wait_for(
                lambda: any(c["command"] == command for c in self.commands), timeout)
            if not found:
                return None
            return next(c for c in self.commands if c["command"] == command)

    def _on_command(self, command: dict) -> tuple[int, dict | None]:
        with self._cond:
            self.commands.append(dict(command))
            if command.get("command") == osdp.Command.Keyset:
                # libosdp switches to the new key itself; remember it like the reader's flash would.
                self.key = bytes(command["data"])
            self._cond.notify_all()
        return 0, None
