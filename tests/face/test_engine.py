"""The model wrapper: lazy, versioned, and a clear "unavailable" when the model cannot load."""

from __future__ import annotations

import pytest

from gate.face.engine import FaceEngine, ModelPaths
from gate.face.errors import FaceUnavailable
from gate.face.verify import verify_frames


def test_missing_model_file_makes_face_unavailable(tmp_path):
    engine = FaceEngine(ModelPaths(tmp_path / "landmarks.dat", tmp_path / "encoder.dat"))
    assert engine.available is False
    with pytest.raises(FaceUnavailable, match="missing"):
        engine.load()


def test_corrupt_model_file_makes_face_unavailable(tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_bytes(b"\0" * 1000)
    engine = FaceEngine(ModelPaths(bad, bad))
    with pytest.raises(FaceUnavailable, match="cannot be loaded"):
        engine.load()


def test_verification_with_an_unloadable_model_is_unavailable_not_a_crash(tmp_path):
    import numpy as np

    engine = FaceEngine(ModelPaths(tmp_path / "a", tmp_path / "b"))
    with pytest.raises(FaceUnavailable):
        verify_frames(engine, np.zeros((1, 128), np.float32), [np.zeros((64, 64, 3), np.uint8)])


def test_model_version_names_the_encoder(engine):
    version = engine.model_version
    assert version.startswith("dlib-resnet-v1:") and "dlib-20" in version
    assert FaceEngine().model_version == version  # a digest of the file, not of the object


def test_models_load_lazily():
    engine = FaceEngine()
    assert engine._models is None  # constructing an engine costs nothing; the service can start


def test_concurrent_first_use_loads_once(monkeypatch):
    import threading

    engine = FaceEngine()
    calls = []
    real = FaceEngine._load

    def counting(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(FaceEngine, "_load", counting)
    threads = [threading.Thread(target=engine.load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and engine.available
