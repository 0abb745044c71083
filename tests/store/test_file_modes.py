"""Finding 8: the data folder is 0700; gate.toml, the SQLite database and its journals are 0600, even
when the umask would have made them 0644 (the common default), and an older 0644 database is mended."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gate.install import initialise
from gate.store import db
from tests.conftest import REPO


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_gate_init_makes_private_files_under_umask_022(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", "from gate.cli import main; main()", "--data-dir", str(data),
                           "init"], env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o700
    for name in ("gate.toml", "gate.db", "keys/master.key"):
        assert mode(data / name) == 0o600, name


def test_initialise_chmods_without_relying_on_the_umask(tmp_path: Path, loose_umask: None) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    initialise(data)
    assert mode(data) == 0o700
    assert mode(data / "gate.toml") == 0o600
    assert mode(data / "gate.db") == 0o600


def test_journals_written_during_a_transaction_are_0600(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "x" / "gate.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            journal = path.with_name("gate.db-journal")
            assert journal.exists() and mode(journal) == 0o600  # rollback journal, mid-transaction
        with engine.begin() as connection:
            connection.execute(text("PRAGMA journal_mode=WAL"))
            connection.execute(text("INSERT INTO t VALUES (2)"))
            for suffix in ("-wal", "-shm"):
                assert mode(path.with_name("gate.db" + suffix)) == 0o600, suffix
        assert mode(path) == 0o600 and mode(path.parent) == 0o700
    finally:
        engine.dispose()


def test_a_world_readable_database_is_mended_on_connect(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "gate.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert mode(path) == 0o600
    finally:
        engine.dispose()
