"""The person's rights: a copy of everything held about them (PIPL art. 45) and deletion with a receipt
(art. 47). Exports and receipts never contain template bytes, PIN hashes or images.

A receipt is built from the audit entry of the deletion, so it can be printed again later without the
system keeping anything more than the audit facts the law requires.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.core.retention import MAX_TEMPLATE_RETENTION_DAYS
from gate.errors import NotFoundError
from gate.i18n import locales, timefmt
from gate.i18n.marker import N_, Message
from gate.store import consent as consent_service
from gate.store import notices, residents, shredding
from gate.store.face_templates import TemplateStore
from gate.store.models import AccessEvent, AuditEntry, Consent, FaceTemplate, Gate, Resident, ResidentStatus
from gate.store.retention import retention_deadline

# Receipts and exports are read by the resident in the operator's language: every sentence is an N_
# message (a Message where it carries numbers), translated where it is shown.
RETAINED_FACTS = (
    N_("The audit log keeps one entry per action on this record (including each time an operator viewed or "
       "exported it): when, which operator, the action, the internal record number and counts. Card changes "
       "are logged with a pseudonym of the card number, a keyed hash whose key was deleted with the record, so "
       "it no longer leads to the card. It holds no name, card number, PIN, photo or face template. "
       "It is kept because the operator must be able to prove that deletion and consent were handled "
       "lawfully (PIPL art. 51, 54) and cannot be edited without the change being detected."),
    N_("Access events keep the date, gate, method and outcome; the link to the person is removed "
       "(the resident column is cleared), so they can no longer be tied to you."),
)
FACE_RETAINED_FACTS = (
    N_("The consent record (when it was given, which notice version was shown, and when it was withdrawn) "
       "is kept as proof of lawful processing until the resident record itself is deleted."),
    RETAINED_FACTS[0],
)
RECEIPT_ACTIONS = {"consent.withdraw": N_("Face data deleted (consent withdrawn)"),
                   "face.delete_minor": N_("Face data deleted (this site does not allow face for residents under 14)"),
                   "resident.remove": N_("Resident record deleted"),
                   "consent.grant": N_("Face consent given")}
#: Receipts about one resident's face, which name the person while the record exists.
FACE_RECEIPTS = ("consent.withdraw", "face.delete_minor", "consent.grant")


def _iso(value: datetime | None, zone: ZoneInfo | None = None) -> str | None:
    """ISO 8601 with the offset: the site's local time when the zone is given (exports), else UTC."""
    if value is None:
        return None
    return timefmt.iso_with_offset(value, zone) if zone is not None else value.isoformat()


#: The forms an export is delivered in; the audit entry names which one.
EXPORT_FORMATS = ("page", "json")


def _deletion(session: Session, resident: Resident, template: FaceTemplate, site_days: int,
              now: datetime, zone: ZoneInfo | None) -> dict[str, object]:
    """When the face data will be gone at the latest (PIPL 45 with 19): the date and the rule behind it."""
    consent = consent_service.current_consent(session, resident)
    if resident.status is ResidentStatus.MOVED_OUT or consent is None:
        rule = (N_("Due now because you moved out: deleted by the next purge, which runs daily.")
                if resident.status is ResidentStatus.MOVED_OUT else
                N_("Due now because there is no current consent: deleted by the next purge, which runs daily."))
        return {"deletion_deadline": _iso(now, zone), "deletion_rule": Message(rule)}
    deadline = retention_deadline(template, consent, site_days)
    days = min(consent.retention_days, site_days, MAX_TEMPLATE_RETENTION_DAYS)
    return {
        "deletion_deadline": _iso(deadline, zone),
        "consent_granted_at": _iso(consent.granted_at, zone),
        "retention_days_after_last_use": days,
        "deletion_rule": Message(
            N_("Deleted %(days)s days after its last use (the shortest of your consent's %(consent_days)s days, "
               "this site's %(site_days)s days and the legal cap of %(cap)s days), and never later than %(cap)s "
               "days after your consent; at once if you withdraw consent, move out or ask for deletion. Each use "
               "at a gate moves the date on, up to that cap."),
            days=days, consent_days=consent.retention_days, site_days=site_days, cap=MAX_TEMPLATE_RETENTION_DAYS),
    }


