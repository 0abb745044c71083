"""Face at the gate with real photos: match, mismatch then PIN, no consent, camera dead, model missing,
key file missing. Photos come from ../shared/faces and are never copied into the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.core import machine as m
from gate.core.decision import Reason
from gate.face.engine import FaceEngine, ModelPaths
from gate.face.enroll import enroll
from gate.face.images import read_image_file
from gate.store import consent, gates, residents
from tests.service.conftest import CARD, CODE, PIN, Gate, allow_face
from tests.store.helpers import random_encodings

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"

pytestmark = pytest.mark.faces


@pytest.fixture(scope="module")
def photos() -> Path:
    if not (FACES / "people" / "obama").is_dir():
        pytest.skip(f"real face photos not found at {FACES} (the shared/ folder beside the checkout)")
    return FACES / "people"


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    engine = FaceEngine()
    if not engine.available:
        pytest.skip("the face model (dlib + face_recognition_models) is not installed")
    return engine



def enroll_resident(gate: Gate, engine: FaceEngine, photo: Path) -> None:
    result = enroll(engine, [read_image_file(photo)])
    assert result.ok
    with gate.ctx.transaction() as session:
        resident = residents.get_resident(session, CODE)
        consent.grant_consent(session, resident, operator="test", retention_days=365)
        gate.ctx.store.save(session, resident, result.encodings, engine.model_version)


def face_by_code(gate: Gate) -> None:
    gate.runtime.post(m.Choose("face"))
    gate.runtime.post(m.EnterCode(CODE))


def wait_reason(gate: Gate, reason: Reason) -> None:
    assert gate.wait_for(lambda: gate.last_access().get("reason") == reason.value), (
        gate.runtime.snapshot().last_events[:3], gate.runtime.snapshot().camera)


def test_face_match_opens(gate_factory, photos: Path, engine: FaceEngine, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=engine)
    allow_face(gate, tmp_path)
    enroll_resident(gate, engine, photos / "obama" / "obama.jpg")
    gate.rig.show_photo(read_image_file(photos / "obama" / "obama2.jpg"), "obama2")
    assert "face" in gate.runtime.snapshot().offered
    face_by_code(gate)
    wait_reason(gate, Reason.GRANTED)
    assert gate.last_access()["method"] == "face"
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.runtime.snapshot().camera.opens == 1
    assert not gate.runtime.snapshot().camera_on


def test_face_mismatch_then_pin(gate_factory, photos: Path, engine: FaceEngine, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=engine)
    allow_face(gate, tmp_path)
    enroll_resident(gate, engine, photos / "obama" / "obama.jpg")
    gate.rig.show_photo(read_image_file(photos / "biden" / "biden.jpg"), "biden")
    face_by_code(gate)
    wait_reason(gate, Reason.FACE_MISMATCH)
    snap = gate.runtime.snapshot()
    assert snap.phase == "refusal" and {"card", "pin"} <= set(snap.offered)
    assert gate.releases() == 0
    gate.runtime.post(m.Choose("pin"))
    gate.runtime.post(m.EnterPin(PIN))
    wait_reason(gate, Reason.GRANTED)
    assert gate.wait_for(lambda: gate.releases() >= 1)


def test_no_consent_tells_how_to_enroll_and_captures_nothing(gate_factory, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=None)
    allow_face(gate, tmp_path)
    face_by_code(gate)
    wait_reason(gate, Reason.NO_CONSENT)
    # The event is remembered while the precheck runs; the screen changes when its result is handled.
    assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "refusal")
    snap = gate.runtime.snapshot()
    assert "enroll" in snap.message and snap.offered == ["card", "pin"]
    assert snap.camera.opens == 0


def test_card_and_pin_never_read_a_frame(gate_factory, photos: Path, engine: FaceEngine, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=engine)
    allow_face(gate, tmp_path)
    enroll_resident(gate, engine, photos / "obama" / "obama.jpg")
    gate.rig.show_photo(read_image_file(photos / "obama" / "obama2.jpg"), "obama2")
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    gate.runtime.post(m.EnterCode(CODE))
    gate.runtime.post(m.EnterPin(PIN))
    assert gate.wait_for(lambda: gate.last_access().get("method") == "pin")
    camera = gate.runtime.snapshot().camera
    assert camera.opens == 0 and camera.frames_read == 0


def test_camera_dead_offers_card_and_pin_at_once(gate_factory, photos: Path, engine: FaceEngine,
                                                  tmp_path: Path) -> None:
    gate = gate_factory(face_engine=engine, camera=f"folder:{tmp_path / 'no-such-camera'}")
    allow_face(gate, tmp_path)
    enroll_resident(gate, engine, photos / "obama" / "obama.jpg")
    face_by_code(gate)
    wait_reason(gate, Reason.FACE_UNAVAILABLE)
    assert {"card", "pin"} <= set(gate.runtime.snapshot().offered)
    gate.pin_on_screen(CODE, PIN)
    assert gate.wait_for(lambda: gate.releases() >= 1)


def test_camera_fault_is_an_alarm_until_the_camera_works_again(gate_factory, photos: Path, engine: FaceEngine,
                                                               tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "camera"
    gate = gate_factory(face_engine=engine, camera=f"folder:{folder}")
    allow_face(gate, tmp_path)
    enroll_resident(gate, engine, photos / "obama" / "obama.jpg")
    face_by_code(gate)
    wait_reason(gate, Reason.FACE_UNAVAILABLE)
    snap = gate.runtime.snapshot()
    assert "camera_fault" in snap.alarms and snap.camera.last_error
    # Only the face ways are asserted: a loaded machine can drop the simulated reader's link, which
    # rightly marks card and PIN degraded too; that card still opens is checked just below.
    assert {"face", "card+face"} <= set(snap.degraded)
    gate.card(CARD)  # card keeps working meanwhile
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "idle")
    folder.mkdir()  # the camera is back
    for i in range(5):
        shutil.copy(photos / "obama" / "obama2.jpg", folder / f"frame{i}.jpg")
    face_by_code(gate)
    assert gate.wait_for(lambda: gate.last_access().get("method") == "face"
                         and gate.last_access().get("reason") == Reason.GRANTED.value)
    snap = gate.runtime.snapshot()
    # (a loaded machine can drop the simulated reader's link: only the face ways are asserted)
    assert "camera_fault" not in snap.alarms and snap.camera.last_error is None
    assert not {"face", "card+face"} & set(snap.degraded)


def test_model_missing_card_still_works(gate_factory, tmp_path: Path) -> None:
    missing = FaceEngine(ModelPaths(tmp_path / "a.dat", tmp_path / "b.dat"))
    gate = gate_factory(face_engine=missing)
    allow_face(gate, tmp_path)
    with gate.ctx.transaction() as session:
        resident = residents.get_resident(session, CODE)
        consent.grant_consent(session, resident, operator="test", retention_days=365)
        # A real stored template (random encodings): only the model is missing.
        gate.ctx.store.save(session, resident, random_encodings(), "dlib-test")
    assert gate.wait_for(lambda: gate.runtime.snapshot().face_model.state == "unavailable")
    face_by_code(gate)
    wait_reason(gate, Reason.FACE_UNAVAILABLE)
    gate.pin_on_screen(CODE, PIN)
    assert gate.wait_for(lambda: gate.releases() >= 1)


def test_key_file_missing_face_unavailable_card_and_pin_work(gate_factory, photos: Path, engine: FaceEngine,
                                                             tmp_path: Path) -> None:
    gate = gate_factory(face_engine=engine)
    allow_face(gate, tmp_path)
    enroll_resident(gate, engine, photos / "obama" / "obama.jpg")
    gate.ctx.settings.key_file.rename(tmp_path / "moved.key")
    gate.rig.show_photo(read_image_file(photos / "obama" / "obama2.jpg"), "obama2")
    face_by_code(gate)
    wait_reason(gate, Reason.FACE_UNAVAILABLE)
    assert gate.runtime.snapshot().camera.opens == 0
    gate.runtime.post(m.Choose("pin"))
    gate.runtime.post(m.EnterPin(PIN))
    wait_reason(gate, Reason.GRANTED)
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 2)


def test_card_during_a_face_attempt_is_handled_at_once(gate_factory, photos: Path, engine: FaceEngine,
                                                       tmp_path: Path) -> None:
    gate = gate_factory(face_engine=engine)
    allow_face(gate, tmp_path)
    enroll_resident(gate, engine, photos / "obama" / "obama.jpg")
    face_by_code(gate)  # nobody in front of the camera: the burst waits for frames
    assert gate.wait_for(lambda: gate.runtime.snapshot().camera_on)
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.last_access()["method"] == "card"
    assert gate.wait_for(lambda: not gate.runtime.snapshot().camera_on)
    gate.runtime.wait_idle()
    # the face attempt ended later and its result was dropped: no face decision was recorded
    assert not [e for e in gate.runtime.snapshot().last_events if e.get("method") == "face"]


def test_liveness_a_still_photo_does_not_blink(gate_factory, photos: Path, engine: FaceEngine, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=engine)
    allow_face(gate, tmp_path)
    with gate.ctx.transaction() as session:
        gates.set_gate(session, gates.get_gate(session, "main"), actor="test", liveness="blink")
    gate.runtime.reload_policy()
    enroll_resident(gate, engine, photos / "obama" / "obama.jpg")
    gate.rig.show_photo(read_image_file(photos / "obama" / "obama2.jpg"), "obama2")
    face_by_code(gate)
    assert gate.wait_for(lambda: "Blink once." in gate.runtime.snapshot().message
                         or gate.last_access().get("reason") == Reason.LIVENESS_FAILED.value)
    wait_reason(gate, Reason.LIVENESS_FAILED)
    assert gate.releases() == 0
    assert {"card", "pin"} <= set(gate.runtime.snapshot().offered)


def test_folder_camera_from_the_configuration(gate_factory, photos: Path, engine: FaceEngine, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "camera"
    folder.mkdir()
    for i in range(5):  # the same photo as five frames (copied into a temporary folder, not the repo)
        shutil.copy(photos / "obama" / "obama2.jpg", folder / f"frame{i}.jpg")
    gate = gate_factory(face_engine=engine, camera=f"folder:{folder}")
    allow_face(gate, tmp_path)
    enroll_resident(gate, engine, photos / "obama" / "obama.jpg")
    face_by_code(gate)
    wait_reason(gate, Reason.GRANTED)
    assert gate.wait_for(lambda: gate.releases() >= 1)


def test_no_consent_refusal_is_in_the_event_table(gate_factory, tmp_path: Path) -> None:
    from sqlalchemy import select

    from gate.store.models import AccessEvent

    gate = gate_factory(face_engine=None)
    allow_face(gate, tmp_path)
    face_by_code(gate)
    wait_reason(gate, Reason.NO_CONSENT)
    with gate.ctx.sessions() as session:
        row = session.scalars(select(AccessEvent).where(AccessEvent.method == "face")).one()
    assert row.reason == "no_consent" and not row.granted


def test_enrollment_at_the_gate_camera_refuses_a_held_up_photo(gate_factory, photos: Path, engine: FaceEngine) -> None:
    """The simulated camera shows one still photo: the burst is the same frame over and over, and the
    gate (liveness "none") still asks enrollment for a blink, which a photo cannot give (S4)."""
    from gate.face.service import FaceService

    gate = gate_factory(face_engine=engine)
    with gate.ctx.transaction() as session:
        consent.grant_consent(session, residents.get_resident(session, CODE), operator="test", retention_days=365)
    gate.rig.show_photo(read_image_file(photos / "obama" / "obama2.jpg"), "obama2")
    burst = gate.runtime.enrollment_burst()
    assert burst.liveness == "blink"
    with gate.ctx.transaction() as session:
        outcome = FaceService(gate.ctx.store, engine).enroll(session, residents.get_resident(session, CODE),
                                                             burst.frames, "clerk", challenge=burst.liveness)
        assert not outcome.ok and outcome.template_id is None
        assert outcome.reasons[0].startswith("the blink check was not passed (no blink seen")
        assert gate.ctx.store.load(session, residents.get_resident(session, CODE)) is None
