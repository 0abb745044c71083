"""Engine and sessions; SQLite pragmas; the "is this database migrated?" check."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker

from gate.errors import ConfigError, NotMigratedError
from gate.store import schema

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


#: How long a decision may wait on the database (busy SQLite file, PostgreSQL lock or statement)
#: before the gate decides from its offline copy instead. Everything else keeps the patient defaults.
DECISION_WAIT_MS = 300
BUSY_TIMEOUT_MS = 5000
#: Client-side limits for a link that drops packets without a reset, where the server's timeouts never
#: fire: libpq gives up on unacknowledged data after `tcp_user_timeout` ms and probes an idle
#: connection after 5 s of silence, so a connection stuck on a dead link errors out within seconds
#: instead of the kernel's ~15 minutes (the gate loop itself never waits on it: gate.service.db_deadline).
DECISION_TCP = {"tcp_user_timeout": 5000, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                "keepalives_count": 2}


def _sqlite_pragmas(busy_ms: int) -> Callable[[DBAPIConnection, object], None]:
    def on_connect(dbapi_connection: DBAPIConnection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted template rows and keys are overwritten with zeros, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.close()

    return on_connect


def make_engine(url: str, *, decision_path: bool = False) -> Engine:
    """The engine; `decision_path=True` for the gate service's decisions: it gives up on a busy or
    unreachable database within a few hundred ms (libpq's connect_timeout counts whole seconds, at
    least 2), so a locked file or a dead server costs one short wait, not a card's worth of patience."""
    if url.startswith("sqlite"):
        busy_ms = DECISION_WAIT_MS if decision_path else BUSY_TIMEOUT_MS
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000})
        pragmas = _sqlite_pragmas(busy_ms)
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            _create_private(path)

            def on_connect(dbapi_connection: DBAPIConnection, record: object, path: Path = path) -> None:
                restrict_sqlite_files(path)
                pragmas(dbapi_connection, record)

            event.listen(engine, "connect", on_connect)
        else:
            event.listen(engine, "connect", pragmas)
        return engine
    if decision_path and url.startswith("postgresql"):
        options = f"-c statement_timeout={DECISION_WAIT_MS} -c lock_timeout={DECISION_WAIT_MS}"
        return create_engine(url, pool_pre_ping=True,
                             connect_args={"connect_timeout": 2, "options": options, **DECISION_TCP})
    return create_engine(url, pool_pre_ping=True)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL, memory or URI databases)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def require_database(url: str, data_dir: Path | None = None) -> None:
    """Only `gate init` (and `gate restore`) create a SQLite database. Any other command finding none
    refuses: most often a second gate's command that was meant for the site's PostgreSQL database and,
    without GATE_DATABASE_URL or [database] url, would silently have made and used a new local file."""
    path = sqlite_file(url)
    if path is None or path.exists():
        return
    where = f" --data-dir {data_dir}" if data_dir else ""
    raise ConfigError(f"There is no database at {path}: run `gate{where} init` to create this gate's own, or, to "
                      "use the site's shared database, set [database] url in gate.toml or GATE_DATABASE_URL.")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, migrations_dir: Path = MIGRATIONS_DIR) -> None:
    """Upgrade to this code's head and record which revisions it knows (gate.store.schema); refuses with
    one sentence when the database is newer than this code."""
    config = alembic_config(engine.url.render_as_string(hide_password=False), migrations_dir)
    with engine.begin() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        schema.refuse_downgrade(current, migrations_dir)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        schema.record_revisions(connection, migrations_dir)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(migrations_dir: Path = MIGRATIONS_DIR) -> str:
    return schema.head_of(migrations_dir)


def require_migrated(engine: Engine, data_dir: Path | None = None,
                     migrations_dir: Path = MIGRATIONS_DIR) -> str | None:
    """Refuse to work on a database whose schema is older than this code, or newer and not known to be
    compatible; None at head, or the warning to log and show on /health when a newer schema is compatible
    (another gate of the site was upgraded first: docs/site.md "Upgrading a site")."""
    head = head_revision(migrations_dir)
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current == head:
            return None
        if current is not None and current not in schema.known_revisions(migrations_dir):
            return schema.newer_than_head(connection, current, head).note
    where = f" --data-dir {data_dir}" if data_dir else ""
    state = "has no schema" if current is None else f"is at migration {current}"
    raise NotMigratedError(f"The database {state}, the code needs {head}: run `gate{where} db upgrade`.")
