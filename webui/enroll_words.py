"""Enrollment feedback for people: a verdict (good / retake) with its reasons in the operator's
language and a quality bar, instead of the raw figures; and camera or model failures said in words,
with the technical detail sent to the log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

from gate.face.quality import DEFAULT_POLICY, QualityPolicy
from gate.i18n.marker import N_

log = logging.getLogger(__name__)

# Reasons gate.face.enroll formats with numbers; the fixed ones are N_-marked where they are defined.
_FORMATTED = (
    (re.compile(r"not enough good pictures: (?P<accepted>\d+) accepted, (?P<needed>\d+) needed"),
     N_("not enough good pictures: %(accepted)s accepted, %(needed)s needed")),
    (re.compile(r"not needed: the best (?P<count>\d+) pictures were kept"),
     N_("not needed: the best %(count)s pictures were kept")),
    (re.compile(r"the (?P<mode>.+?) check was not passed \(.*\): a photo or a screen"),
     N_("the %(mode)s check was not passed: a photo or a screen held up to the camera cannot enroll; ask the "
        "resident to face the camera and capture again")),
)
#: The liveness challenges as gate.face.enroll names them in its reasons.
_MODES = {"blink": N_("blink"), "head turn": N_("head turn")}
CAMERA_STOPPED = N_("The camera stopped sending pictures; check its cable and try again, or upload photos.")
NO_CAMERA = N_("This controller has no gate camera set up; use the webcam or upload photos.")
FACE_UNAVAILABLE = N_("Face recognition is not available on this controller right now (the log says why); card and "
                      "PIN work as usual. Try again later or ask the installer.")


def reason_words(reason: str) -> str:
    """One reason from the face pipeline in the operator's language (unknown ones as they are)."""
    for pattern, template in _FORMATTED:
        found = pattern.search(reason)
        if found:
            values = found.groupdict()
            if "mode" in values:
                values["mode"] = _(_MODES.get(values["mode"], values["mode"]))
            return _(template, **values)
    return _(reason)


def reasons_words(reasons: Iterable[str]) -> list[str]:
    return [reason_words(reason) for reason in reasons]


@dataclass(frozen=True)
class Verdict:
    good: bool
    headline: str
    reasons: list[str]
    #: 0-100, from the pictures' mean figures measured against the quality policy; None without figures.
    score: int | None

    @property
    def score_words(self) -> str:
        if self.score is None:
            return ""
        level = _("good") if self.score >= 70 else _("fair") if self.score >= 40 else _("poor")
        return _("Picture quality: %(score)s of 100 (%(level)s)", score=self.score, level=level)


def _part(value: float, good_at: float) -> float:
    return max(0.0, min(1.0, value / good_at)) if good_at > 0 else 1.0


def quality_score(quality: Mapping[str, float], policy: QualityPolicy = DEFAULT_POLICY) -> int | None:
    """How comfortably the accepted pictures pass each limit of the policy: size, sharpness, light,
    looking straight, open eyes; twice the minimum (or centred in the light range) counts as full."""
    needed = ("mean_face_px", "mean_sharpness", "mean_brightness", "mean_yaw_ratio", "mean_eye_ratio")
    if not all(key in quality for key in needed):
        return None
    low, high = policy.min_brightness, policy.max_brightness
    middle, half = (low + high) / 2, (high - low) / 2
    parts = (
        _part(quality["mean_face_px"], 2 * policy.min_face_px),
        _part(quality["mean_sharpness"], 2 * policy.min_sharpness),
        max(0.0, 1.0 - abs(quality["mean_brightness"] - middle) / half),
        max(0.0, 1.0 - abs(quality["mean_yaw_ratio"]) / policy.max_yaw_ratio),
        _part(quality["mean_eye_ratio"], 2 * policy.min_eye_ratio),
    )
    return round(100 * sum(parts) / len(parts))


def verdict(ok: bool, reasons: Iterable[str], quality: Mapping[str, float],
            frame_reasons: Iterable[Iterable[str]] = ()) -> Verdict:
    """Good, or retake with what to change: the enrollment's own reasons first, then each picture's."""
    words = reasons_words(reasons)
    for per_frame in frame_reasons:
        for reason in reasons_words(per_frame):
            if reason not in words:
                words.append(reason)
    if ok:
        return Verdict(True, _("Good: the face is enrolled."), [], quality_score(quality))
    return Verdict(False, _("Retake the pictures."), words, quality_score(quality) if quality else None)


def camera_problem(err: BaseException) -> str:
    """What the operator reads when the gate camera or the face model fails; the detail goes to the log."""
    log.warning("gate camera for enrollment failed: %s", err)
    detail = str(err).lower()
    if isinstance(err, TimeoutError) or "stopped delivering" in detail or "camera" in detail and "open" in detail:
        return _(CAMERA_STOPPED)
    if "no camera" in detail:
        return _(NO_CAMERA)
    return _(FACE_UNAVAILABLE)
