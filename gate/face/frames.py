"""One frame -> the one face in it (box, landmarks, quality figures) or the reasons there is none."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gate.face import quality
from gate.face.engine import HOG_MIN_FACE_PX, Box, FaceEngine
from gate.face.quality import QualityFigures, QualityPolicy

#: Detection never runs on more than this many pixels on the long side: a 12 MP upload is searched
#: at about 1 MP, where any face big enough to pass the size check is still well over 80 px.
MAX_DETECT_SIDE = 960


@dataclass
class FaceFrame:
    index: int
    box: Box | None = None
    landmarks: np.ndarray | None = None
    figures: QualityFigures | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.box is not None and not self.reasons


def detection_scale(shape: tuple[int, ...], policy: QualityPolicy) -> float:
    """Shrink so the smallest acceptable face lands at HOG's natural 80 px: cheaper, and smaller
    faces (which would be refused anyway) are not searched for."""
    by_face = HOG_MIN_FACE_PX / max(policy.min_face_px, HOG_MIN_FACE_PX)
    by_size = MAX_DETECT_SIDE / max(shape[0], shape[1])
    return min(1.0, by_face, by_size)


#: A face at arm's length from a door camera is well over 160 px in a 640x480 frame; at half size it
#: is still over HOG's 80 px, and the search costs a quarter. Smaller faces get a second, finer pass.
COARSE_SCALE = 0.5
#: Boxes this similar are the same face that has not moved (IoU; a 5 % shift of a face gives ~0.8).
ANCHOR_OVERLAP = 0.75


def analyze(engine: FaceEngine, rgb: np.ndarray, index: int, policy: QualityPolicy,
            roi: tuple[int, int, int, int] | None = None, *, check_eyes: bool = True,
            coarse_first: bool = False, anchor: Box | None = None) -> FaceFrame:
    """`coarse_first` (verification) may miss a second, smaller face in the background; enrollment,
    which must refuse a picture with two faces, searches at the fine scale only.

    `anchor` is the previous frame's box in a burst. When the new detection barely moved, the anchor
    is kept: HOG boxes jitter by a few pixels from frame to frame, and the landmarks (hence the eye
    ratio the blink check reads) follow the box, so a still face would otherwise seem to twitch."""
    result = FaceFrame(index)
    fine = detection_scale(rgb.shape, policy)
    scales = [COARSE_SCALE, fine] if coarse_first and fine > COARSE_SCALE else [fine]
    faces: list = []
    for scale in scales:
        faces = [b for b in engine.detect(rgb, scale, roi) if b.score >= policy.min_detection_score]
        if faces:
            break
    if not faces:
        result.reasons.append(quality.NO_FACE)
        return result
    if len(faces) > 1:
        result.reasons.append(quality.MANY_FACES)
        return result
    box = faces[0]
    if anchor is not None and box.overlap(anchor) >= ANCHOR_OVERLAP:
        box = Box(anchor.left, anchor.top, anchor.right, anchor.bottom, box.score)
    result.box = box
    result.landmarks = engine.landmarks(rgb, box)
    result.figures = quality.measure(rgb, box, result.landmarks)
    result.reasons.extend(quality.judge(result.figures, policy, check_eyes=check_eyes))
    if not quality.inside_frame(box, rgb.shape):
        result.reasons.append(quality.CUT_OFF)
    return result
