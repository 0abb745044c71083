"""Enrollment: several frames or photos -> a template of k encodings plus quality figures, no pixels.

Template choice: we store up to `max_encodings` separate encodings (one per accepted frame, each the
mean of the face and its mirror image) rather than one mean vector. Verification takes the distance
to the nearest stored encoding, so a template keeps the spread of poses and light seen at enrollment;
a mean would sit between them and match none of them as closely. The cost is k comparisons of 128
floats, which is nothing next to one encoding pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from gate.face import liveness
from gate.face.engine import FaceEngine
from gate.face.probe import Frame, Probe
from gate.face.quality import DEFAULT_POLICY, QualityPolicy
from gate.i18n.marker import N_

TOO_FEW = "not enough good pictures: {accepted} accepted, {needed} needed"
NOT_SAME_PERSON = N_("the pictures do not look like the same person: enroll again with only that person in view")
NOT_LIVE = ("the {mode} check was not passed ({reason}): a photo or a screen held up to the camera cannot "
            "enroll; ask the resident to face the camera and capture again")


@dataclass(frozen=True)
class EnrollmentPolicy:
    min_accepted: int = 1
    max_encodings: int = 5
    #: Two accepted frames further apart than this are probably not the same person. Genuine pairs
    #: on ../shared/faces go up to ~0.52 across years and cameras; frames of one session are far closer.
    max_spread: float = 0.6
    quality: QualityPolicy = DEFAULT_POLICY


DEFAULT_ENROLLMENT = EnrollmentPolicy()


@dataclass(frozen=True)
class FrameReport:
    index: int
    accepted: bool
    reasons: list[str]
    figures: dict[str, float] | None


@dataclass(frozen=True)
class EnrollmentResult:
    ok: bool
    encodings: np.ndarray  # float32 (k, 128); empty (0, 128) when not ok
    frames: list[FrameReport]
    reasons: list[str]
    quality: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.frames)


def enroll(engine: FaceEngine, frames: Sequence[Frame], policy: EnrollmentPolicy = DEFAULT_ENROLLMENT,
           challenge: liveness.LivenessMode | str = liveness.LivenessMode.OFF) -> EnrollmentResult:
    """`challenge` is for a burst from a camera (frames in order); uploaded photos come with OFF.

    With a challenge the burst is tracked like a verification burst (the same face, in one place),
    and the challenge is judged before any encoding is computed."""
    if not frames:
        return EnrollmentResult(False, _empty(), [], [TOO_FEW.format(accepted=0, needed=policy.min_accepted)])
    mode = liveness.LivenessMode(challenge)
    probe = Probe(engine, frames, policy.quality, check_eyes=True, track=mode is not liveness.LivenessMode.OFF,
                  mirror=True, coarse_first=False)
    try:
        live = liveness.check(mode, probe.faces)
        if not live.passed:
            reports = [FrameReport(f.index, False, list(f.reasons), f.figures.as_dict() if f.figures else None)
                       for f in probe.faces]
            return EnrollmentResult(False, _empty(), reports,
                                    [NOT_LIVE.format(mode=mode.value.replace("_", " "), reason=live.reason)],
                                    _liveness_figures(live))
        chosen = probe.ranked()[: policy.max_encodings]
        chosen_ids = {f.index for f in chosen}
        reports = []
        for face in probe.faces:
            reasons = list(face.reasons)
            if face.usable and face.index not in chosen_ids:
                reasons.append(f"not needed: the best {policy.max_encodings} pictures were kept")
            reports.append(FrameReport(face.index, face.index in chosen_ids, reasons,
                                       face.figures.as_dict() if face.figures else None))
        if len(chosen) < policy.min_accepted:
            reasons = [TOO_FEW.format(accepted=len(chosen), needed=policy.min_accepted)] + probe.reasons()
            return EnrollmentResult(False, _empty(), reports, reasons)
        matrix = np.stack([probe.encoding(face) for face in chosen]).astype(np.float32)
    finally:
        probe.discard()
    spread = max((float(np.linalg.norm(a - b)) for a, b in combinations(matrix, 2)), default=0.0)
    figures = {
        "accepted": float(len(chosen)),
        "rejected": float(len(frames) - len(chosen)),
        "spread": round(spread, 3),
        **{f"mean_{k}": round(float(np.mean([f.figures.as_dict()[k] for f in chosen if f.figures])), 3)
           for k in ("face_px", "sharpness", "brightness", "yaw_ratio", "eye_ratio")},
        **_liveness_figures(live),
    }
    if spread > policy.max_spread:
        return EnrollmentResult(False, _empty(), reports, [NOT_SAME_PERSON], figures)
    return EnrollmentResult(True, matrix, reports, [], figures)


def _liveness_figures(live: liveness.LivenessResult) -> dict[str, float]:
    return {f"liveness_{name}": value for name, value in live.figures.items()}


def _empty() -> np.ndarray:
    return np.zeros((0, 128), np.float32)
