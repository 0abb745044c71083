"""Decode untrusted image bytes into an RGB array, refusing hostile input before it costs memory.

The folder camera reads its frames with this, and the face pipeline its uploads (through
gate.face.images, which turns ImageError into the gate's ImageRejected).

The order matters: byte size first, then the dimensions read from the header by our own few lines
(PNG IHDR, JPEG SOF: no Pillow parser has seen the bytes yet), and only then the pixels. Pixels cost
memory in proportion to the pixel count, not the file size: a 2 MB PNG of 36 MP takes ~480 MB to
decode, so the pixel limit is what bounds memory. A caller that wants a smaller picture (`max_side`)
gets it from the JPEG decoder directly (DCT scaling, Pillow's draft mode), and any other format is
shrunk before the EXIF turn and the RGB conversion, so no full-size copy is made after the decode.

Decoding is strict about truncation even though importing face_recognition flips Pillow's global
LOAD_TRUNCATED_IMAGES on: a cut-off upload must be refused, not half-grey.
"""

from __future__ import annotations

import io
import struct
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

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

NOT_AN_IMAGE = "This is not a JPEG, PNG, BMP or WebP image."
CUT_OFF_HEADER = "The image is cut off before its size is given: send the whole file again."


@dataclass(frozen=True)
class ImageHeader:
    format: str  # as Pillow names it: "JPEG", "PNG", ...
    width: int
    height: int


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0-7, SOI.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})


def read_header(data: bytes) -> ImageHeader:
    """Format and dimensions from the header alone, without decoding or handing the bytes to Pillow.

    PNG and JPEG (what cameras and phones send) are read here; BMP and WebP by Pillow's lazy open,
    which reads only their fixed-size header. Raises ImageError for anything else or a cut-off header."""
    view = memoryview(data)
    if view[:8] == _PNG_SIGNATURE:
        return _png_header(view)
    if view[:2] == b"\xff\xd8":
        return _jpeg_header(view)
    if view[:2] == b"BM" or (view[:4] == b"RIFF" and view[8:12] == b"WEBP"):
        return _pillow_header(data)
    raise ImageError(NOT_AN_IMAGE)


def _png_header(view: memoryview) -> ImageHeader:
    # The first chunk must be IHDR: length 13, then width and height as big-endian 32-bit numbers.
    if len(view) < 24:
        raise ImageError(CUT_OFF_HEADER)
    length, kind = struct.unpack(">I4s", view[8:16])
    if kind != b"IHDR" or length != 13:
        raise ImageError(NOT_AN_IMAGE)
    width, height = struct.unpack(">II", view[16:24])
    return ImageHeader("PNG", width, height)


def _jpeg_header(view: memoryview) -> ImageHeader:
    position, end = 2, len(view)
    while True:
        # A marker is 0xFF, any number of 0xFF fill bytes, then its code.
        if position >= end:
            raise ImageError(CUT_OFF_HEADER)
        if view[position] != 0xFF:
            raise ImageError(NOT_AN_IMAGE)
        while position < end and view[position] == 0xFF:
            position += 1
        if position >= end:
            raise ImageError(CUT_OFF_HEADER)
        marker = view[position]
        position += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            raise ImageError(NOT_AN_IMAGE)
        if position + 2 > end:
            raise ImageError(CUT_OFF_HEADER)
        (length,) = struct.unpack(">H", view[position:position + 2])
        if length < 2:
            raise ImageError(NOT_AN_IMAGE)
        if marker in _JPEG_SOF:
            if position + 7 > end:
                raise ImageError(CUT_OFF_HEADER)
            height, width = struct.unpack(">HH", view[position + 3:position + 7])
            return ImageHeader("JPEG", width, height)
        position += length


def _pillow_header(data: bytes) -> ImageHeader:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["BMP", "WEBP"]) as image:
                return ImageHeader(str(image.format), *image.size)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError,
            struct.error) as err:
        raise ImageError(NOT_AN_IMAGE) from err


# Pillow's truncation switch is a module global; hold it only for the few lines that need it.
_strict_lock = threading.Lock()


def check_header(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> ImageHeader:
    """Byte size and dimensions against `limits`, from the header only; nothing is decoded."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"Expected image bytes, got {type(data).__name__}.")
    size = len(data)
    if size == 0:
        raise ImageError("The file is empty.")
    if size > limits.max_bytes:
        raise ImageError(
            f"The file is {size / 1e6:.1f} MB, over the limit of {limits.max_bytes / 1e6:.0f} MB: send a smaller photo."
        )
    header = read_header(data)
    check_dimensions(header.width, header.height, limits)
    return header


def decode_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS, max_side: int | None = None) -> np.ndarray:
    """Bytes -> (h, w, 3) uint8 RGB, upright per EXIF, its long side shrunk to `max_side` if given.
    Raises ImageError with a reason to show; the size limits are checked before any decoding."""
    header = check_header(data, limits)
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning fires at its (larger) limit; ours is checked just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Only our formats' parsers ever see the bytes: less attack surface than all of Pillow's.
            image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as err:
        raise ImageError(NOT_AN_IMAGE) from err
    with image:
        if image.format not in ALLOWED_FORMATS:
            raise ImageError(f"Image format {image.format} is not accepted: use JPEG, PNG, BMP or WebP.")
        if image.format != header.format or image.size != (header.width, header.height):
            # Pillow read another size than the header said: whatever it is, it is not what was checked.
            raise ImageError("The image is damaged: its header contradicts itself; send the photo again.")
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # animated PNG/WebP: the first frame is the photo
        rgb = _load_strict(image, max_side)
        # Inside the `with`: closing the file releases the pixels `rgb` may still share with it.
        return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def check_dimensions(width: int, height: int, limits: ImageLimits = DEFAULT_LIMITS) -> None:
    if width < limits.min_side or height < limits.min_side:
        raise ImageError(f"The image is {width}x{height}; at least {limits.min_side} px per side is needed.")
    if width > limits.max_side or height > limits.max_side or width * height > limits.max_pixels:
        raise ImageError(
            f"The image is {width}x{height} ({width * height / 1e6:.0f} MP), over the limit of "
            f"{limits.max_pixels / 1e6:g} MP and {limits.max_side} px per side: send a smaller photo."
        )


_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _load_strict(image: Image.Image, max_side: int | None = None) -> Image.Image:
    if max_side is not None and max(image.size) > max_side and image.format == "JPEG":
        # The JPEG decoder scales by 1/2, 1/4 or 1/8 while decoding, to no less than the size asked:
        # a 12 MP photo never exists at full size in memory.
        scale = max_side / max(image.size)
        image.draft("RGB", (max(1, round(image.width * scale)), max(1, round(image.height * scale))))
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
        turn = _ORIENTATION.get(int(image.getexif().get(ExifTags.Base.Orientation, 1)))
    except (OSError, ValueError, SyntaxError, TypeError, struct.error):
        turn = None  # a broken EXIF block should not cost the photo; orientation is a nicety
    if max_side is not None and max(image.size) > max_side:
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            # Palette and 16-bit pictures are made RGB(A) first, so the shrink averages colours.
            image = image.convert("RGBA" if _has_alpha(image) else "RGB")
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    upright = image.transpose(turn) if turn is not None else image
    if _has_alpha(upright):
        # Flatten onto white: a transparent background is not a face.
        rgba = upright.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return upright if upright.mode == "RGB" else upright.convert("RGB")  # no full-size copy of an RGB one


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


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
