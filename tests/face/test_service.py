"""FaceService: consent first, encrypted storage, and 1:1 -- verifying A never reads B's template."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import event, select

from gate.core.decision import FaceOutcome
from gate.errors import ConsentError
from gate.face.engine import FaceEngine, ModelPaths
from gate.face.service import NOT_ENROLLED, OTHER_MODEL, FaceService
from gate.store import consent, residents
from gate.store.models import AuditEntry, FaceTemplate
from tests.face.synth import blink_burst, framed

pytestmark = pytest.mark.faces


class Untouchable(list):
    """Frames that fail the test if anything looks at them."""

    def _touched(self, *args, **kwargs):
        raise AssertionError("frames were read before consent was checked")

    __iter__ = __getitem__ = __len__ = _touched  # type: ignore[assignment]


@pytest.fixture
def service(ctx, engine):
    return FaceService(ctx.store, engine)


@pytest.fixture
def people(ctx, service, photo):
    """Resident A (obama) and B (biden), both consented and enrolled from two real photos each."""
    with ctx.transaction() as session:
        for code, name, pics in (("A1", "Alpha", ("people/obama/obama.jpg", "people/obama/obama1.jpg")),
                                 ("B1", "Bravo", ("people/biden/biden.jpg", "people/biden/biden2.jpg"))):
            resident = residents.add_resident(session, code=code, name=name, actor="test")
            consent.grant_consent(session, resident, operator="test", retention_days=365)
            outcome = service.enroll(session, resident, [photo(p) for p in pics], "test")
            assert outcome.ok, outcome.reasons
    return ctx


def _resident(session, code):
    return residents.get_resident(session, code)


def test_enrollment_needs_consent_before_any_frame_is_read(ctx, service):
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code="C1", name="Charlie", actor="test")
        with pytest.raises(ConsentError, match="consent"):
            service.enroll(session, resident, Untouchable(), "test")
        with pytest.raises(ConsentError):
            service.verify(session, resident, Untouchable())


def test_enrollment_stores_an_encrypted_versioned_template_and_no_pixels(people, service, engine):
    with people.transaction() as session:
        resident = _resident(session, "A1")
        row = session.scalar(select(FaceTemplate).where(FaceTemplate.pseudonym == resident.face_pseudonym))
        assert row.model_version == engine.model_version and row.encodings == 2
        # 2 x 128 float32 = 1024 bytes plus the GCM tag: a template, not a picture.
        assert len(row.ciphertext) == 2 * 128 * 4 + 16
        stored = people.store.load(session, resident)
        assert stored.encodings.shape == (2, 128) and stored.encodings.dtype == np.float32
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "face.enroll").limit(1))
        assert entry is not None and "vectors" in entry.details


def test_failed_enrollment_stores_nothing(ctx, service, photo):
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code="D1", name="Delta", actor="test")
        consent.grant_consent(session, resident, operator="test", retention_days=365)
        outcome = service.enroll(session, resident, [photo("special/multi/two_people.jpg")], "test")
        assert not outcome.ok and outcome.template_id is None
        assert resident.face_pseudonym is None


def test_genuine_and_impostor_at_the_gate(people, service, photo):
    with people.transaction() as session:
        a = _resident(session, "A1")
        match = service.verify(session, a, [photo("people/obama/obama3.jpg")])
        assert match.outcome is FaceOutcome.MATCH and match.verification.distance < match.verification.threshold
        impostor = service.verify(session, a, [photo("people/lennon/lennon-1.jpg")])
        assert impostor.outcome is FaceOutcome.MISMATCH
        strict = service.verify(session, a, [photo("people/obama/obama3.jpg")], gate_threshold=0.2)
        assert strict.outcome is FaceOutcome.MISMATCH and strict.verification.threshold == 0.2


def test_verifying_a_never_reads_b(people, service, photo):
    """Record every face_templates row the ORM materialises and every SQL parameter sent: while A is
    verified (with A's face and with B's face), B's pseudonym must never appear."""
    with people.transaction() as session:
        pseudonym_a = _resident(session, "A1").face_pseudonym
        pseudonym_b = _resident(session, "B1").face_pseudonym
    loaded: list[str] = []
    sent: list[str] = []

    def on_load(target, _context):
        loaded.append(target.pseudonym)

    def on_execute(_conn, _cursor, statement, parameters, _context, _many):
        if "face_templates" in statement:
            sent.append(f"{statement} {parameters}")

    event.listen(FaceTemplate, "load", on_load)
    event.listen(people.engine, "before_cursor_execute", on_execute)
    try:
        with people.transaction() as session:
            a = _resident(session, "A1")
            assert service.verify(session, a, [photo("people/obama/obama2.jpg")]).outcome is FaceOutcome.MATCH
            assert service.verify(session, a, [photo("people/biden/biden2.jpg")]).outcome is FaceOutcome.MISMATCH
    finally:
        event.remove(FaceTemplate, "load", on_load)
        event.remove(people.engine, "before_cursor_execute", on_execute)
    assert loaded and set(loaded) == {pseudonym_a}
    assert sent and all(pseudonym_b not in s for s in sent)
    assert all("WHERE" in s for s in sent if s.lstrip().upper().startswith("SELECT"))