def export_resident(session: Session, resident: Resident, store: TemplateStore, *, actor: str, site_days: int,
                    form: str = "json", events_limit: int = 10_000,
                    now: datetime | None = None, timezone: str | None = None) -> dict[str, object]:
    """Everything held about one resident as plain data. Records an audit entry for the export (who, when,
    whose, in which form). Times carry their offset: the site's local time with `timezone`, else UTC.
    Sentences are Messages (English as str; the web UI translates them)."""
    from gate.store import audit

    if form not in EXPORT_FORMATS:
        raise ValueError(f"unknown export form {form!r}: one of {', '.join(EXPORT_FORMATS)}")
    now = now or utcnow()
    zone = ZoneInfo(timezone) if timezone else None

    consents = list(session.scalars(select(Consent).where(Consent.resident_id == resident.id).order_by(Consent.id)))
    face: dict[str, object] | None = None
    if resident.face_pseudonym is not None:
        template = session.scalar(select(FaceTemplate).where(FaceTemplate.pseudonym == resident.face_pseudonym))
        if template is not None:
            face = {
                "held": True,
                "what": Message(N_("an encrypted face template (numbers computed from your photos; no photo is "
                                   "kept)")),
                "encodings": template.encodings,
                "model_version": template.model_version,
                "created_at": _iso(template.created_at, zone),
                "last_used_at": _iso(template.last_used_at, zone),
                **_deletion(session, resident, template, site_days, now, zone),
            }
    event_rows = session.execute(
        select(AccessEvent, Gate.name).outerjoin(Gate, Gate.id == AccessEvent.gate_id)
        .where(AccessEvent.resident_id == resident.id)
        .order_by(AccessEvent.at.desc(), AccessEvent.id.desc()).limit(events_limit)
    ).all()
    data: dict[str, object] = {
        "exported_at": _iso(now, zone),
        "resident": {
            "code": resident.code, "name": resident.name, "unit": resident.unit, "status": resident.status.value,
            "is_minor": resident.is_minor, "guardian_name": resident.guardian_name, "group": resident.group_name,
            "birth_date": resident.birth_date.isoformat() if resident.birth_date else None,
            "created_at": _iso(resident.created_at, zone), "moved_out_at": _iso(resident.moved_out_at, zone),
        },
        "cards": [{"number": c.uid, "label": c.label, "added_at": _iso(c.created_at, zone)}
                  for c in sorted(resident.cards, key=lambda c: c.id)],
        "pin": {"set": resident.pin is not None,
                "set_at": _iso(resident.pin.set_at, zone) if resident.pin else None,
                "note": Message(N_("only a one-way hash of the PIN is stored; it cannot be shown"))},
        "face": face or {"held": False},
        "consents": [{
            "notice_version": c.notice.version, "notice_language": c.notice_language or c.notice.language,
            "notice": notices.fields_of(c.notice), "purpose": c.purpose,
            "retention_days": c.retention_days, "granted_at": _iso(c.granted_at, zone), "recorded_by": c.operator,
            "guardian_name": c.guardian_name, "withdrawn_at": _iso(c.withdrawn_at, zone),
            "withdrawn_by": c.withdrawn_by,
        } for c in consents],
        "access_events": [{"at": _iso(e.at, zone), "gate": gate_name, "method": e.method, "granted": e.granted,
                           "reason": e.reason} for e, gate_name in event_rows],
        "access_events_truncated": len(event_rows) >= events_limit,
    }
    audit.record(session, actor, "rights.export", f"resident:{resident.id}", form=form, events=len(event_rows),
                 consents=len(consents), cards=len(resident.cards))
    return data


