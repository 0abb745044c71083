"""`gate eval liveness DIR`: presentation-attack figures (ISO/IEC 30107-3) for the liveness challenges.

Each photo in DIR (searched recursively) becomes two attack presentations, as if held up to the gate
camera at the distance a door camera sees a face (face ~180 px wide in a 640x480 frame):

* `still_photo`: the same frame over the whole burst (a photo on a stand, a still on a tablet);
* `jittered_photo`: each frame shifted, scaled and brightened a little at random, with sensor noise
  (a photo in a trembling hand). Seeded, so a run can be repeated exactly.

Every burst is analysed once, as the gate does for a verification (gate.face.probe.Probe), and judged
by each challenge. A head turn is accepted in either direction: the more lenient reading, and the one
enrollment uses. Per PAI species and challenge the report gives attacks presented, not acquired (no
face found in enough frames: ISO's non-response, left out of APCER), accepted, APCER = accepted /
(presented - not acquired), and a one-sided 95 % upper bound, which is what few attacks can prove.

BPCER needs bursts of real people doing the challenge. `--bursts DIR` takes them as
`DIR/<challenge>/<burst>/<frames in name order>`; without them BPCER is "not measured".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from gate.face import liveness
from gate.face.engine import FaceEngine
from gate.face.errors import ImageRejected
from gate.face.frames import detection_scale
from gate.face.images import IMAGE_SUFFIXES, read_image_file
from gate.face.probe import Probe
from gate.face.quality import DEFAULT_POLICY
from gate.service.face_check import LIVENESS_BURST

MODES = (liveness.LivenessMode.BLINK, liveness.LivenessMode.HEAD_TURN)
SPECIES = ("still_photo", "jittered_photo")
FRAME_SIZE = (640, 480)
FACE_PX = 180
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Presentation:
    """One burst judged by one challenge. `acquired` is False when too few frames showed a face."""

    species: str
    mode: str
    source: str
    acquired: bool
    accepted: bool


@dataclass
class LivenessReport:
    frames: int
    seed: int
    attacks: list[Presentation] = field(default_factory=list)
    genuine: list[Presentation] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {"frames_per_burst": self.frames, "seed": self.seed,
                "photos": len({a.source for a in self.attacks}), "unreadable": self.unreadable,
                "apcer": tally(self.attacks, bona_fide=False), "bpcer": tally(self.genuine, bona_fide=True),
                # Which photos got through, so a site can look at them (and at why).
                "accepted_attacks": [f"{a.species}/{a.mode}: {a.source}" for a in self.attacks if a.accepted],
                "refused_bona_fide": [f"{g.mode}: {g.source}" for g in self.genuine if g.acquired and not g.accepted]}


def tally(presentations: Iterable[Presentation], *, bona_fide: bool) -> dict[str, dict[str, object]]:
    """Per "species/mode" (bona fide: per mode) the counts and the error rate. For attacks the error
    is an acceptance (APCER), for bona fide presentations a refusal (BPCER)."""
    groups: dict[str, list[Presentation]] = {}
    for p in presentations:
        groups.setdefault(p.mode if bona_fide else f"{p.species}/{p.mode}", []).append(p)
    out: dict[str, dict[str, object]] = {}
    for key, group in sorted(groups.items()):
        acquired = [p for p in group if p.acquired]
        errors = sum(1 for p in acquired if p.accepted != bona_fide)
        out[key] = {"presented": len(group), "not_acquired": len(group) - len(acquired),
                    "accepted": sum(1 for p in acquired if p.accepted),
                    "rate": errors / len(acquired) if acquired else None,
                    "upper_95": round(upper_bound(errors, len(acquired)), 4) if acquired else None}
    return out


def upper_bound(errors: int, trials: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson upper bound: the largest rate under which seeing at most `errors`
    in `trials` still has a (1 - confidence) chance. 0 of 24 gives 0.117 (about 3/n)."""
    if errors >= trials:
        return 1.0
    low, high = errors / trials, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        cdf = sum(math.comb(trials, k) * mid ** k * (1 - mid) ** (trials - k) for k in range(errors + 1))
        low, high = (mid, high) if cdf > 1 - confidence else (low, mid)
    return high


