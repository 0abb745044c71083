"""Honest test input made from real photos, in memory only.

We have no video of anyone blinking, so a blink is synthesised from a real photo with its own
landmarks: inside each eye, the skin of the upper eyelid is stretched down over the eye opening
(cv2.remap), leaving the eye `openness` times as open as in the photo. dlib's landmark model has never
seen these frames; the liveness check must still read the eye closing off them. Nothing else in the
frame changes, so the burst is otherwise as still as a held-up photo -- which is the point: the only
difference between the "photo" burst and the "blink" burst is the eyelids.
"""

from __future__ import annotations

import cv2
import numpy as np

RIGHT_EYE = list(range(36, 42))
LEFT_EYE = list(range(42, 48))


def close_eyes(rgb: np.ndarray, points: np.ndarray, openness: float) -> np.ndarray:
    map_x, map_y = np.meshgrid(np.arange(rgb.shape[1], dtype=np.float32),
                               np.arange(rgb.shape[0], dtype=np.float32))
    for eye in (RIGHT_EYE, LEFT_EYE):
        _close_one(map_y, points[eye].astype(np.float64), openness)
    return cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _close_one(map_y: np.ndarray, eye: np.ndarray, openness: float) -> None:
    corner_a, corner_b = eye[0], eye[3]
    upper = np.array([corner_a, eye[1], eye[2], corner_b])
    lower = np.array([corner_a, eye[5], eye[4], corner_b])
    width = corner_b[0] - corner_a[0]
    lid_height = 0.7 * width  # the skin between the eye and the brow that slides down
    pad = 0.15 * width
    for x in range(int(np.floor(corner_a[0] - pad)), int(np.ceil(corner_b[0] + pad)) + 1):
        xc = min(max(x, corner_a[0]), corner_b[0])
        y_up = np.interp(xc, upper[:, 0], upper[:, 1])
        y_low = np.interp(xc, lower[:, 0], lower[:, 1])
        # Fade to nothing beyond the corners so the warp leaves no seam.
        fade = 1.0 if corner_a[0] <= x <= corner_b[0] else max(0.0, 1 - min(abs(x - corner_a[0]), abs(x - corner_b[0])) / pad)
        gap = (y_low - y_up) * (1 - openness) * fade
        y_new = y_up + gap  # where the upper lid's edge now sits
        top = y_up - lid_height
        rows = np.arange(int(np.floor(top)), int(np.ceil(y_low)) + 1)
        rows = rows[(rows >= 0) & (rows < map_y.shape[0])]
        if 0 <= x < map_y.shape[1]:
            src = np.where(
                rows <= y_new,
                top + (rows - top) * (y_up - top) / max(y_new - top, 1e-6),  # lid skin stretched down
                y_up + (rows - y_new) * (y_low - y_up) / max(y_low - y_new, 1e-6),  # what is left of the eye
            )
            map_y[rows, x] = src.astype(np.float32)
