"""Relay boards.  ``make_board`` picks the backend named in the ``[relay]`` config from ``RELAYS``.

Backends are imported only when chosen, so the device layer (drivers.door) never depends on
pymodbus or on any particular board.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.registry import Registry
from drivers.relays.base import BoardHealth, RelayBoard

if TYPE_CHECKING:
    from drivers.config import RelayConfig
    from drivers.relays.simulated import SimulatedHardware

__all__ = ["RELAYS", "BoardHealth", "RelayBoard", "make_board"]

RELAYS: Registry[RelayBoard] = Registry("relay", RelayBoard, {
    "modbus": "drivers.relays.modbus:ModbusRelayBoard",
    "lcus": "drivers.relays.lcus:LcusRelayBoard",
    "simulated": "drivers.relays.simulated:SimulatedRelayBoard",
})


def make_board(config: RelayConfig, *, hardware: SimulatedHardware | None = None) -> RelayBoard:
    """A closed board for ``config``; ``hardware`` only applies to the simulated backend."""
    if hardware is not None:
        from drivers.relays.simulated import SimulatedRelayBoard

        if config.backend != "simulated":
            raise ValueError(f"Simulated hardware only drives the simulated backend, not {config.backend!r}.")
        return SimulatedRelayBoard.from_config(config, hardware=hardware)
    return RELAYS.load(config.backend).from_config(config)
