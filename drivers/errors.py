"""Typed errors of the device layer.

The drivers stand alone: nothing here knows about the gate service, which translates these
at its boundary (gate.service.builder).  Each error also inherits the builtin a caller would
naturally catch (gpiozero style), so ``except ConnectionError`` around a driver call sees a
lost serial link and ``except ValueError`` sees a bad setting.
"""


class DriverError(Exception):
    """Base for everything the drivers raise on purpose."""


class DriverConfigError(DriverError, ValueError):
    """A device setting is missing, misspelt or out of range; the message names the key."""


class DeviceClosed(DriverError, RuntimeError):
    """The device was used after close() (or before open())."""


class LinkError(DriverError, ConnectionError):
    """The device does not answer or its port is gone."""


class RelayError(DriverError):
    pass


class RelayLinkLost(RelayError, LinkError):
    """The relay board does not answer or its port is gone; outputs are in an unknown state."""


class RelayProtocolError(RelayError, ValueError):
    """The board answered with something that is not a valid reply (bad CRC, truncated, exception)."""


class ReaderError(DriverError):
    pass


class ReaderLinkLost(ReaderError, LinkError):
    pass


class FrameError(DriverError, ValueError):
    """Bytes that do not form a valid frame of the expected protocol."""


class CameraError(DriverError):
    pass


class CameraUnavailable(CameraError, RuntimeError):
    """The camera did not open or stopped delivering frames. The gate offers card and PIN."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"face unavailable: {detail}")


class ImageError(CameraError, ValueError):
    """Image bytes were refused before or while decoding: too big, truncated, or not an image."""
