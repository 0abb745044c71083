"""Untrusted image bytes and files for the face pipeline (uploads, benchmark photos).

The strict decoder itself lives with the cameras (drivers.camera.images), because the folder
camera reads its frames with it; here its ImageError becomes the gate's ImageRejected, so web
pages and the CLI keep showing the same one-sentence reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drivers.camera import images as _images
from drivers.camera.images import ALLOWED_FORMATS, DEFAULT_LIMITS, IMAGE_SUFFIXES, ImageLimits
from drivers.errors import ImageError
from gate.face.errors import ImageRejected

__all__ = ["ALLOWED_FORMATS", "DEFAULT_LIMITS", "IMAGE_SUFFIXES", "ImageLimits", "check_dimensions",
           "decode_image", "read_image_file"]


def decode_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Bytes -> (h, w, 3) uint8 RGB, upright per EXIF. Raises ImageRejected with a reason to show."""
    try:
        return _images.decode_image(data, limits)
    except ImageError as err:
        raise ImageRejected(str(err)) from err


def check_dimensions(width: int, height: int, limits: ImageLimits = DEFAULT_LIMITS) -> None:
    try:
        _images.check_dimensions(width, height, limits)
    except ImageError as err:
        raise ImageRejected(str(err)) from err


def read_image_file(path: str | Path, limits: ImageLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Read and decode a file with the same limits; the size is checked before reading."""
    try:
        return _images.read_image_file(path, limits)
    except ImageError as err:
        raise ImageRejected(str(err)) from err
