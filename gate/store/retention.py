"""The purge: delete face data past its retention, of moved-out residents, of minors where the site
forbids face for them, and orphans.

The gate service runs it at start and daily (gate.service.purger); `gate purge` runs it by hand.
Idempotent; never touches cards or PINs. Orphans are template rows no resident links to, e.g. from an
old backup restored after a deletion (R4): they are destroyed too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.config import MAX_TEMPLATE_RETENTION_DAYS
from gate.core import retention as rules
from gate.store import audit, face_standing
from gate.store.consent import current_consent
from gate.store.face_templates import shred_templates
from gate.store.models import Consent, FaceTemplate, Resident, ResidentStatus, SystemState

LAST_PURGE_KEY = "last_purge"


@dataclass(frozen=True)
class PurgeReport:
    expired: int = 0
    moved_out: int = 0
    no_consent: int = 0
    orphaned: int = 0
    minor: int = 0  # [site] forbid_face_for_minors: under 14 on the site's local date

    @property
    def total(self) -> int:
        return self.expired + self.moved_out + self.no_consent + self.orphaned + self.minor


def retention_deadline(template: FaceTemplate, consent: Consent, site_days: int) -> datetime:
    return rules.deadline(template.created_at, template.last_used_at, consent.granted_at, consent.retention_days,
                          site_days)


def template_is_expired(template: FaceTemplate, consent: Consent, site_days: int, now: datetime) -> bool:
    """Past its deadline: the gate refuses it before any camera opens, and the next purge deletes it."""
    return now >= retention_deadline(template, consent, site_days)


def due_for_deletion(session: Session, site_days: int, now: datetime, *, forbid_minors: bool = False,
                     timezone: str = "UTC") -> list[tuple[Resident, FaceTemplate, str]]:
    """Every template that `purge` would delete now, with the reason."""
    today = face_standing.site_today(now, timezone)
    due: list[tuple[Resident, FaceTemplate, str]] = []
    rows = session.execute(
        select(Resident, FaceTemplate).join(FaceTemplate, FaceTemplate.pseudonym == Resident.face_pseudonym)
    ).all()
    for resident, template in rows:
        consent = current_consent(session, resident)
        if resident.status is ResidentStatus.MOVED_OUT:
            due.append((resident, template, "moved_out"))
        elif forbid_minors and face_standing.is_minor(resident, today):
            due.append((resident, template, "minor"))
        elif consent is None:
            due.append((resident, template, "no_consent"))
        elif template_is_expired(template, consent, site_days, now):
            due.append((resident, template, "expired"))
    return due


def purge(session: Session, *, site_days: int, actor: str, now: datetime | None = None,
          forbid_minors: bool = False, timezone: str = "UTC") -> PurgeReport:
    now = now or utcnow()
    counts = {"expired": 0, "moved_out": 0, "no_consent": 0, "orphaned": 0, "minor": 0}
    for resident, template, reason in due_for_deletion(session, site_days, now, forbid_minors=forbid_minors,
                                                       timezone=timezone):
        shred_templates(session, [template.id])
        resident.face_pseudonym = None
        counts[reason] += 1
        if reason == "minor":
            _close_minor_consent(session, resident, actor, now)
    linked = select(Resident.face_pseudonym).where(Resident.face_pseudonym.is_not(None))
    orphans = list(session.scalars(select(FaceTemplate.id).where(FaceTemplate.pseudonym.not_in(linked))))
    counts["orphaned"] = shred_templates(session, orphans)
    report = PurgeReport(**counts)
    state = session.get(SystemState, LAST_PURGE_KEY) or SystemState(key=LAST_PURGE_KEY)
    state.value = now.isoformat()
    session.add(state)
    audit.record(session, actor, "retention.purge", "", now=now, **asdict(report))
    return report


def _close_minor_consent(session: Session, resident: Resident, actor: str, now: datetime) -> None:
    """Face is forbidden for this resident now: the consent cannot stand, and the family gets a deletion
    receipt (gate.store.rights) as for a withdrawal."""
    consent = current_consent(session, resident)
    if consent is not None:
        consent.withdrawn_at, consent.withdrawn_by = now, actor
    audit.record(session, actor, "face.delete_minor", f"resident:{resident.id}", now=now, templates_destroyed=1)


def schedule_text(site_days: int) -> str:
    """The written retention schedule (BIPA 15(a); PIPL 19), generated from configuration so it cannot drift."""
    return "\n".join([
        "Retention schedule for face data",
        "",
        f"1. A face template is deleted when it has not been used at a gate for {site_days} days "
        f"(or the shorter period stated in the resident's consent). The legal maximum, "
        f"{MAX_TEMPLATE_RETENTION_DAYS} days (3 years) after last use, is never exceeded, and no template is "
        f"kept more than {MAX_TEMPLATE_RETENTION_DAYS} days after the consent it was collected under, however "
        "often it is used. A template past its period is refused at the gate even before it is deleted.",
        "2. A face template is deleted at once when the resident withdraws consent, when the resident moves "
        "out, and when the resident's record is deleted. Where the site forbids face for residents under 14 "
        "([site] forbid_face_for_minors), their face data is deleted by the next purge, with a receipt.",
        "3. Deletion destroys the template's own encryption key together with the template. Copies in older "
        "backups open only with the master key of their time; the master key is rotated after deletions "
        "(`gate keys rotate`), which makes them unreadable, and copies restored from a backup are removed "
        "by the next purge.",
        "4. No face images are kept at any time: images exist in memory only for the seconds needed to "
        "compute or check a template.",
        "5. Cards, PINs and access events are not face data and are not governed by this schedule.",
        "",
        "The gate service applies rules 1-3 itself when it starts and every day after; `gate purge` does the "
        "same by hand.",
    ])
