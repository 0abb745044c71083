"""dlib's face-recognition ResNet run by onnxruntime: the same weights, converted once and cached.

The converted graph is kept in the data folder (models/, 0700; the graph and its weights file 0600),
named by the .dat file's hash and the converter's version, so a new model package or a new converter
rebuilds it and an old one is removed. The conversion runs in a child process (the onnx package and its
copies of the weights stay out of the gate's memory). Without a cache folder (a test) the graph is
converted in memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from gate.face import onnx_convert

log = logging.getLogger("gate.face")

#: One thread: on a 2-core gate the other core serves the web UI and the door loop, and a second
#: onnxruntime thread measured slower (12.8 ms against 5.8 ms per chip) while they compete.
DEFAULT_THREADS = 1
CACHE_FOLDER = "models"
#: A folder of graphs already converted (named as in models/) that a missing graph is copied from instead of
#: converted: the test suite converts once per session and points every test installation here. Read only;
#: each installation still keeps and loads its own copy. Only for a folder as trusted as the gate's code.
SEED_ENV = "GATE_FACE_GRAPH_SEED"
#: The conversion takes ~2 s (most of it importing onnx); a loaded 2-core gate may take several times that.
CONVERT_TIMEOUT = 120


def cache_path(cache_dir: Path, dat: Path) -> Path:
    return cache_dir / f"{onnx_convert.cache_key(dat)}.onnx"


def prepare(dat: Path, cache_dir: Path | None) -> Path | bytes:
    """The cached graph's path, converting it first if missing or stale; the graph's bytes without a cache."""
    if cache_dir is None:
        return onnx_convert.convert(dat)
    target = cache_path(cache_dir, dat)
    if target.is_file() and Path(f"{target}.data").is_file():
        return target
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    cache_dir.chmod(0o700)
    remove_stale_staging(cache_dir)
    if not _copy_from_seed(target):
        _convert_in_child(dat, target)
        log.info("face encoder converted to %s", target)
    for old in cache_dir.glob("dlib-resnet-v1-*.onnx*"):
        if old.name not in (target.name, f"{target.name}.data"):  # another model's or converter's graph
            with contextlib.suppress(OSError):
                old.unlink()
    return target


def _copy_from_seed(target: Path) -> bool:
    """Copy the graph named like `target` from the folder GATE_FACE_GRAPH_SEED names, if it holds it; False
    (convert) otherwise. The copy is the installation's own, 0600 in its models/, made as a conversion is:
    in a staging folder, the weights first, so a graph never lacks its weights. The seed is only read."""
    seed = os.environ.get(SEED_ENV)
    if not seed:
        return False
    source = Path(seed) / target.name
    if not (source.is_file() and Path(f"{source}.data").is_file()):
        return False
    staging = target.parent / f".{target.name}.{os.getpid()}"
    staging.mkdir(mode=0o700)
    try:
        for name in (f"{target.name}.data", target.name):
            shutil.copyfile(source.parent / name, staging / name)
            (staging / name).chmod(0o600)
            os.replace(staging / name, target.parent / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("face encoder copied from %s to %s", source, target)
    return True


def remove_stale_staging(cache_dir: Path) -> list[Path]:
    """Remove the staging folders (`.NAME.onnx.PID`, see onnx_convert.write) of converters that are gone:
    a child killed at the timeout, or a gate stopped mid-conversion, leaves its folder behind. A folder is
    stale when its process no longer runs or it is older than the timeout (its pid may have been reused);
    a conversion still under way in another process keeps its folder. Returns what was removed."""
    removed = []
    for folder in cache_dir.glob(".dlib-resnet-v1-*.onnx.*"):
        pid = folder.name.rsplit(".", 1)[-1]
        if not folder.is_dir() or not pid.isdigit():
            continue
        with contextlib.suppress(OSError):
            if _running(int(pid)) and time.time() - folder.stat().st_mtime < CONVERT_TIMEOUT:
                continue
            shutil.rmtree(folder)
            removed.append(folder)
            log.info("removed the staging folder %s of an unfinished face model conversion", folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def _convert_in_child(dat: Path, target: Path) -> None:
    command = [sys.executable, "-m", "gate.face.onnx_convert", str(dat), str(target)]
    # The child imports this very gate package, wherever it was imported from.
    root = str(Path(onnx_convert.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CONVERT_TIMEOUT, check=False,
                              env=env)
    except subprocess.TimeoutExpired as err:
        raise onnx_convert.ConversionError(f"Converting the face model took over {CONVERT_TIMEOUT} s.") from err
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise onnx_convert.ConversionError(f"Converting the face model failed: {lines[-1]}")


class OnnxEncoder:
    """(n, 150, 150, 3) uint8 chips from dlib.get_face_chip -> (n, 128) float32 descriptors."""

    def __init__(self, graph: Path | bytes, threads: int = DEFAULT_THREADS) -> None:
        import onnxruntime as ort  # noqa: PLC0415 - optional: the engine falls back to dlib without it

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Basic graph optimisations only: the full level's layout rewrite copies every weight again,
        # 19 MB more peak memory on a gate where memory is short, for ~2 ms of a ~8 ms encoding.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        if threads > 1:
            # Waiting threads sleep instead of spinning on cores the web UI and door loop share.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source: Any = str(graph) if isinstance(graph, Path) else graph
        self._session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self.threads = threads

    def __call__(self, chips: list[np.ndarray]) -> np.ndarray:
        batch = np.ascontiguousarray(np.stack(chips), dtype=np.uint8)
        (out,) = self._session.run(["descriptors"], {"chips": batch})
        return np.asarray(out, dtype=np.float32)


def load(dat: Path, cache_dir: Path | None, threads: int = DEFAULT_THREADS) -> OnnxEncoder:
    """The encoder for `dat`; a cached graph onnxruntime cannot read is converted again once.
    Raises ImportError without onnxruntime (before converting anything)."""
    import onnxruntime  # noqa: F401, PLC0415 - fail first, not after a conversion

    graph = prepare(dat, cache_dir)
    try:
        return OnnxEncoder(graph, threads)
    except ImportError:
        raise
    except Exception:
        if not isinstance(graph, Path):
            raise
        log.warning("the cached face encoder %s does not load; converting it again", graph)
        graph.unlink(missing_ok=True)
        Path(f"{graph}.data").unlink(missing_ok=True)
        return OnnxEncoder(prepare(dat, cache_dir), threads)


def main(argv: list[str]) -> int:
    """`python -m gate.face.onnx_encoder DATA_DIR`: convert the installed model into DATA_DIR/models
    (scripts/bootstrap and deploy/install run it; if it fails, the gate converts at first use)."""
    from gate.face.engine import ModelPaths  # noqa: PLC0415 - the engine imports this module

    if len(argv) != 1:
        print("usage: python -m gate.face.onnx_encoder DATA_DIR", file=sys.stderr)
        return 2
    try:
        print(prepare(ModelPaths.default().encoder, Path(argv[0]) / CACHE_FOLDER))
    except Exception as err:  # a missing model package, a failed conversion: first use falls back
        print(f"The face model was not converted: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
