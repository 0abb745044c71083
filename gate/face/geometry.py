"""Numbers read off the 68 dlib landmarks (iBUG 300-W numbering): eye openness and head pose."""

from __future__ import annotations

import math

import numpy as np

RIGHT_EYE = slice(36, 42)  # the person's right eye, on the left of the image
LEFT_EYE = slice(42, 48)
NOSE_TIP = 30
JAW_RIGHT, JAW_LEFT = 0, 16


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean eye aspect ratio of both eyes (Soukupova & Cech 2016): lid-to-lid height over eye width.

    Around 0.25-0.35 for an open eye, falling towards 0.1 when it closes; independent of face size.
    """
    return (_ear(points[RIGHT_EYE]) + _ear(points[LEFT_EYE])) / 2.0


def _ear(eye: np.ndarray) -> float:
    vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    horizontal = np.linalg.norm(eye[0] - eye[3])
    return float(vertical / (2.0 * horizontal)) if horizontal > 0 else 0.0


def yaw_ratio(points: np.ndarray) -> float:
    """Where the nose tip sits between the two sides of the jaw: 0 frontal, towards +-1 in profile.

    Positive when the nose is nearer the image's right edge of the face. A proxy, not degrees: it is
    enough to say "face the camera" and to see a head turn, without a 3-D head model.
    """
    left, right = points[JAW_RIGHT][0], points[JAW_LEFT][0]
    width = right - left
    if width <= 0:
        return 1.0
    return float(2.0 * (points[NOSE_TIP][0] - left) / width - 1.0)


def roll_degrees(points: np.ndarray) -> float:
    """Angle of the line through the eye centres; 0 when the head is upright."""
    right_eye = points[RIGHT_EYE].mean(axis=0)
    left_eye = points[LEFT_EYE].mean(axis=0)
    dx, dy = left_eye - right_eye
    return math.degrees(math.atan2(float(dy), float(dx)))
