"""`gate eval faces`: the figures on ../shared/faces, and the arithmetic behind them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from gate.bench.evaluate import equal_error_rate, threshold_for_fmr
from gate.cli import cli
from gate.face.verify import DEFAULT_THRESHOLD

REQUIRED = {"genuine_pairs", "impostor_pairs", "threshold", "fmr", "fnmr", "eer", "threshold_fmr_1e-3",
            "rejected_photos", "median_ms"}


@pytest.fixture(scope="module")
def figures(faces):
    result = CliRunner().invoke(cli, ["eval", "faces", str(faces / "people"), "--rotate", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.faces
@pytest.mark.slow
def test_eval_on_shared_faces_meets_the_accuracy_goal(figures):
    assert REQUIRED <= figures.keys()
    assert figures["threshold"] == DEFAULT_THRESHOLD
    # --rotate: every photo of the 8 people with 2+ photos is a genuine probe once (20); each photo
    # is an impostor probe against every other enrolled person.
    assert figures["genuine_pairs"] == 20 and figures["impostor_pairs"] >= 150
    assert figures["fmr"] == 0.0, figures["false_accepts"]
    assert figures["fnmr"] <= 0.03, figures["false_rejects"]
    # The default keeps a margin below the closest impostor and above the farthest genuine pair.
    assert figures["max_genuine_distance"] < DEFAULT_THRESHOLD < figures["min_impostor_distance"]
    assert figures["threshold_fmr_1e-3"] > DEFAULT_THRESHOLD
    assert figures["rejected"] == {"collins/astronaut.png": ["move closer"]}
    assert figures["median_ms"] > 0


@pytest.mark.faces
def test_eval_human_output_and_bad_threshold(faces):
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", "faces", str(faces / "people" / "hopkins"), "--threshold", "0.5"])
    assert result.exit_code != 0 and "no person folders" in result.output
    result = runner.invoke(cli, ["eval", "faces", str(faces / "people"), "--threshold", "7"])
    assert result.exit_code != 0 and "threshold" in result.output


def test_threshold_for_fmr_with_few_impostors_accepts_none():
    impostor = np.array([0.9, 0.7, 0.65, 0.8])
    assert threshold_for_fmr(impostor, 1e-3) == 0.649


def test_threshold_for_fmr_with_many_impostors_allows_the_target_share():
    impostor = np.linspace(0.5, 1.5, 2000)  # 0.1% of 2000 = 2 may fall under
    t = threshold_for_fmr(impostor, 1e-3)
    assert (impostor <= t).sum() == 2


def test_equal_error_rate():
    assert equal_error_rate(np.array([0.3, 0.4]), np.array([0.7, 0.8])) == 0.0
    # One genuine at 0.75 among impostors at 0.7 and 0.8: the curves cross at 0.5.
    assert equal_error_rate(np.array([0.3, 0.75]), np.array([0.7, 0.8])) == 0.5
    assert equal_error_rate(np.array([]), np.array([0.7])) is None
