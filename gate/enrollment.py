"""Enrollment as one unit of work: frames -> quality-checked encodings -> encrypted template -> audit.

Used by the web UI until `gate.face.service.FaceService` exists (the web UI prefers that when present).
The frames are analysed in memory and dropped; only encodings reach the template store, which refuses
without a current, separate consent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gate import audit
from gate.face.engine import FaceEngine
from gate.face.enroll import DEFAULT_ENROLLMENT, EnrollmentPolicy, EnrollmentResult, enroll
from gate.face.probe import Frame
from gate.models import Resident
from gate.templates import TemplateStore


@dataclass(frozen=True)
class Enrollment:
    result: EnrollmentResult
    template_id: str | None

    @property
    def ok(self) -> bool:
        return self.result.ok and self.template_id is not None

    @property
    def reasons(self) -> list[str]:
        return self.result.reasons

    @property
    def quality(self) -> dict[str, float]:
        return self.result.quality

    @property
    def frames(self) -> list:
        return self.result.frames


def enroll_resident(session: Session, resident: Resident, frames: Sequence[Frame], *, engine: FaceEngine,
                    store: TemplateStore, operator: str,
                    policy: EnrollmentPolicy = DEFAULT_ENROLLMENT) -> Enrollment:
    from gate.consent import current_consent
    from gate.errors import ConsentError

    if current_consent(session, resident) is None:  # checked before any pixel is analysed
        raise ConsentError(f"Resident {resident.code} has no current, separate consent to face processing.")
    result = enroll(engine, frames, policy)
    if not result.ok:
        return Enrollment(result, None)
    template_id = store.save(session, resident, result.encodings, engine.model_version)
    audit.record(session, operator, "face.enroll", f"resident:{resident.id}", vectors=int(result.encodings.shape[0]),
                 accepted=result.accepted, model=engine.model_version)
    return Enrollment(result, template_id)
