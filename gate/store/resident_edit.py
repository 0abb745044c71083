"""Editing a resident's details (name, unit, date of birth, guardian, group), audited like every change."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.errors import PolicyError
from gate.i18n.marker import N_
from gate.secrets import passwords
from gate.store import audit
from gate.store.models import Resident
from gate.store.residents import NEEDS_NAME, check_birth_date


def update_resident(session: Session, resident: Resident, *, name: str, unit: str, birth_date: date | None,
                    guardian_name: str | None, group_name: str | None, actor: str) -> list[str]:
    """Returns the names of the fields that changed (the audit entry lists names, not values).

    The old manual "under 14" flag is not edited here: it is read only while no date of birth is
    recorded, and entering one supersedes it (gate.store.face_standing.is_minor)."""
    check_birth_date(birth_date, utcnow())
    if not name.strip():
        raise PolicyError.of(NEEDS_NAME)
    if len(name) > 200 or len(unit) > 64 or len(guardian_name or "") > 200 or len(group_name or "") > 64:
        raise PolicyError.of(N_("Name and guardian are at most 200 characters, unit and group at most 64."))
    new = {"name": name.strip(), "unit": unit.strip(), "birth_date": birth_date,
           "guardian_name": (guardian_name or "").strip() or None, "group_name": (group_name or "").strip() or None}
    changed = [field for field, value in new.items() if getattr(resident, field) != value]
    for field in changed:
        setattr(resident, field, new[field])
    if changed:
        session.flush()
        audit.record(session, actor, "resident.edit", f"resident:{resident.id}", fields=",".join(changed))
    return changed


def generate_pin(length: int = 6) -> str:
    """A random PIN that passes the strength rules."""
    while True:
        pin = "".join(secrets.choice("0123456789") for _ in range(length))
        try:
            passwords.check_pin_strength(pin)
        except PolicyError:
            continue
        return pin
