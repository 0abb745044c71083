"""`gate bench face` runs and reports its figures; speed targets are read from its output, not asserted."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gate.cli import cli

pytestmark = [pytest.mark.faces, pytest.mark.slow]


def test_bench_face_json(faces):
    result = CliRunner().invoke(cli, ["bench", "face", "--rounds", "5", "--json",
                                      "--photo", str(faces / "special" / "obama" / "obama-720p.jpg")])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert {"median_ms", "p95_ms", "peak_rss_mb", "baseline_median_ms", "dlib_verify_median_ms",
            "encode_median_ms", "dlib_encode_median_ms", "verify_to_dlib_encode",
            "peak_rss_with_dlib_mb"} <= figures.keys()
    assert figures["frame"] == "640x480" and figures["engine"] == "onnx" and figures["engine_fallback"] is None
    assert figures["matched"] == 2 * figures["rounds"] == 10  # every timed verification, both engines, matched
    assert 0 < figures["median_ms"] <= figures["p95_ms"]
    assert 0 < figures["dlib_verify_median_ms"] <= figures["dlib_verify_p95_ms"]
    assert figures["encode_median_ms"] > 0 and figures["dlib_encode_median_ms"] > 0
    assert figures["peak_rss_mb"] <= figures["peak_rss_with_dlib_mb"] <= figures["peak_rss_with_baseline_mb"]
    assert figures["peak_rss_mb"] > 50 and figures["enroll_5_frames_median_ms"] > 0
    # each engine's pipeline alone, in its own fresh process, in the same run: both read, neither asserted
    for engine in ("onnx", "dlib"):
        assert figures[f"peak_rss_{engine}_alone_mb"] > figures[f"anon_{engine}_alone_mb"] > 50


def test_bench_face_refuses_a_photo_without_a_face(faces):
    result = CliRunner().invoke(cli, ["bench", "face", "--rounds", "5",
                                      "--photo", str(faces / "special" / "obama" / "obama-240p.jpg")])
    assert result.exit_code != 0
