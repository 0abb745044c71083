"""The follow-up that makes deletion hold everywhere, and the purge that runs it.

After a deletion commits, the rows are gone from the live tables, but their bytes may survive in
PostgreSQL's dead tuples and WAL, in SQLite's free pages (zeroed here by secure_delete) and in every
backup taken before. All of those hold the template's data key wrapped by the master key of that
time. The follow-up rotates the master key (re-wrapping every live data key, then destroying the old
master key) and vacuums the face tables, so nothing left anywhere can be opened with the key material
that remains. `run` is what the service does at start and daily and what `gate purge` and
`gate restore` do: apply the deletion ledger, delete copies whose key is destroyed, purge, follow up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import utcnow
from gate.config.sections import DEFAULT_VISITOR_RETENTION_DAYS
from gate.errors import KeyUnavailableError
from gate.secrets.keys import KeyStore
from gate.secrets.ledger import DeletionLedger, LedgerEntry
from gate.store import audit, retention, rotation, shredding, visitors
from gate.store.db import transaction
from gate.store.face_templates import shred_templates, unlink_orphans
from gate.store.ledger_share import ExchangeReport, LedgerShare
from gate.store.models import DataKey

log = logging.getLogger("gate.store")


def vacuum_face_tables(engine: Engine) -> None:
    """Have the database drop the dead rows of the face tables now rather than some day."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("data_keys", "face_templates"):
                connection.exec_driver_sql(f"VACUUM {table}")
    elif engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def shred_under_retired_keys(session: Session, retired: tuple[str, ...]) -> int:
    """Templates whose data key is wrapped by a master key this installation destroyed (a restored
    copy): they can never be opened again, so they are deleted and their residents unlinked."""
    if not retired:
        return 0
    ids = list(session.scalars(select(DataKey.template_id).where(DataKey.kek_id.in_(retired))))
    count = shred_templates(session, ids)
    if count:
        unlink_orphans(session)
    return count


@dataclass(frozen=True)
class UpkeepReport:
    ledger: shredding.ApplyReport = field(default_factory=shredding.ApplyReport)
    unreadable: int = 0
    purge: retention.PurgeReport | None = None
    rotation: rotation.RotationReport | None = None
    problems: tuple[str, ...] = ()
    visitors_deleted: int = 0  # closed visitor codes past [retention] visitor_days


@dataclass(frozen=True)
class Upkeep:
    sessions: sessionmaker[Session]
    engine: Engine
    key_file: KeyStore
    ledger: DeletionLedger
    #: The site-wide ledger (every gate's deletions, gate.store.ledger_share); None: this ledger only.
    share: LedgerShare | None = None

    def ledger_entries(self) -> list[LedgerEntry]:
        return self.share.entries() if self.share is not None else self.ledger.entries()

    def exchange_ledger(self) -> ExchangeReport:
        """Publish this gate's deletions and copy the other gates'; never stops the rest of the upkeep."""
        if self.share is None:
            return ExchangeReport()
        try:
            return self.share.exchange()
        except (SQLAlchemyError, KeyUnavailableError) as err:
            log.warning("deletion ledger exchange failed: %s", err)
            return ExchangeReport(problems=(str(err),))

    def follow_up_due(self) -> bool:
        with self.sessions() as session:
            return shredding.follow_up_token(session) is not None

    def follow_up(self, *, actor: str, progress: Callable[[int, int], None] | None = None
                  ) -> rotation.RotationReport | None:
        """Rotate the master key and vacuum when a deletion asked for it; None when nothing was due.
        Every few minutes, so first the ledger exchange: another gate's deletion, or a restore of an older
        backup anywhere (the table then lacks lines), is applied here within minutes, not the next day."""
        exchanged = self.exchange_ledger()
        if exchanged.pulled or exchanged.pushed:
            try:
                self.apply_ledger(actor=actor)
            except KeyUnavailableError as err:
                log.error("deletion upkeep: %s", err)
        if not self.follow_up_due():
            return None
        report = rotation.rotate(self.sessions, self.key_file, actor=actor, progress=progress)
        self.vacuum()
        return report

    def vacuum(self) -> None:
        vacuum_face_tables(self.engine)

    def apply_ledger(self, *, actor: str) -> shredding.ApplyReport:
        entries = self.ledger_entries()
        with transaction(self.sessions) as session:
            report = shredding.apply_ledger(session, entries)
            if report.changed:
                audit.record(session, actor, "ledger.apply", "", entries=report.entries,
                             templates_destroyed=report.templates, links=report.links,
                             consents_withdrawn=report.consents, moved_out=report.moved_out,
                             residents_removed=report.removed)
        return report

    def run(self, *, site_days: int, actor: str, now: datetime | None = None,
            progress: Callable[[int, int], None] | None = None, forbid_minors: bool = False,
            timezone: str = "UTC", visitor_days: int = DEFAULT_VISITOR_RETENTION_DAYS) -> UpkeepReport:
        """Everything deletion needs, each step on its own so one failing (a missing key file, a damaged
        ledger) never stops the others: retention is kept whatever else is wrong."""
        problems: list[str] = list(self.exchange_ledger().problems)
        ledger_report = shredding.ApplyReport()
        try:
            ledger_report = self.apply_ledger(actor=actor)
        except KeyUnavailableError as err:
            problems.append(str(err))
        retired: tuple[str, ...] = ()
        try:
            retired = self.key_file.load().retired
        except KeyUnavailableError as err:
            problems.append(str(err))
        with transaction(self.sessions) as session:
            unreadable = shred_under_retired_keys(session, retired)
            purge_report = retention.purge(session, site_days=site_days, actor=actor, now=now,
                                           forbid_minors=forbid_minors, timezone=timezone)
            visitors_deleted = visitors.purge_closed(session, days=visitor_days, now=now or utcnow(), actor=actor)
        rotation_report = None
        try:
            rotation_report = self.follow_up(actor=actor, progress=progress)
        except KeyUnavailableError as err:
            problems.append(str(err))
        for problem in problems:
            log.error("deletion upkeep: %s", problem)
        return UpkeepReport(ledger_report, unreadable, purge_report, rotation_report, tuple(problems),
                            visitors_deleted)
