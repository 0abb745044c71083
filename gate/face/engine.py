"""The dlib models behind one object: HOG face detector, 68-point landmarks, ResNet face encoder.

Loaded lazily, once, behind a lock, and held by whoever owns the engine (the gate service owns one);
there is no module-level model. A missing or broken model raises FaceUnavailable, which callers turn
into "face unavailable, use card or PIN" -- the service itself keeps running.

dlib's encoder network keeps scratch buffers between calls, so inference is serialised by the same lock.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gate.face.errors import FaceUnavailable

#: HOG's sliding window is 80x80: at upsample 0 it finds faces from about this size up.
HOG_MIN_FACE_PX = 80
#: dlib's aligned chip for the encoder; the size the ResNet was trained on.
CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass(frozen=True)
class Box:
    """A face rectangle in the frame's own pixel coordinates, with the detector's confidence."""

    left: int
    top: int
    right: int
    bottom: int
    score: float

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def overlap(self, other: Box) -> float:
        """Intersection over union, 0..1."""
        ix = max(0, min(self.right, other.right) - max(self.left, other.left))
        iy = max(0, min(self.bottom, other.bottom) - max(self.top, other.top))
        union = self.width * self.height + other.width * other.height - ix * iy
        return ix * iy / union if union > 0 else 0.0


@dataclass(frozen=True)
class ModelPaths:
    landmarks68: Path
    encoder: Path

    @classmethod
    def default(cls) -> ModelPaths:
        try:
            with warnings.catch_warnings():
                # It imports pkg_resources, whose deprecation notice is not ours to act on.
                warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
                import face_recognition_models as frm  # noqa: PLC0415 - optional until first use
        except Exception as err:  # the package raises more than ImportError when broken
            raise FaceUnavailable(f"The face models package cannot be imported: {err}") from err
        return cls(Path(frm.pose_predictor_model_location()), Path(frm.face_recognition_model_location()))


class FaceEngine:
    def __init__(self, paths: ModelPaths | None = None) -> None:
        self._paths = paths
        self._lock = threading.RLock()
        self._models: tuple[Any, Any, Any] | None = None
        self._version: str | None = None

    # -- loading -----------------------------------------------------------------------------------
    def load(self) -> None:
        """Load the models now (e.g. at service start). Raises FaceUnavailable with the reason."""
        self._get()

    @property
    def available(self) -> bool:
        try:
            self._get()
        except FaceUnavailable:
            return False
        return True

    @property
    def model_version(self) -> str:
        """Stored with every template, so a template is never compared with another model's probe."""
        self._get()
        assert self._version is not None
        return self._version

    def _get(self) -> tuple[Any, Any, Any]:
        if self._models is not None:
            return self._models
        with self._lock:
            if self._models is None:
                self._models, self._version = self._load()
        return self._models

    def _load(self) -> tuple[tuple[Any, Any, Any], str]:
        try:
            import dlib  # noqa: PLC0415 - a missing dlib must not stop the gate from starting
        except Exception as err:
            raise FaceUnavailable(f"dlib cannot be imported: {err}") from err
        paths = self._paths or ModelPaths.default()
        for path in (paths.landmarks68, paths.encoder):
            if not Path(path).is_file():
                raise FaceUnavailable(f"Face model file {path} is missing.")
        try:
            detector = dlib.get_frontal_face_detector()
            predictor = dlib.shape_predictor(str(paths.landmarks68))
            encoder = dlib.face_recognition_model_v1(str(paths.encoder))
        except Exception as err:  # dlib raises RuntimeError for corrupt files
            raise FaceUnavailable(f"Face model cannot be loaded: {err}") from err
        digest = hashlib.sha256(Path(paths.encoder).read_bytes()).hexdigest()[:12]
        version = f"dlib-resnet-v1:{digest}+sp68+hog/dlib-{dlib.__version__}"
        return (detector, predictor, encoder), version

    # -- inference ---------------------------------------------------------------------------------
    def detect(self, rgb: np.ndarray, scale: float = 1.0, roi: tuple[int, int, int, int] | None = None,
               min_score: float = 0.0) -> list[Box]:
        """Faces in `rgb`, found on a copy shrunk by `scale` and limited to `roi` (left, top, right,
        bottom); boxes come back in full-frame coordinates, best score first."""
        import cv2  # noqa: PLC0415

        detector, _, _ = self._get()
        x0 = y0 = 0
        view = rgb
        if roi is not None:
            x0, y0 = max(0, roi[0]), max(0, roi[1])
            view = rgb[y0:max(y0, roi[3]), x0:max(x0, roi[2])]
        if view.shape[0] < 16 or view.shape[1] < 16:
            return []
        if scale < 1.0:
            size = (max(1, round(view.shape[1] * scale)), max(1, round(view.shape[0] * scale)))
            view = cv2.resize(view, size, interpolation=cv2.INTER_AREA)
        view = np.ascontiguousarray(view)
        with self._lock:
            rects, scores, _ = detector.run(view, 0, min_score)
        boxes = [
            Box(x0 + round(r.left() / scale), y0 + round(r.top() / scale),
                x0 + round(r.right() / scale), y0 + round(r.bottom() / scale), float(s))
            for r, s in zip(rects, scores, strict=True)
        ]
        return sorted(boxes, key=lambda b: -b.score)

    def landmarks(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """68 (x, y) points, float32, in frame coordinates."""
        import dlib  # noqa: PLC0415

        _, predictor, _ = self._get()
        with self._lock:
            shape = predictor(rgb, dlib.rectangle(box.left, box.top, box.right, box.bottom))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def encode(self, rgb: np.ndarray, landmarks: np.ndarray, mirror: bool = False) -> np.ndarray:
        """128-d float32 encoding of the aligned face. `mirror` averages it with the encoding of the
        mirrored chip: faces are near-symmetric, so this cancels some pose and lighting asymmetry at
        the cost of a second pass (used for enrollment, where time is less tight)."""
        import dlib  # noqa: PLC0415

        _, _, encoder = self._get()
        points = dlib.points([dlib.point(int(x), int(y)) for x, y in landmarks])
        xs, ys = landmarks[:, 0], landmarks[:, 1]
        rect = dlib.rectangle(int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
        shape = dlib.full_object_detection(rect, points)
        with self._lock:
            chip = dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING)
            chips = [chip, np.ascontiguousarray(chip[:, ::-1])] if mirror else [chip]
            vectors = encoder.compute_face_descriptor(chips)
        return np.mean(np.array([np.array(v) for v in vectors], dtype=np.float32), axis=0)
