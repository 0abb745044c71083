"""Engine and sessions; SQLite pragmas; the "is this database migrated?" check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker

from gate.errors import NotMigratedError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The files SQLite keeps beside the database while it writes; they hold the same personal data.
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
PRIVATE_FILE = 0o600


def restrict_sqlite_files(path: Path) -> None:
    """The database and its journals readable by the gate's user only, whatever the umask made them.
    SQLite creates -journal, -wal and -shm with the database file's own mode, so a 0600 database keeps
    its journals 0600; this also mends a database an older version left 0644."""
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)):
        try:
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(PRIVATE_FILE)
        except FileNotFoundError:
            continue
        except PermissionError:
            continue  # another user's file (a copy opened read-only): not ours to change


def _create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite does, which would follow the umask (often 0644)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass


def _sqlite_connect(path: Path, dbapi_connection: DBAPIConnection, record: object) -> None:
    restrict_sqlite_files(path)
    _sqlite_pragmas(dbapi_connection, record)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted template rows and keys are overwritten with zeros, not left in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            _create_private(path)
            event.listen(engine, "connect", partial(_sqlite_connect, path))
        else:
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def require_migrated(engine: Engine, data_dir: Path | None = None) -> None:
    """Refuse to work on a database whose schema is not at the latest migration."""
    current = current_revision(engine)
    if current != head_revision():
        where = f" --data-dir {data_dir}" if data_dir else ""
        state = "has no schema" if current is None else f"is at migration {current}"
        raise NotMigratedError(
            f"The database {state}, the code needs {head_revision()}: run `gate{where} db upgrade`."
        )