def held_up(engine: FaceEngine, rgb: np.ndarray) -> np.ndarray | None:
    """The photo at the distance a door camera sees a face: its largest face ~FACE_PX wide, cut to
    FRAME_SIZE around it. None when the photo shows no face at all."""
    boxes = engine.detect(rgb, detection_scale(rgb.shape, DEFAULT_POLICY))
    if not boxes:
        return None
    box = max(boxes, key=lambda b: b.width)
    factor = FACE_PX / box.width
    scaled = cv2.resize(rgb, None, fx=factor, fy=factor,
                        interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    width, height = FRAME_SIZE
    # A grey wall around the photo's edges, not a mirror of it: a mirror could add faces.
    padded = cv2.copyMakeBorder(scaled, height, height, width, width, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    cx, cy = int((box.left + box.right) / 2 * factor), int((box.top + box.bottom) / 2 * factor)
    x0, y0 = cx + width - width // 2, cy + height - height // 2
    return np.ascontiguousarray(padded[y0:y0 + height, x0:x0 + width])


def jittered(frame: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A hand's tremor: up to 4 px of shift, 2 % of scale, 5 % of brightness and sensor noise per frame."""
    h, w = frame.shape[:2]
    out = []
    for _ in range(count):
        scale = 1 + rng.uniform(-0.02, 0.02)
        dx, dy = rng.uniform(-4, 4, size=2)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, scale)
        matrix[:, 2] += (dx, dy)
        moved = cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        lit = moved * (1 + rng.uniform(-0.05, 0.05)) + rng.normal(0, 2.0, frame.shape)
        out.append(np.clip(lit, 0, 255).astype(np.uint8))
    return out


def judge(engine: FaceEngine, frames: list[np.ndarray]) -> dict[str, tuple[bool, bool]]:
    """mode -> (acquired, accepted) for one burst, analysed once as the gate analyses a burst."""
    probe = Probe(engine, frames)
    try:
        results = {mode.value: liveness.check(mode, probe.faces) for mode in MODES}
    finally:
        probe.discard()
    return {mode: (r.reason != liveness.TOO_FEW_FACES, r.passed) for mode, r in results.items()}


Judge = Callable[[list[np.ndarray]], dict[str, tuple[bool, bool]]]


def evaluate(engine: FaceEngine, directory: Path, frames: int = LIVENESS_BURST, seed: int = 7,
             bursts: Path | None = None, judge_burst: Judge | None = None) -> LivenessReport:
    run = judge_burst or (lambda burst: judge(engine, burst))
    report = LivenessReport(frames, seed)
    rng = np.random.default_rng(seed)
    for path in _images(directory):
        name = str(path.relative_to(directory))
        try:
            frame = held_up(engine, read_image_file(path))
        except ImageRejected as err:
            report.unreadable[name] = str(err)
            continue
        if frame is None:
            report.unreadable[name] = "no face found in the photo"
            continue
        for species, burst in (("still_photo", [frame] * frames), ("jittered_photo", jittered(frame, frames, rng))):
            for mode, (acquired, accepted) in run(burst).items():
                report.attacks.append(Presentation(species, mode, name, acquired, accepted))
    if bursts is not None:
        report.genuine = list(_genuine(bursts, run))
    return report


def _genuine(root: Path, run: Judge) -> Iterable[Presentation]:
    for mode in MODES:
        folder = root / mode.value
        for burst_dir in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
            burst = [read_image_file(p) for p in sorted(burst_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
            acquired, accepted = run(burst)[mode.value]
            yield Presentation("bona_fide", mode.value, f"{mode.value}/{burst_dir.name}", acquired, accepted)


def _images(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
