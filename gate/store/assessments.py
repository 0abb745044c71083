"""Site administration the web UI needs beyond the CLI's: an impact assessment from uploaded bytes."""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.errors import PolicyError
from gate.store import audit
from gate.store.models import Gate, ImpactAssessment

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def record_assessment_document(session: Session, gate: Gate, *, assessed_on: date, approver: str,
                               document: bytes, actor: str) -> ImpactAssessment:
    """Like `gates.record_assessment`, for a document uploaded through the browser: only its hash is kept."""
    if not approver.strip():
        raise PolicyError("An impact assessment needs the name of its approver.")
    if not document:
        raise PolicyError("Attach the signed assessment document; its SHA-256 is recorded.")
    if len(document) > MAX_DOCUMENT_BYTES:
        raise PolicyError("The assessment document is larger than 50 MB.")
    if assessed_on > utcnow().date():
        raise PolicyError("The assessment date is in the future.")
    digest = hashlib.sha256(document).hexdigest()
    assessment = ImpactAssessment(gate_id=gate.id, assessed_on=assessed_on, approver=approver.strip()[:200],
                                  document_sha256=digest, created_at=utcnow())
    session.add(assessment)
    session.flush()
    audit.record(session, actor, "gate.assess", f"gate:{gate.name}", document_sha256=digest,
                 approver=approver.strip()[:200], assessed_on=assessed_on.isoformat())
    return assessment
