"""Modbus RTU relay boards: coils are the relays, discrete inputs are the inputs.

pymodbus does the RTU framing and CRC; it opens the port with ``serial.serial_for_url``.
FC05 (write single coil, FF00 = on, 0000 = off), FC01 (read coils) and FC02 (read discrete
inputs) are all a board has to support.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException

from drivers.errors import RelayLinkLost, RelayProtocolError
from drivers.relays.base import RelayBoard
from drivers.serialerrors import SERIAL_ERRORS

if TYPE_CHECKING:
    from drivers.config import RelayConfig


class ModbusRelayBoard(RelayBoard):
    backend = "modbus"

    def __init__(
        self,
        port: str,
        *,
        outputs: int = 8,
        inputs: int = 8,
        slave_id: int = 1,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        coil_base: int = 0,
        input_base: int = 0,
        reply_timeout: float = 0.3,
        **kw,
    ) -> None:
        super().__init__(outputs=outputs, inputs=inputs, port=port, **kw)
        self.slave_id = slave_id
        self.coil_base = coil_base
        self.input_base = input_base
        self.port_name = port
        self.baudrate = baudrate
        self.parity = parity
        self.stopbits = stopbits
        self.reply_timeout = reply_timeout
        self._client: ModbusSerialClient | None = None

    @classmethod
    def from_config(cls, config: RelayConfig) -> Self:
        assert config.port is not None  # parse_relay requires a port for this backend
        return cls(
            config.port, outputs=config.outputs, inputs=config.inputs, slave_id=config.slave_id,
            baudrate=config.baudrate, parity=config.parity, stopbits=config.stopbits,
            coil_base=config.coil_base, input_base=config.input_base,
            reply_timeout=config.reply_timeout_ms / 1000, backoff=config.backoff(),
        )

    def _connect(self) -> None:
        client = ModbusSerialClient(
            self.port_name, framer=FramerType.RTU, baudrate=self.baudrate, parity=self.parity,
            stopbits=self.stopbits, timeout=self.reply_timeout, retries=0,
        )
        if not client.connect():
            raise RelayLinkLost(f"cannot open Modbus port {self.port}")
        self._client = client

    def _disconnect(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    def _execute(self, what: str, call):
        assert self._client is not None
        try:
            reply = call(self._client)
        except ConnectionException as exc:
            raise RelayLinkLost(f"Modbus port {self.port} lost during {what}: {exc}") from exc
        except ModbusException as exc:
            # No (valid) reply within the timeout: silent board, bad CRC or truncated frame;
            # pymodbus discards the bad bytes before the next request.
            raise RelayLinkLost(f"Modbus slave {self.slave_id} on {self.port}: no valid reply to {what}") from exc
        except SERIAL_ERRORS as exc:
            raise RelayLinkLost(f"Modbus port {self.port} failed during {what}: {exc}") from exc
        if reply.isError():
            raise RelayProtocolError(f"Modbus slave {self.slave_id} refused {what}: {reply}")
        return reply

    def _write_output(self, channel: int, on: bool) -> None:
        self._execute(
            f"write coil {self.coil_base + channel}",
            lambda c: c.write_coil(self.coil_base + channel, on, device_id=self.slave_id),
        )

    def _read_inputs(self) -> tuple[bool, ...]:
        if not self.inputs:
            return ()
        reply = self._execute(
            "read discrete inputs",
            lambda c: c.read_discrete_inputs(self.input_base, count=self.inputs, device_id=self.slave_id),
        )
        if len(reply.bits) < self.inputs:
            raise RelayProtocolError(f"Modbus slave {self.slave_id} returned {len(reply.bits)} inputs")
        return tuple(bool(b) for b in reply.bits[: self.inputs])

    def _read_outputs(self) -> tuple[bool, ...]:
        reply = self._execute(
            "read coils",
            lambda c: c.read_coils(self.coil_base, count=self.outputs, device_id=self.slave_id),
        )
        return tuple(bool(b) for b in reply.bits[: self.outputs])
