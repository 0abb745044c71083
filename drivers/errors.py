"""Typed errors of the device layer.

Each one also inherits the builtin a caller would naturally catch (gpiozero style), so
``except ConnectionError`` around a driver call sees a lost serial link.
"""

from gate.errors import GateError


class DriverError(GateError):
    """Base for everything the drivers raise on purpose."""


class DeviceClosed(DriverError, RuntimeError):
    """The device was used after close() (or before open())."""


class RelayError(DriverError):
    pass


class RelayLinkLost(RelayError, ConnectionError):
    """The relay board does not answer or its port is gone; outputs are in an unknown state."""


class RelayProtocolError(RelayError, ValueError):
    """The board answered with something that is not a valid reply (bad CRC, truncated, exception)."""


class ReaderError(DriverError):
    pass


class ReaderLinkLost(ReaderError, ConnectionError):
    pass


class FrameError(DriverError, ValueError):
    """Bytes that do not form a valid frame of the expected protocol."""
