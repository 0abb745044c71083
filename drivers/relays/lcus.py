"""LCUS-type USB serial relay boards (CH340 + STC MCU, 1/2/4/8 channels).

They only understand the four-byte command frame and never answer, so the link is known to
be lost only when the port itself fails (USB unplugged).  They have no inputs.  Being bus
powered, an unplugged board drops all its relays: with fail-safe wiring that releases the
door, with fail-secure wiring it locks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

import serial

from drivers.errors import RelayLinkLost
from drivers.relays import lcus_frames
from drivers.relays.base import RelayBoard
from drivers.serialerrors import SERIAL_ERRORS

if TYPE_CHECKING:
    from drivers.config import RelayConfig


class LcusRelayBoard(RelayBoard):
    backend = "lcus"
    can_read_outputs = False

    def __init__(self, port: str, *, outputs: int = 1, baudrate: int = lcus_frames.BAUDRATE, **kw) -> None:
        super().__init__(outputs=outputs, inputs=0, port=port, **kw)
        self._baudrate = baudrate
        self._serial: serial.Serial | None = None

    @classmethod
    def from_config(cls, config: RelayConfig) -> Self:
        assert config.port is not None  # parse_relay requires a port for this backend
        return cls(config.port, outputs=config.outputs, baudrate=config.baudrate, backoff=config.backoff())

    def _connect(self) -> None:
        try:
            self._serial = serial.serial_for_url(
                self.port, baudrate=self._baudrate, bytesize=8, parity="N", stopbits=1,
                timeout=0.2, write_timeout=1.0,
            )
        except SERIAL_ERRORS as exc:
            raise RelayLinkLost(f"cannot open LCUS board on {self.port}: {exc}") from exc

    def _disconnect(self) -> None:
        if self._serial is not None:
            port, self._serial = self._serial, None
            port.close()

    def _write_output(self, channel: int, on: bool) -> None:
        assert self._serial is not None
        try:
            self._serial.write(lcus_frames.encode(channel, on))
            self._serial.flush()
        except SERIAL_ERRORS as exc:
            raise RelayLinkLost(f"LCUS board on {self.port} lost: {exc}") from exc

    def _read_inputs(self) -> tuple[bool, ...]:
        # No inputs, but a poll must still notice an unplugged board.
        assert self._serial is not None
        try:
            self._serial.reset_input_buffer()
            _ = self._serial.in_waiting  # touching it raises if the port is gone
        except SERIAL_ERRORS as exc:
            raise RelayLinkLost(f"LCUS board on {self.port} lost: {exc}") from exc
        return ()
