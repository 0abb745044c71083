"""`gate bench upload`: peak memory of one uploaded photo, through the enrollment page's route.

Each case runs in a child process of its own, so one case's allocations cannot hide another's: the
child builds a throw-away installation and the real web app, signs an operator in, and sends one
warm-up picture (the face models load, Flask builds its lazy state). Then it resets the kernel's
resident-set high-water mark (VmHWM, by writing 5 to /proc/self/clear_refs), reads the resident set
as the idle figure, posts the case's picture to POST /residents/<code>/face/check `rounds` times and
reads the high-water mark again. The figure is the high-water mark over idle: what one upload costs.

The pictures are made here: a 36 MP PNG of smooth, compressible content (~2 MB, the finding's
photo), a 12 MP PNG (at the default budget, decoded in full: PNG has no shrunk decoding), a 12 MP
JPEG (decoded at 1/2 scale) and a 640x480 JPEG as the everyday reference (a real face when the
photos folder is there). For comparison, the same run decodes the 36 MP PNG at full size without the
budget, as the upload route did before it had one.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Goal for any one upload the route accepts or refuses, over the idle process.
GOAL_MB = 100.0
CODE = "B1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _gradients(width: int, height: int) -> np.ndarray:
    """A smooth scene: compresses like a photo, not like zeros."""
    x = np.arange(width, dtype=np.uint32)
    y = np.arange(height, dtype=np.uint32)
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = (x[None, :] // 8 + y[:, None] // 8) % 256
    image[..., 1] = ((y // 4) % 256)[:, None]
    image[..., 2] = ((x // 4) % 256)[None, :]
    return image


def synthetic_png(width: int, height: int) -> bytes:
    """A photo-sized PNG that compresses like a smooth scene (gradients, a few noisy rows), not like zeros."""
    import cv2  # noqa: PLC0415

    image = _gradients(width, height)
    rows = range(0, height, 50)
    image[::50, :, 1] = np.random.default_rng(7).integers(0, 256, size=(len(rows), width), dtype=np.uint8)
    ok, encoded = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("OpenCV could not encode the benchmark PNG")
    return encoded.tobytes()


def synthetic_jpeg(width: int, height: int) -> bytes:
    import cv2  # noqa: PLC0415

    image = _gradients(width, height)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("OpenCV could not encode the benchmark JPEG")
    return encoded.tobytes()


def vga_jpeg(faces: Path | None) -> tuple[bytes, str]:
    """640x480: the middle of a real 853x480 face photo when there is one, else synthetic content."""
    photo = faces / "special" / "obama" / "obama-480p.jpg" if faces is not None else None
    if photo is None or not photo.is_file():
        return synthetic_jpeg(640, 480), "synthetic"
    from PIL import Image  # noqa: PLC0415

    with Image.open(photo) as image:
        left = (image.width - 640) // 2
        out = io.BytesIO()
        image.convert("RGB").crop((left, 0, left + 640, 480)).save(out, format="JPEG", quality=90)
    return out.getvalue(), "a real face"


# -- the child ------------------------------------------------------------------------------------

def _status_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {key}")


def _reset_high_water_mark() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")


def _signed_in_client(data_dir: Path) -> tuple[Any, Any]:
    from gate.context import GateContext  # noqa: PLC0415
    from gate.service.demo import publish_demo_notice  # noqa: PLC0415
    from gate.store import consent, operators, residents  # noqa: PLC0415
    from gate.store.models import OperatorRole  # noqa: PLC0415
    from webui import create_app  # noqa: PLC0415

    ctx = GateContext.open(data_dir)
    password = secrets.token_urlsafe(18)
    with ctx.transaction() as session:
        operators.create_operator(session, ctx.hasher, username="bench", password=password,
                                  role=OperatorRole.OPERATOR, actor="bench")
        resident = residents.add_resident(session, code=CODE, name="Bench Resident", actor="bench")
        publish_demo_notice(session, ctx.settings.template_retention_days)  # `gate init` only drafts one
        consent.grant_consent(session, resident, operator="bench", retention_days=30)
    client = create_app(ctx).test_client()

    def token(path: str) -> str:
        match = CSRF_RE.search(client.get(path).get_data(as_text=True))
        if match is None:
            raise RuntimeError(f"no CSRF token on {path}")
        return match.group(1)

    signed_in = client.post("/login", data={"username": "bench", "password": password, "csrf_token": token("/login")})
    if signed_in.status_code != 302:
        raise RuntimeError(f"the bench operator could not sign in ({signed_in.status_code})")
    return ctx, lambda data: client.post(
        f"/residents/{CODE}/face/check", content_type="multipart/form-data",
        data={"frame": (io.BytesIO(data), "photo"), "csrf_token": token(f"/residents/{CODE}/face/capture")})


def child(case: str, picture: Path, warmup: Path, rounds: int, installation: Path) -> dict[str, Any]:
    """One case, measured in this (fresh) process, on a copy of `installation`. `case` "route" posts to
    the web app; "decode_full" calls the decoder at full size without the upload budget."""
    data, warm = picture.read_bytes(), warmup.read_bytes()
    with tempfile.TemporaryDirectory(prefix="gate-bench-upload-") as folder:
        data_dir = Path(folder) / "data"
        shutil.copytree(installation, data_dir)
        ctx, post = _signed_in_client(data_dir)
        try:
            post(warm)  # models, templates and Flask's lazy state: part of idle, not of the upload
            if case == "decode_full":
                from gate.face.images import ImageLimits, decode_image  # noqa: PLC0415

                def send(data: bytes) -> int:
                    decode_image(data, ImageLimits(), max_side=None)
                    return 0  # no request: the decoder alone
            else:
                def send(data: bytes) -> int:
                    return int(post(data).status_code)
            _reset_high_water_mark()
            idle = _status_mb("VmRSS")
            times, statuses = [], []
            for _ in range(rounds):
                start = time.perf_counter()
                statuses.append(send(data))
                times.append((time.perf_counter() - start) * 1000)
            peak = _status_mb("VmHWM")
        finally:
            ctx.close()
    return {"idle_mb": round(idle, 1), "peak_mb": round(peak, 1), "over_idle_mb": round(peak - idle, 1),
            "times_ms": [round(t, 2) for t in times], "statuses": statuses}


def _run_child(case: str, picture: Path, warmup: Path, rounds: int, installation: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "gate.bench.upload", case, str(picture), str(warmup), str(rounds),
                           str(installation)], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the upload benchmark's {case} child failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the parent -----------------------------------------------------------------------------------

#: Every case; `gate bench all --quick` leaves out the 12 MP JPEG (each case is a child process with
#: its own installation and face models: ~20 s on a busy 2-core machine).
CASES = ("png_36mp", "png_12mp", "jpeg_12mp", "jpeg_vga", "png_36mp_full_decode")
QUICK_CASES = ("png_36mp", "png_12mp", "jpeg_vga", "png_36mp_full_decode")


def upload_memory(rounds: int = 3, faces: Path | None = None, cases: tuple[str, ...] = CASES) -> dict[str, Any]:
    """Peak memory over idle per upload case, each in its own child process (Linux: /proc)."""
    from gate.bench.access import summarize  # noqa: PLC0415
    from gate.install import initialise  # noqa: PLC0415

    if not Path("/proc/self/clear_refs").exists():
        raise RuntimeError("gate bench upload reads /proc/self (Linux only)")
    unknown = set(cases) - set(CASES)
    if unknown or "jpeg_vga" not in cases:
        raise ValueError(f"cases are {', '.join(CASES)}, jpeg_vga (the reference) among them")
    vga, vga_content = vga_jpeg(faces)
    big = synthetic_png(7200, 5000) if {"png_36mp", "png_36mp_full_decode"} & set(cases) else b""
    makers = {
        "png_36mp": lambda: ("route", big, "36 MP PNG (7200x5000)"),
        "png_12mp": lambda: ("route", synthetic_png(4000, 3000), "12 MP PNG (4000x3000)"),
        "jpeg_12mp": lambda: ("route", synthetic_jpeg(4000, 3000), "12 MP JPEG (4000x3000)"),
        "jpeg_vga": lambda: ("route", vga, f"640x480 JPEG ({vga_content})"),
        "png_36mp_full_decode": lambda: ("decode_full", big, "36 MP PNG decoded in full, no budget"),
    }
    results: dict[str, Any] = {"goal_mb": GOAL_MB, "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="gate-bench-upload-") as folder:
        installation = Path(folder) / "installation"
        installation.mkdir()
        initialise(installation)  # once; each child works on a copy
        warmup = Path(folder) / "warmup.jpg"
        warmup.write_bytes(vga)
        for name in cases:
            kind, data, label = makers[name]()
            picture = Path(folder) / name
            picture.write_bytes(data)
            measured = _run_child(kind, picture, warmup, rounds, installation)
            results[name] = {"label": label, "file_mb": round(len(data) / 1e6, 2), **measured,
                             "request": summarize(measured.pop("times_ms"))}
    reference = max(results["jpeg_vga"]["over_idle_mb"], 1.0)
    for name in cases:
        results[name]["vs_640x480"] = round(results[name]["over_idle_mb"] / reference, 2)
    return results


def main(argv: list[str]) -> None:
    case, picture, warmup, rounds, installation = argv
    print(json.dumps(child(case, Path(picture), Path(warmup), int(rounds), Path(installation))))


if __name__ == "__main__":
    main(sys.argv[1:])
