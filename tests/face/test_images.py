"""Hostile and awkward image input is refused with a clear error before decoding costs memory."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from gate.face.errors import ImageRejected
from gate.face.images import ImageLimits, decode_image, read_image_file
from tests.conftest import faces_dir


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one tiny IDAT: what a decompression bomb looks like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _encode(array: np.ndarray, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt)
    return out.getvalue()


def test_huge_dimensions_are_refused_from_the_header():
    with pytest.raises(ImageRejected, match="MP"):
        decode_image(_png_header(60_000, 60_000))


def test_one_very_long_side_is_refused():
    with pytest.raises(ImageRejected, match="per side"):
        decode_image(_png_header(20_000, 100))


def test_too_many_bytes_are_refused_before_opening():
    with pytest.raises(ImageRejected, match="MB"):
        decode_image(b"\xff\xd8" + b"\0" * 2_000_000, ImageLimits(max_bytes=1_000_000))


@pytest.mark.parametrize("data", [b"", b"not an image at all" * 50, bytes(range(256)) * 10])
def test_not_an_image(data):
    with pytest.raises(ImageRejected):
        decode_image(data)


def test_wrong_type_is_a_clear_error():
    with pytest.raises(ImageRejected, match="bytes"):
        decode_image("/etc/passwd")  # type: ignore[arg-type]


def test_unaccepted_format_is_refused():
    gif = _encode(np.zeros((64, 64, 3), np.uint8), "GIF")
    with pytest.raises(ImageRejected, match="not a JPEG, PNG, BMP or WebP"):
        decode_image(gif)


def test_tiny_image_is_refused():
    with pytest.raises(ImageRejected, match="at least"):
        decode_image(_encode(np.zeros((8, 8, 3), np.uint8), "PNG"))


def test_truncated_real_jpeg_is_refused_even_if_pillow_was_told_to_accept_it(monkeypatch):
    data = (faces_dir() / "people" / "obama" / "obama.jpg").read_bytes()
    # face_recognition sets this on import; our decoder must stay strict regardless.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageRejected, match="truncated"):
        decode_image(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # and it leaves the global as it found it


def test_real_photo_decodes_to_rgb():
    array = read_image_file(faces_dir() / "people" / "obama" / "obama.jpg")
    assert array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3


def test_32bit_png_with_alpha_becomes_rgb():
    array = read_image_file(faces_dir() / "special" / "obama" / "32bit.png")
    assert array.shape == (1200, 626, 3)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ImageRejected, match="Cannot read"):
        read_image_file(tmp_path / "nope.jpg")
