"""Acknowledging alarms: an operator says they saw one raising of an alarm; the banner then stops showing it.

An alarm stays active until its cause clears (the door closes, the fire loop closes, the device answers);
acknowledging only stops the banner asking. A later raising of the same alarm is a new one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.store import audit
from gate.store.models import AlarmAcknowledgement

AUDIT_ACTION = "alarm.acknowledge"


@dataclass(frozen=True)
class Raising:
    """One raising of one alarm at one gate."""

    gate: str
    alarm: str
    raised_at: datetime

    def key(self) -> tuple[str, str, datetime]:
        # Whole seconds: a form round-trips the time as ISO text and SQLite keeps what it is given.
        return self.gate, self.alarm, self.raised_at.astimezone(UTC).replace(microsecond=0)


def acknowledge(session: Session, raising: Raising, *, actor: str, now: datetime) -> bool:
    """Record (and audit) that `actor` saw `raising`; False when it had been acknowledged already."""
    gate, alarm, raised_at = raising.key()
    if session.scalar(select(AlarmAcknowledgement.id).where(
            AlarmAcknowledgement.gate_name == gate, AlarmAcknowledgement.alarm == alarm,
            AlarmAcknowledgement.raised_at == raised_at)) is not None:
        return False
    session.add(AlarmAcknowledgement(gate_name=gate, alarm=alarm, raised_at=raised_at, acknowledged_by=actor,
                                     acknowledged_at=now))
    audit.record(session, actor, AUDIT_ACTION, subject=gate, now=now, alarm=alarm,
                 raised_at=raised_at.isoformat())
    return True


def unacknowledged(session: Session, raisings: Iterable[Raising]) -> list[Raising]:
    """The raisings nobody acknowledged yet, in the order given."""
    wanted = list(raisings)
    if not wanted:
        return []
    rows = session.execute(select(AlarmAcknowledgement.gate_name, AlarmAcknowledgement.alarm,
                                  AlarmAcknowledgement.raised_at)
                           .where(AlarmAcknowledgement.gate_name.in_({r.gate for r in wanted}))).all()
    seen = {(g, a, t.astimezone(UTC).replace(microsecond=0)) for g, a, t in rows}
    return [r for r in wanted if r.key() not in seen]
