"""1:1 verification: one claimed resident's encodings against one attempt's probe frames.

There is no search here and nowhere else: the caller passes the claimed resident's own encodings,
and the answer is about that resident only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gate.face.engine import FaceEngine
from gate.face.probe import Frame, Probe
from gate.face.quality import DEFAULT_POLICY, QualityPolicy

#: Chosen for a door, where a false accept is worse than a false reject: see docs/face.md for the
#: measurements on ../shared/faces behind it. dlib's customary 0.6 lets look-alikes in (0.52 seen).
DEFAULT_THRESHOLD = 0.5
#: Encode at most this many frames of a burst (best quality first): each costs ~100 ms on 2 cores.
DEFAULT_MAX_ENCODES = 2


@dataclass(frozen=True)
class VerificationResult:
    match: bool
    distance: float | None  # smallest distance seen; None when no frame was usable
    threshold: float
    reasons: list[str] = field(default_factory=list)
    frames_used: int = 0


def check_threshold(threshold: float) -> float:
    if not isinstance(threshold, (int, float)) or not 0.0 < float(threshold) < 1.2:
        raise ValueError(
            f"Face threshold must be a distance between 0 and 1.2 (default {DEFAULT_THRESHOLD}), got {threshold!r}."
        )
    return float(threshold)


def check_encodings(enrolled: np.ndarray) -> np.ndarray:
    matrix = np.asarray(enrolled)
    if matrix.ndim != 2 or matrix.shape[0] < 1 or matrix.shape[1] != 128 or not np.isfinite(matrix).all():
        raise ValueError(f"A template is a (k, 128) array of finite numbers, got shape {matrix.shape}.")
    return matrix.astype(np.float32, copy=False)


def verify(enrolled: np.ndarray, probe: Probe, threshold: float = DEFAULT_THRESHOLD,
           max_encodes: int = DEFAULT_MAX_ENCODES) -> VerificationResult:
    """Best of the burst: encode the best frames one at a time and stop at the first match."""
    template = check_encodings(enrolled)
    threshold = check_threshold(threshold)
    best: float | None = None
    used = 0
    for face in probe.ranked()[:max(1, max_encodes)]:
        used += 1
        distance = float(np.linalg.norm(template - probe.encoding(face), axis=1).min())
        best = distance if best is None else min(best, distance)
        if best <= threshold:
            return VerificationResult(True, best, threshold, [], used)
    reasons = probe.reasons() if best is None else ["face does not match"]
    return VerificationResult(False, best, threshold, reasons, used)


def verify_frames(engine: FaceEngine, enrolled: np.ndarray, frames: Sequence[Frame],
                  threshold: float = DEFAULT_THRESHOLD, policy: QualityPolicy = DEFAULT_POLICY,
                  max_encodes: int = DEFAULT_MAX_ENCODES) -> VerificationResult:
    probe = Probe(engine, frames, policy)
    try:
        return verify(enrolled, probe, threshold, max_encodes)
    finally:
        probe.discard()
