"""Separate consent to face processing (PIPL art. 14, 29, 31; SPC 2021 provisions).

Consent here is only about face. Nothing else in the product (access, cards, PINs, schedules) reads it,
so refusing or withdrawing changes nothing but the face credential.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.config import MAX_TEMPLATE_RETENTION_DAYS
from gate.errors import ConflictError, ConsentError, PolicyError
from gate.i18n.marker import N_
from gate.store import alternatives, audit, face_standing, shredding
from gate.store.face_templates import TemplateStore
from gate.store.models import AuditEntry, Consent, Resident, ResidentStatus
from gate.store.notices import consent_blocker, current_notice

FACE_PURPOSE = "Verify the resident 1:1 at this site's gates"


def current_consent(session: Session, resident: Resident) -> Consent | None:
    return session.scalar(
        select(Consent)
        .where(Consent.resident_id == resident.id, Consent.withdrawn_at.is_(None))
        .order_by(Consent.granted_at.desc())
        .limit(1)
    )


def face_declined(session: Session, resident: Resident) -> bool:
    """The resident's latest face consent decision is a refusal or a withdrawal (A3: no nagging).

    With no current consent, any recorded refusal (an audit fact, `rights.record_refusal`) or any
    withdrawn consent is a "no" that still stands: a new consent would be the current one.
    """
    if current_consent(session, resident) is not None:
        return False
    withdrawn = session.scalar(select(Consent.id).where(Consent.resident_id == resident.id,
                                                        Consent.withdrawn_at.is_not(None)).limit(1))
    if withdrawn is not None:
        return True
    refused = session.scalar(select(AuditEntry.id).where(AuditEntry.action == "consent.refuse",
                                                         AuditEntry.subject == f"resident:{resident.id}").limit(1))
    return refused is not None


def grant_consent(
    session: Session, resident: Resident, *, operator: str, retention_days: int,
    guardian_name: str | None = None, purpose: str = FACE_PURPOSE,
    forbid_minors: bool = False, now: datetime | None = None,
    site_days: int | None = None, today: date | None = None, language: str | None = None,
) -> Consent:
    """Record consent against the current notice. `today` is the site's local date (minors; default the
    UTC date); `site_days` ([retention] template_days) makes a notice that contradicts it refuse consent.

    A current consent that has lapsed (gate.store.face_standing) is renewed: it is closed and the new
    one, against the current notice, takes its place; the template is kept. `language` is the language
    the person reads: the notice in it if one is published (else the other), recorded on the consent.
    """
    now = now or utcnow()
    today = today or now.date()
    if resident.status is not ResidentStatus.ACTIVE:
        raise ConsentError.of(N_("Resident %(code)s has moved out; face consent cannot be recorded."),
                              code=resident.code)
    minor = face_standing.is_minor(resident, today)
    if minor:
        if forbid_minors:
            raise ConsentError.of(N_("This site does not allow face for residents under 14. Card and PIN work "
                                     "as usual."))
        if not (guardian_name or "").strip():
            raise ConsentError.of(N_("Resident %(code)s is under 14: the consent must be given by a guardian; "
                                     "give the guardian's name."), code=resident.code)
    if not 1 <= retention_days <= MAX_TEMPLATE_RETENTION_DAYS:
        raise PolicyError(f"Retention must be 1..{MAX_TEMPLATE_RETENTION_DAYS} days, got {retention_days}.")
    notice = current_notice(session, language)
    if notice is None:
        raise ConsentError.of(N_("No face notice is published, so consent cannot be informed: publish a notice "
                                 "first."))
    blocker = consent_blocker(notice, site_days)
    if blocker is not None:
        raise ConsentError(blocker)
    alternatives.require_way_in(session, resident)
    previous = current_consent(session, resident)
    if previous is not None:
        if face_standing.lapse_for(session, resident, previous, today) is None:
            raise ConflictError.of(N_("Resident %(code)s already has a current face consent."), code=resident.code)
        previous.withdrawn_at, previous.withdrawn_by = now, operator
    consent = Consent(
        resident_id=resident.id, notice_id=notice.id, purpose=purpose, retention_days=retention_days,
        operator=operator, granted_at=now,
        guardian_name=(guardian_name or None) if minor else None, notice_language=notice.language,
    )
    session.add(consent)
    session.flush()
    audit.record(session, operator, "consent.grant", f"resident:{resident.id}", notice=notice.version,
                 notice_language=notice.language,
                 guardian=bool(consent.guardian_name), retention_days=retention_days,
                 renews=previous.notice.version if previous is not None else None)
    return consent


def withdraw_consent(session: Session, resident: Resident, store: TemplateStore, *, operator: str,
                     now: datetime | None = None) -> int:
    """Withdraw and delete at once (PIPL art. 15, 47). Returns the number of template rows destroyed."""
    consent = current_consent(session, resident)
    destroyed = store.shred(session, resident)
    if consent is None and destroyed == 0:
        raise ConflictError.of(N_("Resident %(code)s has no current face consent and no face data."),
                               code=resident.code)
    if consent is not None:
        consent.withdrawn_at = now or utcnow()
        consent.withdrawn_by = operator
        shredding.note_consents(session, [consent])
    audit.record(session, operator, "consent.withdraw", f"resident:{resident.id}", templates_destroyed=destroyed,
                 notice=consent.notice.version if consent is not None else None)
    return destroyed
