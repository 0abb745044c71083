"""The converter: dlib's serialization read byte for byte, the graph computing what dlib computes, and
the cached file private, keyed by the weights and the converter, rebuilt when either changes."""

from __future__ import annotations

import stat

import numpy as np
import pytest

from gate.face import onnx_convert, onnx_encoder
from gate.face.engine import CHIP_PADDING, CHIP_SIZE, ModelPaths
from gate.face.onnx_convert import ConversionError, _Reader


def test_dlib_integers_floats_strings_and_bools_are_read_as_dlib_writes_them():
    # control byte: low nibble = byte count, 0x80 = negative; then little-endian bytes
    assert _Reader(b"\x02\x2c\x01").integer() == 300
    assert _Reader(b"\x81\x05").integer() == -5
    # float = mantissa * 2**exponent, both dlib integers: 3 * 2**-2
    assert _Reader(b"\x01\x03\x81\x02").real() == 0.75
    assert _Reader(b"\x01\x05con_4").text() == "con_4"
    assert _Reader(b"1").flag() is True and _Reader(b"0").flag() is False
    with pytest.raises(ConversionError, match="truncated"):
        _Reader(b"\x02\x01").integer()


@pytest.fixture(autouse=True)
def _no_seed(monkeypatch):
    """These tests are about converting: the session's seed folder (tests/conftest.py) is not used here."""
    monkeypatch.delenv(onnx_encoder.SEED_ENV, raising=False)


@pytest.fixture(scope="module")
def dat():
    return ModelPaths.default().encoder


@pytest.fixture(scope="module")
def graph(dat):
    return onnx_convert.to_onnx(onnx_convert.read_dlib_net(dat.read_bytes()), check=True)


def test_the_network_is_read_whole_with_dlibs_input_means(dat):
    net = onnx_convert.read_dlib_net(dat.read_bytes())
    assert net.mean_rgb == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    convs = [layer for layer in net.layers if layer.kind == "con"]
    assert len(convs) == 29 and convs[0].params["weight"].shape == (32, 3, 7, 7)
    fc = net.layers[-1]
    assert fc.kind == "fc" and fc.params["weight"].shape == (256, 128)
    params = sum(v.size for layer in net.layers for v in layer.params.values() if isinstance(v, np.ndarray))
    assert params > 5_500_000  # every weight of the ~22 MB file


