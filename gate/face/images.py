"""Untrusted image bytes and files for the face pipeline (uploads, benchmark photos).

The strict decoder itself lives with the cameras (drivers.camera.images), because the folder
camera reads its frames with it; here its ImageError becomes the gate's ImageRejected, so web
pages and the CLI keep showing the same one-sentence reason.

Uploads are held to a memory budget in three steps (`Uploads`): the pixel count read from the
header against `[face] max_upload_megapixels` before anything is decoded; decoding shrunk to the
size the face pipeline looks at (`UPLOAD_WORK_SIDE`); and at most `UPLOAD_SLOTS` uploads processed
at once, a further one waiting briefly and then told to try again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from drivers.camera import images as _images
from drivers.camera.images import (
    ALLOWED_FORMATS,
    DEFAULT_LIMITS,
    IMAGE_SUFFIXES,
    ImageHeader,
    ImageLimits,
)
from drivers.errors import ImageError
from gate.face.errors import FaceUnavailable, ImageRejected

__all__ = ["ALLOWED_FORMATS", "DEFAULT_LIMITS", "IMAGE_SUFFIXES", "ImageHeader", "ImageLimits", "Uploads",
           "UploadsBusy", "check_dimensions", "check_header", "decode_image", "read_header", "read_image_file"]

#: The long side an uploaded picture is decoded to. Detection never looks at more than 960 px
#: (gate.face.frames.MAX_DETECT_SIDE), where its smallest face is 80 px; at 1600 px that face is
#: 133 px, still over min_face_px (100) and the 128 px the sharpness figure is measured at, so a
#: photo that passes at full size passes shrunk. 1600x1200 RGB is 5.8 MB.
UPLOAD_WORK_SIDE = 1600
#: A 12 MP phone photo passes; a PNG at the limit costs ~50 MB while decoding (Pillow keeps RGB at
#: 4 bytes a pixel; PNG cannot be decoded shrunk), a JPEG far less (it is decoded at 1/2 to 1/8).
DEFAULT_UPLOAD_MEGAPIXELS = 12.0
#: Uploads decoded and analysed at once. Two lets live webcam feedback go on during an enrollment;
#: the decoder itself takes one image at a time anyway (Pillow's truncation switch is global).
UPLOAD_SLOTS = 2
#: How long an upload waits for a slot before the answer "busy": a short wait absorbs the webcam's
#: next frame arriving while the last is analysed, a long one would only queue a flood.
UPLOAD_WAIT_SECONDS = 2.0
BUSY = "Other photos are being processed right now: wait a few seconds and send this one again."


class UploadsBusy(FaceUnavailable):
    """Every upload slot stayed taken for the whole wait: the web UI answers 503, try again."""


def decode_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS,
                 max_side: int | None = UPLOAD_WORK_SIDE) -> np.ndarray:
    """Bytes -> (h, w, 3) uint8 RGB, upright per EXIF, the long side at most `max_side` (None: as
    sent). Raises ImageRejected with a reason to show."""
    try:
        return _images.decode_image(data, limits, max_side)
    except ImageError as err:
        raise ImageRejected(str(err)) from err


def read_header(data: bytes) -> ImageHeader:
    """Format and size from the header only (see drivers.camera.images.read_header)."""
    try:
        return _images.read_header(data)
    except ImageError as err:
        raise ImageRejected(str(err)) from err


def check_header(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> ImageHeader:
    """Byte size and pixel size against `limits` from the header only: nothing is decoded."""
    try:
        return _images.check_header(data, limits)
    except ImageError as err:
        raise ImageRejected(str(err)) from err


def check_dimensions(width: int, height: int, limits: ImageLimits = DEFAULT_LIMITS) -> None:
    try:
        _images.check_dimensions(width, height, limits)
    except ImageError as err:
        raise ImageRejected(str(err)) from err


def read_image_file(path: str | Path, limits: ImageLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Read and decode a file with the same limits, at full size; the size is checked before reading."""
    try:
        return _images.read_image_file(path, limits)
    except ImageError as err:
        raise ImageRejected(str(err)) from err


class Uploads:
    """The memory budget for uploaded pictures, one per process (the web app's FaceService owns it)."""

    def __init__(self, max_megapixels: float = DEFAULT_UPLOAD_MEGAPIXELS, slots: int = UPLOAD_SLOTS,
                 wait_seconds: float = UPLOAD_WAIT_SECONDS) -> None:
        if slots < 1:
            raise ValueError("at least one upload slot is needed")
        self.limits = ImageLimits(max_pixels=round(max_megapixels * 1_000_000))
        self.wait_seconds = wait_seconds
        self._slots = threading.BoundedSemaphore(slots)

    def check(self, frames: Sequence[object]) -> None:
        """Every encoded picture in `frames` against the budget, from its header; arrays (camera
        frames, already in memory) pass. Raises ImageRejected naming the picture when there are several."""
        encoded = [(i, f) for i, f in enumerate(frames) if isinstance(f, (bytes, bytearray, memoryview))]
        for index, data in encoded:
            try:
                check_header(bytes(data), self.limits)
            except ImageRejected as err:
                if len(frames) == 1:
                    raise
                raise ImageRejected(f"Picture {index + 1}: {_lower_first(str(err))}") from err

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the slots while pictures are decoded and analysed; UploadsBusy if none frees up."""
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise UploadsBusy(BUSY)
        try:
            yield
        finally:
            self._slots.release()

    def decode(self, data: bytes) -> np.ndarray:
        """One upload checked from its header, then decoded shrunk, in a slot."""
        self.check([data])
        with self.slot():
            return decode_image(data, self.limits)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
