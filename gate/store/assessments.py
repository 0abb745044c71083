"""The impact assessment (PIPL art. 55-56) that must precede face at a gate: one function, one set of checks,
whether the document comes from `gate gates assess` or a browser upload. Only the document's hash is kept."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.errors import PolicyError
from gate.store import audit
from gate.store.models import Gate, ImpactAssessment

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_APPROVER_CHARS = 200


def read_document(path: Path) -> bytes:
    """The document's bytes, or one sentence saying why it cannot be read."""
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise PolicyError(f"The assessment document {path} is larger than 50 MB.")
        return path.read_bytes()
    except OSError as err:
        raise PolicyError(f"Cannot read the assessment document {path}: {err.strerror or err}.") from err


def site_today(site_timezone: str, now: datetime | None = None) -> date:
    """Today at the site: an assessment signed this morning in Shanghai is not "in the future" at 01:00 UTC."""
    return (now or utcnow()).astimezone(ZoneInfo(site_timezone)).date()


def record_assessment(session: Session, gate: Gate, *, assessed_on: date, approver: str, document: bytes,
                      actor: str, site_timezone: str, now: datetime | None = None) -> ImpactAssessment:
    approver = approver.strip()
    if not approver:
        raise PolicyError("An impact assessment needs the name of its approver.")
    if len(approver) > MAX_APPROVER_CHARS:
        raise PolicyError(f"The approver's name is at most {MAX_APPROVER_CHARS} characters.")
    if not document:
        raise PolicyError("Attach the signed assessment document; its SHA-256 is recorded.")
    if len(document) > MAX_DOCUMENT_BYTES:
        raise PolicyError("The assessment document is larger than 50 MB.")
    today = site_today(site_timezone, now)
    if assessed_on > today:
        raise PolicyError(f"The assessment date {assessed_on.isoformat()} is in the future (today at the site "
                          f"is {today.isoformat()}).")
    digest = hashlib.sha256(document).hexdigest()
    assessment = ImpactAssessment(gate_id=gate.id, assessed_on=assessed_on, approver=approver,
                                  document_sha256=digest, created_at=now or utcnow())
    session.add(assessment)
    session.flush()
    audit.record(session, actor, "gate.assess", f"gate:{gate.name}", document_sha256=digest,
                 approver=approver, assessed_on=assessed_on.isoformat())
    return assessment