def export_json(data: dict[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class Receipt:
    number: int
    action: str
    title: str
    at: datetime
    by: str
    resident_ref: str
    deleted: list[str]
    retained: tuple[str, ...]
    details: dict[str, object] = field(default_factory=dict)
    recorded: list[str] = field(default_factory=list)  # what a consent receipt attests


def _deleted_lines(action: str, details: dict[str, object]) -> list[str]:
    destroyed = details.get("templates_destroyed", 0)
    templates = destroyed if isinstance(destroyed, int) else 0
    face_line = (Message(N_("Face template: %(count)s encrypted record(s) and their own encryption keys destroyed "
                            "(crypto-shredded). Copies in older database backups become unreadable at the next "
                            "master-key rotation, and a restored copy is destroyed by the next purge"),
                         count=templates) if templates
                 else Message(N_("Face template: none was held")))
    if action in ("consent.withdraw", "face.delete_minor"):
        return [face_line, Message(N_("Face consent: marked withdrawn; face will not be used at any gate")),
                Message(N_("Cards and PIN: unchanged, they keep working"))]
    return [face_line,
            Message(N_("Cards: %(count)s"), count=details.get("cards", 0)),
            Message(N_("PIN: deleted")) if details.get("pins") else Message(N_("PIN: none was set")),
            Message(N_("Consent records: %(count)s"), count=details.get("consents", 0)),
            Message(N_("Name, unit, resident code, guardian name: deleted")),
            Message(N_("Access events: the link to the person was removed"))]


def _consent_lines(details: dict[str, object]) -> list[str]:
    """What the person agreed to, from the audit facts of the grant: enough to prove it later."""
    lines: list[str] = [Message(N_("Notice version shown: %(version)s"), version=details.get("notice")),
             Message(N_("Face template kept at most %(days)s days after its last use at a gate (shorter if the "
                        "site's retention period is shorter), and deleted at once on withdrawal or move-out"),
                     days=details.get("retention_days")),
             Message(N_("Given by a guardian for a resident under 14")) if details.get("guardian")
             else Message(N_("Given by the resident themself")),
             Message(N_("Withdraw at any time at the management office: the face data is then deleted at once")),
             Message(N_("Cards and PIN: unaffected; they work whether or not face is used"))]
    language = details.get("notice_language")
    if isinstance(language, str):
        # The notice's language in its own name (中文 / English), so either reader recognises it.
        lines.insert(1, Message(N_("Language of the notice shown: %(language)s"),
                                language=locales.NATIVE_NAMES.get(language, language)))
    if details.get("renews"):
        lines.insert(1, Message(N_("Renews the consent given against notice version %(version)s"),
                                version=details["renews"]))
    return lines


def receipt(session: Session, entry_id: int) -> Receipt:
    entry = session.get(AuditEntry, entry_id)
    if entry is None or entry.action not in RECEIPT_ACTIONS:
        raise NotFoundError.of(N_("No receipt number %(number)s."), number=entry_id)
    details = json.loads(entry.details or "{}")
    if entry.action == "consent.grant":
        return Receipt(entry.id, entry.action, Message(RECEIPT_ACTIONS[entry.action]), entry.at, entry.actor,
                       entry.subject, [], (), details, _consent_lines(details))
    retained = FACE_RETAINED_FACTS if entry.action in FACE_RECEIPTS else RETAINED_FACTS
    return Receipt(entry.id, entry.action, Message(RECEIPT_ACTIONS[entry.action]), entry.at, entry.actor,
                   entry.subject, _deleted_lines(entry.action, details), retained, details)


def _last_entry_id(session: Session, action: str, subject: str) -> int:
    entry_id = session.scalar(select(AuditEntry.id).where(AuditEntry.action == action, AuditEntry.subject == subject)
                              .order_by(AuditEntry.id.desc()).limit(1))
    assert entry_id is not None
    return entry_id


def delete_face(session: Session, resident: Resident, store: TemplateStore, *, actor: str,
                now: datetime | None = None) -> int:
    """Withdrawal in one step: shred at once, mark consent withdrawn, audit. Returns the receipt number."""
    consent_service.withdraw_consent(session, resident, store, operator=actor, now=now)
    session.flush()
    number = _last_entry_id(session, "consent.withdraw", f"resident:{resident.id}")
    shredding.note_receipt(session, number)
    return number


def consent_receipt_number(session: Session, resident: Resident) -> int:
    """The receipt of the resident's latest consent, printed when it is given."""
    return _last_entry_id(session, "consent.grant", f"resident:{resident.id}")


def delete_resident(session: Session, resident: Resident, store: TemplateStore, *, actor: str) -> int:
    """Delete everything about a resident except the audit facts. Returns the receipt number."""
    subject = f"resident:{resident.id}"
    # Events stay for site statistics but lose the person (the FK also does SET NULL on PostgreSQL).
    session.execute(update(AccessEvent).where(AccessEvent.resident_id == resident.id).values(resident_id=None))
    residents.remove_resident(session, resident, store, actor=actor)
    session.flush()
    number = _last_entry_id(session, "resident.remove", subject)
    shredding.note_receipt(session, number)
    return number



def record_refusal(session: Session, resident: Resident, *, actor: str) -> None:
    """A resident declined face: nothing changes but this audit fact (card and PIN stay as they are)."""
    from gate.store import audit

    audit.record(session, actor, "consent.refuse", f"resident:{resident.id}")
