"""Who looked at whom: every view of a resident's personal data is an audit fact (PIPL 51, U4).

Exports are audited where they are built (`rights.export_resident`); this module is for screens.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gate.store import audit
from gate.store.models import Resident

#: What an operator can have seen, named the same way in the audit log and in the docs.
VIEWS = ("resident page", "edit form")


def record_view(session: Session, resident: Resident, *, actor: str, what: str) -> None:
    if what not in VIEWS:
        raise ValueError(f"unknown view {what!r}: one of {', '.join(VIEWS)}")
    audit.record(session, actor, "resident.view", f"resident:{resident.id}", what=what)
