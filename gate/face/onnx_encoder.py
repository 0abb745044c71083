"""dlib's face-recognition ResNet run by onnxruntime: the same weights, converted once and cached.

The converted graph is kept in the data folder (models/, 0700; the file 0600), named by the .dat file's
hash and the converter's version, so a new model package or a new converter rebuilds it and an old one
is removed. Without a cache folder (a benchmark, a test) the graph is converted in memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from gate.face import onnx_convert

log = logging.getLogger("gate.face")

#: One thread: on a 2-core gate the other core serves the web UI and the door loop, and a second
#: onnxruntime thread measured slower (12.8 ms against 5.8 ms per chip) while they compete.
DEFAULT_THREADS = 1
CACHE_FOLDER = "models"


def cache_path(cache_dir: Path, dat: Path) -> Path:
    return cache_dir / f"{onnx_convert.cache_key(dat)}.onnx"


def prepare(dat: Path, cache_dir: Path | None) -> Path | bytes:
    """The cached graph's path, converting it first if missing or stale; the graph's bytes without a cache."""
    if cache_dir is None:
        return onnx_convert.convert(dat)
    target = cache_path(cache_dir, dat)
    if target.is_file():
        return target
    graph = onnx_convert.convert(dat)
    _write_private(target, graph)
    for old in cache_dir.glob("dlib-resnet-v1-*.onnx"):
        if old != target:  # another model's or converter's graph: never read again
            with contextlib.suppress(OSError):
                old.unlink()
    log.info("face encoder converted to %s", target)
    return target


def _write_private(target: Path, data: bytes) -> None:
    folder = target.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    temporary = folder / f".{target.name}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)  # readers see the whole file or none
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


class OnnxEncoder:
    """(n, 150, 150, 3) uint8 chips from dlib.get_face_chip -> (n, 128) float32 descriptors."""

    def __init__(self, graph: Path | bytes, threads: int = DEFAULT_THREADS) -> None:
        import onnxruntime as ort  # noqa: PLC0415 - optional: the engine falls back to dlib without it

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
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
        return OnnxEncoder(prepare(dat, cache_dir), threads)
