"""`gate bench face`: latency of one 1:1 verification from a 640x480 frame, and of enrollment.

The frame is cut from a real photo around its face, as a door camera would frame a person at arm's
length. Each timed verification decrypts the sealed template (AES-GCM, as the store does), finds the
face on the downscaled frame, reads landmarks, checks quality, encodes once and compares.

The baseline is the same frame through plain `face_recognition.face_locations` + `face_encodings` at
full size, timed in the same run and interleaved with ours, so the ratio survives a noisy machine.

The encoder runs on onnxruntime (`[face] engine = "onnx"`, the default) and on dlib's own runtime in the
same run: each engine's whole verification and each encoder alone on the same chip, interleaved. Peak
memory is read first for the onnx pipeline alone, then with the dlib engine, then with the baseline.
"""

from __future__ import annotations

import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gate.bench.stats import percentile
from gate.face.engine import FaceEngine
from gate.face.enroll import enroll
from gate.face.errors import FaceUnavailable
from gate.face.images import read_image_file
from gate.face.verify import DEFAULT_THRESHOLD, verify_frames
from gate.secrets import envelope as crypto
from gate.secrets.keys import MasterKey

FRAME_W, FRAME_H = 640, 480
#: In the repository's sibling folder (see README); `--photo` overrides.
DEFAULT_PHOTO = Path(__file__).resolve().parents[2].parent / "shared" / "faces" / "special" / "obama" / "obama-720p.jpg"


