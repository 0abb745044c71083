"""Validity periods of residents and cards (tenants), edited and audited; residents whose period ended.

Dates are local calendar days in the site's time zone ([site] timezone), `valid_until` inclusive
(gate.core.validity). A resident past the end is refused by every method but not deleted: they appear
on the move-out list (`ended_residents`), and the existing move-out deletes their face data.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.core.validity import check_order
from gate.errors import PolicyError
from gate.store import audit
from gate.store.models import Card, Resident, ResidentStatus


def parse_date(text: str | None, what: str = "date") -> date | None:
    """A form's or command line's date ("" for none)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PolicyError(f"Give the {what} as YYYY-MM-DD, e.g. 2027-02-28 (got {text!r}).") from None


def _check(valid_from: date | None, valid_until: date | None) -> None:
    problem = check_order(valid_from, valid_until)
    if problem is not None:
        raise PolicyError(problem)


def _apply(session: Session, row: Resident | Card, valid_from: date | None, valid_until: date | None) -> bool:
    """Check and set a period on a resident or a card; whether anything changed (the caller audits it)."""
    _check(valid_from, valid_until)
    if (row.valid_from, row.valid_until) == (valid_from, valid_until):
        return False
    row.valid_from, row.valid_until = valid_from, valid_until
    session.flush()
    return True


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def set_resident_validity(session: Session, resident: Resident, valid_from: date | None, valid_until: date | None,
                          *, actor: str) -> bool:
    """Returns whether anything changed. The audit entry carries the dates (no personal data in them)."""
    if not _apply(session, resident, valid_from, valid_until):
        return False
    audit.record(session, actor, "resident.validity", f"resident:{resident.id}", valid_from=_iso(valid_from),
                 valid_until=_iso(valid_until))
    return True


def set_card_validity(session: Session, card: Card, valid_from: date | None, valid_until: date | None,
                      *, actor: str) -> bool:
    from gate.store.residents import card_reference

    if not _apply(session, card, valid_from, valid_until):
        return False
    audit.record(session, actor, "card.validity", f"resident:{card.resident_id}",
                 card_ref=card_reference(card.resident, card.uid), valid_from=_iso(valid_from),
                 valid_until=_iso(valid_until))
    return True


def ended_residents(session: Session, today: date) -> list[Resident]:
    """Active residents whose validity ended before `today` (the site's local date): to move out."""
    query = (select(Resident).where(Resident.status == ResidentStatus.ACTIVE, Resident.valid_until.is_not(None),
                                    Resident.valid_until < today)
             .order_by(Resident.valid_until, Resident.code))
    return list(session.scalars(query))
