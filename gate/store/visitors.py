"""Visitor codes: issued by an operator, used at the gate, revoked; every change audited.

The code (gate.core.visitors) is shown once at issue and never stored: the record keeps its locator
and an argon2id hash of its secret digits, like a PIN. Each use takes one entry with a conditional
UPDATE (`take_entry`), so two gates racing for the last entry cannot both open.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.core.validity import Validity
from gate.core.visitors import LOCATOR_DIGITS, SECRET_DIGITS, VisitorPass, make_code
from gate.errors import ConflictError, NotFoundError, PolicyError
from gate.store import audit
from gate.store.models import AccessEvent, Gate, Visitor, VisitorGate

#: Records deleted per statement (the IN list stays well under SQLite's parameter limit).
PURGE_BATCH = 500
MAX_ENTRIES = 50
MAX_DAYS = 31
LABEL_LENGTH = 64


@dataclass(frozen=True)
class Issued:
    visitor_id: int
    code: str  # shown once; nowhere else


def is_open(visitor: Visitor, now: datetime) -> bool:
    """Still able to open a gate some time: not revoked, not past its end, entries left."""
    return visitor.revoked_at is None and visitor.valid_until > now and visitor.remaining > 0


def _free_locator(session: Session, now: datetime) -> str:
    """A locator no open record holds, so the newest record with a locator is the only one it can mean."""
    taken = set(session.scalars(select(Visitor.locator).where(Visitor.revoked_at.is_(None),
                                                              Visitor.valid_until > now, Visitor.remaining > 0)))
    if len(taken) >= 10 ** LOCATOR_DIGITS // 2:
        raise ConflictError("Too many visitor codes are open at once; revoke some that are no longer needed.")
    while True:
        locator = f"{secrets.randbelow(10 ** LOCATOR_DIGITS):0{LOCATOR_DIGITS}d}"
        if locator not in taken:
            return locator


def issue(session: Session, hasher: PasswordHasher, *, label: str, gate_ids: list[int], valid_from: datetime,
          valid_until: datetime, entries: int, actor: str, now: datetime | None = None) -> Issued:
    now = now or utcnow()
    label = label.strip()
    if len(label) > LABEL_LENGTH:
        raise PolicyError(f"A visitor label is at most {LABEL_LENGTH} characters.")
    if not gate_ids:
        raise PolicyError("Choose at least one gate the visitor code opens.")
    if not 1 <= entries <= MAX_ENTRIES:
        raise PolicyError(f"A visitor code allows 1 to {MAX_ENTRIES} entries.")
    if valid_until <= valid_from:
        raise PolicyError("The end of the visit must be after its start.")
    if valid_until <= now:
        raise PolicyError("The visit ends in the past: choose an end time still to come.")
    if valid_until - valid_from > timedelta(days=MAX_DAYS):
        raise PolicyError(f"A visitor code is valid for at most {MAX_DAYS} days; a longer stay needs a resident "
                          "record with a validity period.")
    known = set(session.scalars(select(Gate.id).where(Gate.id.in_(gate_ids))))
    if known != set(gate_ids):
        raise NotFoundError("One of the chosen gates no longer exists; reload the page and choose again.")
    locator = _free_locator(session, now)
    secret = f"{secrets.randbelow(10 ** SECRET_DIGITS):0{SECRET_DIGITS}d}"
    visitor = Visitor(label=label, locator=locator, code_hash=hasher.hash(secret), valid_from=valid_from,
                      valid_until=valid_until, entries=entries, remaining=entries, issued_by=actor, issued_at=now)
    visitor.gates = [VisitorGate(gate_id=gate_id) for gate_id in sorted(known)]
    session.add(visitor)
    session.flush()
    audit.record(session, actor, "visitor.issue", f"visitor:{visitor.id}", entries=entries,
                 gates=",".join(map(str, sorted(known))), valid_from=valid_from.isoformat(),
                 valid_until=valid_until.isoformat())
    return Issued(visitor.id, make_code(locator, secret))


def revoke(session: Session, visitor_id: int, *, actor: str, now: datetime | None = None) -> Visitor:
    visitor = get_visitor(session, visitor_id)
    if visitor.revoked_at is not None:
        raise ConflictError(f"Visitor code #{visitor_id} is already revoked.")
    visitor.revoked_at, visitor.revoked_by = now or utcnow(), actor
    session.flush()
    audit.record(session, actor, "visitor.revoke", f"visitor:{visitor.id}", remaining=visitor.remaining)
    return visitor


def get_visitor(session: Session, visitor_id: int) -> Visitor:
    visitor = session.get(Visitor, visitor_id)
    if visitor is None:
        raise NotFoundError(f"No visitor code #{visitor_id}.")
    return visitor


def by_locator(session: Session, locator: str) -> Visitor | None:
    """The newest record with this locator: the only open one, if any is (see `_free_locator`)."""
    return session.scalar(select(Visitor).where(Visitor.locator == locator).order_by(Visitor.id.desc()).limit(1))


def gate_ids(session: Session, visitor_id: int) -> frozenset[int]:
    return frozenset(session.scalars(select(VisitorGate.gate_id).where(VisitorGate.visitor_id == visitor_id)))


def pass_of(session: Session, visitor: Visitor) -> VisitorPass:
    return VisitorPass(visitor.id, Validity(visitor.valid_from, visitor.valid_until), visitor.remaining,
                       gate_ids(session, visitor.id), revoked=visitor.revoked_at is not None)


def take_entry(session: Session, visitor_id: int) -> bool:
    """One entry, atomically: the UPDATE only matches while entries remain, so of two gates racing for
    the last one, exactly one gets a row count of 1 (the other's UPDATE waits for the first's commit on
    PostgreSQL and then matches nothing; SQLite has one writer at a time)."""
    result = session.execute(update(Visitor).where(Visitor.id == visitor_id, Visitor.remaining > 0)
                             .values(remaining=Visitor.remaining - 1).execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0) == 1)


def take_entries_offline(session: Session, visitor_id: int, count: int) -> int:
    """Reconcile uses made from an offline copy: take up to `count` entries, never below zero."""
    taken = 0
    for _ in range(count):
        if not take_entry(session, visitor_id):
            break
        taken += 1
    return taken


def list_visitors(session: Session, now: datetime, *, active: bool) -> list[Visitor]:
    open_ = (Visitor.revoked_at.is_(None)) & (Visitor.valid_until > now) & (Visitor.remaining > 0)
    query = select(Visitor).where(open_ if active else ~open_)
    order = Visitor.valid_from if active else Visitor.id.desc()
    return list(session.scalars(query.order_by(order).limit(200)))


def purge_closed(session: Session, *, days: int, now: datetime, actor: str) -> int:
    """Delete visitor records closed more than `days` ago ([retention] visitor_days): revoked, past their
    window's end, or used up with no entry taken since. Their access events stay, unlinked (their detail
    still reads `visitor #id`, which names no one). Audited when anything was deleted; returns the count."""
    cutoff = now - timedelta(days=days)
    recent_entry = exists().where(AccessEvent.visitor_id == Visitor.id, AccessEvent.granted.is_(True),
                                  AccessEvent.at >= cutoff)
    closed = or_(Visitor.revoked_at < cutoff, Visitor.valid_until < cutoff,
                 and_(Visitor.remaining <= 0, Visitor.issued_at < cutoff, ~recent_entry))
    ids = list(session.scalars(select(Visitor.id).where(closed).order_by(Visitor.id)))
    for start in range(0, len(ids), PURGE_BATCH):
        batch = ids[start:start + PURGE_BATCH]
        # Explicit rather than left to ON DELETE SET NULL, which SQLite applies only with foreign keys on.
        session.execute(update(AccessEvent).where(AccessEvent.visitor_id.in_(batch)).values(visitor_id=None)
                        .execution_options(synchronize_session=False))
        session.execute(delete(VisitorGate).where(VisitorGate.visitor_id.in_(batch))
                        .execution_options(synchronize_session=False))
        session.execute(delete(Visitor).where(Visitor.id.in_(batch)).execution_options(synchronize_session=False))
    if ids:
        audit.record(session, actor, "visitor.purge", "", now=now, deleted=len(ids), days=days)
    return len(ids)
