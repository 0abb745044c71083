"""`gate eval liveness DIR`: the ISO/IEC 30107-3 arithmetic with a stub detector and judge, and one short
run of the command on two real photos (copied into a temporary folder, never into the repository)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gate.bench.liveness import Presentation, evaluate, tally, upper_bound
from gate.cli import cli
from gate.cli.face import render_liveness
from gate.face.engine import Box


class StubEngine:
    """Finds one 100 px face in the middle of any picture."""

    def detect(self, rgb: np.ndarray, scale: float = 1.0, roi: object = None) -> list[Box]:
        return [Box(50, 50, 150, 150, 1.0)]


def stub_judge(burst: list[np.ndarray]) -> dict[str, tuple[bool, bool]]:
    """A still burst (one frame repeated) is seen but refused by blink and not acquired by head turn;
    a moving burst is accepted by blink and refused by head turn."""
    still = all(frame is burst[0] for frame in burst)
    if still:
        return {"blink": (True, False), "head_turn": (False, False)}
    return {"blink": (True, True), "head_turn": (True, False)}


def _png(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def test_counts_and_rates_per_species_and_challenge(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for i in range(3):
        _png(photos / f"p{i}" / "a.png", i)
    (photos / "junk.jpg").write_bytes(b"not a picture")
    bursts = tmp_path / "bursts"
    for i in range(4):
        _png(bursts / "blink" / "b1" / f"{i:02}.png", 10 + i)
    report = evaluate(StubEngine(), photos, frames=5, bursts=bursts, judge_burst=stub_judge)  # type: ignore[arg-type]
    summary = report.summary()
    assert summary["photos"] == 3 and list(summary["unreadable"]) == ["junk.jpg"]  # type: ignore[call-overload]
    apcer = summary["apcer"]
    assert apcer == {
        "jittered_photo/blink": {"presented": 3, "not_acquired": 0, "accepted": 3, "rate": 1.0, "upper_95": 1.0},
        "jittered_photo/head_turn": {"presented": 3, "not_acquired": 0, "accepted": 0, "rate": 0.0,
                                     "upper_95": round(upper_bound(0, 3), 4)},
        "still_photo/blink": {"presented": 3, "not_acquired": 0, "accepted": 0, "rate": 0.0,
                              "upper_95": round(upper_bound(0, 3), 4)},
        "still_photo/head_turn": {"presented": 3, "not_acquired": 3, "accepted": 0, "rate": None, "upper_95": None},
    }
    # The genuine blink burst is accepted by blink: no bona fide error; head turn had no bursts.
    assert summary["bpcer"] == {"blink": {"presented": 1, "not_acquired": 0, "accepted": 1, "rate": 0.0,
                                          "upper_95": round(upper_bound(0, 1), 4)}}


    assert summary["accepted_attacks"] == [f"jittered_photo/blink: p{i}/a.png" for i in range(3)]
    assert summary["refused_bona_fide"] == []
    text = render_liveness(summary)
    assert "  attack accepted jittered_photo/blink: p0/a.png" in text
    assert "attack (PAI species)/challenge   presented not acq. accepted   APCER 95% upper" in text
    assert "jittered_photo/blink                     3        0        3  1.0000    1.0000" in text
    assert "still_photo/head_turn                    3        3        0     n/a       n/a" in text
    assert "bona fide/challenge" in text and "not used junk.jpg: " in text
    summary["bpcer"] = {}
    assert "BPCER: not measured" in render_liveness(summary)


def test_bpcer_counts_refusals_and_apcer_counts_acceptances() -> None:
    genuine = [Presentation("bona_fide", "blink", str(i), True, i < 3) for i in range(4)]
    assert tally(genuine, bona_fide=True)["blink"]["rate"] == 0.25
    assert tally(genuine, bona_fide=False)["bona_fide/blink"]["rate"] == 0.75


def test_upper_bound_is_the_clopper_pearson_one_sided_95() -> None:
    assert upper_bound(0, 24) == pytest.approx(1 - 0.05 ** (1 / 24), abs=1e-6)  # ~0.117, about 3/n
    assert upper_bound(24, 24) == 1.0
    assert 0.5 < upper_bound(12, 24) < 0.7


@pytest.mark.faces
def test_eval_liveness_on_two_real_photos(faces: Path, tmp_path: Path, engine) -> None:
    from gate.face.images import read_image_file
    from tests.face.synth import blink_burst, framed

    photos = tmp_path / "photos"
    photos.mkdir()
    for relative in ("people/obama/obama.jpg", "people/leslie/img2.jpg"):
        shutil.copy(faces / relative, photos / Path(relative).name)
    burst_dir = tmp_path / "bursts" / "blink" / "obama"
    burst_dir.mkdir(parents=True)
    frame = framed(engine, read_image_file(faces / "special" / "obama" / "obama-720p.jpg"))
    for i, rgb in enumerate(blink_burst(engine, frame)):
        Image.fromarray(rgb).save(burst_dir / f"{i:02}.png")
    result = CliRunner().invoke(cli, ["eval", "liveness", str(photos), "--frames", "6", "--bursts",
                                      str(tmp_path / "bursts"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["photos"] == 2 and summary["frames_per_burst"] == 6
    assert set(summary["apcer"]) == {f"{species}/{mode}" for species in ("still_photo", "jittered_photo")
                                     for mode in ("blink", "head_turn")}
    for row in summary["apcer"].values():
        assert row["presented"] == 2 and row["not_acquired"] + row["accepted"] <= 2
    assert summary["apcer"]["still_photo/blink"]["accepted"] == 0  # what S4 is about
    assert summary["bpcer"]["blink"]["presented"] == 1 and "head_turn" not in summary["bpcer"]
