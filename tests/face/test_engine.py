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


def test_the_default_engine_runs_the_encoder_on_onnxruntime(engine):
    assert engine.encoder_name == "onnx" and engine.fallback_reason is None


def test_without_onnxruntime_the_engine_falls_back_to_dlib_and_says_why(monkeypatch, caplog, engine, photo):
    import sys

    import numpy as np

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    fallback = FaceEngine(encoder="onnx")
    with caplog.at_level("WARNING", logger="gate.face"):
        fallback.load()
    assert fallback.encoder_name == "dlib"
    assert "onnxruntime" in (fallback.fallback_reason or "")
    assert any("using dlib" in r.getMessage() and "onnxruntime" in r.getMessage() for r in caplog.records)
    assert fallback.model_version == engine.model_version  # templates stay valid
    rgb = photo("people/biden/biden.jpg")
    points = engine.landmarks(rgb, engine.detect(rgb)[0])
    assert np.linalg.norm(fallback.encode(rgb, points) - engine.encode(rgb, points)) < 1e-4


def test_a_failed_conversion_falls_back_to_dlib(monkeypatch):
    from gate.face import onnx_convert

    monkeypatch.setattr(onnx_convert, "CHIP", 151)  # the file's 150x150 input no longer matches
    fallback = FaceEngine(encoder="onnx")
    fallback.load()
    assert fallback.encoder_name == "dlib" and "151x151" in (fallback.fallback_reason or "")


def test_a_conversion_past_its_deadline_falls_back_to_dlib_and_caches_nothing(monkeypatch, tmp_path):
    from gate.face import onnx_encoder

    monkeypatch.delenv(onnx_encoder.SEED_ENV, raising=False)  # a real conversion, not the session's copy
    monkeypatch.setattr(onnx_encoder, "CONVERT_TIMEOUT", 0.01)  # the child cannot even import in time
    fallback = FaceEngine(encoder="onnx", cache_dir=tmp_path / "models")
    fallback.load()
    assert fallback.encoder_name == "dlib" and "took over" in (fallback.fallback_reason or "")
    assert not any((tmp_path / "models").glob("*.onnx*"))


def test_the_engine_follows_the_face_section(tmp_path):
    from gate.config import parse_settings

    settings = parse_settings('[face]\nengine = "dlib"\nthreads = 2\n', tmp_path, where="gate.toml")
    chosen = FaceEngine.from_settings(settings)
    assert chosen._wanted == "dlib" and chosen._threads == 2 and chosen._cache_dir == tmp_path / "models"
    assert chosen.encoder_name == "dlib" and chosen.fallback_reason is None
    with pytest.raises(ValueError, match="onnx, dlib"):
        FaceEngine(encoder="tensorflow")


#: A gate process in miniature: the modules `gate serve` imports, then the face engine loaded and encoding.
_GATE_PROCESS = """
import sys
from pathlib import Path

import dlib
import numpy as np


def refuse(*args, **kwargs):
    raise AssertionError("dlib's ResNet was loaded")


dlib.face_recognition_model_v1 = refuse  # the onnx engine must never need dlib's own copy of the network

import gate.service.builder  # noqa: E402,F401
import webui.server  # noqa: E402,F401
from gate.face.engine import FaceEngine  # noqa: E402

engine = FaceEngine(encoder=sys.argv[1], cache_dir=Path(sys.argv[2]))
engine.load()
assert engine.encoder_name == "onnx", engine.fallback_reason
assert engine.encode_chips([np.zeros((150, 150, 3), np.uint8)]).shape == (1, 128)
print(sorted(m for m in sys.modules if m.split(".")[0] in {"onnx", "google", "face_recognition",
                                                           "face_recognition_models", "pkg_resources"}))
"""


def test_the_onnx_engine_loads_only_detector_landmarks_and_onnxruntime(tmp_path):
    """Memory: in onnx mode the gate process holds neither dlib's ResNet, nor the onnx package or protobuf
    (only the conversion's child imports those), nor face_recognition or pkg_resources (the model files are
    found without importing face_recognition_models)."""
    import subprocess
    import sys

    def run(engine: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", _GATE_PROCESS, engine, str(tmp_path / "models")],
                              capture_output=True, text=True, timeout=300, check=False)

    onnx = run("onnx")
    assert onnx.returncode == 0, onnx.stderr
    assert onnx.stdout.strip() == "[]"
    dlib = run("dlib")  # the check bites: dlib's engine does load the network
    assert dlib.returncode != 0 and "dlib's ResNet was loaded" in dlib.stderr
