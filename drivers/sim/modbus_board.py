"""A Modbus RTU relay board: a real pymodbus server on the device end of a PtyWire.

Coils 0..n-1 are the relays, discrete inputs 0..m-1 the inputs.  Every coil write is
recorded with a ``time.perf_counter()`` timestamp so tests and the benchmark can see
exactly what the driver did on the wire.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass

from pymodbus import FramerType
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice


@dataclass(frozen=True)
class CoilWrite:
    at: float
    coil: int
    on: bool


class SimModbusBoard:
    def __init__(self, port: str, *, slave_id: int = 1, coils: int = 8, inputs: int = 8, baudrate: int = 9600) -> None:
        if coils > 16 or inputs > 16:
            raise ValueError("the simulated board has at most 16 coils and 16 inputs")
        self.port = port
        self.slave_id = slave_id
        self._coils = [False] * coils
        self._inputs = [False] * inputs
        self.history: list[CoilWrite] = []
        self.requests = 0
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
                ignore_missing_devices=True,
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
