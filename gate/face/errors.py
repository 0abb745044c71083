"""Face errors. Both derive from GateError, so the CLI prints them without a traceback."""

from gate.errors import GateError


class FaceUnavailable(GateError, RuntimeError):
    """Face cannot be used right now (model, camera or key missing): the gate offers card and PIN."""


class ImageRejected(GateError, ValueError):
    """An image was refused before or while decoding: too big, truncated, or not an image."""
