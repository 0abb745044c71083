"""One clock for state several gates share: the database server's.

Lock-outs, anti-passback and retention deadlines are compared across gates, so they are read and
written in the database's time, fetched in the same transaction as the decision. A gate whose own
clock runs 10 minutes fast would otherwise lock a resident out for 10.5 minutes at every other gate
(issue 17, finding 5). SQLite lives on the gate's own machine, so there the gate's clock is the
database's clock and the (injectable) gate clock is used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

#: Time for shared state, read with the session of the decision (or purge) it is for; tests inject one.
SharedClock = Callable[[Session], datetime]


def database_now(session: Session) -> datetime | None:
    """The database server's current time (UTC), or None when the database is a local SQLite file."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    # clock_timestamp(), not now(): now() is frozen at the start of the transaction.
    value = session.scalar(text("SELECT clock_timestamp()"))
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


def skew(session: Session, gate_now: datetime) -> timedelta | None:
    """How far the gate's clock is ahead of the database's (negative: behind); None on SQLite.

    `gate_now` is read just before the query; the round trip (milliseconds on a LAN) is within the
    seconds the alarm allows.
    """
    server = database_now(session)
    return None if server is None else gate_now - server
