"""Hostile and awkward image input is refused with a clear error before decoding costs memory."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from gate.face.errors import ImageRejected
from gate.face.images import (
    UPLOAD_WORK_SIDE,
    ImageLimits,
    Uploads,
    UploadsBusy,
    decode_image,
    read_header,
    read_image_file,
)
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


# -- the header reader: sizes without decoding ---------------------------------------------------

def _jpeg(width: int, height: int, **save: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(out, format="JPEG", **save)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "WEBP"])
def test_header_reader_gives_the_size_of_png_bmp_and_webp(fmt):
    header = read_header(_encode(np.zeros((45, 123, 3), np.uint8), fmt))
    assert (header.format, header.width, header.height) == (fmt, 123, 45)


@pytest.mark.parametrize("save", [{}, {"progressive": True}, {"exif": b"Exif\0\0" + b"MM\0*" + b"\0" * 200},
                                  {"icc_profile": b"\0" * 70_000}])
def test_header_reader_finds_the_jpeg_frame_header_past_other_segments(save):
    # A 70 kB ICC profile is split over several APP2 segments: the reader must skip them all.
    header = read_header(_jpeg(123, 45, **save))
    assert (header.format, header.width, header.height) == ("JPEG", 123, 45)


def test_header_reader_skips_jpeg_fill_bytes():
    data = _jpeg(64, 40)
    padded = data[:2] + b"\xff\xff\xff" + data[2:]  # fill bytes before a marker are legal
    assert (read_header(padded).width, read_header(padded).height) == (64, 40)


def test_header_reader_reads_a_36_mp_png_from_its_first_24_bytes():
    header = read_header(_png_header(7200, 5000)[:24])
    assert (header.width, header.height) == (7200, 5000)


@pytest.mark.parametrize("cut", [8, 16, 23])
def test_cut_off_png_header_is_refused(cut):
    with pytest.raises(ImageRejected, match="cut off before its size"):
        read_header(_png_header(640, 480)[:cut])


def test_cut_off_jpeg_header_is_refused():
    data = _jpeg(640, 480, exif=b"Exif\0\0" + b"MM\0*" + b"\0" * 200)
    sof = data.index(b"\xff\xc0")
    for cut in (3, 4, 10, sof, sof + 5):
        with pytest.raises(ImageRejected, match="cut off before its size"):
            read_header(data[:cut])


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + b"\0\0\0\x0dIDAT" + b"\0" * 20,  # first chunk not IHDR
    b"\xff\xd8" + b"garbage after the start marker",  # no marker where one must be
    b"\xff\xd8\xff\xda\0\x08" + b"\0" * 20,  # scan data before any frame header
    b"\xff\xd8\xff\xe0\0\x01" + b"\0" * 20,  # a segment length shorter than its own length field
    b"\xff\xd8\xff\xd9",  # the end of the image and no frame
    b"BM" + b"\0" * 10,  # a BMP header cut short
    b"GIF89a" + b"\0" * 20,
    bytes(range(256)),
])
def test_garbage_headers_are_not_images(data):
    with pytest.raises(ImageRejected, match="not a JPEG, PNG, BMP or WebP|cut off before its size"):
        read_header(data)


def test_jpeg_whose_frame_headers_disagree_is_refused():
    # Two frame headers: a small one first (what the header check reads), the real one later (what
    # Pillow decodes). Otherwise a huge second frame would pass the check as the small first one.
    fake = b"\xff\xd8" + b"\xff\xc1\x00\x0b\x08\x00\x20\x00\x20\x01\x01\x11\x00" + _jpeg(64, 40)[2:]
    assert (read_header(fake).width, read_header(fake).height) == (32, 32)
    with pytest.raises(ImageRejected, match="header contradicts itself"):
        decode_image(fake)


# -- the upload budget ---------------------------------------------------------------------------

def test_upload_over_the_pixel_budget_is_refused_from_its_header():
    # The header says 36 MP; there are no pixels behind it. Decoding would say "damaged or cut off",
    # so the budget's sentence can only come from the header.
    bomb = _png_header(7200, 5000)
    with pytest.raises(ImageRejected, match="damaged or cut off"):
        decode_image(bomb, ImageLimits(max_pixels=40_000_000))
    with pytest.raises(ImageRejected) as refused:
        Uploads(max_megapixels=12).check([bomb])
    assert str(refused.value) == ("The image is 7200x5000 (36 MP), over the limit of 12 MP and 12000 px per side: "
                                  "send a smaller photo.")
    with pytest.raises(ImageRejected, match="^Picture 2: the image is 7200x5000 .36 MP."):
        Uploads(max_megapixels=12).check([_jpeg(640, 480), bomb])


def test_upload_budget_lets_camera_arrays_and_smaller_pictures_through():
    Uploads(max_megapixels=1).check([np.zeros((2000, 2000, 3), np.uint8), _jpeg(1000, 1000)])
    with pytest.raises(ImageRejected, match="over the limit of 1 MP"):
        Uploads(max_megapixels=1).check([_jpeg(1001, 1000)])


def test_busy_slots_answer_busy_after_the_wait_and_free_up_again():
    uploads = Uploads(slots=2, wait_seconds=0.05)
    with uploads.slot(), uploads.slot():
        with pytest.raises(UploadsBusy, match="try|again"):
            with uploads.slot():
                pass  # pragma: no cover - never entered
    with uploads.slot():
        pass  # both were given back


def _big_face_photo(faces: Path, fmt: str) -> tuple[bytes, tuple[int, int]]:
    with Image.open(faces / "special" / "obama" / "obama-1080p.jpg") as photo:
        big = photo.convert("RGB").resize((3840, 2160), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    big.save(out, format=fmt)
    return out.getvalue(), big.size


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_large_upload_is_decoded_shrunk_to_the_working_size(faces, fmt):
    data, (width, height) = _big_face_photo(faces, fmt)
    shrunk = decode_image(data)
    assert max(shrunk.shape[:2]) == UPLOAD_WORK_SIDE
    assert shrunk.shape == (round(height * UPLOAD_WORK_SIDE / width), UPLOAD_WORK_SIDE, 3)
    full = decode_image(data, max_side=None)
    assert full.shape == (height, width, 3)
    # The same picture: the full decode shrunk by OpenCV differs by a little resampling noise only.
    import cv2

    reference = cv2.resize(full, (shrunk.shape[1], shrunk.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.abs(reference.astype(np.int16) - shrunk).mean() < 3


def test_shrunk_decode_keeps_exif_orientation_and_flattens_alpha():
    rgba = np.zeros((1000, 3000, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :1500, 3] = 255  # left half opaque red, right half transparent
    out = io.BytesIO()
    Image.fromarray(rgba).save(out, format="PNG")
    flat = decode_image(out.getvalue(), max_side=600)
    assert flat.shape == (200, 600, 3)
    assert tuple(flat[100, 50]) == (200, 0, 0) and tuple(flat[100, 550]) == (255, 255, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show upright
    turned = io.BytesIO()
    Image.fromarray(np.zeros((1000, 3000, 3), np.uint8)).save(turned, format="JPEG", exif=exif.tobytes())
    assert decode_image(turned.getvalue(), max_side=600).shape == (600, 200, 3)
