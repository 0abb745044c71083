"""Is this face usable, and if not, what should the person do? Figures plus plain-language reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from gate.face.engine import Box
from gate.face.geometry import eye_aspect_ratio, roll_degrees, yaw_ratio
from gate.i18n.marker import N_

# Reasons are shown on the gate's screen and the enrollment page: short, and each says what to do.
# N_: translated where shown (webui.enroll_words), in the reader's language.
NO_FACE = N_("no face found: look at the camera")
MANY_FACES = N_("two faces in view: only one person in front of the camera, please")
TOO_SMALL = N_("move closer")
TOO_BLURRY = N_("too blurry: hold still")
TOO_DARK = N_("too dark: add light in front of the face")
TOO_BRIGHT = N_("too bright: avoid strong light on the face")
NOT_FRONTAL = N_("face the camera")
TILTED = N_("hold your head straight")
EYES_CLOSED = N_("keep your eyes open")
CUT_OFF = N_("the face is cut off by the edge of the picture: step into the middle")


@dataclass(frozen=True)
class QualityPolicy:
    """Limits, chosen on ../shared/faces (see docs/face.md). A gate may loosen or tighten them."""

    min_face_px: int = 100
    min_sharpness: float = 40.0
    min_brightness: float = 50.0
    max_brightness: float = 215.0
    max_yaw_ratio: float = 0.55
    max_roll_degrees: float = 20.0
    min_eye_ratio: float = 0.15
    #: HOG scores below this are not faces: the astronaut's mission patch scores 0.12-0.34 depending
    #: on scale, the weakest real face in ../shared/faces 0.68.
    min_detection_score: float = 0.5


DEFAULT_POLICY = QualityPolicy()


@dataclass(frozen=True)
class QualityFigures:
    face_px: int
    detection_score: float
    sharpness: float
    brightness: float
    yaw_ratio: float
    roll_degrees: float
    eye_ratio: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 3) for k, v in asdict(self).items()}


def measure(rgb: np.ndarray, box: Box, points: np.ndarray) -> QualityFigures:
    gray = _face_gray(rgb, box)
    return QualityFigures(
        face_px=box.width,
        detection_score=box.score,
        sharpness=_sharpness(gray),
        brightness=float(gray.mean()) if gray.size else 0.0,
        yaw_ratio=yaw_ratio(points),
        roll_degrees=roll_degrees(points),
        eye_ratio=eye_aspect_ratio(points),
    )


def judge(figures: QualityFigures, policy: QualityPolicy = DEFAULT_POLICY, *, check_eyes: bool = True) -> list[str]:
    """Reasons this face is not good enough; empty when it is."""
    reasons = []
    if figures.face_px < policy.min_face_px:
        reasons.append(TOO_SMALL)
    if figures.brightness < policy.min_brightness:
        reasons.append(TOO_DARK)
    elif figures.brightness > policy.max_brightness:
        reasons.append(TOO_BRIGHT)
    if figures.sharpness < policy.min_sharpness:
        reasons.append(TOO_BLURRY)
    if abs(figures.yaw_ratio) > policy.max_yaw_ratio:
        reasons.append(NOT_FRONTAL)
    if abs(figures.roll_degrees) > policy.max_roll_degrees:
        reasons.append(TILTED)
    if check_eyes and figures.eye_ratio < policy.min_eye_ratio:
        reasons.append(EYES_CLOSED)
    return reasons


def inside_frame(box: Box, shape: tuple[int, ...], margin: float = 0.05) -> bool:
    """A face whose box runs off the frame gives a skewed alignment and a poor encoding."""
    slack = int(margin * box.width)
    return box.left >= -slack and box.top >= -slack and box.right <= shape[1] + slack and box.bottom <= shape[0] + slack


def _face_gray(rgb: np.ndarray, box: Box) -> np.ndarray:
    top, bottom = max(0, box.top), min(rgb.shape[0], box.bottom)
    left, right = max(0, box.left), min(rgb.shape[1], box.right)
    crop = rgb[top:bottom, left:right]
    if crop.size == 0:
        return np.zeros((0, 0), np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)


def _sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian on the face resized to 128 px, so the figure does not grow with
    resolution: a big soft face and a small sharp one are compared on the same footing."""
    if gray.size == 0:
        return 0.0
    norm = cv2.resize(gray, (128, 128), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(norm, cv2.CV_64F).var())
