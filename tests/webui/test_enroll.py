"""The consent and enrollment wizard, with real photos from ../shared/faces. No image is kept anywhere."""

from __future__ import annotations

import base64
import io
import logging
import os
import struct
import tempfile
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from gate.face.images import BUSY, UPLOAD_SLOTS
from gate.store.models import AuditEntry, Consent, FaceTemplate, OperatorRole
from tests.webui.helpers import add_resident, grant, resident
from webui import face


def test_notice_shows_every_required_field_and_the_alternatives(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    page = client.get("/residents/A101/face").get_data(as_text=True)
    for label in ("Who processes the face data", "The purpose", "The method of processing", "The retention period",
                  "How to exercise one&#39;s rights, including withdrawal", "That card and pin are available instead"):
        assert label in page, label
    assert "Card and PIN keep working" in page and "version <b>1</b>" in page


def test_consent_needs_the_separate_box_ticked(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    form = client.get("/residents/A101/face/consent").get_data(as_text=True)
    assert 'name="face_consent" value="yes" id="face_consent">' in form  # present and not pre-ticked
    unticked = auth.post("/residents/A101/face/consent", {"decision": "grant", "notice_version": "1"})
    assert unticked.status_code == 400 and "separately" in unticked.get_data(as_text=True)
    ok = auth.post("/residents/A101/face/consent", {"decision": "grant", "notice_version": "1", "face_consent": "yes",
                                                    "retention_days": "200"})
    # The consent receipt comes first (C3, PIPL art. 14): what was agreed, printable; then the capture.
    assert ok.status_code == 302 and ok.headers["Location"].startswith("/receipts/")
    receipt = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "Consent receipt no." in receipt and "Notice version shown: 1" in receipt and "200 days" in receipt
    assert "Ada Lovelace (A101)" in receipt and 'href="/residents/A101/face/capture"' in receipt
    consent = resident(gctx, "A101").consents[0]
    assert consent.retention_days == 200 and consent.operator == "clerk"
    page = client.get("/residents/A101").get_data(as_text=True)
    assert "notice version <b>1</b>" in page


def test_stale_notice_version_and_bad_retention_are_refused(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    stale = auth.post("/residents/A101/face/consent",
                      {"decision": "grant", "notice_version": "0", "face_consent": "yes"})
    assert stale.status_code == 302 and stale.headers["Location"] == "/residents/A101/face"
    for days in ("0", "5000", "abc"):
        bad = auth.post("/residents/A101/face/consent",
                        {"decision": "grant", "notice_version": "1", "face_consent": "yes", "retention_days": days})
        assert bad.status_code == 400, days
    assert resident(gctx, "A101").consents == []


def test_minor_needs_a_guardian(client, auth, gctx) -> None:
    add_resident(gctx, "K1", "Kid", birth_date=date(2020, 5, 1))
    auth.login("clerk", OperatorRole.OPERATOR)
    assert "under 14" in client.get("/residents/K1/face/consent").get_data(as_text=True)
    refused = auth.post("/residents/K1/face/consent",
                        {"decision": "grant", "notice_version": "1", "face_consent": "yes"})
    assert refused.status_code == 400 and "guardian" in refused.get_data(as_text=True)
    ok = auth.post("/residents/K1/face/consent", {"decision": "grant", "notice_version": "1", "face_consent": "yes",
                                                  "guardian_name": "Parent One"})
    assert ok.status_code == 302
    assert resident(gctx, "K1").consents[0].guardian_name == "Parent One"


def test_refusal_ends_the_wizard_and_changes_nothing_else(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    auth.post("/residents/A101/cards", {"number": "555"})
    response = auth.post("/residents/A101/face/consent", {"decision": "refuse", "face_consent": "yes"})
    assert response.status_code == 302 and response.headers["Location"] == "/residents/A101"
    stored = resident(gctx, "A101")
    assert stored.consents == [] and [c.uid for c in stored.cards] == ["555"]
    with gctx.sessions() as session:
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "consent.refuse")) is not None


def test_capture_needs_consent(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    assert client.get("/residents/A101/face/capture").headers["Location"] == "/residents/A101/face"
    blocked = auth.post("/residents/A101/face/enroll", {"photos": (io.BytesIO(b"x"), "a.jpg")})
    assert blocked.status_code == 302
    assert auth.post("/residents/A101/face/check", {"frame": (io.BytesIO(b"x"), "a.jpg")}).status_code == 409


def _files_in(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.faces
def test_enroll_from_a_real_photo_keeps_no_image(face_app, auth, gctx, faces, tmp_path, caplog) -> None:
    client = auth.client = face_app.test_client()
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    before = _files_in(tmp_path)
    photo = (faces / "special" / "obama" / "obama-480p.jpg").read_bytes()
    response = auth.post("/residents/A101/face/enroll", {"photos": [(io.BytesIO(photo), "obama.jpg")]},
                         content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    # Feedback in words and a quality bar, not the raw figures (issue 13).
    assert "template was created" in page and "Good: the face is enrolled." in page and 'id="quality-bar"' in page
    assert "mean face px" not in page and "spread" not in page
    with gctx.sessions() as session:
        assert session.scalar(select(func.count(FaceTemplate.id))) == 1
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "face.enroll")) is not None
    assert resident(gctx, "A101").face_pseudonym is not None
    # Nothing new on disk except the database (and its journal), nothing image-like in the session or logs.
    new = {p.name for p in _files_in(tmp_path) - before}
    assert new <= {"gate.db-journal", "gate.db-wal", "gate.db-shm"}, new
    cookie = client.get_cookie("gate_session")
    assert cookie is not None and len(cookie.value) < 1000
    assert all(len(r.getMessage()) < 2000 for r in caplog.records)
    # No JPEG in the database: neither the photo's own bytes nor a JPEG header. (Two bytes such as FF D8 turn
    # up by chance in a kilobyte of ciphertext about once in forty runs, so longer runs are looked for.)
    stored = (gctx.settings.data_dir / "gate.db").read_bytes()
    assert photo[:16] not in stored and b"JFIF\x00" not in stored and b"Exif\x00\x00" not in stored
    assert not any(photo[k:k + 32] in stored for k in range(1024, len(photo) - 32, len(photo) // 16))


# Werkzeug keeps a file part in memory only up to this size, then spools it to a temporary file on disk.
WERKZEUG_SPOOL_BYTES = 500 * 1024


def _record_temporary_files(monkeypatch: pytest.MonkeyPatch, folder: Path) -> list[str]:
    """Point every temporary file at an empty `folder` and record each one made: a spooled upload that
    rolls over calls tempfile.TemporaryFile, which on Linux leaves no name in the folder (O_TMPFILE), so
    the calls are recorded as well as the folder watched."""
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    made: list[str] = []

    def recording(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def make(*args: Any, **kwargs: Any) -> Any:
            made.append(name)
            return original(*args, **kwargs)
        return make

    for name in ("TemporaryFile", "NamedTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, recording(name, getattr(tempfile, name)))
    return made


@pytest.mark.faces
def test_a_photo_over_the_spool_threshold_never_reaches_a_temporary_file_the_database_or_the_logs(
        face_app, auth, gctx, faces, tmp_path, monkeypatch, caplog) -> None:
    """M1 for the uploads themselves: a phone photo larger than Werkzeug's in-memory threshold goes
    through the real app (enrollment and the live frame check) without a temporary file, and its bytes
    are nowhere in the data folder, the database or the log records afterwards."""
    auth.client = face_app.test_client()
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    with Image.open(faces / "special" / "obama" / "obama-1080p.jpg") as source:
        out = io.BytesIO()
        source.convert("RGB").save(out, format="JPEG", quality=100, subsampling=0)
    photo = out.getvalue()
    assert len(photo) > WERKZEUG_SPOOL_BYTES + 100 * 1024, len(photo)
    # Encoded here, in memory, before the recording starts: the test client would itself spool a body
    # this size to a temporary file.
    bodies = {}
    for path, field_name in (("/residents/A101/face/enroll", "photos"), ("/residents/A101/face/check", "frame")):
        upload = FileStorage(io.BytesIO(photo), filename="phone.jpg", content_type="image/jpeg")
        bodies[path] = encode_multipart(MultiDict([(field_name, upload), ("csrf_token", auth.token())]))
    caplog.set_level(logging.DEBUG)
    made = _record_temporary_files(monkeypatch, tmp_path / "tmp")

    boundary, body = bodies["/residents/A101/face/enroll"]
    enrolled = auth.client.post("/residents/A101/face/enroll", data=body,
                                content_type=f"multipart/form-data; boundary={boundary}")
    assert enrolled.status_code == 200 and "template was created" in enrolled.get_data(as_text=True)
    boundary, body = bodies["/residents/A101/face/check"]
    checked = auth.client.post("/residents/A101/face/check", data=body,
                               content_type=f"multipart/form-data; boundary={boundary}")
    assert checked.status_code == 200 and checked.json["accepted"] is True, checked.get_data(as_text=True)

    assert made == [], f"temporary files were made while the upload was handled: {made}"
    assert list((tmp_path / "tmp").iterdir()) == []
    with gctx.sessions() as session:
        assert session.scalar(select(func.count(FaceTemplate.id))) == 1
    # Slices from the whole length of the photo (its header, its middle, its end), looked for in every
    # file under the test's folder (the data folder with the database and its journals) and every log record.
    step = len(photo) // 8
    pieces = [photo[i: i + 48] for i in range(0, len(photo) - 48, step)]
    for stored in (p for p in tmp_path.rglob("*") if p.is_file()):
        content = stored.read_bytes()
        assert not any(piece in content for piece in pieces), f"photo bytes in {stored}"
    for record in caplog.records:
        line = record.getMessage()
        for piece in pieces:
            assert piece.hex() not in line and base64.b64encode(piece).decode() not in line
            assert repr(piece)[2:-1] not in line and piece.decode("latin-1") not in line
        assert len(line) < 2000


@pytest.mark.faces
def test_two_faces_and_hostile_uploads_are_refused_with_a_reason(face_app, auth, gctx, faces) -> None:
    auth.client = face_app.test_client()
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    two = (faces / "special" / "multi" / "longoria-cooper.jpg").read_bytes()
    response = auth.post("/residents/A101/face/enroll", {"photos": [(io.BytesIO(two), "two.jpg")]},
                         content_type="multipart/form-data")
    assert response.status_code == 422 and "two faces" in response.get_data(as_text=True)
    for payload in (b"", b"GIF89a not really", b"\xff\xd8\xff" + os.urandom(200), two[: len(two) // 3]):
        response = auth.post("/residents/A101/face/enroll", {"photos": [(io.BytesIO(payload), "x.jpg")]},
                             content_type="multipart/form-data")
        assert response.status_code in (302, 422), payload[:10]
    assert resident(gctx, "A101").face_pseudonym is None
    too_many = [(io.BytesIO(b"tiny"), f"{i}.jpg") for i in range(13)]  # counted before decoding
    response = auth.post("/residents/A101/face/enroll", {"photos": too_many}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert "At most 12" in auth.client.get("/residents/A101/face/capture").get_data(as_text=True)


@pytest.mark.faces
def test_live_frame_check_gives_quality_feedback(face_app, auth, gctx, faces) -> None:
    auth.client = face_app.test_client()
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    good = auth.post("/residents/A101/face/check",
                     {"frame": (io.BytesIO((faces / "special" / "obama" / "obama-480p.jpg").read_bytes()), "f.jpg")},
                     content_type="multipart/form-data", token_from="/residents/A101/face/capture")
    assert good.status_code == 200 and good.json["accepted"] is True and good.json["figures"]["face_px"] > 100
    two = auth.post("/residents/A101/face/check",
                    {"frame": (io.BytesIO((faces / "special" / "multi" / "longoria-cooper.jpg").read_bytes()),
                               "f.jpg")},
                    content_type="multipart/form-data")
    assert two.json["accepted"] is False and "two faces" in two.json["reasons"][0]
    junk = auth.post("/residents/A101/face/check", {"frame": (io.BytesIO(b"junk"), "f.jpg")},
                     content_type="multipart/form-data")
    assert junk.json["accepted"] is False and junk.json["figures"] is None and "image" in junk.json["reasons"][0]
    assert auth.post("/residents/A101/face/check", {}).status_code == 400
    with gctx.sessions() as session:
        assert session.scalar(select(func.count(FaceTemplate.id))) == 0
        assert session.scalar(select(func.count(Consent.id))) == 1


def _gate_camera_client(gctx, face_engine, frames: list):
    """The app with a runtime whose gate camera delivers `frames` (a gate with liveness off: blink)."""
    from gate.service.face_runner import EnrollmentBurst
    from tests.webui.conftest import AuthActions
    from webui import create_app

    class Runtime:
        def enrollment_burst(self) -> EnrollmentBurst:
            return EnrollmentBurst(frames, "blink")

    app = create_app(gctx, config={"TESTING": True}, gate_runtime=Runtime())
    app.extensions["face_engine"] = face_engine
    auth = AuthActions(app.test_client(), gctx)
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    return auth


@pytest.fixture(scope="module")
def door_frame(face_engine, faces):
    from gate.face.images import read_image_file
    from tests.face.synth import framed

    return framed(face_engine, read_image_file(faces / "special" / "obama" / "obama-720p.jpg"))


@pytest.mark.faces
def test_gate_camera_burst_that_blinks_is_enrolled(gctx, face_engine, door_frame) -> None:
    from tests.face.synth import blink_burst

    auth = _gate_camera_client(gctx, face_engine, blink_burst(face_engine, door_frame))
    page = auth.client.get("/residents/A101/face/capture").get_data(as_text=True)
    assert "Capture from the gate camera" in page and "blink once" in page
    response = auth.post("/residents/A101/face/gate-camera", {})
    assert response.status_code == 200 and "template was created" in response.get_data(as_text=True)
    with gctx.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "face.enroll")).one()
        assert '"liveness": "blink"' in entry.details


@pytest.mark.faces
def test_gate_camera_refuses_a_photo_held_up_to_it(gctx, face_engine, door_frame) -> None:
    from tests.face.synth import held_photo

    auth = _gate_camera_client(gctx, face_engine, held_photo(door_frame, count=15))
    auth.client.get("/residents/A101/face/capture")
    response = auth.post("/residents/A101/face/gate-camera", {})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "template was created" not in page
    assert "the blink check was not passed" in page
    assert "a photo or a screen held up to the camera cannot enroll" in page
    with gctx.sessions() as session:
        assert session.scalar(select(func.count(FaceTemplate.id))) == 0


# -- uploads within a memory budget ---------------------------------------------------------------

def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header claiming width x height with a few bytes of pixels: a decode would find it cut off."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _jpeg_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(out, format="JPEG")
    return out.getvalue()


BIG_SENTENCE = "The image is 7200x5000 (36 MP), over the limit of 12 MP and 12000 px per side: send a smaller photo."


def test_a_36_mp_upload_is_refused_from_its_header_with_one_sentence(app, auth, gctx) -> None:
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    bomb = _png_claiming(7200, 5000)  # decoding it would end in "damaged or cut off", not this sentence
    check = auth.post("/residents/A101/face/check", {"frame": (io.BytesIO(bomb), "big.png")},
                      content_type="multipart/form-data", token_from="/residents/A101/face/capture")
    assert check.status_code == 422 and check.json == {"accepted": False, "reasons": [BIG_SENTENCE], "figures": None,
                                                       "words": [BIG_SENTENCE], "verdict": "Retake the picture."}
    photos = [(io.BytesIO(_jpeg_bytes(640, 480)), "ok.jpg"), (io.BytesIO(bomb), "big.png")]
    enroll = auth.post("/residents/A101/face/enroll", {"photos": photos}, content_type="multipart/form-data")
    assert enroll.status_code == 302
    page = auth.client.get("/residents/A101/face/capture").get_data(as_text=True)
    assert "Picture 2: the image is 7200x5000 (36 MP), over the limit of 12 MP" in page
    with app.app_context():
        assert face.face_service().engine._models is None  # refused before the face models were needed


def test_the_pixel_budget_comes_from_gate_toml(data_dir, auth) -> None:
    from gate.context import GateContext
    from webui import create_app

    config = data_dir / "gate.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "# max_upload_megapixels = 12", "max_upload_megapixels = 2"), encoding="utf-8")
    context = GateContext.open(data_dir)
    try:
        assert context.settings.face.max_upload_megapixels == 2.0
        auth.client, auth.context = create_app(context, config={"TESTING": True}).test_client(), context
        add_resident(context, "A101")
        grant(context, "A101")
        auth.login("clerk", OperatorRole.OPERATOR)
        response = auth.post("/residents/A101/face/check", {"frame": (io.BytesIO(_jpeg_bytes(2000, 1500)), "f.jpg")},
                             content_type="multipart/form-data")
        assert response.status_code == 422
        assert response.json["reasons"] == ["The image is 2000x1500 (3 MP), over the limit of 2 MP and 12000 px per "
                                            "side: send a smaller photo."]
    finally:
        context.close()


def test_uploads_beyond_the_cap_get_503_and_a_sentence(app, auth, gctx) -> None:
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    with app.app_context():
        uploads = face.face_service().uploads
    uploads.wait_seconds = 0.05
    photo = _jpeg_bytes(640, 480)
    held = [uploads.slot() for _ in range(UPLOAD_SLOTS)]
    for slot in held:  # what UPLOAD_SLOTS other requests, still decoding, hold
        slot.__enter__()
    try:
        check = auth.post("/residents/A101/face/check", {"frame": (io.BytesIO(photo), "f.jpg")},
                          content_type="multipart/form-data", token_from="/residents/A101/face/capture")
        assert check.status_code == 503 and check.json == {"error": BUSY}
        enroll = auth.post("/residents/A101/face/enroll", {"photos": [(io.BytesIO(photo), "f.jpg")]},
                           content_type="multipart/form-data")
        assert enroll.status_code == 503 and BUSY in enroll.get_data(as_text=True)
        # The budget is checked before waiting: an oversized picture is refused at once, not told "busy".
        big = auth.post("/residents/A101/face/check", {"frame": (io.BytesIO(_png_claiming(7200, 5000)), "b.png")},
                        content_type="multipart/form-data")
        assert big.status_code == 422
    finally:
        for slot in held:
            slot.__exit__(None, None, None)
    with gctx.sessions() as session:
        assert session.scalar(select(func.count(FaceTemplate.id))) == 0


@pytest.mark.faces
def test_a_12_mp_phone_photo_is_shrunk_and_still_enrolls(face_app, auth, gctx, faces) -> None:
    auth.client = face_app.test_client()
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    with Image.open(faces / "special" / "obama" / "obama-1080p.jpg") as photo:
        big = photo.convert("RGB").resize((4000, 2250), Image.Resampling.BICUBIC)  # 9 MP, within the budget
    out = io.BytesIO()
    big.save(out, format="JPEG", quality=92)
    # Encoded here, in memory: the test client would spool a body this size to a temporary file it
    # never closes (a ResourceWarning under filterwarnings=error, in whichever test collects it).
    photo_file = FileStorage(io.BytesIO(out.getvalue()), filename="phone.jpg", content_type="image/jpeg")
    boundary, body = encode_multipart(MultiDict([("photos", photo_file), ("csrf_token", auth.token())]))
    response = auth.client.post("/residents/A101/face/enroll", data=body,
                                content_type=f"multipart/form-data; boundary={boundary}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "template was created" in page
    with gctx.sessions() as session:
        assert session.scalar(select(func.count(FaceTemplate.id))) == 1


def test_enrollment_pages_warn_near_the_filing_threshold(data_dir, auth) -> None:
    """U3: at [site] face_filing_warn_at people with face data, every wizard step shows the CAC warning."""
    from gate.clock import utcnow
    from gate.context import GateContext
    from gate.store import site_settings
    from tests.webui.helpers import store_template
    from webui import create_app

    context = GateContext.open(data_dir)
    with context.transaction() as session:  # site-wide: kept in the database
        site_settings.change(session, "site.face_filing_warn_at", 2, actor="test", now=utcnow())
    context.refresh_site_settings()
    try:
        auth.client, auth.context = create_app(context, config={"TESTING": True}).test_client(), context
        for code in ("A101", "A102", "A103"):
            add_resident(context, code)
            grant(context, code)
        auth.login("clerk", OperatorRole.OPERATOR)
        store_template(context, "A101")
        below = auth.client.get("/residents/A103/face/capture").get_data(as_text=True)
        assert "filing-warning" not in below
        store_template(context, "A102")
        for step in ("", "/consent", "/capture"):
            page = auth.client.get(f"/residents/A103/face{step}").get_data(as_text=True)
            assert "2 people have face data; at 100000 the site must file" in page, step
    finally:
        context.close()
