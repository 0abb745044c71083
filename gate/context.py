"""Everything a command or the service needs, built once from the data folder. No globals."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gate.access.pipeline import AccessService
from gate.access.sql_directory import EventRecorder
from gate.clock import Clock, utcnow
from gate.config import Settings, load_settings
from gate.secrets.keys import KeyFile
from gate.secrets.ledger import DeletionLedger
from gate.secrets.passwords import make_hasher
from gate.store import db, shredding
from gate.store.face_templates import TemplateStore
from gate.store.upkeep import Upkeep

log = logging.getLogger(__name__)


@dataclass
class GateContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    key_file: KeyFile
    store: TemplateStore
    hasher: PasswordHasher
    clock: Clock = field(default=utcnow)
    #: Set when the database's schema is newer than this code but marked compatible (gate.store.schema):
    #: the gate works, logs it, and /health shows it until its software is upgraded.
    schema_note: str | None = None

    @classmethod
    def open(cls, data_dir: Path, *, check_migrated: bool = True, clock: Clock = utcnow,
             create: bool = False) -> GateContext:
        """`create`: a missing SQLite database may be made (`gate restore`); otherwise it is refused."""
        settings = load_settings(data_dir)
        if not create:
            db.require_database(settings.database_url, data_dir)
        engine = db.make_engine(settings.database_url)
        note = None
        if check_migrated:
            try:
                note = db.require_migrated(engine, data_dir)
            except BaseException:
                engine.dispose()  # a refused database keeps no connection open
                raise
            if note is not None:
                log.warning("%s", note)
        key_file = KeyFile(settings.key_file)
        sessions = db.make_session_factory(engine)
        # Every committed deletion made through this context is written to the ledger beside the key file.
        shredding.attach(sessions, DeletionLedger.beside(settings.key_file))
        return cls(settings, engine, sessions, key_file, TemplateStore(key_file), make_hasher(), clock, note)

    @property
    def ledger(self) -> DeletionLedger:
        return DeletionLedger.beside(self.settings.key_file)

    def upkeep(self) -> Upkeep:
        """Ledger, purge and the key-rotation follow-up that make deletion hold (gate.store.upkeep)."""
        return Upkeep(self.sessions, self.engine, self.key_file, self.ledger)

    def access(self, recorder: EventRecorder | None = None) -> AccessService:
        """The access service; `recorder` writes its event rows (the gate service passes its event log)."""
        return AccessService(self.sessions, self.settings, self.hasher, self.clock, recorder=recorder)

    def transaction(self) -> AbstractContextManager[Session]:
        return db.transaction(self.sessions)

    def close(self) -> None:
        self.engine.dispose()
