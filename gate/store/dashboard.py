"""The privacy dashboard: the figures an impact assessment (PIPL art. 55-56) and a regulator ask for."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.config import FACE_FILING_THRESHOLD, Settings
from gate.core.policy import read_stored
from gate.store import face_standing
from gate.store.change_marker import directory_version
from gate.store.gates import filing_warning
from gate.store.models import Consent, FaceTemplate, Gate, Notice, Resident, ResidentStatus, SystemState
from gate.store.retention import LAST_PURGE_KEY, due_for_deletion
from gate.store.rotation import LAST_ROTATION_KEY


@dataclass(frozen=True)
class PrivacyReport:
    generated_at: str
    residents_active: int
    residents_moved_out: int
    residents_with_face: int
    face_share_percent: float
    minors_with_face: int
    templates_stored: int
    consents_current_by_notice: dict[str, int]
    consents_withdrawn: int
    consents_needing_renewal: int  # lapsed for face (gate.store.face_standing): face unused until renewed
    templates_due_for_deletion: int
    due_by_reason: dict[str, int]
    retention_days: int
    last_purge: str | None
    last_key_rotation: str | None
    gates_with_face: list[str]
    gates_without_assessment_using_face: list[str]
    current_notice: str | None
    filing_threshold: int
    filing_warning: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _state(session: Session, key: str) -> str | None:
    row = session.get(SystemState, key)
    return row.value if row else None


#: (database URL) -> (directory version, (active, moved out)): counting 100,000 residents on every load of
#: the dashboard cost more than the rest of the page, and the counts change only with the residents table,
#: whose every change moves the directory version (gate.store.change_marker, triggers of 0009).
_COUNTS: dict[str, tuple[str, tuple[int, int]]] = {}


def resident_counts(session: Session) -> tuple[int, int]:
    """Active and moved-out residents, counted again only when the directory version moved."""
    version = directory_version(session)
    key = str(session.get_bind().engine.url)
    cached = _COUNTS.get(key)
    if version is not None and cached is not None and cached[0] == version:
        return cached[1]
    by_status = {status: n for status, n in
                 session.execute(select(Resident.status, func.count(Resident.id)).group_by(Resident.status))}
    counts = (by_status.get(ResidentStatus.ACTIVE, 0), by_status.get(ResidentStatus.MOVED_OUT, 0))
    if version is not None:
        _COUNTS[key] = (version, counts)
    return counts


def privacy_report(session: Session, settings: Settings, now: datetime | None = None) -> PrivacyReport:
    now = now or utcnow()
    count = lambda query: session.scalar(query) or 0  # noqa: E731
    active, moved = resident_counts(session)
    with_face = count(select(func.count(Resident.id)).where(face_standing.with_face_data()))
    today = face_standing.site_today(now, settings.site.timezone)
    minors = sum(1 for resident in session.scalars(select(Resident).where(face_standing.with_face_data()))
                 if face_standing.is_minor(resident, today))
    by_notice = {version: n for version, n in session.execute(
        select(Notice.version, func.count(Consent.id)).join(Consent, Consent.notice_id == Notice.id)
        .where(Consent.withdrawn_at.is_(None)).group_by(Notice.version).order_by(Notice.version))}
    withdrawn = count(select(func.count(Consent.id)).where(Consent.withdrawn_at.is_not(None)))
    due = due_for_deletion(session, settings.template_retention_days, now,
                           forbid_minors=settings.forbid_face_for_minors, timezone=settings.site.timezone)
    reasons: dict[str, int] = {}
    for _resident, _template, reason in due:
        reasons[reason] = reasons.get(reason, 0) + 1
    gates = list(session.scalars(select(Gate).order_by(Gate.name)))
    face_gates = [g.name for g in gates if any(m.uses_face for m in read_stored(g.methods)[0])]
    unassessed = [g.name for g in gates if g.name in face_gates and not g.assessments]
    current = session.scalar(select(Notice.version).where(Notice.published_at.is_not(None))
                             .order_by(Notice.published_at.desc(), Notice.id.desc()).limit(1))
    return PrivacyReport(
        generated_at=now.isoformat(), residents_active=active, residents_moved_out=moved,
        residents_with_face=with_face, face_share_percent=round(100.0 * with_face / active, 1) if active else 0.0,
        minors_with_face=minors, templates_stored=count(select(func.count(FaceTemplate.id))),
        consents_current_by_notice=by_notice, consents_withdrawn=withdrawn,
        consents_needing_renewal=len(face_standing.needing_renewal(session, today)),
        templates_due_for_deletion=len(due), due_by_reason=reasons, retention_days=settings.template_retention_days,
        last_purge=_state(session, LAST_PURGE_KEY), last_key_rotation=_state(session, LAST_ROTATION_KEY),
        gates_with_face=face_gates, gates_without_assessment_using_face=unassessed, current_notice=current,
        filing_threshold=FACE_FILING_THRESHOLD, filing_warning=filing_warning(session, settings),
    )
