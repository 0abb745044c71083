"""Alarm acknowledgements on SQLite and PostgreSQL: one per raising, audited, a new raising asks again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gate.context import GateContext
from gate.store import alarm_acks
from gate.store.alarm_acks import Raising
from gate.store.models import AuditEntry

RAISED = datetime(2027, 1, 20, 8, 30, 15, 123456, tzinfo=UTC)


def test_an_acknowledgement_covers_one_raising_and_is_audited(any_ctx: GateContext) -> None:
    forced = Raising("north", "door_forced", RAISED)
    fire = Raising("north", "fire_alarm", RAISED)
    later = Raising("north", "door_forced", RAISED + timedelta(minutes=5))
    with any_ctx.transaction() as session:
        assert alarm_acks.unacknowledged(session, [forced, fire]) == [forced, fire]
        assert alarm_acks.acknowledge(session, forced, actor="alice", now=RAISED + timedelta(seconds=40))
    with any_ctx.transaction() as session:
        # The time as a form sends it back (whole seconds, another zone) names the same raising.
        again = Raising("north", "door_forced", RAISED.replace(microsecond=0).astimezone(
            __import__("zoneinfo").ZoneInfo("Asia/Shanghai")))
        assert not alarm_acks.acknowledge(session, again, actor="bob", now=RAISED + timedelta(minutes=1))
        assert alarm_acks.unacknowledged(session, [forced, fire, later]) == [fire, later]
        assert alarm_acks.unacknowledged(session, []) == []
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == alarm_acks.AUDIT_ACTION)).all()
    assert [(e.actor, e.subject) for e in entries] == [("alice", "north")]
    assert "door_forced" in entries[0].details
