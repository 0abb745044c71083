"""The web UI's door to face processing: one engine per app, per-frame quality, enrollment.

Enrollment goes through `gate.face.service.FaceService.enroll(session, resident, frames, operator)`,
which checks consent before any frame is read, stores the encrypted template and writes the audit
entry. Pixels only ever live in memory for the length of one request.

Uploads are checked against the service's pixel budget from their headers before anything is
decoded, then decoded and analysed holding one of the service's upload slots (UploadsBusy when
they stay taken: the routes answer 503).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from gate.face.errors import ImageRejected
from gate.i18n.marker import N_
from gate.store.models import Resident

MAX_FRAMES = 12


@dataclass(frozen=True)
class FrameFeedback:
    accepted: bool
    reasons: list[str]
    figures: dict[str, float] | None


@dataclass(frozen=True)
class EnrollOutcome:
    ok: bool
    reasons: list[str]
    quality: dict[str, float] = field(default_factory=dict)
    frames: list[dict[str, Any]] = field(default_factory=list)
    template_id: str | None = None


def face_service():
    """gate.face.service.FaceService, built once per app (sharing an engine the app was given, if any)."""
    service = current_app.extensions.get("face_service")
    if service is None:
        from gate.face.service import FaceService

        context = current_app.extensions["gate_context"]
        built = FaceService.from_context(context, current_app.extensions.get("face_engine"))
        # Two first requests at once may both build one; setdefault keeps a single one (and its slots).
        service = current_app.extensions.setdefault("face_service", built)
    return service


def check_frame(data: bytes) -> FrameFeedback:
    """Live feedback on one webcam frame or photo: is it usable, and if not what to do."""
    from gate.face.probe import Probe

    service = face_service()
    service.uploads.check([data])
    with service.uploads.slot():
        probe = Probe(service.engine, [data], check_eyes=True, track=False)
        try:
            face = probe.faces[0]
            return FrameFeedback(face.usable, list(face.reasons), face.figures.as_dict() if face.figures else None)
        finally:
            probe.discard()


def enroll(session: Session, resident: Resident, frames: list[Any], operator: str,
           challenge: str = "none") -> EnrollOutcome:
    """`challenge` is the liveness mode a gate-camera burst must pass; uploads come with "none"."""
    if not frames:
        raise ImageRejected.of(N_("No picture was sent: choose photos or capture frames from the webcam."))
    # The cap is on what a person uploads; a camera burst is as long as its challenge needs.
    if challenge == "none" and len(frames) > MAX_FRAMES:
        raise ImageRejected.of(N_("At most %(most)s pictures per enrollment; %(sent)s were sent."), most=MAX_FRAMES,
                               sent=len(frames))
    service = face_service()
    service.uploads.check(frames)
    with service.uploads.slot():
        result = service.enroll(session, resident, frames, operator, challenge)
    return _outcome(result)


def _outcome(result: Any) -> EnrollOutcome:
    frames: list[dict[str, Any]] = []
    for report in getattr(result, "frames", []) or []:
        frames.append({"index": getattr(report, "index", len(frames)), "accepted": getattr(report, "accepted", False),
                       "reasons": list(getattr(report, "reasons", [])), "figures": getattr(report, "figures", None)})
    return EnrollOutcome(bool(getattr(result, "ok", False)), list(getattr(result, "reasons", [])),
                         dict(getattr(result, "quality", {}) or {}), frames, getattr(result, "template_id", None))
