"""Relay boards.  ``open_board`` picks the backend named in the ``[relay]`` config.

Backends are imported only when chosen, so the device layer (drivers.door) never depends on
pymodbus or on any particular board.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from drivers.backoff import Backoff
from drivers.relays.base import BoardHealth, RelayBoard

if TYPE_CHECKING:
    from drivers.config import RelayConfig
    from drivers.relays.simulated import SimulatedHardware

__all__ = ["BoardHealth", "RelayBoard", "make_board"]

_BACKENDS = {
    "modbus": ("drivers.relays.modbus", "ModbusRelayBoard"),
    "lcus": ("drivers.relays.lcus", "LcusRelayBoard"),
    "simulated": ("drivers.relays.simulated", "SimulatedRelayBoard"),
}


def make_board(config: RelayConfig, *, hardware: SimulatedHardware | None = None) -> RelayBoard:
    """A closed board for ``config``; ``hardware`` only applies to the simulated backend."""
    module, cls_name = _BACKENDS[config.backend]
    cls = getattr(importlib.import_module(module), cls_name)
    common = dict(
        backoff=Backoff(config.reconnect_initial_ms / 1000, config.reconnect_max_ms / 1000),
    )
    if config.backend == "modbus":
        return cls(
            config.port, outputs=config.outputs, inputs=config.inputs, slave_id=config.slave_id,
            baudrate=config.baudrate, parity=config.parity, stopbits=config.stopbits,
            coil_base=config.coil_base, input_base=config.input_base,
            reply_timeout=config.reply_timeout_ms / 1000, **common,
        )
    if config.backend == "lcus":
        return cls(config.port, outputs=config.outputs, baudrate=config.baudrate, **common)
    return cls(hardware, outputs=config.outputs, inputs=config.inputs, **common)
