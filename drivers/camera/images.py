"""Decode untrusted image bytes into an RGB array, refusing hostile input before it costs memory.

The folder camera reads its frames with this, and the face pipeline its uploads (through
gate.face.images, which turns ImageError into the gate's ImageRejected).

The order matters: byte size first, then the header's dimensions (PIL reads only the header on open),
and only then the pixels. Decoding is strict about truncation even though importing face_recognition
flips Pillow's global LOAD_TRUNCATED_IMAGES on: a cut-off upload must be refused, not half-grey.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from drivers.errors import ImageError

#: Formats a camera or an upload form produces. Anything else (PSD, EPS, ...) is refused unread.
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "BMP", "WEBP"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000  # a 12 MP phone photo is 12 M; 40 M leaves room, at 120 MB RGB
    max_side: int = 12_000
    min_side: int = 32


DEFAULT_LIMITS = ImageLimits()

# Pillow's truncation switch is a module global; hold it only for the few lines that need it.
_strict_lock = threading.Lock()


def decode_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Bytes -> (h, w, 3) uint8 RGB, upright per EXIF. Raises ImageError with a reason to show."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"Expected image bytes, got {type(data).__name__}.")
    size = len(data)
    if size == 0:
        raise ImageError("The file is empty.")
    if size > limits.max_bytes:
        raise ImageError(
            f"The file is {size / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB. Send a smaller photo."
        )
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning fires at its (larger) limit; ours is checked just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Only our formats' parsers ever see the bytes: less attack surface than all of Pillow's.
            image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as err:
        raise ImageError("This is not a JPEG, PNG, BMP or WebP image.") from err
    with image:
        if image.format not in ALLOWED_FORMATS:
            raise ImageError(f"Image format {image.format} is not accepted; use JPEG, PNG, BMP or WebP.")
        width, height = image.size
        check_dimensions(width, height, limits)
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # animated PNG/WebP: the first frame is the photo
        rgb = _load_strict(image)
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def check_dimensions(width: int, height: int, limits: ImageLimits = DEFAULT_LIMITS) -> None:
    if width < limits.min_side or height < limits.min_side:
        raise ImageError(f"The image is {width}x{height}; at least {limits.min_side} px per side is needed.")
    if width > limits.max_side or height > limits.max_side or width * height > limits.max_pixels:
        raise ImageError(
            f"The image is {width}x{height} ({width * height / 1e6:.0f} MP); the limit is "
            f"{limits.max_pixels / 1e6:.0f} MP and {limits.max_side} px per side. Send a smaller photo."
        )


def _load_strict(image: Image.Image) -> Image.Image:
    with _strict_lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            raise ImageError("The image is damaged or cut off (truncated); send the whole file again.") from err
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous
    try:
        upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError):
        upright = image  # a broken EXIF block should not cost the photo; orientation is a nicety
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        # Flatten onto white: a transparent background is not a face.
        rgba = upright.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return upright.convert("RGB")


def read_image_file(path: str | Path, limits: ImageLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Read and decode a file with the same limits; the size is checked before reading."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise ImageError(
                f"{path.name} is {size / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB."
            )
        data = path.read_bytes()
    except OSError as err:
        raise ImageError(f"Cannot read {path}: {err.strerror or err}.") from err
    try:
        return decode_image(data, limits)
    except ImageError as err:
        raise ImageError(f"{path.name}: {err}") from err
