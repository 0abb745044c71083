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


@click.command("face")
@click.option("--rounds", type=click.IntRange(5, 1000), default=40, show_default=True)
@click.option("--photo", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Photo to cut the 640x480 frame from (default: ../shared/faces/special/obama/obama-720p.jpg).")
@click.option("--json", "as_json", is_flag=True)
def bench_face(rounds: int, photo: Path | None, as_json: bool) -> None:
    """One 1:1 verification from a 640x480 frame: median, p95, peak memory, and plain
    face_recognition on the same frame for comparison."""
    from gate.bench.face import DEFAULT_PHOTO, run

    if photo is None and not DEFAULT_PHOTO.is_file():
        raise click.UsageError(f"{DEFAULT_PHOTO} is not there; pass --photo with a frontal face photo.")
    result = run(rounds, photo)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"verify 1:1 from {result['frame']}: median {result['median_ms']} ms, p95 {result['p95_ms']} ms "
               f"({result['rounds']} rounds)")
    click.echo(f"plain face_recognition, same frame: median {result['baseline_median_ms']} ms "
               f"({result['speedup']}x slower than ours)")
    click.echo(f"enrollment from 5 frames: {result['enroll_5_frames_median_ms']} ms; "
               f"peak RSS {result['peak_rss_mb']} MB")


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
