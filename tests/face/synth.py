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
        outside = min(abs(x - corner_a[0]), abs(x - corner_b[0]))
        fade = 1.0 if corner_a[0] <= x <= corner_b[0] else max(0.0, 1 - outside / pad)
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


def framed(engine, rgb: np.ndarray, face_px: int = 180, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """`rgb` scaled so its face is `face_px` wide and cut to a door camera's frame around it: lets
    photos taken at different distances stand in for frames of one burst."""
    box = engine.detect(rgb, min(1.0, 960 / max(rgb.shape[:2])))[0]
    factor = face_px / box.width
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=interpolation)
    cx, cy = int((box.left + box.right) / 2 * factor), int((box.top + box.bottom) / 2 * factor)
    width, height = size
    padded = cv2.copyMakeBorder(scaled, height, height, width, width, cv2.BORDER_REPLICATE)
    x0, y0 = cx + width - width // 2, cy + height - height // 2
    return np.ascontiguousarray(padded[y0:y0 + height, x0:x0 + width])


def blink_burst(engine, rgb: np.ndarray, openness=(1.0, 1.0, 0.6, 0.1, 0.6, 1.0, 1.0)) -> list[np.ndarray]:
    """A burst of one real frame in which the eyes close and open again."""
    box = engine.detect(rgb)[0]
    points = engine.landmarks(rgb, box)
    return [rgb.copy() if o == 1.0 else close_eyes(rgb, points, o) for o in openness]


def held_photo(rgb: np.ndarray, count: int = 7, seed: int = 7) -> list[np.ndarray]:
    """A photo held up to the camera: the same picture each frame, plus sensor noise and a hand's
    tremor of a pixel or two, so the still-photo case is not won merely by identical input."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        dx, dy = rng.integers(-2, 3, size=2)
        moved = np.roll(rgb, (int(dy), int(dx)), axis=(0, 1)).astype(np.float32)
        frames.append(np.clip(moved + rng.normal(0, 3.0, rgb.shape), 0, 255).astype(np.uint8))
    return frames
