"""The web UI's door to face processing: one engine per app, per-frame quality, enrollment.

Enrollment goes through `gate.face.service.FaceService.enroll(session, resident, frames, operator)` when
that module is present, otherwise through `gate.enrollment.enroll_resident`. Pixels only ever live in memory for the length of one request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from gate.face.errors import FaceUnavailable, ImageRejected
from gate.models import Resident

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


def _engine():  # type: ignore[no-untyped-def]
    service = face_service()
    engine = getattr(service, "engine", None)
    if engine is not None:
        return engine
    engine = current_app.extensions.get("face_engine")
    if engine is None:
        from gate.face.engine import FaceEngine

        engine = current_app.extensions["face_engine"] = FaceEngine()
    return engine


def face_service() -> object | None:
    """The face engineer's FaceService, built once per app; None until that module exists."""
    if "face_service" not in current_app.extensions:
        try:
            from gate.face.service import FaceService  # type: ignore[import-not-found]
        except ImportError:
            current_app.extensions["face_service"] = None
        else:
            context = current_app.extensions["gate_context"]
            builder = getattr(FaceService, "from_context", None)
            try:
                service = builder(context) if callable(builder) else FaceService(context)
            except TypeError:  # a constructor this adapter does not know yet: keep enrolling the known way
                current_app.logger.warning("gate.face.service.FaceService(context) failed; using gate.enrollment")
                service = None
            current_app.extensions["face_service"] = service if callable(getattr(service, "enroll", None)) else None
    return current_app.extensions["face_service"]


def check_frame(data: bytes) -> FrameFeedback:
    """Live feedback on one webcam frame or photo: is it usable, and if not what to do."""
    from gate.face.probe import Probe

    probe = Probe(_engine(), [data], check_eyes=True, track=False)
    try:
        face = probe.faces[0]
        return FrameFeedback(face.usable, list(face.reasons), face.figures.as_dict() if face.figures else None)
    finally:
        probe.discard()


def enroll(session: Session, resident: Resident, frames: list[Any], operator: str) -> EnrollOutcome:
    if not frames:
        raise ImageRejected("No picture was sent: choose photos or capture frames from the webcam.")
    if len(frames) > MAX_FRAMES:
        raise ImageRejected(f"At most {MAX_FRAMES} pictures per enrollment; {len(frames)} were sent.")
    service = face_service()
    if service is not None:
        result = service.enroll(session, resident, frames, operator)  # type: ignore[attr-defined]
    else:
        from gate.enrollment import enroll_resident

        context = current_app.extensions["gate_context"]
        result = enroll_resident(session, resident, frames, engine=_engine(), store=context.store, operator=operator)
    return _outcome(result)


def _outcome(result: Any) -> EnrollOutcome:
    frames = []
    for report in getattr(result, "frames", []) or []:
        frames.append({"index": getattr(report, "index", len(frames)), "accepted": getattr(report, "accepted", False),
                       "reasons": list(getattr(report, "reasons", [])), "figures": getattr(report, "figures", None)})
    return EnrollOutcome(bool(getattr(result, "ok", False)), list(getattr(result, "reasons", [])),
                         dict(getattr(result, "quality", {}) or {}), frames, getattr(result, "template_id", None))
