"""The dlib models behind one object: HOG face detector, 68-point landmarks, ResNet face encoder.

Loaded lazily, once, behind a lock, and held by whoever owns the engine (the gate service owns one);
there is no module-level model. A missing or broken model raises FaceUnavailable, which callers turn
into "face unavailable, use card or PIN" -- the service itself keeps running.

The encoder is dlib's ResNet either way; `encoder="onnx"` (the default) runs its weights, converted
by gate.face.onnx_convert, with onnxruntime (same 128-d templates, several times faster), and falls back
to dlib's own runtime, with the reason logged, when onnxruntime is missing or the conversion fails.
Detection, landmarks and the aligned chip are always dlib's.

dlib's networks keep scratch buffers between calls, so dlib inference is serialised by the same lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gate.config.sections import FACE_ENGINES
from gate.face.errors import FaceUnavailable

log = logging.getLogger("gate.face")

#: HOG's sliding window is 80x80: at upsample 0 it finds faces from about this size up.
HOG_MIN_FACE_PX = 80
#: dlib's aligned chip for the encoder; the size the ResNet was trained on.
CHIP_SIZE = 150
CHIP_PADDING = 0.25
#: The encoders `[face] engine` may name: dlib's ResNet under onnxruntime, or under dlib itself.
ENCODERS = FACE_ENGINES

#: chips (150x150x3 uint8) -> (n, 128) float32 descriptors.
Encoder = Callable[[list[np.ndarray]], np.ndarray]


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
        """The files of the installed `face_recognition_models` package, found without importing it: its
        __init__ imports pkg_resources (deprecated, and 2-3 MB more in the gate process, 13 MB in a bare
        interpreter) for two file names. The files are where its own functions say: `models/` beside it."""
        try:
            spec = importlib.util.find_spec("face_recognition_models")
        except (ImportError, ValueError) as err:
            raise FaceUnavailable(f"The face models package cannot be found: {err}") from err
        if spec is None or not spec.submodule_search_locations:
            raise FaceUnavailable("The face models package (face_recognition_models) is not installed.")
        models = Path(next(iter(spec.submodule_search_locations))) / "models"
        return cls(models / "shape_predictor_68_face_landmarks.dat",
                   models / "dlib_face_recognition_resnet_model_v1.dat")


class FaceEngine:
    def __init__(self, paths: ModelPaths | None = None, *, encoder: str = "onnx",
                 cache_dir: Path | None = None, threads: int = 1) -> None:
        """`encoder`: "onnx" or "dlib"; `cache_dir`: where the converted graph is kept (the data
        folder's models/; None converts in memory); `threads`: onnxruntime's intra-op threads."""
        if encoder not in ENCODERS:
            raise ValueError(f"The face engine is one of {', '.join(ENCODERS)}, not {encoder!r}.")
        self._paths = paths
        self._wanted = encoder
        self._cache_dir = cache_dir
        self._threads = threads
        self._lock = threading.RLock()
        self._models: tuple[Any, Any, Encoder] | None = None
        self._version: str | None = None
        self._in_use: str | None = None
        self.fallback_reason: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> FaceEngine:
        """The engine `[face]` asks for, caching the converted graph in the data folder."""
        face = settings.face
        from gate.face.onnx_encoder import CACHE_FOLDER  # noqa: PLC0415 - keeps onnxruntime out until load

        return cls(encoder=face.engine, cache_dir=Path(settings.data_dir) / CACHE_FOLDER, threads=face.threads)

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

    @property
    def encoder_name(self) -> str:
        """The encoder actually running: "onnx", or "dlib" when asked for or fallen back to."""
        self._get()
        assert self._in_use is not None
        return self._in_use

    def _get(self) -> tuple[Any, Any, Encoder]:
        if self._models is not None:
            return self._models
        with self._lock:
            if self._models is None:
                self._models, self._version = self._load()
        return self._models

    def _load(self) -> tuple[tuple[Any, Any, Encoder], str]:
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
            encoder = self._onnx_encoder(Path(paths.encoder)) if self._wanted == "onnx" else None
            if encoder is None:
                encoder = _dlib_encoder(dlib.face_recognition_model_v1(str(paths.encoder)))
                self._in_use = "dlib"
            else:
                self._in_use = "onnx"
        except Exception as err:  # dlib raises RuntimeError for corrupt files
            raise FaceUnavailable(f"Face model cannot be loaded: {err}") from err
        # The same weights under either runtime give the same templates: the version names the
        # weights, not the runtime, so templates enrolled with one verify with the other.
        digest = hashlib.sha256(Path(paths.encoder).read_bytes()).hexdigest()[:12]
        version = f"dlib-resnet-v1:{digest}+sp68+hog/dlib-{dlib.__version__}"
        return (detector, predictor, encoder), version

    def _onnx_encoder(self, dat: Path) -> Encoder | None:
        """onnxruntime's encoder, or None (reason logged and kept) so dlib's runs instead."""
        try:
            from gate.face import onnx_encoder  # noqa: PLC0415 - imports onnxruntime lazily

            return onnx_encoder.load(dat, self._cache_dir, self._threads)
        except Exception as err:  # a missing runtime, a failed conversion: dlib still works
            self.fallback_reason = f"{type(err).__name__}: {err}"
            log.warning("face encoder: onnxruntime is not used (%s); using dlib's own, which is slower",
                        self.fallback_reason)
            return None

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
        chip = self.chip(rgb, landmarks)
        chips = [chip, np.ascontiguousarray(chip[:, ::-1])] if mirror else [chip]
        return np.asarray(np.mean(self.encode_chips(chips), axis=0, dtype=np.float32))

    def chip(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """dlib's aligned 150x150 face chip (padding 0.25), the encoder's input."""
        import dlib  # noqa: PLC0415

        self._get()
        points = dlib.points([dlib.point(int(x), int(y)) for x, y in landmarks])
        xs, ys = landmarks[:, 0], landmarks[:, 1]
        rect = dlib.rectangle(int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
        shape = dlib.full_object_detection(rect, points)
        with self._lock:
            return np.asarray(dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING))

    def encode_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        """(n, 128) float32 descriptors of aligned chips, by the encoder in use."""
        _, _, encoder = self._get()
        # An onnxruntime session may run on several threads at once; dlib's network may not.
        with self._lock if self._in_use == "dlib" else contextlib.nullcontext():
            return encoder(chips)


def _dlib_encoder(model: Any) -> Encoder:
    def encode(chips: list[np.ndarray]) -> np.ndarray:
        return np.array([np.array(v) for v in model.compute_face_descriptor(chips)], dtype=np.float32)

    return encode