def test_a_truncated_or_foreign_file_is_refused_not_half_read(dat):
    data = dat.read_bytes()
    with pytest.raises(ConversionError, match="truncated"):
        onnx_convert.read_dlib_net(data[:len(data) // 2])
    with pytest.raises(ConversionError, match="after the network"):
        onnx_convert.read_dlib_net(data + b"\0")
    with pytest.raises(ConversionError, match="not dlib's face model"):
        onnx_convert.read_dlib_net(ModelPaths.default().landmarks68.read_bytes())


def test_the_graph_gives_dlibs_descriptor_for_a_chip(engine, photo, graph):
    import dlib

    rgb = photo("people/obama/obama.jpg")
    points = engine.landmarks(rgb, engine.detect(rgb)[0])
    shape = dlib.full_object_detection(
        dlib.rectangle(*(int(v) for v in (*points.min(axis=0), *points.max(axis=0)))),
        dlib.points([dlib.point(int(x), int(y)) for x, y in points]))
    chip = dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING)
    reference = np.array(dlib.face_recognition_model_v1(str(ModelPaths.default().encoder))
                         .compute_face_descriptor(chip), dtype=np.float32)
    ours = onnx_encoder.OnnxEncoder(graph)([chip, chip[:, ::-1]])
    assert ours.shape == (2, 128)
    assert np.linalg.norm(ours[0] - reference) < 1e-4 < np.linalg.norm(ours[1] - reference)


def test_the_cache_is_private_keyed_and_rebuilt_when_stale(tmp_path, dat, monkeypatch):
    folder = tmp_path / "models"
    first = onnx_encoder.prepare(dat, folder)
    version = onnx_convert.CONVERTER_VERSION
    assert first == onnx_encoder.cache_path(folder, dat) and first.name.endswith(f"-c{version}.onnx")
    weights = first.with_name(first.name + ".data")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(first.stat().st_mode) == stat.S_IMODE(weights.stat().st_mode) == 0o600
    assert weights.stat().st_size > 20_000_000 > first.stat().st_size  # onnxruntime maps the weights
    mtime = first.stat().st_mtime_ns
    assert onnx_encoder.prepare(dat, folder) == first and first.stat().st_mtime_ns == mtime  # reused

    monkeypatch.setattr(onnx_convert, "CONVERTER_VERSION", version + 1)
    second = onnx_encoder.prepare(dat, folder)
    assert second.name.endswith(f"-c{version + 1}.onnx") and second.is_file()
    assert not first.exists() and not weights.exists()  # the stale graph is gone
    assert sorted(p.name for p in folder.iterdir()) == [second.name, second.name + ".data"]  # no temporary left


def test_a_damaged_cached_graph_is_converted_again(tmp_path, dat):
    folder = tmp_path / "models"
    cached = onnx_encoder.prepare(dat, folder)
    cached.write_bytes(b"not an onnx graph")
    encoder = onnx_encoder.load(dat, folder)
    assert encoder([np.zeros((150, 150, 3), np.uint8)]).shape == (1, 128)
    assert cached.stat().st_size > 1000 and cached.with_name(cached.name + ".data").is_file()


def test_a_conversion_that_fails_in_the_child_says_why_and_leaves_no_graph(tmp_path):
    damaged = tmp_path / "model.dat"
    damaged.write_bytes(b"\x01\x01" + b"\0" * 100)
    with pytest.raises(ConversionError, match="Converting the face model failed: .*"):
        onnx_encoder.prepare(damaged, tmp_path / "models")
    assert not any((tmp_path / "models").glob("*.onnx*"))


def test_the_install_step_converts_into_the_data_folder_and_the_engine_uses_it(tmp_path):
    import subprocess
    import sys

    from gate.face.engine import FaceEngine

    done = subprocess.run([sys.executable, "-m", "gate.face.onnx_encoder", str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    cached = tmp_path / "data" / "models" / done.stdout.strip().rsplit("/", 1)[-1]
    assert cached.is_file() and stat.S_IMODE(cached.stat().st_mode) == 0o600
    before = cached.stat().st_mtime_ns
    engine = FaceEngine(cache_dir=tmp_path / "data" / "models")
    assert engine.encoder_name == "onnx" and cached.stat().st_mtime_ns == before  # used, not rebuilt
    failed = subprocess.run([sys.executable, "-m", "gate.face.onnx_encoder"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert failed.returncode == 2 and "usage" in failed.stderr


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_conversions_staging_folder_is_removed_at_the_next_conversion(tmp_path, dat, monkeypatch):
    import os
    import time

    folder = tmp_path / "models"
    folder.mkdir(mode=0o700)
    name = onnx_encoder.cache_path(folder, dat).name
    killed = folder / f".{name}.{_dead_pid()}"  # what a child killed at the timeout leaves
    killed.mkdir()
    (killed / f"{name}.data").write_bytes(b"\0" * 4096)  # half-written weights
    older = folder / f".dlib-resnet-v1-0000000000000000-c1.onnx.{_dead_pid()}"  # another converter's
    older.mkdir()
    running = folder / f".{name}.{os.getpid()}"  # a conversion under way in a live process: kept
    running.mkdir()
    hung = folder / f".{name}.1"  # a live pid (init), but older than any conversion may take
    hung.mkdir()
    past = time.time() - onnx_encoder.CONVERT_TIMEOUT - 60
    os.utime(hung, (past, past))
    unrelated = folder / ".keep.me"
    unrelated.mkdir()

    graph = onnx_encoder.prepare(dat, folder)
    assert graph.is_file()
    assert not killed.exists() and not older.exists() and not hung.exists()
    assert running.is_dir() and unrelated.is_dir()


def test_a_missing_graph_is_copied_from_the_seed_folder_instead_of_converted(tmp_path, dat, monkeypatch):
    seed = tmp_path / "seed"
    seeded = onnx_encoder.prepare(dat, seed)  # converted once, as the test session does

    def no_conversion(*args):
        raise AssertionError("converted although the seed folder holds the graph")

    monkeypatch.setattr(onnx_encoder, "_convert_in_child", no_conversion)
    monkeypatch.setenv(onnx_encoder.SEED_ENV, str(seed))
    folder = tmp_path / "data" / "models"
    own = onnx_encoder.prepare(dat, folder)
    assert own == onnx_encoder.cache_path(folder, dat) and own.parent == folder
    weights = own.with_name(own.name + ".data")
    assert own.read_bytes() == seeded.read_bytes()
    assert weights.read_bytes() == seeded.with_name(seeded.name + ".data").read_bytes()
    # the installation's own private copy, not the seed's file
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(own.stat().st_mode) == stat.S_IMODE(weights.stat().st_mode) == 0o600
    assert own.stat().st_ino != seeded.stat().st_ino
    own.write_bytes(b"damaged")
    assert seeded.stat().st_size > 1000  # the seed is never written through a copy
    assert sorted(p.name for p in folder.iterdir()) == [own.name, own.name + ".data"]  # no staging left
    assert onnx_encoder.OnnxEncoder(seeded)([np.zeros((150, 150, 3), np.uint8)]).shape == (1, 128)


def test_a_seed_folder_without_the_graph_is_ignored_and_the_model_converted(tmp_path, dat, monkeypatch):
    conversions = []
    real = onnx_encoder._convert_in_child
    monkeypatch.setattr(onnx_encoder, "_convert_in_child", lambda *a: (conversions.append(a), real(*a)))
    (tmp_path / "seed").mkdir()
    monkeypatch.setenv(onnx_encoder.SEED_ENV, str(tmp_path / "seed"))
    graph = onnx_encoder.prepare(dat, tmp_path / "models")
    assert len(conversions) == 1 and graph.is_file() and not any((tmp_path / "seed").iterdir())
