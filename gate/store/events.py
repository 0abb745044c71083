"""Access events: one row and one JSON log line per decision. Never a template, image or PIN."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy.orm import Session

from gate.core.decision import Decision
from gate.store.models import AccessEvent
from gate.core.policy import Method

log = logging.getLogger("gate.store.events")


def record_event(session: Session, *, at: datetime, gate_id: int | None, gate_name: str,
                 resident_id: int | None, method: Method, decision: Decision, detail: str = "") -> AccessEvent:
    event = AccessEvent(at=at, gate_id=gate_id, resident_id=resident_id, method=method.value,
                        granted=decision.granted, reason=decision.reason.value, detail=detail[:200])
    session.add(event)
    session.flush()
    log.info(json.dumps({
        "event": "access", "id": event.id, "at": at.isoformat(), "gate": gate_name, "resident_id": resident_id,
        "method": method.value, "granted": decision.granted, "reason": decision.reason.value,
    }))
    return event