def door_frame(engine: FaceEngine, photo: np.ndarray) -> np.ndarray:
    """A 640x480 window of `photo` centred on its face (scaled down first if the face is huge)."""
    import cv2  # noqa: PLC0415

    faces = engine.detect(photo, min(1.0, 960 / max(photo.shape[:2])))
    if not faces:
        raise FaceUnavailable("The benchmark photo shows no face; pass --photo with a frontal face photo.")
    box = faces[0]
    if box.width > FRAME_W * 0.45:  # keep the face a door-like size in the frame
        factor = FRAME_W * 0.3 / box.width
        photo = cv2.resize(photo, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        box = engine.detect(photo)[0]
    if photo.shape[0] < FRAME_H or photo.shape[1] < FRAME_W:
        pad_y, pad_x = max(0, FRAME_H - photo.shape[0]), max(0, FRAME_W - photo.shape[1])
        top, left = pad_y // 2, pad_x // 2
        photo = cv2.copyMakeBorder(photo, top, pad_y - top, left, pad_x - left, cv2.BORDER_REPLICATE)
        box = engine.detect(photo)[0]
    cx, cy = (box.left + box.right) // 2, (box.top + box.bottom) // 2
    x0 = min(max(0, cx - FRAME_W // 2), photo.shape[1] - FRAME_W)
    y0 = min(max(0, cy - FRAME_H // 2), photo.shape[0] - FRAME_H)
    return np.ascontiguousarray(photo[y0:y0 + FRAME_H, x0:x0 + FRAME_W])


def enrollment_frames(frame: np.ndarray) -> list[np.ndarray]:
    """Five frames as a short enrollment burst gives them: small shifts and exposure changes."""
    shifted = []
    for dx, dy, gain in ((0, 0, 1.0), (6, 0, 0.95), (-6, 3, 1.05), (0, -4, 0.9), (4, 4, 1.1)):
        moved = np.roll(frame, (dy, dx), axis=(0, 1)).astype(np.float32) * gain
        shifted.append(np.clip(moved, 0, 255).astype(np.uint8))
    return shifted


#: face_recognition's face_locations(image) -> boxes and face_encodings(image, boxes) -> encodings.
Locate = Callable[[np.ndarray], list[tuple[int, int, int, int]]]
Encode = Callable[[np.ndarray, list[tuple[int, int, int, int]]], list[np.ndarray]]


def _baseline() -> tuple[Locate, Encode]:
    from PIL import ImageFile  # noqa: PLC0415

    keep = ImageFile.LOAD_TRUNCATED_IMAGES
    import face_recognition  # noqa: PLC0415 - only the benchmark's baseline uses it

    ImageFile.LOAD_TRUNCATED_IMAGES = keep  # face_recognition flips this global on import
    return face_recognition.face_locations, face_recognition.face_encodings


def run(rounds: int = 40, photo_path: Path | None = None, engine: FaceEngine | None = None,
        threads: int = 1) -> dict[str, object]:
    # As at a gate: the graph converted by a child process into a cache folder, then mapped from there.
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as cache:
        result = _run(rounds, photo_path, engine or FaceEngine(encoder="onnx", cache_dir=Path(cache), threads=threads))
        # Each engine's pipeline alone, each in a fresh process (a high-water mark never goes down), in turn.
        for name in ENGINES_BY_PEAK:
            figures = pipeline_memory(name, Path(cache), photo_path or DEFAULT_PHOTO, threads)
            result[f"peak_rss_{name}_alone_mb"] = figures["peak_rss_mb"]
            result[f"anon_{name}_alone_mb"] = figures["anon_mb"]
    return result


#: The engines whose pipeline peak is measured alone, each in its own process.
ENGINES_BY_PEAK = ("onnx", "dlib")


def pipeline_memory(engine: str, cache: Path, photo_path: Path, threads: int = 1) -> dict[str, float]:
    """Peak RSS of a fresh process that imports what the gate imports, loads `engine` (the onnx graph from
    `cache`, converted already), enrolls 5 frames and verifies 10 times; and its private (anonymous) memory
    at the end, which unlike RSS leaves out pages the kernel can drop and read back (library code, the
    mapped onnx weights)."""
    import json  # noqa: PLC0415
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    # The child imports this very gate package, wherever it was imported from.
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "gate.bench.face", engine, str(cache), str(photo_path), str(threads)],
                          capture_output=True, text=True, timeout=600, check=False, env=env)
    if done.returncode != 0:
        raise FaceUnavailable(f"The {engine} pipeline's memory was not measured: {done.stderr.strip()[-300:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _pipeline_alone(engine_name: str, cache: Path, photo_path: Path, threads: int) -> dict[str, float]:
    import gate.service.builder  # noqa: F401, PLC0415 - what `gate serve` imports, in both engines' processes
    import webui.server  # noqa: F401, PLC0415

    engine = FaceEngine(encoder=engine_name, cache_dir=cache, threads=threads)
    engine.load()
    if engine.encoder_name != engine_name:
        raise FaceUnavailable(f"The {engine_name} engine did not load: {engine.fallback_reason}")
    frame = door_frame(engine, read_image_file(photo_path))
    result = enroll(engine, enrollment_frames(frame))
    for _ in range(10):
        verify_frames(engine, result.encodings, [frame], DEFAULT_THRESHOLD, max_encodes=1)
    # From /proc, not getrusage: a process started by a bigger one inherits its ru_maxrss through exec.
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {"peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1),
            "anon_mb": round(int(status["RssAnon"].split()[0]) / 1024, 1)}


def _run(rounds: int, photo_path: Path | None, engine: FaceEngine) -> dict[str, object]:
    engine.load()
    photo = read_image_file(photo_path or DEFAULT_PHOTO)
    frame = door_frame(engine, photo)
    del photo

    frames = enrollment_frames(frame)
    enroll_ms = []
    for _ in range(3):
        start = time.perf_counter()
        result = enroll(engine, frames)
        enroll_ms.append((time.perf_counter() - start) * 1000)
    if not result.ok:
        raise FaceUnavailable(f"The benchmark frame does not enroll: {'; '.join(result.reasons)}")

    master = MasterKey.generate()
    template_id, pseudonym, version = secrets.token_hex(16), secrets.token_hex(16), engine.model_version
    sealed = crypto.seal(master, template_id, pseudonym, version, result.encodings)
    count = result.encodings.shape[0]

    def verification(with_engine: FaceEngine) -> Callable[[], bool]:
        def verify_once() -> bool:
            template = crypto.open_sealed(master, template_id, pseudonym, version, count,
                                          sealed.nonce, sealed.ciphertext, sealed.wrapped_key)
            return verify_frames(with_engine, template, [frame], DEFAULT_THRESHOLD, max_encodes=1).match

        return verify_once

    ours = verification(engine)
    for _ in range(3):
        ours()
    # High-water mark of our pipeline alone, before the dlib engine and the baseline load their models.
    peak_ours = _peak_rss_mb()
    reference = FaceEngine(encoder="dlib")
    reference.load()
    theirs = verification(reference)
    box = engine.detect(frame)[0]
    chip = [engine.chip(frame, engine.landmarks(frame, box))]
    for _ in range(3):
        theirs()
    peak_with_dlib = _peak_rss_mb()
    locations, encodings = _baseline()

    def baseline() -> int:
        return len(encodings(frame, locations(frame)))

    for _ in range(3):  # warm the baseline's caches too
        baseline()
    ours_ms, dlib_ms, enc_ours_ms, enc_dlib_ms, base_ms, matched = [], [], [], [], [], 0
    for n in range(rounds):
        start = time.perf_counter()
        matched += ours()
        ours_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        matched += theirs()
        dlib_ms.append((time.perf_counter() - start) * 1000)
        enc_ours_ms.append(_time_ms(lambda: engine.encode_chips(chip)))
        enc_dlib_ms.append(_time_ms(lambda: reference.encode_chips(chip)))
        if n % 4 == 0:  # the baseline is slow; a quarter as many samples is plenty for its median
            start = time.perf_counter()
            baseline()
            base_ms.append((time.perf_counter() - start) * 1000)
    return {
        "frame": f"{FRAME_W}x{FRAME_H}",
        "rounds": rounds,
        "engine": engine.encoder_name,  # "dlib" here means onnx fell back: see engine_fallback
        "engine_fallback": engine.fallback_reason,
        "matched": matched,  # both engines' verifications: 2 x rounds when every one matched
        "median_ms": round(statistics.median(ours_ms), 1),
        "p95_ms": round(percentile(ours_ms, 0.95), 1),
        "dlib_verify_median_ms": round(statistics.median(dlib_ms), 1),
        "dlib_verify_p95_ms": round(percentile(dlib_ms, 0.95), 1),
        "encode_median_ms": round(statistics.median(enc_ours_ms), 2),
        "dlib_encode_median_ms": round(statistics.median(enc_dlib_ms), 2),
        # The goal of issue 16: a whole onnx verification within 0.45x of dlib's encoding alone.
        "verify_to_dlib_encode": round(statistics.median(ours_ms) / statistics.median(enc_dlib_ms), 3),
        "baseline_median_ms": round(statistics.median(base_ms), 1),
        "speedup": round(statistics.median(base_ms) / statistics.median(ours_ms), 2),
        "enroll_5_frames_median_ms": round(statistics.median(enroll_ms), 1),
        "peak_rss_mb": round(peak_ours, 1),
        "peak_rss_with_dlib_mb": round(peak_with_dlib, 1),
        "peak_rss_with_baseline_mb": round(_peak_rss_mb(), 1),
        "model_version": version,
    }


def _time_ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


if __name__ == "__main__":  # pipeline_memory's child: ENGINE CACHE PHOTO THREADS
    import json

    print(json.dumps(_pipeline_alone(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))))
