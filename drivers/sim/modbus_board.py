"""A Modbus RTU relay board: a real pymodbus server on the device end of a PtyWire.

Coils 0..n-1 are the relays, discrete inputs 0..m-1 the inputs.  Every coil write is
recorded with a ``time.perf_counter()`` timestamp so tests and the benchmark can see
exactly what the driver did on the wire.

Like the Waveshare "Modbus RTU Relay (D)", it times pulses itself: FC05 to ``0x0200 + relay``
("flash on") or ``0x0400 + relay`` ("flash off") with the length in 100 ms units as the value
switches the relay and switches it back when the board's own timer runs out, whatever the host
does meanwhile (dead, or cut off).  ``flash="none"`` makes a board without that command, which
answers it with "illegal data address" like most generic boards; ``flash="ignored"`` one that
acknowledges it and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
import time
from dataclasses import dataclass

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import WriteSingleCoilRequest
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

FLASH_ON_BASE, FLASH_OFF_BASE = 0x0200, 0x0400


@dataclass(frozen=True)
class CoilWrite:
    at: float
    coil: int
    on: bool
    #: "host" for a write that came over the wire, "timer" for the end of a pulse the board timed.
    by: str = "host"


class _Echo(ModbusPDU):
    """An FC05 reply repeating the request's four data bytes as they came."""

    function_code = 5

    def __init__(self, data: bytes = b"") -> None:
        super().__init__()
        self.data = data

    def encode(self) -> bytes:
        return self.data


