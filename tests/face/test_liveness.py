"""Liveness on real photos: a still photo held up (the same frame repeated) fails; a burst in which
the eyes really close and reopen (synthesised from a real photo, see synth.py) passes."""

from __future__ import annotations

import pytest

from gate.face.enroll import enroll
from gate.face.liveness import EYES_NOT_OPEN, FACE_MOVED, NO_BLINK, NO_TURN, TOO_FEW_FACES, LivenessMode, check
from gate.face.probe import Probe
from gate.face.verify import verify
from tests.face.synth import blink_burst, framed, held_photo

pytestmark = pytest.mark.faces


@pytest.fixture(scope="module")
def door(engine, photo):
    return {name: framed(engine, photo(path)) for name, path in {
        "obama": "special/obama/obama-720p.jpg",
        "leslie": "people/leslie/img2.jpg",
        "obama_left": "people/obama/obama1.jpg",
        "obama_right": "people/obama/obama2.jpg",
    }.items()}


def faces_of(engine, frames):
    return Probe(engine, frames).faces


@pytest.mark.parametrize("who", ["obama", "leslie"])
def test_still_photo_fails_blink(engine, door, who):
    result = check(LivenessMode.BLINK, faces_of(engine, [door[who]] * 7))
    assert not result.passed and result.reason == NO_BLINK
    assert result.figures["drop"] < 0.05


@pytest.mark.parametrize("who", ["obama", "leslie"])
def test_photo_held_by_a_trembling_hand_fails_blink(engine, door, who):
    result = check(LivenessMode.BLINK, faces_of(engine, held_photo(door[who])))
    assert not result.passed and result.reason == NO_BLINK, result.figures


@pytest.mark.parametrize("who", ["obama", "leslie"])
def test_burst_with_a_blink_passes(engine, door, who):
    result = check(LivenessMode.BLINK, faces_of(engine, blink_burst(engine, door[who])))
    assert result.passed, result.figures
    assert result.figures["drop"] > 0.3


def test_eyes_closing_without_opening_again_fails(engine, door):
    burst = blink_burst(engine, door["obama"], openness=(1.0, 1.0, 1.0, 0.6, 0.1))
    assert check(LivenessMode.BLINK, faces_of(engine, burst)).reason == NO_BLINK


def test_photo_with_closed_eyes_fails(engine, door):
    burst = blink_burst(engine, door["obama"], openness=(0.05,) * 6)
    assert check(LivenessMode.BLINK, faces_of(engine, burst)).reason in (EYES_NOT_OPEN, NO_BLINK)


def test_blink_burst_still_verifies(engine, photo, door):
    template = enroll(engine, [photo("people/obama/obama.jpg"), photo("people/obama/obama1.jpg")]).encodings
    probe = Probe(engine, blink_burst(engine, door["obama"]))
    assert check(LivenessMode.BLINK, probe.faces).passed
    assert verify(template, probe).match


def test_too_few_faces(engine, door):
    assert check(LivenessMode.BLINK, faces_of(engine, [door["obama"]] * 2)).reason == TOO_FEW_FACES


def test_face_swapped_mid_burst_fails(engine, door):
    import numpy as np

    shifted = np.roll(door["leslie"], 250, axis=1)  # another face, somewhere else in the frame
    burst = blink_burst(engine, door["obama"])[:4] + [shifted] * 3
    assert check(LivenessMode.BLINK, faces_of(engine, burst)).reason == FACE_MOVED


@pytest.mark.parametrize("noisy", [False, True])
def test_still_photo_fails_head_turn(engine, door, noisy):
    frames = held_photo(door["obama"], 6) if noisy else [door["obama"]] * 6
    result = check(LivenessMode.HEAD_TURN, faces_of(engine, frames))
    assert not result.passed and result.reason == NO_TURN


def test_head_turn_from_real_photos_passes(engine, door):
    """No video exists, so the turn is three real photos of one man at different yaws, each framed
    as the same 640x480 shot: frontal, turned, frontal."""
    burst = [door["obama"]] * 2 + [door["obama_left"]] * 2 + [door["obama"]] * 2
    faces = faces_of(engine, burst)
    assert check(LivenessMode.HEAD_TURN, faces).passed
    assert check(LivenessMode.HEAD_TURN, faces, direction="left").passed
    assert not check(LivenessMode.HEAD_TURN, faces, direction="right").passed
    other_way = faces_of(engine, [door["obama"]] * 2 + [door["obama_right"]] * 2 + [door["obama"]] * 2)
    assert check(LivenessMode.HEAD_TURN, other_way, direction="right").passed


def test_turn_without_coming_back_fails(engine, door):
    faces = faces_of(engine, [door["obama"]] * 3 + [door["obama_left"]] * 3)
    assert check(LivenessMode.HEAD_TURN, faces).reason == NO_TURN


def test_off_passes_and_unknown_mode_is_an_error():
    assert check("none", []).passed
    with pytest.raises(ValueError):
        check("wink", [])


def test_blink_through_sensor_noise_passes(engine, door):
    frames = [held_photo(frame, 1, seed)[0] for seed, frame in enumerate(blink_burst(engine, door["leslie"]))]
    assert check(LivenessMode.BLINK, faces_of(engine, frames)).passed


# -- enrollment from a camera burst (S4) ----------------------------------------------------------

@pytest.mark.parametrize("mode", [LivenessMode.BLINK, LivenessMode.HEAD_TURN])
def test_enrollment_with_a_challenge_refuses_a_held_photo(engine, door, mode):
    result = enroll(engine, held_photo(door["obama"], count=10), challenge=mode)
    assert not result.ok and result.encodings.shape == (0, 128)
    assert result.reasons[0].startswith(f"the {mode.value.replace('_', ' ')} check was not passed (")
    assert "a photo or a screen held up to the camera cannot enroll" in result.reasons[0]


def test_enrollment_with_a_blink_challenge_takes_a_burst_that_blinks(engine, door):
    result = enroll(engine, blink_burst(engine, door["obama"]), challenge=LivenessMode.BLINK)
    assert result.ok and result.encodings.shape[0] >= 1
    assert result.quality["liveness_drop"] > 0.3


def test_uploaded_photos_are_enrolled_without_a_challenge(engine, door):
    assert enroll(engine, [door["obama"]] * 3).ok  # the operator's path: photos, not a burst


def test_camera_enrollment_is_never_without_a_challenge():
    from gate.face.liveness import for_enrollment

    assert for_enrollment("none") is LivenessMode.BLINK
    assert for_enrollment("head_turn") is LivenessMode.HEAD_TURN
    with pytest.raises(ValueError):
        for_enrollment("smile")