def test_liveness_per_gate(people, service, engine, photo):
    still = [framed(engine, photo("special/obama/obama-720p.jpg"))] * 6
    with people.transaction() as session:
        a = _resident(session, "A1")
        failed = service.verify(session, a, still, liveness_mode="blink")
        assert failed.outcome is FaceOutcome.LIVENESS_FAILED and failed.verification is None
        passed = service.verify(session, a, blink_burst(engine, still[0]), liveness_mode="blink")
        assert passed.outcome is FaceOutcome.MATCH, passed.reasons
        assert service.verify(session, a, still, liveness_mode="none").outcome is FaceOutcome.MATCH


def test_no_template_and_other_model_are_unavailable(people, service, photo):
    with people.transaction() as session:
        resident = residents.add_resident(session, code="E1", name="Echo", actor="test")
        consent.grant_consent(session, resident, operator="test", retention_days=365)
        verdict = service.verify(session, resident, [photo("people/obama/obama3.jpg")])
        assert verdict.outcome is FaceOutcome.UNAVAILABLE and verdict.reasons == [NOT_ENROLLED]
        a = _resident(session, "A1")
        row = session.scalar(select(FaceTemplate).where(FaceTemplate.pseudonym == a.face_pseudonym))
        row.model_version = "some-other-model"
        session.flush()
        # The model version is bound into the ciphertext, so a relabelled row fails authentication.
        verdict = service.verify(session, a, [photo("people/obama/obama3.jpg")])
        assert verdict.outcome is FaceOutcome.UNAVAILABLE


def test_model_that_cannot_load_is_unavailable(people, tmp_path, photo):
    broken = FaceService(people.store, FaceEngine(ModelPaths(tmp_path / "x", tmp_path / "y")))
    with people.transaction() as session:
        verdict = broken.verify(session, _resident(session, "A1"), [photo("people/obama/obama3.jpg")])
        assert verdict.outcome is FaceOutcome.UNAVAILABLE and "missing" in verdict.reasons[0]


def test_missing_key_file_is_unavailable(people, service, photo):
    people.key_file.path.rename(people.key_file.path.with_suffix(".gone"))
    with people.transaction() as session:
        verdict = service.verify(session, _resident(session, "A1"), [photo("people/obama/obama3.jpg")])
        assert verdict.outcome is FaceOutcome.UNAVAILABLE


def test_template_of_another_model_is_not_compared(people, engine, photo):
    class Upgraded(FaceEngine):
        model_version = "dlib-resnet-v2:future"  # type: ignore[assignment]

        def __init__(self):
            super().__init__()
            self._models = engine._get()  # same weights; only the label differs

    service = FaceService(people.store, Upgraded())
    with people.transaction() as session:
        verdict = service.verify(session, _resident(session, "A1"), [photo("people/obama/obama3.jpg")])
        assert verdict.outcome is FaceOutcome.UNAVAILABLE and verdict.reasons == [OTHER_MODEL]


def test_templates_enrolled_with_either_engine_verify_with_the_other(ctx, engine, dlib_engine, photo):
    assert (engine.encoder_name, dlib_engine.encoder_name) == ("onnx", "dlib")
    assert engine.model_version == dlib_engine.model_version  # same weights: nobody re-enrolls
    genuine, impostor = [photo("people/obama/obama3.jpg")], [photo("people/biden/biden2.jpg")]
    with ctx.transaction() as session:
        for code, enrolling, verifying in (("X1", engine, dlib_engine), ("X2", dlib_engine, engine)):
            resident = residents.add_resident(session, code=code, name=code, actor="test")
            consent.grant_consent(session, resident, operator="test", retention_days=365)
            enrolled = FaceService(ctx.store, enrolling).enroll(
                session, resident, [photo("people/obama/obama.jpg"), photo("people/obama/obama1.jpg")], "test")
            assert enrolled.ok and enrolled.model_version == verifying.model_version
            same = FaceService(ctx.store, enrolling).verify(session, resident, genuine, max_encodes=1)
            other = FaceService(ctx.store, verifying).verify(session, resident, genuine, max_encodes=1)
            assert same.outcome is other.outcome is FaceOutcome.MATCH
            assert abs(same.verification.distance - other.verification.distance) < 1e-4
            stranger = FaceService(ctx.store, verifying).verify(session, resident, impostor, max_encodes=1)
            assert stranger.outcome is FaceOutcome.MISMATCH
