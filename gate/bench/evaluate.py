"""`gate eval faces DIR`: accuracy figures from a folder of people, by 1:1 verifications pair by pair.

DIR holds one folder per person. A person with two or more photos is enrolled from their first
photos (up to `enroll_photos`, always leaving at least one to probe with); a person with a single
photo is an impostor only. Then every photo is verified against every enrolled person whose template
it did not help build: same person = genuine pair, other person = impostor pair. Each pair is its own
1:1 verification against one template; each probe photo's face is found and encoded once (the Probe
caches it), which gives the same distances as re-encoding per pair, only faster.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gate.face.engine import FaceEngine
from gate.face.enroll import EnrollmentPolicy, enroll
from gate.face.errors import ImageRejected
from gate.face.images import IMAGE_SUFFIXES, read_image_file
from gate.face.probe import Probe
from gate.face.quality import DEFAULT_POLICY, QualityPolicy
from gate.face.verify import DEFAULT_THRESHOLD, check_threshold, verify

TARGET_FMR = 1e-3


@dataclass
class Photo:
    person: str
    path: Path

    @property
    def name(self) -> str:
        return f"{self.person}/{self.path.name}"


@dataclass
class EvalReport:
    threshold: float
    genuine: list[tuple[str, str, float]] = field(default_factory=list)   # (probe, person, distance)
    impostor: list[tuple[str, str, float]] = field(default_factory=list)
    rejected: dict[str, list[str]] = field(default_factory=dict)          # photo -> reasons
    enrolled: dict[str, list[str]] = field(default_factory=dict)          # person -> photos in template
    not_enrolled: dict[str, list[str]] = field(default_factory=dict)
    verify_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        gen = np.array([d for *_, d in self.genuine])
        imp = np.array([d for *_, d in self.impostor])
        fmr = float((imp <= self.threshold).mean()) if imp.size else 0.0
        fnmr = float((gen > self.threshold).mean()) if gen.size else 0.0
        return {
            "people": len({p.split("/")[0] for p in self.rejected} | set(self.enrolled) | set(self.not_enrolled)
                          | {g[0].split("/")[0] for g in self.genuine + self.impostor}),
            "enrolled_people": len(self.enrolled),
            "genuine_pairs": int(gen.size),
            "impostor_pairs": int(imp.size),
            "threshold": self.threshold,
            "fmr": fmr,
            "fnmr": fnmr,
            "eer": equal_error_rate(gen, imp),
            "threshold_fmr_1e-3": threshold_for_fmr(imp, TARGET_FMR),
            "fmr_resolution": 1.0 / imp.size if imp.size else None,
            "max_genuine_distance": round(float(gen.max()), 4) if gen.size else None,
            "min_impostor_distance": round(float(imp.min()), 4) if imp.size else None,
            "rejected_photos": len(self.rejected),
            "rejected": self.rejected,
            "enrollment": self.enrolled,
            "not_enrolled": self.not_enrolled,
            "false_rejects": [f"{p} vs {who}: {d:.3f}" for p, who, d in self.genuine if d > self.threshold],
            "false_accepts": [f"{p} vs {who}: {d:.3f}" for p, who, d in self.impostor if d <= self.threshold],
            "median_ms": round(statistics.median(self.verify_ms), 1) if self.verify_ms else None,
        }


def threshold_for_fmr(impostor: np.ndarray, target: float) -> float | None:
    """The largest threshold whose FMR is at most `target`. With fewer than 1/target impostor pairs
    that means "accepts no impostor at all": just below the closest impostor."""
    if impostor.size == 0:
        return None
    ordered = np.sort(impostor)
    allowed = int(np.floor(target * ordered.size))  # impostors that may fall at or under it
    if allowed >= ordered.size:
        return float(ordered[-1])
    ceiling = float(ordered[allowed])  # the first impostor that must stay above it
    if allowed == 0:
        return float(np.floor((ceiling - 1e-4) * 1000) / 1000)
    return (float(ordered[allowed - 1]) + ceiling) / 2


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> float | None:
    """Where FMR and FNMR cross, swept over every observed distance; 0 when the sets separate."""
    if genuine.size == 0 or impostor.size == 0:
        return None
    best = (2.0, 1.0)
    for t in np.unique(np.concatenate([genuine, impostor, [0.0]])):
        fmr = float((impostor <= t).mean())
        fnmr = float((genuine > t).mean())
        gap = abs(fmr - fnmr)
        if gap < best[0]:
            best = (gap, (fmr + fnmr) / 2)
    return round(best[1], 4)


def collect(root: Path) -> dict[str, list[Photo]]:
    if not root.is_dir():
        raise ImageRejected(f"{root} is not a folder of person folders.")
    people = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        photos = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if photos:
            people[folder.name] = [Photo(folder.name, f) for f in photos]
    if not people:
        raise ImageRejected(f"{root} holds no person folders with photos (DIR/person/photo.jpg).")
    return people


def evaluate(engine: FaceEngine, root: Path, threshold: float = DEFAULT_THRESHOLD, enroll_photos: int = 2,
             policy: QualityPolicy = DEFAULT_POLICY, rotate: bool = False) -> EvalReport:
    """`rotate` also gives every enrollment photo its turn as a genuine probe, against a template
    built from the person's other photos: more genuine pairs from a small folder. Impostor pairs
    stay one per (photo, other person), so no impostor comparison is counted twice."""
    threshold = check_threshold(threshold)
    people = collect(Path(root))
    report = EvalReport(threshold)
    templates: dict[str, np.ndarray] = {}
    in_template: dict[str, set[str]] = {}
    for person, photos in people.items():
        if len(photos) < 2:
            continue
        chosen = photos[: max(1, min(enroll_photos, len(photos) - 1))]
        in_template[person] = {p.name for p in chosen}
        encodings = _enroll_from(engine, chosen, policy, report, person)
        if encodings is not None:
            templates[person] = encodings
    for photos in people.values():
        for photo in photos:
            _score_photo(engine, photo, templates, in_template, policy, report)
    if rotate:
        for person in list(templates):
            for photo in [p for p in people[person] if p.name in in_template[person]]:
                others = [p for p in people[person] if p is not photo]
                fold = _enroll_from(engine, others[: max(1, min(enroll_photos, len(others)))], policy,
                                    report, person, record=False)
                if fold is not None:
                    _score_photo(engine, photo, {person: fold}, {person: set()}, policy, report)
    return report


def _enroll_from(engine: FaceEngine, photos: list[Photo], policy: QualityPolicy, report: EvalReport,
                 person: str, record: bool = True) -> np.ndarray | None:
    frames, names = [], []
    for photo in photos:
        try:
            frames.append(read_image_file(photo.path))
            names.append(photo.name)
        except ImageRejected as err:
            report.rejected[photo.name] = [str(err)]
    result = enroll(engine, frames, EnrollmentPolicy(quality=policy))
    for frame_report, name in zip(result.frames, names, strict=True):
        if not frame_report.accepted:
            report.rejected[name] = frame_report.reasons
    if not record:
        return result.encodings if result.ok else None
    if result.ok:
        report.enrolled[person] = [n for r, n in zip(result.frames, names, strict=True) if r.accepted]
        return result.encodings
    report.not_enrolled[person] = result.reasons
    return None


def _score_photo(engine: FaceEngine, photo: Photo, templates: dict[str, np.ndarray],
                 in_template: dict[str, set[str]], policy: QualityPolicy, report: EvalReport) -> None:
    targets = [p for p in templates if photo.name not in in_template[p]]
    if not targets:
        return
    try:
        rgb = read_image_file(photo.path)
    except ImageRejected as err:
        report.rejected[photo.name] = [str(err)]
        return
    start = time.perf_counter()
    probe = Probe(engine, [rgb], policy)
    try:
        for n, person in enumerate(targets):
            result = verify(templates[person], probe, report.threshold, max_encodes=1)
            if n == 0:
                report.verify_ms.append((time.perf_counter() - start) * 1000)
            if result.distance is None:
                report.rejected.setdefault(photo.name, result.reasons)
                return
            pair = (photo.name, person, result.distance)
            (report.genuine if person == photo.person else report.impostor).append(pair)
    finally:
        probe.discard()
