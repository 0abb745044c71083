"""Liveness challenges over a short burst: a blink, or a head turn. Presentation-attack *deterrence*.

Both read the 68 landmarks the verification already computed, so they add no model passes.

What they stop: a printed photo or a still image on a phone held to the camera (the landmarks do not
move), and a swap of faces in mid-burst (the face must stay in one place across the burst).
What they do NOT stop: a video of the resident replayed on a screen (it blinks and turns), a photo
with the eyes cut out and real eyes behind it, a 3-D mask with open eyes, or a deepfake fed into a
network camera's stream. That is why face is only ever one option next to card and PIN, and why a
gate that needs more must use a camera with depth or infrared sensing (not in this product).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from gate.face.frames import FaceFrame
from gate.face.geometry import eye_aspect_ratio, yaw_ratio


class LivenessMode(StrEnum):
    """The values of a gate's `liveness` setting (gate.core.policy.LIVENESS_MODES)."""

    OFF = "none"
    BLINK = "blink"
    HEAD_TURN = "head_turn"


class TurnDirection(StrEnum):
    """Asked of the person; the gate picks one at random per attempt so a recording cannot know it."""

    LEFT = "left"
    RIGHT = "right"


NO_CHALLENGE = "liveness check off"
TOO_FEW_FACES = "keep your face in view for the whole check"
FACE_MOVED = "the face changed place during the check: stay in front of the camera"
NO_BLINK = "no blink seen: blink once while looking at the camera"
EYES_NOT_OPEN = "keep your eyes open, then blink once"
NO_TURN = "head turn not seen: turn your head as shown, then look back"


@dataclass(frozen=True)
class LivenessPolicy:
    min_faces: int = 4
    #: A blink is a frame whose eye ratio falls below this fraction of the open-eye level, with open
    #: eyes again afterwards or before. Still images jitter by a few percent; a blink drops by 40-70 %.
    blink_drop: float = 0.7
    min_open_ratio: float = 0.18
    #: The nose must travel this far (yaw ratio, 0 frontal, 1 profile) in the asked direction.
    min_turn: float = 0.25
    min_overlap: float = 0.3


DEFAULT_LIVENESS = LivenessPolicy()

#: Enrollment at a camera is checked even where the gate itself runs without a challenge: a template
#: made from a held-up photo would let that photo's owner be impersonated at every gate, and one
#: blink at enrollment costs the resident nothing.
ENROLLMENT_FLOOR = LivenessMode.BLINK


def for_enrollment(gate_mode: LivenessMode | str) -> LivenessMode:
    """The challenge for enrollment at a gate's camera: that gate's own, or a blink if it has none."""
    mode = LivenessMode(gate_mode)
    return ENROLLMENT_FLOOR if mode is LivenessMode.OFF else mode


@dataclass(frozen=True)
class LivenessResult:
    passed: bool
    mode: LivenessMode
    reason: str | None
    figures: dict[str, float] = field(default_factory=dict)


def check(mode: LivenessMode | str, faces: list[FaceFrame], policy: LivenessPolicy = DEFAULT_LIVENESS,
          direction: TurnDirection | str | None = None) -> LivenessResult:
    """`faces` are the analysed frames of the burst, in order (Probe.faces)."""
    mode = LivenessMode(mode)
    if mode is LivenessMode.OFF:
        return LivenessResult(True, mode, NO_CHALLENGE)
    seen = [f for f in faces if f.box is not None and f.landmarks is not None]
    if len(seen) < policy.min_faces:
        return LivenessResult(False, mode, TOO_FEW_FACES, {"faces": float(len(seen))})
    if not _same_place(seen, policy.min_overlap):
        return LivenessResult(False, mode, FACE_MOVED)
    marks = [f.landmarks for f in seen if f.landmarks is not None]  # all of seen; the test narrows the type
    if mode is LivenessMode.BLINK:
        return _blink(marks, policy)
    return _turn(marks, TurnDirection(direction) if direction else None, policy)


def _blink(marks: list[np.ndarray], policy: LivenessPolicy) -> LivenessResult:
    ears = [eye_aspect_ratio(m) for m in marks]
    lowest = min(range(len(ears)), key=ears.__getitem__)
    open_before = max(ears[:lowest], default=0.0)
    open_after = max(ears[lowest + 1:], default=0.0)
    open_level = max(open_before, open_after)
    figures = {"open_ratio": round(open_level, 3), "closed_ratio": round(ears[lowest], 3),
               "drop": round(1 - ears[lowest] / open_level, 3) if open_level else 0.0}
    if open_level < policy.min_open_ratio:
        return LivenessResult(False, LivenessMode.BLINK, EYES_NOT_OPEN, figures)
    # Eyes must be open on both sides of the blink, or a burst that starts or ends with eyes
    # half-shut (a photo taken mid-blink) would pass.
    closed_at_most = policy.blink_drop * min(open_before, open_after)
    closed_enough = bool(open_before and open_after) and ears[lowest] <= closed_at_most
    if not closed_enough:
        return LivenessResult(False, LivenessMode.BLINK, NO_BLINK, figures)
    return LivenessResult(True, LivenessMode.BLINK, None, figures)


def _turn(marks: list[np.ndarray], direction: TurnDirection | None, policy: LivenessPolicy) -> LivenessResult:
    mode = LivenessMode.HEAD_TURN
    yaws = [yaw_ratio(m) for m in marks]
    start = yaws[0]
    # Image right is the person's left: a person turning to their left moves the nose to image right.
    signs = {TurnDirection.LEFT: (1.0,), TurnDirection.RIGHT: (-1.0,), None: (1.0, -1.0)}[direction]
    reach = max(sign * (y - start) for y in yaws for sign in signs)
    back = abs(yaws[-1] - start) < reach / 2 if reach > 0 else False
    figures = {"start_yaw": round(start, 3), "turn": round(reach, 3), "end_yaw": round(yaws[-1], 3)}
    if reach < policy.min_turn or not back:
        return LivenessResult(False, mode, NO_TURN, figures)
    return LivenessResult(True, mode, None, figures)


def _same_place(faces: list[FaceFrame], min_overlap: float) -> bool:
    boxes = [f.box for f in faces if f.box is not None]
    if len(boxes) != len(faces):
        return False  # a frame without a face cannot be in the same place
    return all(a.overlap(b) >= min_overlap for a, b in zip(boxes, boxes[1:], strict=False))
