"""`gate bench all`: every benchmark, one after the other, summed up in one table.

Each benchmark still builds its own throw-away installation and simulators; this module only picks
the round counts (`quick` for a smoke run) and turns their results into rows of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: Benchmarks in the order they run; a row's name starts with its benchmark's name.
BENCHMARKS = ("access", "relay", "gate", "face", "halfopen", "upload", "offline")


@dataclass(frozen=True)
class Row:
    name: str
    n: int
    median_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Rounds:
    access: int
    relay: int
    gate: int
    gate_face: int
    face: int
    halfopen: int
    upload: int
    upload_cases: tuple[str, ...]
    offline: int

    @classmethod
    def for_run(cls, quick: bool) -> Rounds:
        # Quick: enough samples for a median that means something, not for a p99.
        from gate.bench.upload import CASES, QUICK_CASES

        return cls(40, 10, 8, 3, 5, 12, 1, QUICK_CASES, 8) if quick else cls(200, 50, 50, 10, 40, 60, 3, CASES, 30)


def _row(name: str, figures: dict[str, Any], note: str = "") -> Row:
    return Row(name, int(figures["n"]), figures.get("median_ms"), figures.get("p95_ms"), figures.get("p99_ms"), note)


def _skipped(name: str, why: str) -> Row:
    return Row(name, 0, None, None, None, f"skipped: {why}")


def access_rows(rounds: Rounds, faces: Path | None) -> list[Row]:
    from gate.bench.access import access_decisions

    result = access_decisions(rounds.access)
    return [_row("access card decision", result["card_decision"]),
            _row("access PIN decision", result["pin_decision"], "argon2id check")]


def relay_rows(rounds: Rounds, faces: Path | None) -> list[Row]:
    from gate.bench.relay import card_to_relay

    result = card_to_relay(rounds.relay, reader="osdp")
    return [_row("relay card to pulse (drivers only)", result, f"osdp; lost {result['lost']}")]


def gate_rows(rounds: Rounds, faces: Path | None) -> list[Row]:
    from gate.bench.gate import gate_latency

    result = gate_latency(rounds.gate, rounds.gate_face, faces)
    rows = [_row("gate card to relay", result["card_to_relay"]), _row("gate PIN to relay", result["pin_to_relay"])]
    if "face_to_relay" in result:
        face = result["face_to_relay"]
        rows.append(_row("gate face to relay", face, f"refused {face['refused']}"))
    else:
        rows.append(_skipped("gate face to relay", "no face photos folder"))
    return rows


def face_rows(rounds: Rounds, faces: Path | None) -> list[Row]:
    photo = faces / "special" / "obama" / "obama-720p.jpg" if faces is not None else None
    if photo is None or not photo.is_file():
        return [_skipped(f"face verify 1:1 (640x480, {engine})", "no face photos folder")
                for engine in ("onnx", "dlib")]
    from gate.bench.face import run

    result: dict[str, Any] = run(rounds.face, photo)
    return [Row(f"face verify 1:1 (640x480, {result['engine']})", int(result["rounds"]), result["median_ms"],
                result["p95_ms"], None,
                f"plain face_recognition {result['speedup']}x slower; peak RSS {result['peak_rss_mb']} MB"),
            Row("face verify 1:1 (640x480, dlib)", int(result["rounds"]), result["dlib_verify_median_ms"],
                result["dlib_verify_p95_ms"], None, f"dlib encoding alone {result['dlib_encode_median_ms']} ms")]


def halfopen_rows(rounds: Rounds, faces: Path | None) -> list[Row]:
    from gate.bench.halfopen import halfopen_latency

    result = halfopen_latency(rounds.halfopen)
    n, held = result["connections"], result["held"]
    return [
        _row("halfopen card to relay, none held", result["card_to_relay"]),
        _row(f"halfopen card to relay, {n} held", result["card_to_relay_half_open"],
             f"{result['ratio_median']:.2f}x median, {result['ratio_p99']:.2f}x p99 (goal 1.2x); {held}/{n} held"),
        _row("halfopen GET /health, none held", result["health"]),
        _row(f"halfopen GET /health, {n} held", result["health_half_open"]),
    ]


def upload_rows(rounds: Rounds, faces: Path | None) -> list[Row]:
    from gate.bench.upload import upload_memory

    result = upload_memory(rounds.upload, faces, rounds.upload_cases)
    big, png, vga = result["png_36mp"], result["png_12mp"], result["jpeg_vga"]
    return [_row("upload 36 MP PNG (peak RSS over idle)", big["request"],
                 f"+{big['over_idle_mb']:.1f} MB, HTTP {big['statuses'][0]} (goal {result['goal_mb']:.0f} MB); "
                 f"12 MP PNG +{png['over_idle_mb']:.1f} MB, 640x480 JPEG +{vga['over_idle_mb']:.1f} MB; "
                 f"decoded in full +{result['png_36mp_full_decode']['over_idle_mb']:.1f} MB")]


def offline_rows(rounds: Rounds, faces: Path | None) -> list[Row]:
    from gate.bench.offline import offline_latency

    result = offline_latency(rounds.offline)
    return [
        _row("offline card to relay, file free", result["card_to_relay"]),
        _row("offline card to relay, file locked", result["card_to_relay_locked"],
             f"{result['ratio_median']:.2f}x median (goal <= {result['goal_median_ms']:.0f} ms); "
             f"first card {result['first_card_locked_ms']:.0f} ms"),
    ]


RUNNERS: dict[str, Callable[[Rounds, Path | None], list[Row]]] = {
    "access": access_rows, "relay": relay_rows, "gate": gate_rows, "face": face_rows, "halfopen": halfopen_rows,
    "upload": upload_rows,
    "offline": offline_rows,
}


def run_all(quick: bool, faces: Path | None, progress: Callable[[str], None] = lambda _: None) -> list[Row]:
    rounds = Rounds.for_run(quick)
    rows: list[Row] = []
    for name in BENCHMARKS:
        progress(name)
        rows += RUNNERS[name](rounds, faces)
    return rows


def format_table(rows: list[Row]) -> str:
    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"

    header = ("benchmark", "n", "median ms", "p95 ms", "p99 ms", "notes")
    cells = [header] + [(r.name, str(r.n), ms(r.median_ms), ms(r.p95_ms), ms(r.p99_ms), r.note) for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header) - 1)]
    lines = []
    for k, line in enumerate(cells):
        # The notes column goes last and unpadded, so only the figures before it are aligned.
        padded = zip(line[:-1], widths, strict=True)
        text = "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(padded))
        lines.append(f"{text}  {line[-1]}".rstrip())
        if k == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)
