"""The tamper-evident audit log: a hash chain over every sensitive action.

Each entry's hash covers its content and the previous entry's hash; the chain head is kept in
`system_state` so that cutting entries off the end is detected too. `verify` recomputes the chain.
Entries never hold a template, an image or a PIN: `record` refuses such details.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.errors import ConflictError
from gate.store.models import AuditEntry, SystemState

GENESIS = "0" * 64
HEAD_KEY = "audit_head"
_FORBIDDEN_DETAIL_WORDS = ("pin", "password", "template", "encoding", "image", "frame", "photo", "key")


def _canonical(at: datetime, actor: str, action: str, subject: str, details: str, prev_hash: str) -> bytes:
    return json.dumps(
        [at.isoformat(timespec="microseconds"), actor, action, subject, details, prev_hash],
        ensure_ascii=False, separators=(",", ":"),
    ).encode()


def entry_digest(at: datetime, actor: str, action: str, subject: str, details: str, prev_hash: str) -> str:
    return hashlib.sha256(_canonical(at, actor, action, subject, details, prev_hash)).hexdigest()


def _check_details(details: dict[str, object]) -> None:
    for name, value in details.items():
        lowered = name.lower()
        if any(word in lowered.split("_") for word in _FORBIDDEN_DETAIL_WORDS) or isinstance(value, (bytes, bytearray)):
            raise ValueError(f"audit details may not carry {name!r}: no secrets or biometric data in the audit log")


def record(session: Session, actor: str, action: str, subject: str = "", now: datetime | None = None,
           **details: object) -> AuditEntry:
    """Append an entry inside the caller's transaction, so it commits or rolls back with the action."""
    _check_details(details)
    at = (now or utcnow()).astimezone(UTC)
    head = session.execute(
        select(SystemState).where(SystemState.key == HEAD_KEY).with_for_update()
    ).scalar_one_or_none()
    prev_hash = head.value if head else GENESIS
    details_text = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    digest = entry_digest(at, actor, action, subject, details_text, prev_hash)
    entry = AuditEntry(at=at, actor=actor, action=action, subject=subject, details=details_text,
                       prev_hash=prev_hash, entry_hash=digest)
    session.add(entry)
    if head is None:
        session.add(SystemState(key=HEAD_KEY, value=digest))
    else:
        head.value = digest
    try:
        session.flush()
    except Exception as err:  # a concurrent writer took the same head: the chain must not fork
        raise ConflictError("The audit log was written concurrently; retry the action.") from err
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head: str
    problem: str = ""
    bad_entry_id: int | None = None


def verify(session: Session) -> ChainReport:
    prev = GENESIS
    count = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        count += 1
        if entry.prev_hash != prev:
            return ChainReport(False, count, prev, f"entry {entry.id} does not follow the entry before it "
                               "(an entry was deleted, inserted or reordered)", entry.id)
        expected = entry_digest(entry.at, entry.actor, entry.action, entry.subject, entry.details, entry.prev_hash)
        if expected != entry.entry_hash:
            return ChainReport(False, count, prev, f"entry {entry.id} was edited after it was written", entry.id)
        prev = entry.entry_hash
    head = session.get(SystemState, HEAD_KEY)
    recorded_head = head.value if head else GENESIS
    if recorded_head != prev:
        return ChainReport(False, count, prev,
                           "the newest entries were removed (the chain ends before its recorded head)")
    return ChainReport(True, count, prev)
