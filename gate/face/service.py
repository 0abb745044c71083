"""The face credential for one resident: consented enrollment into the encrypted store, and 1:1
verification against that resident's template only.

Consent is checked before a single frame is looked at. Frames are analysed in memory and dropped;
what is kept is the template (encrypted by the TemplateStore) and quality figures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.config import Settings
from gate.core.decision import FaceOutcome
from gate.errors import ConsentError, KeyUnavailableError, TemplateIntegrityError
from gate.face import liveness
from gate.face.engine import FaceEngine
from gate.face.enroll import DEFAULT_ENROLLMENT, EnrollmentPolicy, FrameReport, enroll
from gate.face.errors import FaceUnavailable, ImageRejected
from gate.face.images import Uploads
from gate.face.liveness import LivenessResult
from gate.face.probe import Frame, Probe
from gate.face.verify import DEFAULT_MAX_ENCODES, DEFAULT_THRESHOLD, VerificationResult, check_threshold, verify
from gate.store import audit, face_standing
from gate.store.consent import current_consent
from gate.store.face_templates import TemplateStore
from gate.store.models import Resident, ResidentStatus

log = logging.getLogger("gate.face")

MAX_ENROLLMENT_FRAMES = 20
MAX_PROBE_FRAMES = 30
NOT_ENROLLED = "no face template: enroll first"
OTHER_MODEL = "the template was made with another face model: enroll again"


@dataclass(frozen=True)
class EnrollmentOutcome:
    ok: bool
    reasons: list[str]
    quality: dict[str, float]
    frames: list[FrameReport]
    template_id: str | None = None
    model_version: str | None = None


@dataclass(frozen=True)
class FaceVerdict:
    outcome: FaceOutcome
    reasons: list[str] = field(default_factory=list)
    verification: VerificationResult | None = None
    liveness: LivenessResult | None = None


class HasTemplateStore(Protocol):
    """What a FaceService needs of the gate's context (gate.context sits above this layer)."""

    @property
    def store(self) -> TemplateStore: ...

    @property
    def settings(self) -> Settings: ...


class FaceService:
    def __init__(self, store: TemplateStore, engine: FaceEngine | None = None,
                 enrollment: EnrollmentPolicy = DEFAULT_ENROLLMENT, uploads: Uploads | None = None,
                 timezone: str = "UTC") -> None:
        self.store = store
        self.timezone = timezone  # the site's, for a minor's 14th birthday
        self.engine = engine or FaceEngine()  # models load on first use, not here
        self.enrollment = enrollment
        # One budget per service, and the web app builds one service: the slots are process-wide there.
        self.uploads = uploads or Uploads()

    @classmethod
    def from_context(cls, context: HasTemplateStore, engine: FaceEngine | None = None) -> FaceService:
        """The service with the installation's template store and its [face] upload budget."""
        engine = engine or FaceEngine.from_settings(context.settings)
        return cls(context.store, engine, uploads=Uploads(context.settings.face.max_upload_megapixels),
                   timezone=context.settings.site.timezone)

    def enroll(self, session: Session, resident: Resident, frames: Sequence[Frame], operator: str,
               challenge: str = "none") -> EnrollmentOutcome:
        """Raises ConsentError (before any frame is read) without a current consent; FaceUnavailable
        when the model cannot load. Quality and liveness failures come back as ok=False with reasons.

        `challenge` is the liveness mode for a camera burst (liveness.for_enrollment); uploaded
        photos are enrolled with "none", and the audit entry says which it was."""
        _require_consent(session, resident, face_standing.site_today(utcnow(), self.timezone))
        mode = liveness.LivenessMode(challenge)
        if len(frames) > MAX_ENROLLMENT_FRAMES:
            raise ImageRejected(f"At most {MAX_ENROLLMENT_FRAMES} pictures per enrollment; {len(frames)} were sent.")
        self.engine.load()
        result = enroll(self.engine, frames, self.enrollment, mode)
        if not result.ok:
            return EnrollmentOutcome(False, result.reasons, result.quality, result.frames)
        version = self.engine.model_version
        template_id = self.store.save(session, resident, result.encodings, version)
        audit.record(session, operator, "face.enroll", f"resident:{resident.id}",
                     vectors=int(result.encodings.shape[0]), model_version=version,
                     pictures_refused=len(result.frames) - result.accepted, liveness=mode.value)
        return EnrollmentOutcome(True, [], result.quality, result.frames, template_id, version)

    def verify(self, session: Session, resident: Resident, frames: Sequence[Frame],
               gate_threshold: float | None = None, liveness_mode: str = "none",
               direction: str | None = None, max_encodes: int = DEFAULT_MAX_ENCODES) -> FaceVerdict:
        """1:1: loads `resident`'s template and no other. Every failure of the machinery (model, key,
        template) is UNAVAILABLE, so the gate offers card and PIN; it never raises for those."""
        _require_consent(session, resident, face_standing.site_today(utcnow(), self.timezone))
        threshold = check_threshold(DEFAULT_THRESHOLD if gate_threshold is None else gate_threshold)
        mode = liveness.LivenessMode(liveness_mode)
        if len(frames) > MAX_PROBE_FRAMES:
            raise ImageRejected(f"At most {MAX_PROBE_FRAMES} frames per attempt; {len(frames)} were sent.")
        try:
            self.engine.load()
            stored = self.store.load(session, resident)
        except (FaceUnavailable, KeyUnavailableError, TemplateIntegrityError) as err:
            log.warning("face unavailable for resident %s: %s", resident.id, err)
            return FaceVerdict(FaceOutcome.UNAVAILABLE, [str(err)])
        if stored is None:
            return FaceVerdict(FaceOutcome.UNAVAILABLE, [NOT_ENROLLED])
        if stored.model_version != self.engine.model_version:
            return FaceVerdict(FaceOutcome.UNAVAILABLE, [OTHER_MODEL])
        probe = Probe(self.engine, frames)
        try:
            live = liveness.check(mode, probe.faces, direction=direction)
            if not live.passed:
                # No encoding is computed for a failed challenge: nothing biometric is compared.
                return FaceVerdict(FaceOutcome.LIVENESS_FAILED, [live.reason or ""], liveness=live)
            result = verify(stored.encodings, probe, threshold, max_encodes)
        finally:
            probe.discard()
        if result.match:
            self.store.mark_used(session, stored.template_id)
        outcome = FaceOutcome.MATCH if result.match else FaceOutcome.MISMATCH
        return FaceVerdict(outcome, result.reasons, result, live)


def _require_consent(session: Session, resident: Resident, today: date) -> None:
    if resident.status is not ResidentStatus.ACTIVE:
        raise ConsentError(f"Resident {resident.code} has moved out: no face processing.")
    consent = current_consent(session, resident)
    if consent is None:
        raise ConsentError(
            f"Resident {resident.code} has no current, separate consent to face processing: "
            "record consent first. Card and PIN are unaffected."
        )
    lapse = face_standing.lapse_for(session, resident, consent, today)
    if lapse is not None:
        raise ConsentError(f"Resident {resident.code}'s face consent has lapsed ({face_standing.LAPSE_TEXT[lapse]}): "
                           "record a new consent first. Card and PIN are unaffected.")
