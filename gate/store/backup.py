"""`gate backup` and `gate restore`: a consistent copy of the database, and never the key file.

SQLite is copied with SQLite's own online-backup API (consistent while the gate keeps writing);
PostgreSQL with `pg_dump --format=custom` (one snapshot) and restored with `pg_restore` into an emptied
schema. A backup holds face templates only as ciphertext under data keys wrapped by the master key of
its day; the key file stays where it is (back it up separately, offline: docs/deletion.md). Restoring
is only half of `gate restore`: the command then upgrades the schema, re-applies the deletion ledger and
deletes what the destroyed master keys can no longer open, before anything else can use the database.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine

from gate.errors import GateError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


class BackupError(GateError):
    """A backup or restore could not be made; the message says what to do."""


def suffix_for(engine: Engine) -> str:
    return ".pgdump" if engine.dialect.name == "postgresql" else ".sqlite"


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("Only a SQLite database in a file can be backed up.")
    return Path(database)


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The connection URI for pg_dump/pg_restore, with the password in the environment, not argv."""
    url = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client (apt install postgresql-client).")
    return path


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit status {result.returncode}'}.")


def _private_new_file(path: Path) -> None:
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def backup(engine: Engine, destination: Path) -> Path:
    """Write a consistent copy of the database to `destination` (created 0600; never overwritten)."""
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose another file name.")
    partial = destination.with_name(f".{destination.name}.partial")
    partial.unlink(missing_ok=True)
    _private_new_file(partial)
    try:
        if engine.dialect.name == "sqlite":
            source = sqlite3.connect(_sqlite_path(engine))
            target = sqlite3.connect(partial)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        elif engine.dialect.name == "postgresql":
            uri, env = _libpq(engine)
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}",
                  f"--dbname={uri}"], env, "pg_dump")
        else:
            raise BackupError(f"Backups of {engine.dialect.name} databases are not supported.")
        os.chmod(partial, PRIVATE_FILE)
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return destination


def _check_sqlite_backup(source: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            connection.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as err:
        raise BackupError(f"{source} is not a gate database backup ({err}).") from err


def restore(engine: Engine, source: Path) -> None:
    """Replace the whole database with the backup's content. The caller must then run the ledger
    (gate.store.upkeep) before anything else uses it; `gate restore` does."""
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    engine.dispose()
    if engine.dialect.name == "sqlite":
        _check_sqlite_backup(source)
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        live = sqlite3.connect(_sqlite_path(engine))
        try:
            backup_db.backup(live)  # page by page, under SQLite's lock: never half a database
        finally:
            live.close()
            backup_db.close()
    elif engine.dialect.name == "postgresql":
        uri, env = _libpq(engine)
        _run([_tool("pg_restore"), "--list", str(source)], env, "Reading the backup")
        with engine.begin() as connection:
            # Tables a newer schema added would survive a plain --clean and break the upgrade after it.
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction", f"--dbname={uri}",
              str(source)], env, "pg_restore")
    else:
        raise BackupError(f"Restoring {engine.dialect.name} databases is not supported.")
    engine.dispose()