class SimModbusBoard:
    def __init__(self, port: str, *, slave_id: int = 1, coils: int = 8, inputs: int = 8, baudrate: int = 9600,
                 flash: str = "timed") -> None:
        if coils > 16 or inputs > 16:
            raise ValueError("the simulated board has at most 16 coils and 16 inputs")
        if flash not in ("timed", "none", "ignored"):
            raise ValueError(f"flash must be timed, none or ignored, got {flash!r}")
        self.port = port
        self.slave_id = slave_id
        self._coils = [False] * coils
        self._inputs = [False] * inputs
        self.history: list[CoilWrite] = []
        self.requests = 0
        self.flash = flash
        #: (coil, level, units) of every flash command received.
        self.flashes: list[tuple[int, bool, int]] = []
        self._flash_generation = [0] * coils
        self._cond = threading.Condition()
        self._baudrate = baudrate
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusSerialServer | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # -- driving and observing ------------------------------------------------------------
    def set_input(self, index: int, value: bool) -> None:
        with self._cond:
            self._inputs[index] = value

    def force_coil(self, coil: int, on: bool) -> None:
        """Set a relay without a Modbus write (left over by a crashed controller); not in history."""
        with self._cond:
            self._coils[coil] = on
            self._cond.notify_all()

    @property
    def coils(self) -> tuple[bool, ...]:
        with self._cond:
            return tuple(self._coils)

    @property
    def inputs(self) -> tuple[bool, ...]:
        with self._cond:
            return tuple(self._inputs)

    def wait_for_coil(self, coil: int, on: bool, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._coils[coil] == on, timeout)

    def wait_for_writes(self, coil: int, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``coil`` has been written at least ``count`` times in total."""
        with self._cond:
            return self._cond.wait_for(
                lambda: sum(1 for w in self.history if w.coil == coil) >= count, timeout)

    def wait_for_history(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` coil writes have been recorded."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.history) >= count, timeout)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.requests >= count, timeout)

    def writes(self, coil: int | None = None) -> list[CoilWrite]:
        with self._cond:
            return [w for w in self.history if coil is None or w.coil == coil]

    # -- server ---------------------------------------------------------------------------
    async def _action(self, func_code, start_address, address, count, registers, values):
        # Called by pymodbus before it serves a request; registers are ours to edit in place.
        with self._cond:
            self.requests += 1
            if func_code == 2:
                registers[0] = sum(1 << i for i, v in enumerate(self._inputs) if v)
            elif func_code == 1:
                registers[0] = sum(1 << i for i, v in enumerate(self._coils) if v)
            elif func_code in (5, 15) and values is not None:
                for i, value in enumerate(values):
                    coil = address + i
                    if coil < len(self._coils):
                        self._coils[coil] = bool(value)
                        self.history.append(CoilWrite(time.perf_counter(), coil, bool(value)))
            self._cond.notify_all()
        return None

    def _flash(self, coil: int, level: bool, units: int) -> None:
        """Runs on the server's loop: switch now, and let the board's own timer switch back."""
        assert self._loop is not None
        with self._cond:
            self._flash_generation[coil] += 1
            generation = self._flash_generation[coil]
            self.flashes.append((coil, level, units))
            self._coils[coil] = level
            self.history.append(CoilWrite(time.perf_counter(), coil, level))
            self._cond.notify_all()

        def end() -> None:
            with self._cond:
                # A newer flash on the same relay restarts its timer; a plain write does not stop it.
                if self._flash_generation[coil] != generation:
                    return
                if self._coils[coil] == level:
                    self._coils[coil] = not level
                    self.history.append(CoilWrite(time.perf_counter(), coil, not level, by="timer"))
                self._cond.notify_all()

        self._loop.call_later(units / 10, end)

    def _write_coil_class(self) -> type[ModbusPDU]:
        board = self

        class WriteCoil(WriteSingleCoilRequest):
            """FC05 as the board reads it: FF00/0000 on the relays, a time on the flash registers."""

            word = 0

            def decode(self, data: bytes) -> None:
                self.address, self.word = struct.unpack(">HH", data[:4])
                self.bits = [self.word == 0xFF00]

            async def datastore_update(self, context, device_id):
                echo = _Echo(struct.pack(">HH", self.address, self.word))
                for base, level in ((FLASH_ON_BASE, True), (FLASH_OFF_BASE, False)):
                    if base <= self.address < base + len(board._coils):
                        if board.flash == "none":
                            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_ADDRESS)
                        if not 1 <= self.word <= 0x7FFF:
                            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
                        if board.flash == "timed":
                            board._flash(self.address - base, level, self.word)
                        return echo
                if self.word not in (0xFF00, 0x0000):
                    return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
                reply = await super().datastore_update(context, device_id)
                return reply if reply.isError() else echo

        return WriteCoil

    def start(self) -> SimModbusBoard:
        # pymodbus logs each garbled request at ERROR; in a simulator that is expected traffic.
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        bits = lambda n: [SimData(0, count=1, datatype=DataType.BITS)]  # noqa: E731 - 16 bits each
        device = SimDevice(
            id=self.slave_id,
            simdata=(bits(len(self._coils)), bits(len(self._inputs)),
                     [SimData(0, count=1, datatype=DataType.REGISTERS)],
                     [SimData(0, count=1, datatype=DataType.REGISTERS)]),
            action=self._action,
        )
        self._thread = threading.Thread(target=self._serve, args=(device,), name="sim-modbus", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("simulated Modbus board did not start")
        if self._error is not None:
            raise RuntimeError(f"simulated Modbus board failed: {self._error}") from self._error
        return self

    def _serve(self, device: SimDevice) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._server = ModbusSerialServer(
                [device], framer=FramerType.RTU, port=self.port, baudrate=self._baudrate,
                ignore_missing_devices=True, custom_pdu=[self._write_coil_class()],
            )
            try:
                await self._server.serve_forever(background=True)
            except BaseException as exc:  # noqa: BLE001 - reported by start()
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            await self._server.serving

        asyncio.run(main())

    def stop(self) -> None:
        if self._loop is not None and self._server is not None and self._thread and self._thread.is_alive():
            server = self._server
            asyncio.run_coroutine_threadsafe(server.shutdown(), self._loop).result(10)
            self._thread.join(10)

    def __enter__(self) -> SimModbusBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
