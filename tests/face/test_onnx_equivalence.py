"""The onnx engine's encodings equal dlib's on every face of ../shared/faces, so every decision does."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gate.face.images import read_image_file
from gate.face.verify import DEFAULT_THRESHOLD

pytestmark = [pytest.mark.faces, pytest.mark.slow]

IMAGES = (".jpg", ".jpeg", ".png")


def test_every_shared_face_encodes_within_1e_4_of_dlib_and_every_decision_stands(faces, engine, dlib_engine):
    encoded: list[tuple[str, np.ndarray, np.ndarray]] = []
    for path in sorted(p for p in faces.rglob("*") if p.suffix.lower() in IMAGES):
        rgb = read_image_file(path)
        for box in engine.detect(rgb, min(1.0, 960 / max(rgb.shape[:2]))):
            points = engine.landmarks(rgb, box)
            ours, theirs = engine.encode(rgb, points), dlib_engine.encode(rgb, points)
            assert np.linalg.norm(ours - theirs) <= 1e-4, path
            encoded.append((path.relative_to(faces).parts[1], ours, theirs))
    assert len(encoded) >= 40  # every photo, the multi-face ones with each face
    for (_, a, a_ref), (_, b, b_ref) in itertools.combinations(encoded, 2):
        ours_match = np.linalg.norm(a - b) <= DEFAULT_THRESHOLD
        assert ours_match == (np.linalg.norm(a_ref - b_ref) <= DEFAULT_THRESHOLD)
