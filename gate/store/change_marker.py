"""The directory version: a counter in `system_state` that the database bumps itself (triggers of
migration 0009) in the same transaction as any change to residents, cards, PINs, consents,
schedules or holidays, whoever makes it (web UI, CLI, another gate, an older version, plain SQL).

A gate reads it every few seconds (one primary-key read) and refreshes its offline copy when it
moved, so a revoked card stops working offline within seconds rather than at the next periodic
refresh. Read it before reading the copy: a change committed in between is in the copy and moves
the counter again (one refresh too many, never one too few).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.store.models import SystemState

DIRECTORY_VERSION = "directory_version"


def directory_version(session: Session) -> str | None:
    """The current counter, or None on a database without it (then only the periodic refresh runs)."""
    return session.scalar(select(SystemState.value).where(SystemState.key == DIRECTORY_VERSION))
