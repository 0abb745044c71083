"""1:1 verification on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from gate.face import quality
from gate.face.enroll import enroll
from gate.face.probe import Probe
from gate.face.verify import DEFAULT_THRESHOLD, verify, verify_frames

pytestmark = pytest.mark.faces


@pytest.fixture(scope="module")
def obama_template(engine, photo):
    result = enroll(engine, [photo("people/obama/obama.jpg"), photo("people/obama/obama1.jpg")])
    assert result.ok
    return result.encodings


def test_genuine_probe_matches(engine, photo, obama_template):
    result = verify_frames(engine, obama_template, [photo("people/obama/obama3.jpg")])
    assert result.match and result.distance < DEFAULT_THRESHOLD
    assert result.threshold == DEFAULT_THRESHOLD and result.reasons == []


def test_impostor_probe_does_not_match(engine, photo, obama_template):
    result = verify_frames(engine, obama_template, [photo("people/biden/biden2.jpg")])
    assert not result.match and result.distance > DEFAULT_THRESHOLD
    assert result.reasons == ["face does not match"]


def test_threshold_is_per_call(engine, photo, obama_template):
    probe = Probe(engine, [photo("people/obama/obama3.jpg")])
    loose = verify(obama_template, probe, 0.6)
    strict = verify(obama_template, probe, 0.2)
    assert loose.match and not strict.match and loose.distance == strict.distance


def test_door_sized_frame_matches(engine, photo, obama_template):
    """The 640x480-class frames the gate sees go through the coarse half-size search."""
    result = verify_frames(engine, obama_template, [photo("special/obama/obama-480p.jpg")])
    assert result.match


def test_no_usable_frame_gives_reasons_not_a_distance(engine, photo, obama_template):
    result = verify_frames(engine, obama_template, [photo("special/multi/obama_and_biden.jpg"), b"nonsense" * 20])
    assert not result.match and result.distance is None and result.frames_used == 0
    assert quality.MANY_FACES in result.reasons


def test_best_of_burst_stops_at_first_match(engine, photo, obama_template):
    frames = [photo("people/obama/obama3.jpg"), photo("people/obama/obama2.jpg")]
    result = verify_frames(engine, obama_template, frames, max_encodes=2)
    assert result.match and result.frames_used == 1


def test_bad_template_and_threshold_are_clear_errors(engine, photo, obama_template):
    probe = Probe(engine, [photo("people/obama/obama3.jpg")])
    with pytest.raises(ValueError, match="128"):
        verify(np.zeros((2, 64), np.float32), probe)
    with pytest.raises(ValueError, match="finite"):
        verify(np.full((1, 128), np.nan, np.float32), probe)
    with pytest.raises(ValueError, match="threshold"):
        verify(obama_template, probe, 5.0)


def test_concurrent_verifications_agree_with_sequential(engine, photo, obama_template):
    import threading

    frames = {"genuine": photo("people/obama/obama3.jpg"), "impostor": photo("people/biden/biden2.jpg")}
    expected = {k: verify_frames(engine, obama_template, [f]).distance for k, f in frames.items()}
    got: dict[str, float] = {}

    def verify_one(k: str, f: np.ndarray) -> None:
        got[k] = verify_frames(engine, obama_template, [f]).distance

    threads = [threading.Thread(target=verify_one, args=(k, f)) for k, f in frames.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected
