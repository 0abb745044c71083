"""Frames in, usable faces out: decoding, the face in each frame, and its encoding (computed once).

A burst is searched "only where a face can be": after the first face is found, later frames are
searched in a window around it, which also keeps the burst on the same person.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gate.face.engine import Box, FaceEngine
from gate.face.errors import ImageRejected
from gate.face.frames import FaceFrame, analyze
from gate.face.images import decode_image
from gate.face.quality import DEFAULT_POLICY, QualityPolicy

NOT_AN_IMAGE = "not a colour picture"

Frame = np.ndarray | bytes


def as_rgb(frame: Frame) -> np.ndarray:
    """Accept camera arrays (h, w, 3 uint8, RGB) or encoded image bytes; refuse anything else."""
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return decode_image(bytes(frame))
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ImageRejected(f"{NOT_AN_IMAGE}: expected an (h, w, 3) uint8 RGB array.")
    if frame.shape[0] < 32 or frame.shape[1] < 32:
        raise ImageRejected(f"{NOT_AN_IMAGE}: {frame.shape[1]}x{frame.shape[0]} is too small.")
    return np.ascontiguousarray(frame)


def search_window(box: Box, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Where the same face can be in the next frame of a burst (~100 ms later): one face-width around."""
    pad = box.width
    return (max(0, box.left - pad), max(0, box.top - pad),
            min(shape[1], box.right + pad), min(shape[0], box.bottom + pad))


class Probe:
    """One attempt's frames, analysed. Holds pixels in memory only, until `discard()`."""

    def __init__(self, engine: FaceEngine, frames: Sequence[Frame], policy: QualityPolicy = DEFAULT_POLICY,
                 *, check_eyes: bool = False, track: bool = True, mirror: bool = False,
                 coarse_first: bool = True) -> None:
        self.engine = engine
        self.mirror = mirror
        self.faces: list[FaceFrame] = []
        self._pixels: dict[int, np.ndarray] = {}
        self._encodings: dict[int, np.ndarray] = {}
        window = anchor = None
        for index, frame in enumerate(frames):
            try:
                rgb = as_rgb(frame)
            except ImageRejected as err:
                self.faces.append(FaceFrame(index, reasons=[str(err)]))
                continue
            face = analyze(engine, rgb, index, policy, window, check_eyes=check_eyes, coarse_first=coarse_first,
                           anchor=anchor)
            if window is not None and face.box is None:
                # Lost in the window (moved fast): look at the whole frame once before giving up.
                face = analyze(engine, rgb, index, policy, None, check_eyes=check_eyes, coarse_first=coarse_first)
            if track and face.box is not None:
                window = search_window(face.box, rgb.shape)
                anchor = face.box
            self.faces.append(face)
            if face.usable:
                self._pixels[index] = rgb

    @property
    def usable(self) -> list[FaceFrame]:
        return [f for f in self.faces if f.usable]

    def ranked(self) -> list[FaceFrame]:
        """Usable frames, best first: open eyes and sharpness make the most reliable encodings."""
        def score(face: FaceFrame) -> float:
            fig = face.figures
            assert fig is not None
            return min(fig.eye_ratio, 0.3) * 10 + min(fig.sharpness, 400) / 400 + fig.detection_score
        return sorted(self.usable, key=score, reverse=True)

    def encoding(self, face: FaceFrame) -> np.ndarray:
        cached = self._encodings.get(face.index)
        if cached is None:
            assert face.landmarks is not None
            cached = self.engine.encode(self._pixels[face.index], face.landmarks, mirror=self.mirror)
            self._encodings[face.index] = cached
        return cached

    def reasons(self) -> list[str]:
        """The distinct reasons frames were unusable, most frequent first."""
        counts: dict[str, int] = {}
        for face in self.faces:
            for reason in face.reasons:
                counts[reason] = counts.get(reason, 0) + 1
        return sorted(counts, key=lambda r: -counts[r])

    def discard(self) -> None:
        self._pixels.clear()
