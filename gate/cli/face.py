"""`gate eval faces DIR` and `gate bench face`: accuracy and speed figures from the product itself."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gate.face.verify import DEFAULT_THRESHOLD


@click.group("eval")
def eval_group() -> None:
    """Accuracy evaluations on your own data."""


@eval_group.command("faces")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--threshold", type=float, default=DEFAULT_THRESHOLD, show_default=True,
              help="Distance at or under which a probe matches (lower is stricter).")
@click.option("--enroll-photos", type=click.IntRange(1, 5), default=2, show_default=True,
              help="Photos per person used for the template (always leaving one to probe with).")
@click.option("--rotate", is_flag=True,
              help="Also probe with each enrollment photo, against a template from the person's other photos.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_faces(directory: Path, threshold: float, enroll_photos: int, rotate: bool, as_json: bool) -> None:
    """Enroll each person in DIRECTORY (one folder per person) and verify every photo 1:1 against
    every enrolled person. Prints FMR, FNMR, EER and the threshold for FMR <= 0.1%."""
    from gate.bench.evaluate import evaluate
    from gate.face.engine import FaceEngine
    from gate.face.verify import check_threshold

    try:
        check_threshold(threshold)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--threshold") from err
    report = evaluate(FaceEngine(), directory, threshold, enroll_photos, rotate=rotate)
    summary = report.summary()
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"people {summary['people']}, enrolled {summary['enrolled_people']}; "
               f"pairs: {summary['genuine_pairs']} genuine, {summary['impostor_pairs']} impostor")
    click.echo(f"threshold {summary['threshold']:.3f}: FMR {summary['fmr']:.4f}  FNMR {summary['fnmr']:.4f}  "
               f"EER {_fmt(summary['eer'])}")
    click.echo(f"threshold for FMR <= 0.1%: {_fmt(summary['threshold_fmr_1e-3'])} "
               f"(one impostor pair is {_fmt(summary['fmr_resolution'])} of FMR here)")
    click.echo(f"closest impostor {_fmt(summary['min_impostor_distance'])}, "
               f"farthest genuine {_fmt(summary['max_genuine_distance'])}")
    click.echo(f"rejected photos {summary['rejected_photos']}; median verification {_fmt(summary['median_ms'])} ms")
    # The report itself, not its JSON-shaped summary, for the lists (typed).
    for photo, reasons in report.rejected.items():
        click.echo(f"  rejected {photo}: {'; '.join(reasons)}")
    errors = [(p, who, d) for p, who, d in report.impostor if d <= threshold]  # false accepts
    errors += [(p, who, d) for p, who, d in report.genuine if d > threshold]  # false rejects
    for probe, who, distance in errors:
        click.echo(f"  error {probe} vs {who}: {distance:.3f}")


@eval_group.command("liveness")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--frames", type=click.IntRange(4, 30), default=15, show_default=True,
              help="Frames per burst (the gate takes 15 for a challenge).")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the jitter, so a run repeats.")
@click.option("--bursts", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Genuine bursts for BPCER: BURSTS/<blink|head_turn>/<burst>/<frames in name order>.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_liveness(directory: Path, frames: int, seed: int, bursts: Path | None, as_json: bool) -> None:
    """Hold every photo in DIRECTORY up to a simulated gate camera, still and in a trembling hand, and
    count how many the blink and head-turn challenges accept (APCER, ISO/IEC 30107-3)."""
    from gate.bench.liveness import evaluate
    from gate.face.engine import FaceEngine

    summary = evaluate(FaceEngine(), directory, frames, seed, bursts).summary()
    click.echo(json.dumps(summary) if as_json else render_liveness(summary))


def render_liveness(summary: dict) -> str:
    """The plain-text table of `gate eval liveness`."""
    head = f"{'presented':>9} {'not acq.':>8} {'accepted':>8} {{rate:>7}} {'95% upper':>9}"
    lines = [f"{summary['photos']} photos, {summary['frames_per_burst']} frames per burst, seed {summary['seed']}",
             f"{'attack (PAI species)/challenge':32} " + head.format(rate="APCER")]
    lines += [_rate_row(key, row) for key, row in summary["apcer"].items()]
    if summary["bpcer"]:
        lines.append(f"{'bona fide/challenge':32} " + head.format(rate="BPCER"))
        lines += [_rate_row(key, row) for key, row in summary["bpcer"].items()]
    else:
        lines.append("BPCER: not measured (no genuine bursts; pass --bursts with recordings of real people)")
    lines += [f"  attack accepted {item}" for item in summary["accepted_attacks"]]
    lines += [f"  bona fide refused {item}" for item in summary["refused_bona_fide"]]
    lines += [f"  not used {photo}: {reason}" for photo, reason in summary["unreadable"].items()]
    return "\n".join(lines)


def _rate_row(key: str, row: dict) -> str:
    rate = "n/a" if row["rate"] is None else f"{row['rate']:.4f}"
    upper = "n/a" if row["upper_95"] is None else f"{row['upper_95']:.4f}"
    return (f"{key:32} {row['presented']:>9} {row['not_acquired']:>8} {row['accepted']:>8} "
            f"{rate:>7} {upper:>9}")


@click.command("face")
@click.option("--rounds", type=click.IntRange(5, 1000), default=40, show_default=True)
@click.option("--photo", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Photo to cut the 640x480 frame from (default: ../shared/faces/special/obama/obama-720p.jpg).")
@click.option("--threads", type=click.IntRange(1, 16), default=1, show_default=True,
              help="onnxruntime threads per encoding ([face] threads).")
@click.option("--json", "as_json", is_flag=True)
def bench_face(rounds: int, photo: Path | None, threads: int, as_json: bool) -> None:
    """One 1:1 verification from a 640x480 frame with the onnx and the dlib engine, each encoder alone,
    median, p95, peak memory, and plain face_recognition on the same frame for comparison."""
    from gate.bench.face import DEFAULT_PHOTO, run

    if photo is None and not DEFAULT_PHOTO.is_file():
        raise click.UsageError(f"{DEFAULT_PHOTO} is not there; pass --photo with a frontal face photo.")
    result = run(rounds, photo, threads=threads)
    if as_json:
        click.echo(json.dumps(result))
        return
    if result["engine_fallback"]:
        click.echo(f"onnx engine unavailable, both rows run dlib: {result['engine_fallback']}")
    click.echo(f"verify 1:1 from {result['frame']}, {result['engine']} engine: median {result['median_ms']} ms, "
               f"p95 {result['p95_ms']} ms ({result['rounds']} rounds)")
    click.echo(f"verify 1:1, dlib engine: median {result['dlib_verify_median_ms']} ms, "
               f"p95 {result['dlib_verify_p95_ms']} ms")
    click.echo(f"encoding alone: {result['engine']} {result['encode_median_ms']} ms, "
               f"dlib {result['dlib_encode_median_ms']} ms; {result['engine']} verification / dlib encoding "
               f"= {result['verify_to_dlib_encode']}")
    click.echo(f"plain face_recognition, same frame: median {result['baseline_median_ms']} ms "
               f"({result['speedup']}x slower than ours)")
    click.echo(f"enrollment from 5 frames: {result['enroll_5_frames_median_ms']} ms; "
               f"peak RSS {result['peak_rss_mb']} MB ({result['peak_rss_with_dlib_mb']} MB with the dlib engine, "
               f"{result['peak_rss_with_baseline_mb']} MB with face_recognition)")
    click.echo(f"each pipeline alone in its own process: peak RSS onnx {result['peak_rss_onnx_alone_mb']} MB, "
               f"dlib {result['peak_rss_dlib_alone_mb']} MB; anonymous memory onnx {result['anon_onnx_alone_mb']} MB, "
               f"dlib {result['anon_dlib_alone_mb']} MB")


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
