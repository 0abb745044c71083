"""An in-memory relay board that records every output change and can be driven by tests.

``SimulatedHardware`` is the physical board (it outlives any one service process, so a test
can restart the service against the same board); ``SimulatedRelayBoard`` is the driver.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from drivers.errors import RelayLinkLost, RelayProtocolError
from drivers.relays.base import RelayBoard

if TYPE_CHECKING:
    from drivers.config import RelayConfig


@dataclass(frozen=True)
class OutputChange:
    at: float
    channel: int
    on: bool


class SimulatedHardware:
    def __init__(self, outputs: int = 8, inputs: int = 8) -> None:
        self.outputs = [False] * outputs
        self.inputs = [False] * inputs
        self.history: list[OutputChange] = []
        self.reachable = True
        #: Answer writes with an exception reply (a misconfigured or faulty board).
        self.refuse_writes = False
        self.write_attempts = 0
        self._cond = threading.Condition()

    def set_input(self, index: int, value: bool) -> None:
        with self._cond:
            self.inputs[index] = value

    def write(self, channel: int, on: bool) -> None:
        with self._cond:
            self.write_attempts += 1
            if not self.reachable:
                raise RelayLinkLost("simulated board unreachable")
            if self.refuse_writes:
                raise RelayProtocolError("simulated board refused the write")
            self.outputs[channel] = on
            self.history.append(OutputChange(time.monotonic(), channel, on))
            self._cond.notify_all()

    def wait_for(self, channel: int, on: bool, timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.outputs[channel] == on, timeout)

    def pulses(self, channel: int) -> int:
        """How many times ``channel`` went from off to on in the recorded history."""
        return sum(1 for c in self.history if c.channel == channel and c.on)

    def assert_outputs(self, *expected: bool) -> None:
        with self._cond:
            actual = tuple(self.outputs[: len(expected)])
        if actual != expected:
            raise AssertionError(f"outputs are {actual}, expected {expected}")


class SimulatedRelayBoard(RelayBoard):
    backend = "simulated"

    def __init__(self, hardware: SimulatedHardware | None = None, *, outputs: int = 8, inputs: int = 8, **kw) -> None:
        self.hardware = hardware or SimulatedHardware(outputs, inputs)
        super().__init__(
            outputs=len(self.hardware.outputs), inputs=len(self.hardware.inputs), port="sim://", **kw
        )

    @classmethod
    def from_config(cls, config: RelayConfig, *, hardware: SimulatedHardware | None = None) -> Self:
        """``hardware`` is the board a test drives; without it the board is private to this driver."""
        return cls(hardware, outputs=config.outputs, inputs=config.inputs, backoff=config.backoff())

    def _connect(self) -> None:
        if not self.hardware.reachable:
            raise RelayLinkLost("simulated board unreachable")

    def _disconnect(self) -> None:
        pass

    def _write_output(self, channel: int, on: bool) -> None:
        self.hardware.write(channel, on)

    def _read_inputs(self) -> tuple[bool, ...]:
        if not self.hardware.reachable:
            raise RelayLinkLost("simulated board unreachable")
        return tuple(self.hardware.inputs)

    def _read_outputs(self) -> tuple[bool, ...]:
        if not self.hardware.reachable:
            raise RelayLinkLost("simulated board unreachable")
        return tuple(self.hardware.outputs)
