"""Modbus RTU relay boards: coils are the relays, discrete inputs are the inputs.

pymodbus does the RTU framing and CRC; it opens the port with ``serial.serial_for_url``.
FC05 (write single coil, FF00 = on, 0000 = off), FC01 (read coils) and FC02 (read discrete
inputs) are all a board has to support.  Boards that can time a pulse themselves (Waveshare
"Modbus RTU Relay (D)", N4D8B08-type) also take FC05 to ``0x0200 + relay`` ("flash on") and
``0x0400 + relay`` ("flash off") with the pulse length in units of 100 ms as the value.

Every reply is checked against its request before anything in it is believed: pymodbus only
checks the slave id and the CRC, and a valid-CRC frame of the wrong kind (a read-coils reply to
an input poll) would otherwise be read as inputs.  A reply that does not match is a lost link
(the port is reopened with back-off, which also discards whatever else is in flight), never data.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.pdu import ModbusPDU

from drivers.errors import RelayLinkLost, RelayProtocolError
from drivers.relays.base import RelayBoard
from drivers.serialerrors import SERIAL_ERRORS

if TYPE_CHECKING:
    from drivers.config import RelayConfig

COIL_ON = 0xFF00
COIL_OFF = 0x0000
FLASH_ON_BASE = 0x0200
FLASH_OFF_BASE = 0x0400
FLASH_UNIT_MS = 100
FLASH_MAX_UNITS = 0x7FFF

READ_COILS, READ_INPUTS, WRITE_COIL = 1, 2, 5
_NAMES = {1: "read coils", 2: "read discrete inputs", 3: "read holding registers", 4: "read input registers",
          5: "write single coil", 6: "write single register", 15: "write multiple coils",
          16: "write multiple registers"}


def flash_units(ms: int) -> int:
    """The board's pulse length for ``ms``: rounded up to its 100 ms step, so a pulse is never shorter."""
    units = -(-ms // FLASH_UNIT_MS)
    if not 1 <= units <= FLASH_MAX_UNITS:
        raise ValueError(f"a board-timed pulse must be 1 to {FLASH_MAX_UNITS * FLASH_UNIT_MS} ms, got {ms}")
    return units


class _Request(ModbusPDU):
    """A request whose four data bytes are given as they go on the wire (pymodbus's FC05 only sends FF00/0000)."""

    def __init__(self, function_code: int, address: int, word: int, dev_id: int) -> None:
        super().__init__(dev_id=dev_id, address=address)
        self.function_code = function_code
        self.word = word

    def encode(self) -> bytes:
        return struct.pack(">HH", self.address, self.word)


class _RawReply(ModbusPDU):
    """Keeps the reply's data bytes: pymodbus's own decoders drop the byte count and the echoed value."""

    raw: bytes = b""

    def decode(self, data: bytes) -> None:
        self.raw = bytes(data)


class _ReadCoilsReply(_RawReply):
    function_code = READ_COILS
    rtu_byte_count_pos = 2


class _ReadInputsReply(_RawReply):
    function_code = READ_INPUTS
    rtu_byte_count_pos = 2


class _WriteCoilReply(_RawReply):
    function_code = WRITE_COIL
    rtu_frame_size = 8


def _function_name(code: int) -> str:
    return f"function {code} ({_NAMES[code]})" if code in _NAMES else f"function {code}"


def check_echo(reply: ModbusPDU, address: int, word: int) -> None:
    """An FC05 reply must repeat the request: same function, address and value."""
    if reply.function_code != WRITE_COIL:
        raise ValueError(f"answered with {_function_name(reply.function_code)}")
    raw = getattr(reply, "raw", b"")
    if raw != struct.pack(">HH", address, word):
        raise ValueError(f"echoed {raw.hex(' ')} instead of {struct.pack('>HH', address, word).hex(' ')}")


def check_bits(reply: ModbusPDU, function_code: int, count: int) -> tuple[bool, ...]:
    """An FC01/FC02 reply must have the request's function, ceil(count/8) data bytes and zero padding bits."""
    if reply.function_code != function_code:
        raise ValueError(f"answered with {_function_name(reply.function_code)}")
    raw = getattr(reply, "raw", b"")
    want = (count + 7) // 8
    if not raw or raw[0] != want or len(raw) != 1 + want:
        raise ValueError(f"sent {raw[0] if raw else 0} data bytes for {count} bits instead of {want}")
    value = int.from_bytes(raw[1:], "little")
    if value >> count:
        raise ValueError(f"set bits beyond the {count} asked for")
    return tuple(bool(value >> i & 1) for i in range(count))


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
        pulse_mode: str = "board",
        **kw,
    ) -> None:
        super().__init__(outputs=outputs, inputs=inputs, port=port, **kw)
        if pulse_mode not in ("board", "host"):
            raise ValueError(f"pulse_mode must be board or host, got {pulse_mode!r}")
        self.pulse_timing = pulse_mode
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
            pulse_mode=config.pulse_mode,
        )

    def _connect(self) -> None:
        client = ModbusSerialClient(
            self.port_name, framer=FramerType.RTU, baudrate=self.baudrate, parity=self.parity,
            stopbits=self.stopbits, timeout=self.reply_timeout, retries=0,
        )
        for reply_class in (_ReadCoilsReply, _ReadInputsReply, _WriteCoilReply):
            client.register(reply_class)
        if not client.connect():
            raise RelayLinkLost(f"cannot open Modbus port {self.port}")
        self._client = client

    def _disconnect(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    def _execute(self, what: str, request: ModbusPDU, check: Callable[[ModbusPDU], object]):
        assert self._client is not None
        try:
            reply = self._client.execute(False, request)
        except ConnectionException as exc:
            raise RelayLinkLost(f"Modbus port {self.port} lost during {what}: {exc}") from exc
        except ModbusException as exc:
            # No (valid) reply within the timeout: silent board, bad CRC or truncated frame;
            # pymodbus discards the bad bytes before the next request.
            raise RelayLinkLost(f"Modbus slave {self.slave_id} on {self.port}: no valid reply to {what}") from exc
        except SERIAL_ERRORS as exc:
            raise RelayLinkLost(f"Modbus port {self.port} failed during {what}: {exc}") from exc
        if reply.isError() and reply.function_code == request.function_code | 0x80:
            raise RelayProtocolError(f"Modbus slave {self.slave_id} refused {what}: {reply}")
        try:
            return check(reply)
        except ValueError as exc:
            raise RelayLinkLost(
                f"Modbus slave {self.slave_id} on {self.port} {exc} to {what}; the reply was refused "
                "and the link is reopened."
            ) from None

    def _write_word(self, what: str, address: int, word: int) -> None:
        self._execute(what, _Request(WRITE_COIL, address, word, self.slave_id),
                      lambda reply: check_echo(reply, address, word))

    def _read_bits(self, what: str, function_code: int, address: int, count: int) -> tuple[bool, ...]:
        return self._execute(what, _Request(function_code, address, count, self.slave_id),
                             lambda reply: check_bits(reply, function_code, count))

    def _write_output(self, channel: int, on: bool) -> None:
        coil = self.coil_base + channel
        self._write_word(f"write coil {coil}", coil, COIL_ON if on else COIL_OFF)

    def _write_pulse(self, channel: int, ms: int, level: bool) -> None:
        # The relay numbering of the flash registers follows the relays, not the board's coil base.
        base = FLASH_ON_BASE if level else FLASH_OFF_BASE
        self._write_word(f"flash {'on' if level else 'off'} relay {channel} for {ms} ms",
                         base + channel, flash_units(ms))

    def _read_inputs(self) -> tuple[bool, ...]:
        if not self.inputs:
            return ()
        return self._read_bits("read discrete inputs", READ_INPUTS, self.input_base, self.inputs)

    def _read_outputs(self) -> tuple[bool, ...]:
        return self._read_bits("read coils", READ_COILS, self.coil_base, self.outputs)
