"""Everything a command or the service needs, built once from the data folder. No globals."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gate.access.pipeline import AccessService
from gate.access.sql_directory import EventRecorder
from gate.clock import Clock, utcnow
from gate.config import Settings, load_settings, sitewide
from gate.secrets.keys import KeyStore
from gate.secrets.ledger import DeletionLedger
from gate.secrets.passwords import make_hasher
from gate.store import db, shredding, site_clock, site_keys, site_settings
from gate.store.face_templates import TemplateStore
from gate.store.ledger_share import LedgerShare
from gate.store.site_clock import SharedClock
from gate.store.upkeep import Upkeep

log = logging.getLogger(__name__)


def session_factory(engine: Engine, settings: Settings) -> sessionmaker[Session]:
    """Sessions whose committed deletions are written to the ledger beside the key file: every factory
    a gate deletes through (the web UI's, the decision path's for the kiosk) is made here."""
    sessions = db.make_session_factory(engine)
    shredding.attach(sessions, DeletionLedger.beside(settings.key_file))
    return sessions


@dataclass
class GateContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    key_file: KeyStore
    store: TemplateStore
    hasher: PasswordHasher
    clock: Clock = field(default=utcnow)
    #: gate.toml as read; `settings` is it with the site-wide keys taken from the database.
    file_settings: Settings | None = None
    #: The site settings' version last read (-1: not read yet, e.g. the database was away at start).
    site_version: int = -1
    #: Where shared state (lock-outs, anti-passback, retention deadlines) takes its time from; None: the
    #: database server's clock (gate.store.site_clock), or this gate's clock on SQLite. Tests may inject one.
    shared_clock: SharedClock | None = None
    #: True when opened with `offline_ok` while the database did not answer: nothing has checked its
    #: schema yet (the gate service does, before it joins the database again).
    schema_unchecked: bool = False
    #: Set when the database's schema is newer than this code but marked compatible (gate.store.schema):
    #: the gate works, logs it, and /health shows it until its software is upgraded.
    schema_note: str | None = None

    @classmethod
    def open(cls, data_dir: Path, *, check_migrated: bool = True, clock: Clock = utcnow,
             shared_clock: SharedClock | None = None, offline_ok: bool = False,
             create: bool = False) -> GateContext:
        """`offline_ok` (the gate service): a database that does not answer is not an error here.
        `create`: a missing SQLite database may be made (`gate restore`); otherwise it is refused."""
        settings = load_settings(data_dir)
        if not create:
            db.require_database(settings.database_url, data_dir)
        engine = db.make_engine(settings.database_url)
        unchecked = False
        note = None
        if check_migrated:
            try:
                note = db.require_migrated(engine, data_dir)
            except SQLAlchemyError as err:
                if not offline_ok:
                    engine.dispose()
                    raise
                log.warning("the database does not answer (%s): starting on the offline copy", type(err).__name__)
                unchecked = True
            except BaseException:
                engine.dispose()  # a refused database keeps no connection open
                raise
            if note is not None:
                log.warning("%s", note)
        sessions = session_factory(engine, settings)
        # The local key file, or this gate's slot of the site keyring once it joined a site (docs/keys.md).
        key_file = site_keys.key_store(settings.key_file, sessions)
        context = cls(settings, engine, sessions, key_file, TemplateStore(key_file), make_hasher(), clock,
                      file_settings=settings, shared_clock=shared_clock, schema_unchecked=unchecked,
                      schema_note=note)
        if check_migrated and not unchecked:
            context.load_site_settings()
        return context

    def load_site_settings(self) -> None:
        """Take the site-wide settings from the database (seeding it on first use from gate.toml)."""
        file_settings = self.file_settings or self.settings
        try:
            values, self.site_version = site_settings.load(
                self.sessions, sitewide.written_in_file(file_settings.data_dir),
                actor=f"gate:{file_settings.gate.name}"[:64], now=self.clock())
        except SQLAlchemyError as err:
            # The database is away: run on gate.toml's values; the site watch loads the database's later.
            log.warning("site-wide settings not read from the database (%s); using gate.toml's values until "
                        "it answers", type(err).__name__)
            return
        self.settings = sitewide.overlay(file_settings, values)

    def refresh_site_settings(self) -> list[str]:
        """Re-read the site-wide settings if their version moved; returns the keys whose value changed."""
        with self.sessions() as session:
            number = site_settings.version(session)
            if number == self.site_version:
                return []
            values = site_settings.stored(session)
        before = sitewide.values_of(self.settings)
        self.settings = sitewide.overlay(self.file_settings or self.settings, values)
        self.site_version = number
        after = sitewide.values_of(self.settings)
        return [name for name in sitewide.SITE_WIDE_KEYS if before[name] != after[name]]

    def site_now(self, session: Session | None = None) -> datetime:
        """Now, for shared state: the injected shared clock, else the database's time, else this gate's."""
        if session is None:
            with self.sessions() as own:
                return self.site_now(own)
        if self.shared_clock is not None:
            return self.shared_clock(session)
        return site_clock.database_now(session) or self.clock()

    @property
    def ledger(self) -> DeletionLedger:
        return DeletionLedger.beside(self.settings.key_file)

    def upkeep(self) -> Upkeep:
        """Ledger, purge and the key-rotation follow-up that make deletion hold (gate.store.upkeep)."""
        return Upkeep(self.sessions, self.engine, self.key_file, self.ledger, LedgerShare(self.ledger, self.sessions))

    def access(self, recorder: EventRecorder | None = None) -> AccessService:
        """The access service; `recorder` writes its event rows (the gate service passes its event log)."""
        return AccessService(self.sessions, lambda: self.settings, self.hasher, self.clock, recorder=recorder,
                             shared_clock=self.shared_clock)

    def transaction(self) -> AbstractContextManager[Session]:
        return db.transaction(self.sessions)

    def close(self) -> None:
        self.engine.dispose()
