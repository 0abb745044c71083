"""Reading the audit log for people: pages newest first, filters, subjects by name, details as key: value.

The log itself never holds a name (gate.store.audit): a resident is `resident:<id>`. The name and code
are looked up when the page is shown, for residents that still exist; a deleted resident stays an id,
which is the point of deleting them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gate.store.models import AuditEntry, Operator, Resident

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
RESIDENT_PREFIX = "resident:"


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    #: "Name (code)" for a resident that still exists; otherwise the subject as recorded.
    subject_label: str
    details: list[tuple[str, str]]

    @property
    def details_text(self) -> str:
        return "; ".join(f"{key}: {value}" for key, value in self.details)


def readable_details(text: str) -> list[tuple[str, str]]:
    """The JSON details as (key, value) pairs; nested values stay compact JSON, text that is not a JSON
    object is shown as it is rather than hidden."""
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        return [("details", text)]
    if not isinstance(parsed, dict):
        return [("details", text)]
    pairs = []
    for key, value in parsed.items():
        if value is None:
            shown = "—"
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, (dict, list)):
            shown = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        else:
            shown = str(value)
        pairs.append((str(key), shown))
    return pairs


def _resident_labels(session: Session, subjects: set[str]) -> dict[str, str]:
    ids = {int(s[len(RESIDENT_PREFIX):]) for s in subjects
           if s.startswith(RESIDENT_PREFIX) and s[len(RESIDENT_PREFIX):].isdigit()}
    if not ids:
        return {}
    rows = session.execute(select(Resident.id, Resident.name, Resident.code).where(Resident.id.in_(ids)))
    return {f"{RESIDENT_PREFIX}{row_id}": f"{name} ({code})" for row_id, name, code in rows}


def _rows(session: Session, entries: list[AuditEntry]) -> list[AuditRow]:
    labels = _resident_labels(session, {e.subject for e in entries})
    return [AuditRow(e.id, e.at, e.actor, e.action, e.subject, labels.get(e.subject, e.subject),
                     readable_details(e.details)) for e in entries]


def _filtered(flt: AuditFilter) -> Select[Any]:
    query = select(AuditEntry)
    if flt.actor:
        query = query.where(AuditEntry.actor == flt.actor)
    if flt.action:
        query = query.where(AuditEntry.action == flt.action)
    if flt.since is not None:
        query = query.where(AuditEntry.at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditEntry.at < flt.until)
    return query


def audit_page(session: Session, flt: AuditFilter | None = None, *, before_id: int | None = None,
               size: int = PAGE_SIZE) -> tuple[list[AuditRow], int | None]:
    """Newest first by id (ids follow the chain order); the id of the next (older) page's start, or None."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    query = _filtered(flt or AuditFilter())
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    entries = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(size + 1)))
    more = len(entries) > size
    entries = entries[:size]
    return _rows(session, entries), (entries[-1].id if more and entries else None)


def iter_audit(session: Session, flt: AuditFilter, batch: int = 500) -> Iterator[AuditRow]:
    """Every matching entry, newest first, in keyset batches (for the CSV export)."""
    before: int | None = None
    while True:
        rows, before = audit_page(session, flt, before_id=before, size=batch)
        yield from rows
        if before is None:
            return


#: Actors that are not operator accounts (the command line, the gate service's own upkeep).
SYSTEM_ACTORS = ("cli", "service")


def actors(session: Session) -> list[str]:
    """Suggestions for the actor filter: the operator accounts and the system actors. Not a DISTINCT over
    the log, which would read every entry at a large site."""
    return sorted({*session.scalars(select(Operator.username)), *SYSTEM_ACTORS})


__all__ = ["AuditFilter", "AuditRow", "actors", "audit_page", "iter_audit", "readable_details"]
