"""M1 at the gate: verifications (a match, a mismatch, a card) keep no image anywhere.

The gate camera shows a real photo; after the verifications, nothing in the data folder (database and
its journals, the offline journal, the key folder, backups), nothing under the temporary folder and no
log record holds image bytes: no JPEG or PNG file, no slice of the decoded frame in raw, hex or base64
form. Enrollment uploads are covered in tests/webui/test_enroll.py.
"""

from __future__ import annotations

import base64
import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest

from gate.core.decision import Reason
from gate.face.images import read_image_file
from tests.service.test_face_e2e import FACES, enroll_resident, face_by_code, wait_reason

pytestmark = pytest.mark.faces

IMAGE_MAGIC = (b"JFIF\x00", b"Exif\x00\x00", b"\x89PNG\r\n\x1a\n")


def _slices(frame: np.ndarray) -> list[bytes]:
    raw = np.ascontiguousarray(frame).tobytes()
    step = len(raw) // 7
    return [raw[k * step + 1000:k * step + 1064] for k in range(1, 6)]


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_verifications_at_the_gate_leave_no_image_on_disk_in_the_database_or_in_the_logs(
        gate_factory, installation, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch) -> None:
    if not (FACES / "people" / "obama").is_dir():
        pytest.skip(f"real face photos not found at {FACES}")
    from gate.face.engine import FaceEngine

    engine = FaceEngine()
    if not engine.available:
        pytest.skip("the face model is not installed")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    caplog.set_level(logging.DEBUG)

    from tests.service.conftest import allow_face

    gate = gate_factory(face_engine=engine)
    allow_face(gate, tmp_path)
    enroll_resident(gate, engine, FACES / "people" / "obama" / "obama.jpg")
    shown = [read_image_file(FACES / "people" / "obama" / "obama2.jpg"),
             read_image_file(FACES / "people" / "biden" / "biden.jpg")]
    for frame, expected in zip(shown, (Reason.GRANTED, Reason.FACE_MISMATCH), strict=True):
        gate.rig.show_photo(frame, "probe")
        face_by_code(gate)
        wait_reason(gate, expected)
        assert gate.wait_for(lambda: not gate.runtime.snapshot().camera_on)
        gate.rig.show_photo(None)
        assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "idle", 15)
    gate.runtime.stop()
    installation.engine.dispose()

    data_dir = installation.settings.key_file.parent.parent
    stored = b"".join(p.read_bytes() for p in [*_files(data_dir), *_files(scratch)])
    assert stored, "nothing was read: the check below could not fail"
    needles = [s for frame in shown for s in _slices(frame)]
    for magic in IMAGE_MAGIC:
        assert magic not in stored, f"an image file header {magic!r} was written"
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {getattr(r, '__dict__', {})!r}" for r in caplog.records)
    assert logged, "no log record was captured: the check below could not fail"
    for needle in needles:
        assert needle not in stored, "raw frame bytes reached the disk"
        for form in (needle.hex(), base64.b64encode(needle).decode(), repr(needle)[2:40]):
            assert form not in logged, "frame bytes reached the logs"
